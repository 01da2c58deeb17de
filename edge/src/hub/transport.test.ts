import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeSegment, MAX_SEGMENT_PAYLOAD, PROTOCOL_NUMBERS, type Segment, splitSegments } from './transport';

const known = Object.values(PROTOCOL_NUMBERS);
const segmentArb = fc.record({
  time: fc.nat({ max: 0xffff_ffff }),
  fromResponder: fc.boolean(),
  protocol: fc.constantFrom(...known),
  payload: fc.uint8Array({ minLength: 1, maxLength: 2_000 }),
});

function join(parts: Uint8Array[]): ArrayBuffer {
  const n = parts.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out.buffer;
}

describe('splitSegments', () => {
  it('round-trips any sequence of whole segments', () => {
    fc.assert(
      fc.property(fc.array(segmentArb, { minLength: 1, maxLength: 8 }), (segs) => {
        const out = splitSegments(join(segs.map(encodeSegment)));
        expect(Array.isArray(out)).toBe(true);
        expect((out as Segment[]).map((s) => ({ ...s, payload: Array.from(s.payload) }))).toEqual(segs.map((s) => ({ ...s, payload: Array.from(s.payload) })));
      }),
    );
  });

  it('rejects any message cut inside a segment', () => {
    fc.assert(
      fc.property(fc.array(segmentArb, { minLength: 1, maxLength: 4 }), fc.nat(), (segs, cutSeed) => {
        const whole = new Uint8Array(join(segs.map(encodeSegment)));
        const cut = 1 + (cutSeed % (whole.length - 1));
        // Cutting at a segment boundary leaves whole segments; any other cut must be refused.
        let boundary = false;
        let off = 0;
        for (const s of segs) {
          off += 8 + s.payload.length;
          if (off === cut) boundary = true;
        }
        const out = splitSegments(whole.slice(0, cut).buffer);
        if (boundary) expect(Array.isArray(out)).toBe(true);
        else expect(out).toEqual({ code: 1002, reason: 'mux:malformed' });
      }),
    );
  });

  it('rejects every unknown protocol number with mux:unknown-protocol', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0x7fff }).filter((p) => !known.includes(p as (typeof known)[number])),
        (p) => {
          const out = splitSegments(join([encodeSegment({ time: 0, fromResponder: false, protocol: p, payload: new Uint8Array([1]) })]));
          expect(out).toEqual({ code: 1002, reason: 'mux:unknown-protocol' });
        },
      ),
    );
  });

  it('accepts payload length 12,288 and refuses text, empty messages and 1 MiB + 1', () => {
    const max = encodeSegment({ time: 1, fromResponder: false, protocol: 0, payload: new Uint8Array(MAX_SEGMENT_PAYLOAD) });
    expect(Array.isArray(splitSegments(join([max])))).toBe(true);
    expect(splitSegments('x')).toEqual({ code: 1003, reason: 'mux:malformed' });
    expect(splitSegments(new ArrayBuffer(0))).toEqual({ code: 1002, reason: 'mux:malformed' });
    expect(splitSegments(new ArrayBuffer(1024 * 1024 + 1))).toEqual({ code: 1009, reason: 'mux:limit' });
  });

  it('refuses to encode out-of-range segments', () => {
    expect(() => encodeSegment({ time: 0, fromResponder: false, protocol: 0, payload: new Uint8Array(0) })).toThrow(RangeError);
    expect(() => encodeSegment({ time: 0, fromResponder: false, protocol: 0, payload: new Uint8Array(12_289) })).toThrow(RangeError);
  });
});
