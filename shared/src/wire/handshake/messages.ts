/**
 * Handshake (protocol 0, PROTOCOL.md §8.3): messages, strict codec and state table.
 *
 * ```
 * [0, {+ version => version_data}]   ProposeVersions  client, StPropose → StConfirm (keys ascending)
 * [1, version, version_data]         AcceptVersion    server, StConfirm → StDone
 * [2, reason]                        Refuse           server, StConfirm → StDone
 * reason = [0, [* version]] / [1, version, tstr] / [2, version, tstr]
 * version_data = [network_magic, genesis_hash, ledger_mode: 0 / 1, initiator_only: bool, ? auth]
 * ```
 *
 * The optional fifth element `auth = [peer_id: tstr, time_ms: uint, mac: bytes .size 32]` is this
 * project's authentication extension (see ./auth.ts); without it the layout is exactly §8.3.
 * Decoded version data keep their `core` bytes — `84 ||` the received bytes of the first four
 * fields — which the MAC covers (§1.3: authenticate received bytes, never a re-encoding).
 *
 * @module
 */
import { type CborReader, CborWriter } from '../../cbor/index';
import type { Hash32 } from '../../types/index';
import {
  checkSize,
  decodeMessage,
  expectFields,
  MAX_SMALL_MESSAGE,
  Protocol,
  readEnvelope,
  readHash32,
} from '../common/index';
import { defineProtocol, type ProtocolSpec } from '../machine/index';

/** Version 1 = PROTOCOL.md v1. */
export const PROTOCOL_VERSION_1 = 1;
/** Versions a ProposeVersions may carry. */
export const MAX_PROPOSED_VERSIONS = 16;
/** Longest peer id in the auth extension. */
export const MAX_PEER_ID = 64;

/** 0 = utxo, 1 = opaque (§5.6). */
export type LedgerModeCode = 0 | 1;

/** The authentication extension (5th element of version_data). */
export interface HandshakeAuth {
  readonly peerId: string;
  readonly timeMs: number;
  readonly mac: Uint8Array;
}

/** `version_data` of §8.3 (+ optional auth). */
export interface VersionData {
  readonly networkMagic: number;
  readonly genesisHash: Hash32;
  readonly ledgerMode: LedgerModeCode;
  readonly initiatorOnly: boolean;
  readonly auth?: HandshakeAuth;
  /** `84 ||` the bytes of the first four fields (as received, or as encoded here). */
  readonly core?: Uint8Array;
}

export type RefuseReason =
  | { readonly kind: 'version-mismatch'; readonly versions: readonly number[] }
  | { readonly kind: 'decode-error'; readonly version: number; readonly message: string }
  | { readonly kind: 'refused'; readonly version: number; readonly message: string };

export type HandshakeMessage =
  | { type: 'ProposeVersions'; versions: ReadonlyArray<{ version: number; data: VersionData }> }
  | { type: 'AcceptVersion'; version: number; data: VersionData }
  | { type: 'Refuse'; reason: RefuseReason };

/**
 * The canonical `core` bytes of version data (what the auth MAC covers).
 *
 * @example
 * ```ts
 * versionDataCore({ networkMagic: 2026, genesisHash, ledgerMode: 0, initiatorOnly: false })[0] // 0x84
 * ```
 */
export function versionDataCore(d: VersionData): Uint8Array {
  return new CborWriter(48).array(4).uint(d.networkMagic).bytes(d.genesisHash).uint(d.ledgerMode).bool(d.initiatorOnly).finish();
}

function writeVersionData(w: CborWriter, d: VersionData): void {
  const core = d.core ?? versionDataCore(d);
  // Reuse the received / computed core: replace the 4-element head by a 5-element one if needed.
  if (d.auth) {
    w.array(5).raw(core.subarray(1));
    w.array(3).text(d.auth.peerId).uint(d.auth.timeMs).bytes(d.auth.mac);
  } else w.raw(core);
}

function readVersionData(r: CborReader, path: string): VersionData {
  const at = r.pos;
  const n = r.readArray(path);
  if (n !== 4 && n !== 5) r.fail(path, 'type', `version_data has ${n} elements`, at);
  const fieldsStart = r.pos;
  const networkMagic = r.readUint(`${path}.network_magic`, 0xffffffff);
  const genesisHash = readHash32(r, `${path}.genesis_hash`);
  const lmAt = r.pos;
  const ledgerMode = r.readUint(`${path}.ledger_mode`);
  if (ledgerMode > 1) r.fail(`${path}.ledger_mode`, 'value', 'ledger_mode is 0 or 1', lmAt);
  const initiatorOnly = r.readBool(`${path}.initiator_only`);
  const core = new Uint8Array(1 + r.pos - fieldsStart);
  core[0] = 0x84;
  core.set(r.bytes.subarray(fieldsStart, r.pos), 1);
  let auth: HandshakeAuth | undefined;
  if (n === 5) {
    const aAt = r.pos;
    if (r.readArray(`${path}.auth`) !== 3) r.fail(`${path}.auth`, 'type', 'auth is [peer_id, time_ms, mac]', aAt);
    const peerId = r.readText(`${path}.auth.peer_id`, MAX_PEER_ID);
    const timeMs = r.readUint(`${path}.auth.time_ms`);
    const macAt = r.pos;
    const mac = r.readBytes(`${path}.auth.mac`);
    if (mac.length !== 32) r.fail(`${path}.auth.mac`, 'value', 'mac is 32 bytes', macAt);
    auth = { peerId, timeMs, mac };
  }
  return { networkMagic, genesisHash, ledgerMode: ledgerMode as LedgerModeCode, initiatorOnly, core, ...(auth ? { auth } : {}) };
}

