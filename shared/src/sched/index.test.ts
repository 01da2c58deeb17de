import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  comparePriority,
  leiosPriority,
  OfferQueue,
  OutboundScheduler,
  P1Rank,
  PRAOS,
  type Priority,
  SchedulerOverloadError,
  TX_SUBMISSION,
  VOTES,
} from './index';

const SEG = 12_288;
const msg = (n: number, fill = 0) => new Uint8Array(n).fill(fill);

/** Drain the scheduler, returning (protocol, class) per segment. */
function drain(s: OutboundScheduler, max = 100_000): Array<{ protocol: number; cls: number; len: number }> {
  const out: Array<{ protocol: number; cls: number; len: number }> = [];
  for (let seg = s.next(); seg && out.length < max; seg = s.next()) {
    out.push({ protocol: seg.protocol, cls: seg.cls, len: seg.payload.length });
  }
  return out;
}

describe('comparePriority / leiosPriority', () => {
  it('orders P0 < P1 (votes < EB items freshest first < tx-submission) < P2 freshest first', () => {
    const order: Priority[] = [
      PRAOS,
      VOTES,
      { cls: 1, rank: P1Rank.EbItems, slot: 20 },
      { cls: 1, rank: P1Rank.EbItems, slot: 19 },
      TX_SUBMISSION,
      { cls: 2, slot: 9 },
      { cls: 2, slot: 3 },
    ];
    const shuffled = [...order].reverse();
    shuffled.sort(comparePriority);
    expect(shuffled).toEqual(order);
  });

  it('classifies by the fresh window 3·L_hdr + L_vote + L_diff', () => {
    const params = { lHdr: 1, lVote: 4, lDiff: 7 };
    expect(leiosPriority({ ebSlot: 100, currentSlot: 114, params }).cls).toBe(1);
    expect(leiosPriority({ ebSlot: 100, currentSlot: 115, params }).cls).toBe(2);
    expect(leiosPriority({ ebSlot: 100, currentSlot: 500, params, certifiedOnBestChain: true }).cls).toBe(0);
  });
});

