/**
 * The WebSocket multiplexer of PROTOCOL.md §8.1–§8.2: segment encoding and decoding, splitting a
 * message into segments, and reassembly of each (protocol, mode) byte stream into whole messages.
 *
 * Primer: each binary WebSocket message (≤ 1 MiB) carries one or more whole segments. A segment is
 * an 8-byte big-endian header — u32 transmission time in µs (diagnostic), u16 mode bit + protocol
 * number, u16 payload length 1..12,288 — and its payload. The payloads of one (protocol, mode)
 * form a byte stream of concatenated CBOR messages: a message may span segments and a segment may
 * hold several messages. {@link StreamFramer} finds message boundaries *incrementally*: it walks
 * item heads once, keeping a stack of open containers, so a 4 MiB BlockTxs arriving in 342
 * segments is scanned once rather than re-parsed per segment, and it accepts the one
 * indefinite-length map the wire allows (the §10.3 tx bitmap), which the strict reader's `skip`
 * rightly refuses. Boundary finding checks only structure; the protocol codec then decodes each
 * whole message strictly (§1.2). Buffered ingress per stream is bounded by the stream's maximum
 * message size + 12,288 B (§11).
 *
 * @module
 */
import { ProtocolViolation, type ViolationKind } from '../../errors/index';
import { isProtocolNumber, type ProtocolNumber, protocolName } from '../common/index';

/** Largest segment payload (§8.2). */
export const MAX_SEGMENT_PAYLOAD = 12_288;
/** Largest WebSocket message (§8.1, §11). */
export const MAX_WS_MESSAGE = 1 << 20;
/** Segment header length. */
export const SEGMENT_HEADER = 8;
/** Nesting bound for boundary finding (the strict reader uses the same). */
export const MAX_FRAME_DEPTH = 32;

/** 0 = sent by the initiator (client) side of the protocol instance, 1 = by the responder (server). */
export type Mode = 0 | 1;

/** One decoded segment. `payload` is a view into the WebSocket message. */
export interface Segment {
  time: number;
  mode: Mode;
  protocol: ProtocolNumber;
  payload: Uint8Array;
}

function muxViolation(kind: ViolationKind, detail: string): ProtocolViolation {
  return new ProtocolViolation('mux', kind, kind === 'limit' ? 1009 : 1002, detail);
}

/**
 * Write one segment header + payload into `out` at `offset`; returns the new offset.
 *
 * @example
 * ```ts
 * const seg = encodeSegment({ time: 0, mode: 0, protocol: 8, payload: new Uint8Array([0x82, 0, 1]) });
 * ```
 */
export function encodeSegment(seg: Segment, out?: Uint8Array, offset = 0): Uint8Array {
  const n = seg.payload.length;
  if (n < 1 || n > MAX_SEGMENT_PAYLOAD) throw new RangeError(`mux: segment payload of ${n} bytes`);
  const buf = out ?? new Uint8Array(SEGMENT_HEADER + n);
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  v.setUint32(offset, seg.time >>> 0);
  v.setUint16(offset + 4, (seg.mode << 15) | seg.protocol);
  v.setUint16(offset + 6, n);
  buf.set(seg.payload, offset + SEGMENT_HEADER);
  return buf;
}

/**
 * Split one WebSocket message into its segments, checking §8.2: length 1..12,288, a known
 * protocol number, no partial segment, at most 1 MiB in all.
 *
 * @throws ProtocolViolation `mux:malformed` (1002), `mux:unknown-protocol` (1002), `mux:limit` (1009)
 * @example
 * ```ts
 * for (const seg of decodeSegments(wsMessage)) route(seg);
 * ```
 */
