import { describe, expect, it } from 'vitest';
import { ManualTime, SlotClock } from './index';

describe('SlotClock', () => {
  const start = Date.parse('2026-11-24T00:00:00.000Z');

  it('converts between time, slots and epochs (§3.2)', () => {
    const clock = new SlotClock({ systemStartMs: start, slotLengthMs: 100, epochLength: 50 }, new ManualTime(start));
    expect(clock.slotAt(start)).toBe(0);
    expect(clock.slotAt(start + 99)).toBe(0);
    expect(clock.slotAt(start + 100)).toBe(1);
    expect(clock.slotAt(start - 1)).toBe(-1);
    expect(clock.slotStart(7)).toBe(start + 700);
    expect(clock.epochOf(49)).toBe(0);
    expect(clock.epochOf(50)).toBe(1);
    expect(clock.epochStart(3)).toBe(150);
    expect(clock.timeS(start + 1500)).toBe(1.5);
  });

  it('ticks every slot on a manual clock, awaiting async handlers in order', async () => {
    const time = new ManualTime(start + 50);
    const clock = new SlotClock({ systemStartMs: start, slotLengthMs: 100, epochLength: 50 }, time);
    const seen: number[] = [];
    clock.onSlot(async (s) => {
      await new Promise((r) => setTimeout(r, 1));
      seen.push(s);
    });
    clock.start();
    await time.advanceTo(start + 1000);
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    clock.stop();
    await time.advance(1000);
    expect(seen.length).toBe(10);
  });

  it('skips missed slots instead of replaying them', async () => {
    const time = new ManualTime(start);
    const clock = new SlotClock({ systemStartMs: start, slotLengthMs: 100, epochLength: 50 }, time);
    const seen: number[] = [];
    clock.onSlot((s) => {
      seen.push(s);
      // the first handler "stalls" the process for 450 ms
      if (s === 1) time.jump(450);
    });
    clock.start();
    await time.advanceTo(start + 800);
    // slots 2..5 passed while slot 1 ran; the overdue timer delivers slot 5, then 6, 7, 8.
    expect(seen).toEqual([1, 5, 6, 7, 8]);
    expect(clock.skippedSlots).toBe(3);
    clock.stop();
  });

  it('rejects nonsensical timing', () => {
    expect(() => new SlotClock({ systemStartMs: 0, slotLengthMs: 0, epochLength: 1 }, new ManualTime(0))).toThrow();
    expect(() => new SlotClock({ systemStartMs: 0, slotLengthMs: 10, epochLength: 0 }, new ManualTime(0))).toThrow();
  });
});