/** @example `encodeHandshake({ type: 'Refuse', reason: { kind: 'refused', version: 1, message: 'genesis' } })` */
export function encodeHandshake(m: HandshakeMessage): Uint8Array {
  const w = new CborWriter(128);
  switch (m.type) {
    case 'ProposeVersions': {
      w.array(2).uint(0).map(m.versions.length);
      let last = -1;
      for (const v of m.versions) {
        if (v.version <= last) throw new RangeError('handshake: versions must be strictly ascending');
        last = v.version;
        w.uint(v.version);
        writeVersionData(w, v.data);
      }
      break;
    }
    case 'AcceptVersion':
      w.array(3).uint(1).uint(m.version);
      writeVersionData(w, m.data);
      break;
    case 'Refuse': {
      w.array(2).uint(2);
      const r = m.reason;
      if (r.kind === 'version-mismatch') {
        w.array(2).uint(0).array(r.versions.length);
        for (const v of r.versions) w.uint(v);
      } else w.array(3).uint(r.kind === 'decode-error' ? 1 : 2).uint(r.version).text(r.message);
      break;
    }
  }
  return w.finish();
}

/** Strict decoder; throws ProtocolViolation (`handshake:malformed` / `handshake:limit`). */
export function decodeHandshake(bytes: Uint8Array): HandshakeMessage {
  checkSize('handshake', 'message', bytes.length, MAX_SMALL_MESSAGE);
  return decodeMessage('handshake', bytes, (r): HandshakeMessage => {
    const { tag, fields } = readEnvelope(r, 2);
    switch (tag) {
      case 0: {
        expectFields(r, 'propose', fields, 1);
        const n = r.readMap('msg.versions', { min: 1, max: MAX_PROPOSED_VERSIONS });
        const versions: Array<{ version: number; data: VersionData }> = [];
        let last = -1;
        for (let i = 0; i < n; i++) {
          const at = r.pos;
          const version = r.readUint(`msg.versions{${i}}`, 0xffffffff);
          if (version <= last) r.fail('msg.versions', 'key-order', 'version keys must be strictly ascending', at);
          last = version;
          versions.push({ version, data: readVersionData(r, `msg.versions{${version}}`) });
        }
        return { type: 'ProposeVersions', versions };
      }
      case 1: {
        expectFields(r, 'accept', fields, 2);
        const version = r.readUint('msg.version', 0xffffffff);
        return { type: 'AcceptVersion', version, data: readVersionData(r, 'msg.version_data') };
      }
      case 2: {
        expectFields(r, 'refuse', fields, 1);
        const at = r.pos;
        const n = r.readArray('msg.reason');
        const kindAt = r.pos;
        const kind = r.readUint('msg.reason.kind');
        if (kind === 0 && n === 2) {
          const k = r.readArray('msg.reason.versions', { max: MAX_PROPOSED_VERSIONS });
          const versions: number[] = [];
          for (let i = 0; i < k; i++) versions.push(r.readUint(`msg.reason.versions[${i}]`, 0xffffffff));
          return { type: 'Refuse', reason: { kind: 'version-mismatch', versions } };
        }
        if ((kind === 1 || kind === 2) && n === 3) {
          const version = r.readUint('msg.reason.version', 0xffffffff);
          const message = r.readText('msg.reason.message', 256);
          return { type: 'Refuse', reason: { kind: kind === 1 ? 'decode-error' : 'refused', version, message } };
        }
        return r.fail('msg.reason', 'type', `bad refuse reason (kind ${kind}, ${n} elements)`, kind > 2 ? kindAt : at);
      }
      default:
        return r.fail('msg.tag', 'value', `unknown handshake tag ${tag}`);
    }
  });
}

/**
 * The handshake state table. §11 gives StConfirm 10 s; the server's wait in StPropose is bounded
 * by the same 10 s (DESIGN.md §5: every remote wait has a timeout), so an idle socket that never
 * proposes is closed with `handshake:timeout`.
 */
export const handshakeTable = defineProtocol({
  protocol: 'handshake',
  number: Protocol.Handshake,
  initial: 'StPropose',
  agency: { StPropose: 'client', StConfirm: 'server', StDone: 'none' },
  transitions: [
    ['StPropose', 'ProposeVersions', 'StConfirm'],
    ['StConfirm', 'AcceptVersion', 'StDone'],
    ['StConfirm', 'Refuse', 'StDone'],
  ],
  timeouts: { StPropose: { ms: 10_000 }, StConfirm: { ms: 10_000 } },
});

export type HandshakeState = keyof typeof handshakeTable.agency;

export const handshakeSpec: ProtocolSpec<HandshakeMessage, HandshakeState, HandshakeMessage['type']> = {
  table: handshakeTable,
  encode: encodeHandshake,
  decode: decodeHandshake,
};