export function decodeSegments(message: Uint8Array): Segment[] {
  if (message.length > MAX_WS_MESSAGE) throw muxViolation('limit', `WebSocket message of ${message.length} bytes`);
  if (message.length === 0) throw muxViolation('malformed', 'empty WebSocket message');
  const v = new DataView(message.buffer, message.byteOffset, message.byteLength);
  const out: Segment[] = [];
  let o = 0;
  while (o < message.length) {
    if (message.length - o < SEGMENT_HEADER) throw muxViolation('malformed', `truncated segment header at ${o}`);
    const time = v.getUint32(o);
    const word = v.getUint16(o + 4);
    const len = v.getUint16(o + 6);
    const protocol = word & 0x7fff;
    if (len === 0 || len > MAX_SEGMENT_PAYLOAD) throw muxViolation('malformed', `segment length ${len} at ${o}`);
    if (!isProtocolNumber(protocol)) throw muxViolation('unknown-protocol', `protocol number ${protocol}`);
    if (message.length - o - SEGMENT_HEADER < len) throw muxViolation('malformed', `truncated segment at ${o}`);
    out.push({
      time,
      mode: (word >> 15) as Mode,
      protocol,
      payload: message.subarray(o + SEGMENT_HEADER, o + SEGMENT_HEADER + len),
    });
    o += SEGMENT_HEADER + len;
  }
  return out;
}

/**
 * Cut one encoded message into segments of at most 12,288 payload bytes.
 *
 * @example
 * ```ts
 * splitMessage(19, 1, fortyKiloBytes, 0).length // 4
 * ```
 */
export function splitMessage(protocol: ProtocolNumber, mode: Mode, message: Uint8Array, time: number): Segment[] {
  const out: Segment[] = [];
  for (let o = 0; o < message.length; o += MAX_SEGMENT_PAYLOAD) {
    out.push({ time, mode, protocol, payload: message.subarray(o, Math.min(message.length, o + MAX_SEGMENT_PAYLOAD)) });
  }
  return out;
}

/**
 * Pack segments into WebSocket messages of at most {@link MAX_WS_MESSAGE} bytes.
 *
 * @example
 * ```ts
 * for (const m of packSegments(splitMessage(18, 1, votesMsg, 0))) ws.send(m);
 * ```
 */
