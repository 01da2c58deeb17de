/**
 * The RelayHub's timer clock: short timers on `setTimeout`, long ones on the Durable Object alarm.
 *
 * Primer: every mini-protocol server waits for its client in StIdle with a §11 timeout of up to
 * 3,600 s. Timers of `longMs` or more are kept in a small in-memory list and fired by the hub's
 * alarm, so that a session's long waits add no `setTimeout` of their own. (While any session is
 * live the hub deliberately stays in memory — one residency timer, see ./index.ts — because
 * hibernating would drop the sessions and the relay core; the list lives and dies with them:
 * after an eviction the sessions close with 1012 `restart`.)
 *
 * @module
 */
import type { Clock, TimerHandle } from '@leios/shared/wire';

interface LongTimer {
  readonly at: number;
  readonly fn: () => void;
}

/**
 * A {@link Clock} whose long timers are fired by {@link AlarmClock.fireDue}.
 *
 * @example
 * ```ts
 * const clock = new AlarmClock((at) => void ctx.storage.setAlarm(at));
 * // in alarm(): const next = clock.fireDue(Date.now());
 * ```
 */
export class AlarmClock implements Clock {
  private readonly long = new Map<number, LongTimer>();
  private nextId = 1;

  constructor(
    /** Make sure the alarm fires at or before `atMs` (wall clock). */
    private readonly arm: (atMs: number) => void,
    readonly longMs = 30_000,
  ) {}

  now(): number {
    return performance.now();
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    if (ms < this.longMs) return { short: setTimeout(fn, ms) };
    const id = this.nextId++;
    const at = Date.now() + ms;
    this.long.set(id, { at, fn });
    this.arm(at);
    return { long: id };
  }

  clearTimer(h: TimerHandle): void {
    const t = h as { short?: ReturnType<typeof setTimeout>; long?: number };
    if (t.short !== undefined) clearTimeout(t.short);
    if (t.long !== undefined) this.long.delete(t.long);
  }

  /** Long timers pending. */
  get pending(): number {
    return this.long.size;
  }

  /** Fire long timers due at `nowMs`; returns the next due time (or Infinity). */
  fireDue(nowMs: number): number {
    let next = Number.POSITIVE_INFINITY;
    for (const [id, t] of [...this.long]) {
      if (t.at <= nowMs) {
        this.long.delete(id);
        t.fn();
      } else next = Math.min(next, t.at);
    }
    return next;
  }
}
