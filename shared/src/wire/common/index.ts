/**
 * Shared pieces of the mini-protocol codecs: protocol numbers, wire limits (PROTOCOL.md §11),
 * points and tips (§1.3 CDDL), raw nested items, the mapping from decode failures to protocol
 * violations (§8.2), and an injectable clock for timeouts.
 *
 * Primer: every mini-protocol message is a flat CBOR array `[tag, fields…]` (§9). Objects that are
 * hashed or re-served elsewhere (rb_header, rb_block, eb, vote, tx) are not decoded here: the
 * codecs carry them as {@link RawItem}s — the exact received bytes plus their offset in the
 * message — so protocol-level codecs decode them separately and hashes are taken over the received
 * bytes (§1.3). A decode failure becomes a {@link ProtocolViolation}: malformed (1002) for bytes
 * that are not canonical CBOR of the expected shape, limit (1008) for a breached cap.
 *
 * @module
 */
import { type CborReader, type CborWriter, decodeStrict } from '../../cbor/index';
import { DecodeError, ProtocolViolation, type ViolationKind, type WireProtocolName } from '../../errors/index';
import type { BlockNo, Hash32, Slot } from '../../types/index';

/** Mini-protocol numbers (§8.2). */
export const Protocol = {
  Handshake: 0,
  ChainSync: 2,
  BlockFetch: 3,
  TxSubmission: 4,
  KeepAlive: 8,
  LeiosNotify: 18,
  LeiosFetch: 19,
} as const;
export type ProtocolNumber = (typeof Protocol)[keyof typeof Protocol];

const NAMES: Record<number, WireProtocolName> = {
  0: 'handshake',
  2: 'chain-sync',
  3: 'block-fetch',
  4: 'tx-submission',
  8: 'keep-alive',
  18: 'leios-notify',
  19: 'leios-fetch',
};

/** Whether `n` is one of the seven protocol numbers of §8.2. @example `isProtocolNumber(18) // true` */
export function isProtocolNumber(n: number): n is ProtocolNumber {
  return NAMES[n] !== undefined;
}

/** The close-reason name of a protocol (`"leios-fetch"`). @example `protocolName(19)` */
export function protocolName(n: ProtocolNumber): WireProtocolName {
  return NAMES[n]!;
}

/** Which end of one protocol instance: the client (initiator of that instance) or the server. */
export type Side = 'client' | 'server';

/**
 * Size limits every receiver enforces (§11), derived from the protocol parameters of §15.
 * `clientMax` / `serverMax` bound one whole message per protocol and direction (client → server
 * travels in mode 0, server → client in mode 1); the codecs add the per-message caps.
 */
export interface WireLimits {
  maxRbBodySize: number;
  maxEbSize: number;
  maxHeaderSize: number;
  maxTxSize: number;
  maxReplyTxs: number;
  maxReplyBytes: number;
}

/** §15 defaults. */
export const DEFAULT_LIMITS: WireLimits = Object.freeze({
  maxRbBodySize: 90_112,
  maxEbSize: 512_000,
  maxHeaderSize: 1_100,
  maxTxSize: 16_384,
  maxReplyTxs: 4_096,
  maxReplyBytes: 4_194_304,
});

/** Handshake, keep-alive and chain-sync messages (§11). */
export const MAX_SMALL_MESSAGE = 4_096;
/** RollForward and BlockAnnouncement, and other LeiosNotify messages (§11). */
export const MAX_HEADER_MESSAGE = 2_048;
/** LeiosNotify Votes (§11). */
export const MAX_VOTES_MESSAGE = 131_072;
/** Votes per LeiosNotify Votes message (§10.1, §11). */
export const MAX_VOTES = 1_024;
/** tx-submission ReplyTxs (§11). */
export const MAX_REPLY_TXS_MESSAGE = 1_049_600;
/** A vote is about 87 bytes (§6.2); raw votes above this cannot be valid. */
export const MAX_WIRE_VOTE_BYTES = 256;