describe('OutboundScheduler', () => {
  it('cuts messages into ≤ 12,288-byte segments and preserves per-stream byte order', () => {
    const s = new OutboundScheduler();
    const a = new Uint8Array(40_000).map((_, i) => i & 0xff);
    s.enqueue(19, 1, a, { cls: 2, slot: 1 });
    s.enqueue(19, 1, msg(5, 7), { cls: 2, slot: 1 });
    const parts: Uint8Array[] = [];
    for (let seg = s.next(); seg; seg = s.next()) {
      expect(seg.payload.length).toBeLessThanOrEqual(SEG);
      parts.push(seg.payload.slice());
    }
    expect(parts.map((p) => p.length)).toEqual([SEG, SEG, SEG, 40_000 - 3 * SEG, 5]);
    const joined = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) {
      joined.set(p, o);
      o += p.length;
    }
    expect(joined.subarray(0, 40_000)).toEqual(a);
    expect(s.pending).toBe(false);
  });

  it('sends a P0 header next after a flood of P2 segments was queued', () => {
    const s = new OutboundScheduler();
    for (let i = 0; i < 50; i++) s.enqueue(19, 1, msg(4 * SEG), { cls: 2, slot: i });
    // Three P2 segments already left before the header arrives.
    expect(drain(s, 3).every((x) => x.cls === 2)).toBe(true);
    s.enqueue(18, 1, msg(300), PRAOS);
    const next = s.next();
    expect(next?.protocol).toBe(18);
    expect(next?.cls).toBe(0);
  });

  it('a header on the same stream waits only for the one already-started message', () => {
    const s = new OutboundScheduler();
    s.enqueue(18, 1, msg(3 * SEG), { cls: 2, slot: 1 }); // a big Votes message already started
    s.enqueue(19, 1, msg(10 * SEG), { cls: 2, slot: 1 });
    expect(s.next()?.protocol).toBe(18);
    s.enqueue(18, 1, msg(200, 9), PRAOS);
    const rest = drain(s);
    // The remaining two segments of the started message, then the header, then the bulk reply.
    expect(rest.slice(0, 3).map((x) => [x.protocol, x.len])).toEqual([
      [18, SEG],
      [18, SEG],
      [18, 200],
    ]);
    expect(rest.slice(3).every((x) => x.protocol === 19)).toBe(true);
  });

  it('gives a backlogged lower class at least one segment in 32 (starvation guard)', () => {
    const s = new OutboundScheduler();
    for (let i = 0; i < 200; i++) s.enqueue(2, 1, msg(SEG), PRAOS);
    for (let i = 0; i < 20; i++) s.enqueue(19, 1, msg(SEG), { cls: 1, slot: 10 });
    for (let i = 0; i < 20; i++) s.enqueue(3, 1, msg(SEG), { cls: 2, slot: 1 });
    const out = drain(s, 160);
    for (const cls of [1, 2]) {
      const idx = out.flatMap((x, i) => (x.cls === cls ? [i] : []));
      expect(idx.length).toBeGreaterThanOrEqual(4);
      // first service within 32 segments, then gaps of at most 32
      expect(idx[0]).toBeLessThan(33);
      for (let i = 1; i < idx.length; i++) expect(idx[i]! - idx[i - 1]!).toBeLessThanOrEqual(32);
    }
    // P0 still gets the overwhelming share
    expect(out.filter((x) => x.cls === 0).length).toBeGreaterThan(140);
  });

  it('property: with every class backlogged, each lower class is served at least once in any `guard` segments and P0 keeps the majority', () => {
    fc.assert(
      fc.property(fc.integer({ min: 4, max: 40 }), fc.integer({ min: 1, max: 2 }), (guard, lowStreams) => {
        const s = new OutboundScheduler({ guardInterval: guard, maxSegment: 10 });
        s.enqueue(2, 1, msg(10 * 400), PRAOS);
        for (let k = 0; k < lowStreams; k++) {
          s.enqueue(18, k as 0 | 1, msg(10 * 100), { cls: 1, slot: k });
          s.enqueue(19, k as 0 | 1, msg(10 * 100), { cls: 2, slot: k });
        }
        const out = drain(s, 300);
        for (const cls of [1, 2]) {
          let last = -1;
          for (let i = 0; i < out.length; i++) {
            if (out[i]!.cls === cls) {
              expect(i - last).toBeLessThanOrEqual(guard);
              last = i;
            }
          }
        }
        expect(out.filter((x) => x.cls === 0).length).toBeGreaterThan(out.length / 3);
      }),
      { numRuns: 60 },
    );
  });

  it('gives idle capacity to lower classes', () => {
    const s = new OutboundScheduler();
    s.enqueue(19, 1, msg(2 * SEG), { cls: 2, slot: 1 });
    expect(drain(s).map((x) => x.cls)).toEqual([2, 2]);
  });

  it('orders P1 as votes, then EB items freshest first, then tx-submission; P2 freshest first', () => {
    const s = new OutboundScheduler();
    // Different streams so that the scheduler is free to reorder.
    s.enqueue(4, 1, msg(10), TX_SUBMISSION);
    s.enqueue(19, 1, msg(11), { cls: 1, rank: P1Rank.EbItems, slot: 5 });
    s.enqueue(19, 0, msg(12), { cls: 1, rank: P1Rank.EbItems, slot: 9 });
    s.enqueue(18, 1, msg(13), VOTES);
    s.enqueue(3, 1, msg(14), { cls: 2, slot: 2 });
    s.enqueue(3, 0, msg(15), { cls: 2, slot: 8 });
    expect(drain(s).map((x) => x.len)).toEqual([13, 12, 11, 10, 15, 14]);
  });

  it('fails loudly when a class bound is exceeded and counts nothing for the refused message', () => {
    const s = new OutboundScheduler({ maxQueuedBytes: [100, 100, 100] });
    s.enqueue(2, 1, msg(80), PRAOS);
    expect(() => s.enqueue(2, 1, msg(30), PRAOS)).toThrow(SchedulerOverloadError);
    expect(s.queued(0)).toBe(80);
    expect(() => s.enqueue(18, 1, msg(101), VOTES)).toThrow(SchedulerOverloadError);
    expect(s.queued()).toBe(80);
  });

  it('reports drained streams', () => {
    const s = new OutboundScheduler();
    const drained: string[] = [];
    s.onDrained = (p, m) => drained.push(`${p}/${m}`);
    s.enqueue(18, 1, msg(SEG + 1), PRAOS);
    s.next();
    expect(drained).toEqual([]);
    s.next();
    expect(drained).toEqual(['18/1']);
    expect(s.streamLength(18, 1)).toBe(0);
  });
});

