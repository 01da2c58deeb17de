import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AnonymousLimits } from '../../config/index';
import { ANONYMOUS_LIMIT, AnonymousBudget } from './index';

const LIMITS: AnonymousLimits = { sessionsPerIp: 2, sessions: 5, windowMs: 10_000, messages: 10, bytes: 1_000 };

function budget(limits: Partial<AnonymousLimits> = {}, maxAddresses?: number) {
  let t = 1_000_000;
  const b = new AnonymousBudget({ ...LIMITS, ...limits }, { now: () => t, ...(maxAddresses ? { maxAddresses } : {}) });
  return { b, advance: (ms: number) => (t += ms) };
}

describe('AnonymousBudget', () => {
  it('admits up to sessionsPerIp per address and sessions in total, and frees them on release', () => {
    const { b } = budget();
    expect([b.admit('a'), b.admit('a'), b.admit('a')]).toEqual([null, null, ANONYMOUS_LIMIT]);
    expect([b.admit('b'), b.admit('b'), b.admit('c')]).toEqual([null, null, null]);
    expect(b.admit('d')).toBe(ANONYMOUS_LIMIT); // 5 open in total
    b.release('a');
    expect(b.sessions).toBe(4);
    expect(b.admit('a')).toBeNull();
    expect(b.stats).toMatchObject({ admitted: 6, refused: 2 });
  });

  it('sessionsPerIp 0 admits nobody', () => {
    expect(budget({ sessionsPerIp: 0 }).b.admit('a')).toBe(ANONYMOUS_LIMIT);
  });

  it('charges messages and bytes per address per window; a new window starts afresh', () => {
    const { b, advance } = budget();
    for (let i = 0; i < 10; i++) expect(b.charge('a', 1, 10)).toBe(true);
    expect(b.charge('a', 1, 10)).toBe(false); // the 11th message
    expect(b.charge('b', 1, 10)).toBe(true); // another address is not affected
    expect(b.charge('b', 1, 990)).toBe(true); // exactly 1,000 bytes
    expect(b.charge('b', 0, 1)).toBe(false);
    expect(b.admit('a')).toBe(ANONYMOUS_LIMIT); // spent: no new session this window
    advance(10_000);
    expect(b.charge('a', 1, 10)).toBe(true);
    expect(b.admit('a')).toBeNull();
  });

  it('a violation uses up the address for a whole window from then', () => {
    const { b, advance } = budget();
    expect(b.charge('a', 1, 1)).toBe(true);
    advance(9_000);
    b.exhaust('a');
    expect(b.stats.penalised).toBe(1);
    expect(b.charge('a', 0, 0)).toBe(false);
    advance(9_999);
    expect(b.admit('a')).toBe(ANONYMOUS_LIMIT);
    advance(1);
    expect(b.admit('a')).toBeNull();
  });

  it('forgets the least recently seen address without sessions beyond maxAddresses, never one with a session', () => {
    const { b } = budget({ sessions: 2 }, 3);
    expect(b.admit('held')).toBeNull();
    b.exhaust('x');
    b.charge('y', 1, 1);
    b.charge('z', 1, 1); // 4th address: 'x' (oldest without a session) is forgotten
    expect(b.addresses).toBe(3);
    expect(b.charge('x', 1, 1)).toBe(true); // its penalty went with it
    expect(b.admit('held')).toBeNull(); // 'held' kept its count: a second session is its last
    expect(b.admit('held')).toBe(ANONYMOUS_LIMIT);
  });

  it('property: open sessions never exceed the per-address and total caps; memory stays bounded', () => {
    const op = fc.oneof(
      fc.record({ k: fc.constant('admit' as const), ip: fc.nat({ max: 7 }) }),
      fc.record({ k: fc.constant('release' as const), ip: fc.nat({ max: 7 }) }),
      fc.record({ k: fc.constant('charge' as const), ip: fc.nat({ max: 7 }), n: fc.nat({ max: 3 }), bytes: fc.nat({ max: 400 }) }),
      fc.record({ k: fc.constant('exhaust' as const), ip: fc.nat({ max: 7 }) }),
      fc.record({ k: fc.constant('advance' as const), ms: fc.nat({ max: 6_000 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const { b, advance } = budget({}, 6);
        const held = new Map<number, number>();
        for (const o of ops) {
          if (o.k === 'admit') {
            if (b.admit(`ip${o.ip}`) === null) held.set(o.ip, (held.get(o.ip) ?? 0) + 1);
          } else if (o.k === 'release') {
            if ((held.get(o.ip) ?? 0) > 0) {
              b.release(`ip${o.ip}`);
              held.set(o.ip, held.get(o.ip)! - 1);
            }
          } else if (o.k === 'charge') b.charge(`ip${o.ip}`, o.n, o.bytes);
          else if (o.k === 'exhaust') b.exhaust(`ip${o.ip}`);
          else advance(o.ms);
          const total = [...held.values()].reduce((x, y) => x + y, 0);
          expect(b.sessions).toBe(total);
          expect(total).toBeLessThanOrEqual(LIMITS.sessions);
          for (const n of held.values()) expect(n).toBeLessThanOrEqual(LIMITS.sessionsPerIp);
          expect(b.addresses).toBeLessThanOrEqual(6);
        }
      }),
    );
  });
});
