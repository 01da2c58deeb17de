import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concatBytes, fromHex, toHex } from '../../bytes/index';
import { encodeValue } from '../../cbor/index';
import { ProtocolViolation } from '../../errors/index';
import { DEFAULT_LIMITS, maxMessageSize, Protocol, type ProtocolNumber } from '../common/index';
import { bitmapFromIndices } from '../leios-fetch/bitmap';
import { cborValue } from '../testing/arb/index';
import {
  decodeSegments,
  encodeSegment,
  MAX_SEGMENT_PAYLOAD,
  MAX_WS_MESSAGE,
  packSegments,
  type Segment,
  splitMessage,
  StreamFramer,
} from './index';

const protocols: ProtocolNumber[] = [0, 2, 3, 4, 8, 18, 19];

function violationOf(f: () => unknown): ProtocolViolation {
  try {
    f();
  } catch (e) {
    if (e instanceof ProtocolViolation) return e;
    throw e;
  }
  throw new Error('expected a ProtocolViolation');
}

/** A raw segment with an arbitrary header (bypassing the encoder's checks). */
function rawSegment(word: number, len: number, payloadLen = len): Uint8Array {
  const b = new Uint8Array(8 + payloadLen);
  const v = new DataView(b.buffer);
  v.setUint32(0, 1234);
  v.setUint16(4, word);
  v.setUint16(6, len);
  return b;
}

describe('segments (§8.2)', () => {
  it('encodes the 8-byte big-endian header', () => {
    const seg = encodeSegment({ time: 0x01020304, mode: 1, protocol: 19, payload: Uint8Array.of(0x81, 0x09) });
    expect(toHex(seg)).toBe(`01020304${(0x8000 | 19).toString(16)}00028109`);
  });

  it('round-trips segments packed into WebSocket messages', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            time: fc.nat({ max: 0xffffffff }),
            mode: fc.constantFrom(0 as const, 1 as const),
            protocol: fc.constantFrom(...protocols),
            payload: fc.uint8Array({ minLength: 1, maxLength: 300 }),
          }),
          { minLength: 1, maxLength: 20 },
        ),
        (segs: Segment[]) => {
          const msgs = packSegments(segs);
          const back = msgs.flatMap((m) => decodeSegments(m));
          expect(back).toEqual(segs);
        },
      ),
    );
  });

  it('§16 case 30: segment length 0 or 12,289 is mux:malformed (1002)', () => {
    for (const len of [0, MAX_SEGMENT_PAYLOAD + 1]) {
      const v = violationOf(() => decodeSegments(rawSegment(8, len)));
      expect([v.closeCode, v.reason]).toEqual([1002, 'mux:malformed']);
    }
    expect(decodeSegments(rawSegment(8, MAX_SEGMENT_PAYLOAD))[0]!.payload.length).toBe(MAX_SEGMENT_PAYLOAD);
  });

  it('§16 case 30: a WebSocket message of 1 MiB + 1 is mux:limit (1009)', () => {
    const v = violationOf(() => decodeSegments(new Uint8Array(MAX_WS_MESSAGE + 1)));
    expect([v.closeCode, v.reason]).toEqual([1009, 'mux:limit']);
  });

  it('rejects unknown protocol numbers, truncated segments and headers', () => {
    const u = violationOf(() => decodeSegments(rawSegment(5, 1)));
    expect([u.closeCode, u.reason]).toEqual([1002, 'mux:unknown-protocol']);
    expect(violationOf(() => decodeSegments(rawSegment(0x8000 | 77, 1))).reason).toBe('mux:unknown-protocol');
    expect(violationOf(() => decodeSegments(rawSegment(8, 10, 9))).reason).toBe('mux:malformed');
    expect(violationOf(() => decodeSegments(concatBytes(rawSegment(8, 1), new Uint8Array(7)))).reason).toBe(
      'mux:malformed',
    );
  });

  it('splits a message into ≤ 12,288-byte segments', () => {
    const m = new Uint8Array(40_000);
    const segs = splitMessage(19, 1, m, 0);
    expect(segs.map((s) => s.payload.length)).toEqual([12_288, 12_288, 12_288, 3_136]);
  });

  it('packs at most 1 MiB per WebSocket message', () => {
    const segs = splitMessage(19, 1, new Uint8Array(3 * MAX_WS_MESSAGE), 0);
    const msgs = packSegments(segs);
    for (const m of msgs) expect(m.length).toBeLessThanOrEqual(MAX_WS_MESSAGE);
    expect(msgs.flatMap((m) => decodeSegments(m)).length).toBe(segs.length);
  });
});

