import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEVNET_PARAMS, MAINNET_PARAMS } from '../params/index';
import {
  announcementForwardable,
  canCertify,
  epochFirstSlot,
  epochOfSlot,
  freshness,
  latestAcceptableSlot,
  leiosWindows,
  slotAtMs,
  slotStartMs,
  voteArrivalInWindow,
  voteWindowMs,
} from './index';

const clock = { systemStartMs: Date.UTC(2026, 10, 24), slotLengthMs: 1000 };

describe('slots and epochs (§3.2)', () => {
  it('converts slots to time and back', () => {
    expect(slotStartMs(clock, 0)).toBe(clock.systemStartMs);
    expect(slotStartMs(clock, 7)).toBe(clock.systemStartMs + 7000);
    expect(slotAtMs(clock, clock.systemStartMs + 6999)).toBe(6);
    expect(slotAtMs(clock, clock.systemStartMs + 7000)).toBe(7);
    expect(slotAtMs(clock, clock.systemStartMs - 1)).toBe(-1);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000_000 }), fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 0, max: 4999 }), (s, len, off) => {
        const c = { systemStartMs: clock.systemStartMs, slotLengthMs: len };
        expect(slotAtMs(c, slotStartMs(c, s) + (off % len))).toBe(s);
      }),
    );
  });

  it('computes epochs', () => {
    expect(epochOfSlot(0, 1200)).toBe(0);
    expect(epochOfSlot(1199, 1200)).toBe(0);
    expect(epochOfSlot(1200, 1200)).toBe(1);
    expect(epochFirstSlot(3, 1200)).toBe(3600);
  });

  it('accepts header slots up to slot(now + MAX_SKEW)', () => {
    const now = slotStartMs(clock, 50) + 100;
    expect(latestAcceptableSlot(clock, now, 1000)).toBe(51);
    expect(latestAcceptableSlot(clock, now, 0)).toBe(50);
  });
});

describe('§7.1 windows', () => {
  it('matches the table with the defaults', () => {
    expect(leiosWindows(100, MAINNET_PARAMS)).toEqual({
      slot: 100,
      headerDeadline: 101,
      earliestVote: 103,
      lastVote: 107,
      votesStopDiffusing: 111,
      earliestCertifyingChild: 114,
    });
    expect(leiosWindows(0, { lHdr: 2, lVote: 3, lDiff: 5 })).toEqual({
      slot: 0,
      headerDeadline: 2,
      earliestVote: 6,
      lastVote: 9,
      votesStopDiffusing: 12,
      earliestCertifyingChild: 14,
    });
  });

  it('§16 case 14: votes before T(s+3) − MAX_SKEW or from T(s+11) are not forwarded', () => {
    const s = 500;
    const { startMs, endMs } = voteWindowMs(clock, s, DEVNET_PARAMS);
    expect(startMs).toBe(slotStartMs(clock, s + 3) - 1000);
    expect(endMs).toBe(slotStartMs(clock, s + 11));
    expect(voteArrivalInWindow(clock, s, startMs - 1, DEVNET_PARAMS)).toBe(false);
    expect(voteArrivalInWindow(clock, s, startMs, DEVNET_PARAMS)).toBe(true);
    expect(voteArrivalInWindow(clock, s, endMs - 1, DEVNET_PARAMS)).toBe(true);
    expect(voteArrivalInWindow(clock, s, endMs, DEVNET_PARAMS)).toBe(false);
    expect(voteArrivalInWindow(clock, s, slotStartMs(clock, s), DEVNET_PARAMS)).toBe(false);
  });

  it('§16 case 22 (timing): a certificate at s+13 is too early, s+14 is allowed', () => {
    expect(canCertify(1000, 1013, DEVNET_PARAMS)).toBe(false);
    expect(canCertify(1000, 1014, DEVNET_PARAMS)).toBe(true);
    expect(canCertify(1000, 5000, DEVNET_PARAMS)).toBe(true);
    fc.assert(
      fc.property(fc.nat(1_000_000), fc.nat(100), (s, d) => {
        expect(canCertify(s, s + d, DEVNET_PARAMS)).toBe(d >= 14);
      }),
    );
  });

  it('classifies freshness by the §13.1 fresh window', () => {
    expect(freshness(100, 100, DEVNET_PARAMS)).toBe('fresh');
    expect(freshness(100, 114, DEVNET_PARAMS)).toBe('fresh');
    expect(freshness(100, 115, DEVNET_PARAMS)).toBe('stale');
    expect(freshness(101, 100, DEVNET_PARAMS)).toBe('fresh');
  });

  it('forwards announcements only within 3·L_hdr slots (§10.4)', () => {
    expect(announcementForwardable(100, 100, DEVNET_PARAMS)).toBe(true);
    expect(announcementForwardable(100, 103, DEVNET_PARAMS)).toBe(true);
    expect(announcementForwardable(100, 104, DEVNET_PARAMS)).toBe(false);
    expect(announcementForwardable(100, 106, { lHdr: 2 })).toBe(true);
    expect(announcementForwardable(100, 107, { lHdr: 2 })).toBe(false);
  });
});