export function packSegments(segs: Segment[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let group: Segment[] = [];
  let size = 0;
  const flush = () => {
    if (!group.length) return;
    const buf = new Uint8Array(size);
    let o = 0;
    for (const s of group) {
      encodeSegment(s, buf, o);
      o += SEGMENT_HEADER + s.payload.length;
    }
    out.push(buf);
    group = [];
    size = 0;
  };
  for (const s of segs) {
    const n = SEGMENT_HEADER + s.payload.length;
    if (size + n > MAX_WS_MESSAGE) flush();
    group.push(s);
    size += n;
  }
  flush();
  return out;
}

/**
 * Reassembles one (protocol, mode) byte stream into whole CBOR messages.
 *
 * Incomplete input waits for more bytes; a structurally invalid item (reserved head, indefinite
 * string or array, tag, stray break, nesting above 32) is `<proto>:malformed` (1002); a message
 * growing past `maxMessage` bytes, or buffered ingress past `maxMessage + 12,288`, is
 * `<proto>:limit` (1008).
 *
 * @example
 * ```ts
 * const f = new StreamFramer(Protocol.LeiosFetch, 1, maxMessageSize(19, 'server', DEFAULT_LIMITS));
 * for (const seg of segments) for (const msg of f.push(seg.payload)) handle(msg);
 * ```
 */
export class StreamFramer {
  private buf: Uint8Array;
  private start = 0;
  private end = 0;
  /** Scan position; may run past `end` while the body of a string is still arriving. */
  private pos = 0;
  /** Items left in each open container; -1 marks an indefinite map awaiting its break. */
  private readonly stack: number[] = [];
  private started = false;
  private readonly cap: number;

  constructor(
    readonly protocol: ProtocolNumber,
    readonly mode: Mode,
    readonly maxMessage: number,
  ) {
    this.cap = maxMessage + MAX_SEGMENT_PAYLOAD;
    this.buf = new Uint8Array(Math.min(this.cap, 16_384));
  }

  /** Bytes buffered and not yet returned as a message. */
  get buffered(): number {
    return this.end - this.start;
  }

  private fail(kind: ViolationKind, detail: string): never {
    throw new ProtocolViolation(protocolName(this.protocol), kind, kind === 'malformed' ? 1002 : 1008, detail);
  }

  /** Append a segment payload; return the messages it completed (fresh copies). */
  push(payload: Uint8Array): Uint8Array[] {
    const need = this.end - this.start + payload.length;
    if (need > this.cap) this.fail('limit', `buffered ingress of ${need} bytes > ${this.cap}`);
    if (this.end + payload.length > this.buf.length) {
      if (need <= this.buf.length && this.start > 0) {
        this.buf.copyWithin(0, this.start, this.end);
      } else {
        let size = this.buf.length;
        while (size < need) size *= 2;
        const next = new Uint8Array(Math.min(size, this.cap));
        next.set(this.buf.subarray(this.start, this.end));
        this.buf = next;
      }
      this.pos -= this.start;
      this.end -= this.start;
      this.start = 0;
    }
    this.buf.set(payload, this.end);
    this.end += payload.length;
    return this.scan();
  }

  private scan(): Uint8Array[] {
    const out: Uint8Array[] = [];
    const b = this.buf;
    for (;;) {
      if (this.pos > this.end) break;
      if (this.started && this.stack.length === 0) {
        out.push(b.slice(this.start, this.pos));
        this.start = this.pos;
        this.started = false;
        if (this.start === this.end && this.buf.length > 65_536) {
          // Idle stream after a large message: give the memory back (a relay holds many streams).
          this.buf = new Uint8Array(16_384);
          this.start = this.end = this.pos = 0;
          return out;
        }
        continue;
      }
      if (this.pos === this.end) break;
      const p = this.pos;
      const ib = b[p]!;
      const major = ib >> 5;
      const ai = ib & 0x1f;
      let value = 0;
      let headLen = 1;
      if (ai < 24) value = ai;
      else if (ai <= 27) {
        headLen = 1 + (1 << (ai - 24));
        if (this.end - p < headLen) break;
        // Big-endian by hand (no DataView allocation per head); 8-byte values may lose
        // precision above 2^53, which only matters for lengths, and those are capped far below.
        for (let i = 1; i < headLen; i++) value = value * 256 + b[p + i]!;
      } else if (ai !== 31) this.fail('malformed', `reserved additional info ${ai}`);
      this.started = true;
      this.pos = p + headLen;
      const indefinite = ai === 31;
      switch (major) {
        case 0:
        case 1:
          if (indefinite) this.fail('malformed', 'indefinite integer');
          this.itemDone();
          break;
        case 2:
        case 3:
          if (indefinite) this.fail('malformed', 'indefinite-length string');
          if (value > this.maxMessage) this.fail('limit', `string of ${value} bytes`);
          this.pos += value;
          this.itemDone();
          break;
        case 4:
          if (indefinite) this.fail('malformed', 'indefinite-length array');
          this.open(value);
          break;
        case 5:
          // The §10.3 bitmap may be indefinite; the codec decides where that is allowed.
          if (indefinite) this.open(-1);
          else this.open(2 * value);
          break;
        case 6:
          this.fail('malformed', 'tags are not allowed');
          break;
        default:
          if (indefinite) {
            if (this.stack[this.stack.length - 1] !== -1) this.fail('malformed', 'break outside an indefinite map');
            this.stack.pop();
          }
          this.itemDone();
      }
      if (this.pos - this.start > this.maxMessage) {
        this.fail('limit', `message exceeds ${this.maxMessage} bytes`);
      }
    }
    return out;
  }

  private open(items: number): void {
    if (items === 0) {
      this.itemDone();
      return;
    }
    if (items > this.maxMessage) this.fail('limit', `container of ${items} items`);
    if (this.stack.length >= MAX_FRAME_DEPTH) this.fail('malformed', `nesting deeper than ${MAX_FRAME_DEPTH}`);
    this.stack.push(items);
  }

  private itemDone(): void {
    for (let i = this.stack.length - 1; i >= 0; i--) {
      const left = this.stack[i]!;
      if (left === -1) return;
      if (left > 1) {
        this.stack[i] = left - 1;
        return;
      }
      this.stack.pop();
    }
  }
}