describe('OfferQueue', () => {
  it('returns items in §13.1 order', () => {
    const q = new OfferQueue<string>();
    q.push('p2-old', { cls: 2, slot: 1 });
    q.push('tx', TX_SUBMISSION);
    q.push('p2-new', { cls: 2, slot: 7 });
    q.push('eb-5', { cls: 1, slot: 5 });
    q.push('vote', VOTES);
    q.push('eb-6', { cls: 1, slot: 6 });
    q.push('hdr', PRAOS);
    const order: string[] = [];
    for (let o = q.shift(); o; o = q.shift()) order.push(o.item);
    expect(order).toEqual(['hdr', 'vote', 'eb-6', 'eb-5', 'tx', 'p2-new', 'p2-old']);
  });

  it('drops excess P2 offers oldest first and re-offers them once the queue drains', () => {
    const q = new OfferQueue<number>({ capacity: [10, 10, 3] });
    for (let slot = 1; slot <= 6; slot++) q.push(slot, { cls: 2, slot });
    expect(q.count(2)).toBe(3);
    expect(q.deferredCount).toBe(3);
    expect(q.droppedTotal).toBe(3);
    const seen: number[] = [];
    for (let o = q.shift(); o; o = q.shift()) seen.push(o.item);
    // Freshest three first, then the deferred ones, freshest first: delayed, never omitted.
    expect(seen).toEqual([6, 5, 4, 3, 2, 1]);
    expect(q.deferredCount).toBe(0);
  });

  it('property: every pushed P2 item comes out exactly once, whatever the capacity', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 120 }),
        fc.integer({ min: 1, max: 10 }),
        (slots, cap) => {
          const q = new OfferQueue<number>({ capacity: [10, 10, cap] });
          slots.forEach((slot, i) => {
            q.push(i, { cls: 2, slot });
          });
          const out: number[] = [];
          for (let o = q.shift(); o; o = q.shift()) out.push(o.item);
          expect(out.sort((a, b) => a - b)).toEqual(slots.map((_, i) => i));
        },
      ),
    );
  });

  it('never drops P0/P1: overflow throws SchedulerOverloadError', () => {
    const q = new OfferQueue<number>({ capacity: [2, 2, 2] });
    q.push(1, PRAOS);
    q.push(2, PRAOS);
    expect(() => q.push(3, PRAOS)).toThrow(SchedulerOverloadError);
    q.push(4, VOTES);
    q.push(5, VOTES);
    expect(() => q.push(6, VOTES)).toThrow(SchedulerOverloadError);
    expect(q.size).toBe(4);
  });

  it('bounds the deferred list too', () => {
    const q = new OfferQueue<number>({ capacity: [1, 1, 1], maxDeferred: 2 });
    q.push(1, { cls: 2, slot: 1 });
    q.push(2, { cls: 2, slot: 2 });
    q.push(3, { cls: 2, slot: 3 });
    expect(() => q.push(4, { cls: 2, slot: 4 })).toThrow(SchedulerOverloadError);
  });

  it('shiftWhile batches consecutive matching items', () => {
    const q = new OfferQueue<string>();
    q.push('v1', VOTES);
    q.push('v2', VOTES);
    q.push('eb', { cls: 1, slot: 3 });
    const b = q.shiftWhile((o) => o.priority.rank === P1Rank.Votes, 10);
    expect(b.map((o) => o.item)).toEqual(['v1', 'v2']);
    expect(q.peek()?.item).toBe('eb');
  });
});