/**
 * Largest message allowed on one stream: `side` is the sender.
 *
 * @example
 * ```ts
 * maxMessageSize(Protocol.LeiosFetch, 'server', DEFAULT_LIMITS) // 4,227,072
 * ```
 */
export function maxMessageSize(protocol: ProtocolNumber, sender: Side, l: WireLimits): number {
  switch (protocol) {
    case Protocol.Handshake:
    case Protocol.KeepAlive:
    case Protocol.ChainSync:
      return MAX_SMALL_MESSAGE;
    case Protocol.BlockFetch:
      return sender === 'client' ? MAX_SMALL_MESSAGE : l.maxRbBodySize + 8_192;
    case Protocol.TxSubmission:
      // ReplyTxIds may list up to 128 ids of ~40 bytes each; RequestTxs 64 ids.
      return sender === 'client' ? MAX_SMALL_MESSAGE : MAX_REPLY_TXS_MESSAGE;
    case Protocol.LeiosNotify:
      return sender === 'client' ? MAX_HEADER_MESSAGE : MAX_VOTES_MESSAGE;
    case Protocol.LeiosFetch:
      return sender === 'client' ? 16_384 : Math.max(l.maxEbSize + 64, l.maxReplyBytes + 32_768);
  }
}

/** A protocol violation with the close code of §8.2 (1002 malformed, 1008 otherwise). */
export function violation(protocol: WireProtocolName, kind: ViolationKind, detail: string): ProtocolViolation {
  return new ProtocolViolation(protocol, kind, kind === 'malformed' || kind === 'unknown-protocol' ? 1002 : 1008, detail);
}

/**
 * Decode a whole message with `fn`, turning {@link DecodeError}s into violations: a breached cap
 * (`limit`) closes with 1008, anything else (non-canonical, wrong shape, trailing bytes) with 1002.
 *
 * @example
 * ```ts
 * const m = decodeMessage('keep-alive', bytes, (r) => r.readArray('msg'));
 * ```
 */
export function decodeMessage<T>(protocol: WireProtocolName, bytes: Uint8Array, fn: (r: CborReader) => T): T {
  try {
    return decodeStrict(bytes, 'msg', fn);
  } catch (e) {
    if (e instanceof DecodeError) {
      throw violation(protocol, e.reason === 'limit' ? 'limit' : 'malformed', e.message);
    }
    throw e;
  }
}

/**
 * Read the `[tag, …]` envelope: the array head and the tag. Returns the tag and the field count.
 */
export function readEnvelope(r: CborReader, maxFields: number): { tag: number; fields: number } {
  const at = r.pos;
  const n = r.readArray('msg');
  if (n < 1 || n > maxFields + 1) r.fail('msg', 'type', `message array of ${n} elements`, at);
  const tagAt = r.pos;
  const tag = r.readUint('msg.tag');
  if (tag > 0xff) r.fail('msg.tag', 'value', `unknown tag ${tag}`, tagAt);
  return { tag, fields: n - 1 };
}

/** Fail unless the message has exactly `n` fields. */
export function expectFields(r: CborReader, name: string, got: number, n: number): void {
  if (got !== n) r.fail(`msg.${name}`, 'type', `expected ${n} field(s), got ${got}`);
}

/** Check a whole message against a per-message size cap (§11). */
export function checkSize(protocol: WireProtocolName, name: string, size: number, max: number): void {
  if (size > max) throw violation(protocol, 'limit', `${name} of ${size} bytes > ${max}`);
}

/**
 * A nested object carried as its exact encoding (§1.3): `bytes` is a view of the received message
 * and `offset` its position there (undefined for locally built items).
 */
export interface RawItem {
  readonly bytes: Uint8Array;
  readonly offset?: number;
}

/** Wrap pre-encoded bytes for sending. @example `raw(headerBytes)` */
export function raw(bytes: Uint8Array): RawItem {
  return { bytes };
}

/** Read one complete canonical item of at most `max` bytes as a {@link RawItem}. */
export function readRawItem(r: CborReader, path: string, max: number): RawItem {
  const offset = r.pos;
  const bytes = r.readRaw(path, max);
  return { bytes, offset };
}

