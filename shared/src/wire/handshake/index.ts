/**
 * Handshake drivers (protocol 0, PROTOCOL.md §8.3). The client proposes its versions at once; the
 * server accepts the highest common version when magic, genesis hash and ledger mode match (and,
 * if configured, the client is admitted by ./auth.ts {@link admit}: authenticated, or anonymous
 * where the server allows it), else sends Refuse and closes with 1008 `handshake:refused`.
 * Completion unlocks the other protocols of the connection.
 *
 * @module
 */
import { bytesEqual } from '../../bytes/index';
import { PRAOS } from '../../sched/index';
import type { ProtocolViolation } from '../../errors/index';
import { violation } from '../common/index';
import { type ConnectionClosedError, Driver } from '../machine/index';
import {
  type Access,
  type AnonymousAdmission,
  admit,
  clientAuth,
  type HandshakeAuthenticator,
  type PeerSecret,
  serverAuth,
  verifyServerAuth,
} from './auth';
import {
  type HandshakeMessage,
  type HandshakeState,
  handshakeSpec,
  type LedgerModeCode,
  PROTOCOL_VERSION_1,
  type RefuseReason,
  type VersionData,
  versionDataCore,
} from './messages';

export * from './auth';
export * from './messages';

type K = HandshakeMessage['type'];

/** Network identity both sides must agree on. */
export interface LocalVersionData {
  readonly networkMagic: number;
  readonly genesisHash: VersionData['genesisHash'];
  readonly ledgerMode: LedgerModeCode;
}

/** A completed handshake. */
export interface HandshakeResult {
  readonly version: number;
  /** The peer's version data (the client's proposal on the server, the AcceptVersion on the client). */
  readonly remote: VersionData;
  readonly initiatorOnly: boolean;
  /**
   * How the client was admitted. Server side: `authenticated` (a valid auth element; `peerId`
   * set), `anonymous` (none, and the server allows that), `open` (the server checks no auth).
   * Client side: `authenticated` when both ends proved their key, else `open`.
   */
  readonly access: Access;
  /** Authenticated peer id (server side, when the client authenticated). */
  readonly peerId?: string;
}

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: Error) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {}); // awaited by the caller if it cares; never an unhandled rejection
  return { promise, resolve, reject };
}

/** The §8.3 refuse reason for the first mismatching field, if any. */
function mismatch(remote: VersionData, local: LocalVersionData): 'magic' | 'genesis' | 'ledger-mode' | undefined {
  if (remote.networkMagic !== local.networkMagic) return 'magic';
  if (!bytesEqual(remote.genesisHash, local.genesisHash)) return 'genesis';
  if (remote.ledgerMode !== local.ledgerMode) return 'ledger-mode';
  return undefined;
}

function refuseText(r: RefuseReason): string {
  return r.kind === 'version-mismatch' ? `no common version (server has ${r.versions.join(', ')})` : `${r.kind}: ${r.message}`;
}

/**
 * Handshake client (the initiator's side).
 *
 * @example
 * ```ts
 * const hs = new HandshakeClient({ data: { networkMagic: 2026, genesisHash, ledgerMode: 0 }, auth: { peerId, secret } });
 * conn.register(hs);
 * const { version } = await hs.result;
 * ```
 */
export class HandshakeClient extends Driver<HandshakeMessage, HandshakeState, K> {
  private readonly d = deferred<HandshakeResult>();
  /** Resolves on AcceptVersion; rejects on Refuse, a mismatch, or a closed connection. */
  readonly result = this.d.promise;
  private proposed = new Map<number, VersionData>();

  constructor(
    private readonly opts: {
      data: LocalVersionData;
      versions?: readonly number[];
      initiatorOnly?: boolean;
      auth?: PeerSecret;
      /** Wall clock for the auth timestamp. Default `Date.now`. */
      now?: () => number;
    },
  ) {
    super('client', handshakeSpec);
  }

  protected override onAttach(): void {
    const versions = [...(this.opts.versions ?? [PROTOCOL_VERSION_1])].sort((a, b) => a - b);
    const now = (this.opts.now ?? Date.now)();
    const list = versions.map((version) => {
      const base: VersionData = { ...this.opts.data, initiatorOnly: this.opts.initiatorOnly ?? false };
      const core = versionDataCore(base);
      const data: VersionData = this.opts.auth
        ? { ...base, core, auth: clientAuth(this.opts.auth, version, { ...base, core }, now) }
        : { ...base, core };
      this.proposed.set(version, data);
      return { version, data };
    });
    this.send({ type: 'ProposeVersions', versions: list }, PRAOS);
  }