describe('StreamFramer', () => {
  const cut = (bytes: Uint8Array, cuts: number[]): Uint8Array[] => {
    const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
    const out: Uint8Array[] = [];
    let last = 0;
    for (const p of [...points, bytes.length]) {
      if (p > last) out.push(bytes.subarray(last, p));
      last = p;
    }
    return out;
  };

  it('reassembles any split of a stream of canonical messages (incl. indefinite bitmaps)', () => {
    const msg = fc.oneof(
      cborValue.map((v) => encodeValue(v)),
      fc
        .uniqueArray(fc.nat({ max: 5000 }), { minLength: 1, maxLength: 40 })
        .map((ix) => concatBytes(Uint8Array.of(0x84, 0x03), encodeValue([5, new Uint8Array(32)]), bitmapFromIndices(ix).bytes, Uint8Array.of(0x80))),
    );
    fc.assert(
      fc.property(fc.array(msg, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 10 }), (msgs, cuts) => {
        const f = new StreamFramer(19, 1, 1 << 20);
        const stream = concatBytes(...msgs);
        const got: Uint8Array[] = [];
        for (const part of cut(stream, cuts)) got.push(...f.push(part));
        expect(got.map(toHex)).toEqual(msgs.map(toHex));
        expect(f.buffered).toBe(0);
      }),
    );
  });

  it('waits for the rest of an incomplete message', () => {
    const f = new StreamFramer(8, 0, 4096);
    expect(f.push(fromHex('8200'))).toEqual([]);
    expect(f.push(fromHex('19'))).toEqual([]);
    expect(f.push(fromHex('01'))).toEqual([]);
    expect(f.push(fromHex('2c8102')).map(toHex)).toEqual(['820019012c', '8102']);
  });

  it('a 40 kB message split over 4 segments is reassembled', () => {
    const big = encodeValue([4, [new Uint8Array(39_980)]]);
    const segs = splitMessage(18, 1, big, 0);
    expect(segs.length).toBe(4);
    const f = new StreamFramer(18, 1, maxMessageSize(Protocol.LeiosNotify, 'server', DEFAULT_LIMITS));
    const out = segs.flatMap((s) => f.push(s.payload));
    expect(out.map(toHex)).toEqual([toHex(big)]);
  });

  it('rejects structurally invalid items as <proto>:malformed (1002)', () => {
    for (const hex of ['c0', '9f00ff', '5f41ff', '1c', 'ff', '7f', `${'81'.repeat(40)}00`]) {
      const v = violationOf(() => new StreamFramer(2, 0, 4096).push(fromHex(hex)));
      expect([v.closeCode, v.reason], hex).toEqual([1002, 'chain-sync:malformed']);
    }
  });

  it('bounds each message and the buffered ingress: <proto>:limit (1008)', () => {
    // A byte string announcing more than the stream allows.
    const v1 = violationOf(() => new StreamFramer(8, 0, 4096).push(fromHex('5a00010000')));
    expect([v1.closeCode, v1.reason]).toEqual([1008, 'keep-alive:limit']);
    // A message growing past the cap while arriving.
    const f = new StreamFramer(18, 0, 2048);
    const big = encodeValue(Array.from({ length: 1000 }, () => 1000));
    const v2 = violationOf(() => {
      for (const s of splitMessage(18, 0, big, 0)) f.push(s.payload);
    });
    expect(v2.reason).toBe('leios-notify:limit');
    // Buffered ingress: more than max + 12,288 bytes at once.
    const v3 = violationOf(() => new StreamFramer(8, 0, 10).push(new Uint8Array(12_299)));
    expect(v3.reason).toBe('keep-alive:limit');
  });
});