/** A 32-byte hash; a wrong length is malformed (not a limit). */
export function readHash32(r: CborReader, path: string): Hash32 {
  const at = r.pos;
  const b = r.readBytes(path);
  if (b.length !== 32) r.fail(path, 'value', `expected 32 bytes, got ${b.length}`, at);
  return b as Hash32;
}

/** `point = [] / [slot, rb_hash]`; `null` is the origin. */
export type Point = { readonly slot: Slot; readonly hash: Hash32 } | null;
/** `eb_point = [slot, eb_hash]` (slot of the announcing RB). */
export interface EbPoint {
  readonly slot: Slot;
  readonly hash: Hash32;
}
/** `tip = [point, block_number]`. */
export interface Tip {
  readonly point: Point;
  readonly blockNo: BlockNo;
}

/** @example `readPoint(r, 'msg.point')` */
export function readPoint(r: CborReader, path: string): Point {
  const at = r.pos;
  const n = r.readArray(path);
  if (n === 0) return null;
  if (n !== 2) r.fail(path, 'type', 'point must be [] or [slot, hash]', at);
  const slot = r.readUint(`${path}.slot`) as Slot;
  return { slot, hash: readHash32(r, `${path}.hash`) };
}
export function writePoint(w: CborWriter, p: Point): void {
  if (p === null) w.array(0);
  else w.array(2).uint(p.slot).bytes(p.hash);
}
/** @example `readEbPoint(r, 'msg.eb_point')` */
export function readEbPoint(r: CborReader, path: string): EbPoint {
  const at = r.pos;
  if (r.readArray(path) !== 2) r.fail(path, 'type', 'eb_point must be [slot, eb_hash]', at);
  const slot = r.readUint(`${path}.slot`) as Slot;
  return { slot, hash: readHash32(r, `${path}.hash`) };
}
export function writeEbPoint(w: CborWriter, p: EbPoint): void {
  w.array(2).uint(p.slot).bytes(p.hash);
}
export function readTip(r: CborReader, path: string): Tip {
  const at = r.pos;
  if (r.readArray(path) !== 2) r.fail(path, 'type', 'tip must be [point, block_number]', at);
  const point = readPoint(r, `${path}.point`);
  return { point, blockNo: r.readUint(`${path}.block_number`) as BlockNo };
}
export function writeTip(w: CborWriter, t: Tip): void {
  w.array(2);
  writePoint(w, t.point);
  w.uint(t.blockNo);
}

/** Opaque handle of a pending timer. */
export type TimerHandle = unknown;

/**
 * Time source and timers, injectable so that tests drive timeouts deterministically.
 *
 * @example
 * ```ts
 * const clock = new ManualClock();
 * clock.setTimer(10_000, () => console.log('timeout'));
 * clock.advance(10_000); // logs
 * ```
 */
export interface Clock {
  /** Monotonic milliseconds. */
  now(): number;
  setTimer(ms: number, fn: () => void): TimerHandle;
  clearTimer(h: TimerHandle): void;
}

/** The runtime clock: `performance.now()` and `setTimeout` (both exist in workerd and Node). */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer: (ms, fn) => setTimeout(fn, ms),
  clearTimer: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** A clock that moves only when told to: timers fire in due order inside {@link advance}. */
export class ManualClock implements Clock {
  private t = 0;
  private nextId = 1;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.t;
  }
  setTimer(ms: number, fn: () => void): TimerHandle {
    const id = this.nextId++;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  }
  clearTimer(h: TimerHandle): void {
    this.timers.delete(h as number);
  }
  /** Pending timers. */
  get pendingTimers(): number {
    return this.timers.size;
  }
  /** Move time forward by `ms`, firing due timers in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let due: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].at <= end && (!due || e[1].at < due[1].at)) due = e;
      if (!due) break;
      this.timers.delete(due[0]);
      this.t = Math.max(this.t, due[1].at);
      due[1].fn();
    }
    this.t = end;
  }
}