  private refuse(detail: string): void {
    const v = violation('handshake', 'refused', detail);
    this.d.reject(v);
    this.fail(v);
  }

  protected handle(m: HandshakeMessage): void {
    if (m.type === 'Refuse') {
      this.refuse(`server refused: ${refuseText(m.reason)}`);
      return;
    }
    if (m.type !== 'AcceptVersion') return;
    const mine = this.proposed.get(m.version);
    const problem = !mine
      ? `server accepted unproposed version ${m.version}`
      : mismatch(m.data, this.opts.data) ??
        (this.opts.auth && !verifyServerAuth(this.opts.auth.secret, mine.auth!.mac, m.version, m.data)
          ? 'server failed authentication'
          : undefined);
    if (problem) {
      this.refuse(problem);
      return;
    }
    const initiatorOnly = this.opts.initiatorOnly ?? false;
    this.port.handshakeDone({ version: m.version, initiatorOnly });
    this.d.resolve({ version: m.version, remote: m.data, initiatorOnly, access: this.opts.auth ? 'authenticated' : 'open' });
  }

  protected override onClosed(err: ConnectionClosedError): void {
    this.d.reject(err);
  }
}

/**
 * Handshake server (the responder's side).
 *
 * @example
 * ```ts
 * const hs = new HandshakeServer({ data: { networkMagic: 2026, genesisHash, ledgerMode: 0 } });
 * conn.register(hs);
 * // authenticated peers, and anonymous clients up to a cap:
 * new HandshakeServer({ data, auth: authn, anonymous: () => (anonCount < 4 ? null : 'anonymous-limit') });
 * ```
 */
export class HandshakeServer extends Driver<HandshakeMessage, HandshakeState, K> {
  private readonly d = deferred<HandshakeResult>();
  /** Resolves once AcceptVersion was sent; rejects when refused or closed. */
  readonly result = this.d.promise;

  constructor(
    private readonly opts: {
      data: LocalVersionData;
      versions?: readonly number[];
      /** When set, clients are admitted by ./auth.ts {@link admit} (authenticated or anonymous). */
      auth?: HandshakeAuthenticator;
      /** With `auth`: a client presenting no auth element is refused (default), accepted as anonymous, or asked about. */
      anonymous?: AnonymousAdmission;
      now?: () => number;
    },
  ) {
    super('server', handshakeSpec);
  }

  private refuse(reason: RefuseReason): void {
    this.send({ type: 'Refuse', reason }, PRAOS);
    const v: ProtocolViolation = violation('handshake', 'refused', refuseText(reason));
    this.d.reject(v);
    this.port.fail(v, true);
  }

  protected handle(m: HandshakeMessage): void {
    if (m.type !== 'ProposeVersions') return;
    const ours = [...(this.opts.versions ?? [PROTOCOL_VERSION_1])].sort((a, b) => a - b);
    const highest = m.versions[m.versions.length - 1]!.version;
    let pick: { version: number; data: VersionData } | undefined;
    for (const v of m.versions) if (ours.includes(v.version)) pick = v;
    if (!pick) {
      this.refuse({ kind: 'version-mismatch', versions: ours });
      return;
    }
    const r = pick.data;
    // §8.3: the reason names the first mismatch; version = the highest version proposed.
    const bad = mismatch(r, this.opts.data);
    if (bad) {
      this.refuse({ kind: 'refused', version: highest, message: bad });
      return;
    }
    const l = this.opts.data;
    const a = admit(this.opts.auth, this.opts.anonymous ?? 'refuse', pick.version, r);
    if (!a.ok) {
      this.refuse({ kind: 'refused', version: highest, message: a.reason });
      return;
    }
    let accept: VersionData = { ...l, initiatorOnly: r.initiatorOnly };
    if (a.access === 'authenticated') {
      const core = versionDataCore(accept);
      accept = {
        ...accept,
        core,
        auth: serverAuth(
          { peerId: this.opts.auth!.serverId, secret: a.secret },
          r.auth!.mac,
          pick.version,
          { ...accept, core },
          (this.opts.now ?? Date.now)(),
        ),
      };
    }
    this.send({ type: 'AcceptVersion', version: pick.version, data: accept }, PRAOS);
    this.port.handshakeDone({ version: pick.version, initiatorOnly: r.initiatorOnly });
    this.d.resolve({
      version: pick.version,
      remote: r,
      initiatorOnly: r.initiatorOnly,
      access: a.access,
      ...(a.access === 'authenticated' ? { peerId: a.peerId } : {}),
    });
  }

  protected override onClosed(err: ConnectionClosedError): void {
    this.d.reject(err);
  }
}
