/**
 * WebSocket transport rules of PROTOCOL.md §8.1–§8.2 that need no mini-protocol code: message
 * kind and size, segment framing, protocol numbers, and "handshake first".
 *
 * Primer: a peer session is one WebSocket carrying binary messages, each holding one or more whole
 * mux segments (8-byte header + 1..12,288 payload bytes). Anything else is a protocol violation
 * closed with the code and `"<proto>:<kind>"` reason §8.2 prescribes. This module turns one
 * received message into segments or into the {@link Violation} to close with; it keeps no state,
 * so the RelayHub can run it straight from a hibernation wake-up.
 *
 * When shared/src/wire/mux lands, {@link splitSegments} delegates the framing to its decoder and
 * keeps only the edge's close-code mapping.
 *
 * @module
 */

/** §8.1 / §11: a WebSocket message is at most 1 MiB. */
export const MAX_MESSAGE_BYTES = 1024 * 1024;
/** §8.2 / §11: segment payload length 1..12,288. */
export const MAX_SEGMENT_PAYLOAD = 12_288;
export const SEGMENT_HEADER_BYTES = 8;

/** §8.2 mini-protocol numbers. */
export const PROTOCOL_NUMBERS = {
  handshake: 0,
  chainSync: 2,
  blockFetch: 3,
  txSubmission: 4,
  keepAlive: 8,
  leiosNotify: 18,
  leiosFetch: 19,
} as const;
const KNOWN = new Set<number>(Object.values(PROTOCOL_NUMBERS));

/** One mux segment (payload is a view into the received message). */
export interface Segment {
  /** Sender's clock, low 32 bits of µs; diagnostic only. */
  time: number;
  /** Mode bit: true when sent by the responder side of that protocol instance. */
  fromResponder: boolean;
  protocol: number;
  payload: Uint8Array;
}

/** A close the transport demands: WebSocket close code and §8.2 reason text. */
export interface Violation {
  /** 1011 is the hub's own failure (a session without its attachment), never the peer's. */
  code: 1002 | 1003 | 1008 | 1009 | 1011;
  reason: string;
}

/** The §8.2 reason text `"<proto>:<kind>"`. */
export type ViolationReason = `${'mux' | 'handshake'}:${'malformed' | 'unknown-protocol' | 'agency' | 'limit' | 'timeout' | 'refused'}`;

function violation(code: Violation['code'], reason: ViolationReason): Violation {
  return { code, reason };
}

/**
 * Split one received WebSocket message into mux segments, or say how to close.
 *
 * @example
 * ```ts
 * const r = splitSegments(message);
 * if ('code' in r) ws.close(r.code, r.reason); else for (const s of r) route(s);
 * ```
 */
export function splitSegments(message: string | ArrayBuffer): Segment[] | Violation {
  if (typeof message === 'string') return violation(1003, 'mux:malformed');
  if (message.byteLength > MAX_MESSAGE_BYTES) return violation(1009, 'mux:limit');
  if (message.byteLength === 0) return violation(1002, 'mux:malformed');
  const bytes = new Uint8Array(message);
  const view = new DataView(message);
  const out: Segment[] = [];
  let off = 0;
  while (off < bytes.length) {
    // A message holds whole segments only (§8.1): a cut header or payload is malformed.
    if (bytes.length - off < SEGMENT_HEADER_BYTES) return violation(1002, 'mux:malformed');
    const time = view.getUint32(off);
    const word = view.getUint16(off + 4);
    const len = view.getUint16(off + 6);
    if (len === 0 || len > MAX_SEGMENT_PAYLOAD) return violation(1002, 'mux:malformed');
    if (bytes.length - off - SEGMENT_HEADER_BYTES < len) return violation(1002, 'mux:malformed');
    const protocol = word & 0x7fff;
    if (!KNOWN.has(protocol)) return violation(1002, 'mux:unknown-protocol');
    out.push({
      time,
      fromResponder: (word & 0x8000) !== 0,
      protocol,
      payload: bytes.subarray(off + SEGMENT_HEADER_BYTES, off + SEGMENT_HEADER_BYTES + len),
    });
    off += SEGMENT_HEADER_BYTES + len;
  }
  return out;
}

/**
 * Encode one segment (used by the hub's replies and by tests building peer traffic).
 *
 * @example
 * ```ts
 * ws.send(encodeSegment({ time: 0, fromResponder: true, protocol: 0, payload }));
 * ```
 */
export function encodeSegment(s: Segment): Uint8Array {
  if (s.payload.length === 0 || s.payload.length > MAX_SEGMENT_PAYLOAD) throw new RangeError(`segment payload length ${s.payload.length}`);
  if (s.protocol < 0 || s.protocol > 0x7fff) throw new RangeError(`protocol number ${s.protocol}`);
  const out = new Uint8Array(SEGMENT_HEADER_BYTES + s.payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, s.time >>> 0);
  view.setUint16(4, (s.fromResponder ? 0x8000 : 0) | s.protocol);
  view.setUint16(6, s.payload.length);
  out.set(s.payload, SEGMENT_HEADER_BYTES);
  return out;
}
