/**
 * Reconnect delays: exponential backoff with jitter, bounded on both ends.
 *
 * Primer: a storage node keeps one session per configured relay and redials whenever it drops.
 * Redialling at once in a loop would hammer a relay that is restarting (and every node would do
 * it in lockstep after a relay deploy), so the n-th consecutive failure waits
 * `min(maxMs, initialMs · 2^n)` scaled by a random factor in `[1 − jitter, 1]` ("equal jitter":
 * never zero, never above the cap). A session that stayed up long enough resets the count.
 *
 * @module
 */

/** Options of {@link Backoff}. */
export interface BackoffOptions {
  /** First delay. Default 250 ms. */
  initialMs?: number;
  /** Largest delay. Default 30 s. */
  maxMs?: number;
  /** Fraction of the delay that is randomised, 0..1. Default 0.5. */
  jitter?: number;
  /** Random source in [0, 1). Default `Math.random`. */
  random?: () => number;
}

/**
 * Consecutive-failure counter that yields the next delay.
 *
 * @example
 * ```ts
 * const b = new Backoff({ initialMs: 250, maxMs: 30_000 });
 * setTimeout(redial, b.next()); // 125..250 ms, then 250..500 ms, …, capped at 15..30 s
 * b.reset();                    // after a session that lived
 * ```
 */
export class Backoff {
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly jitter: number;
  private readonly random: () => number;
  /** Consecutive failures so far. */
  attempt = 0;

  constructor(opts: BackoffOptions = {}) {
    this.initialMs = opts.initialMs ?? 250;
    this.maxMs = opts.maxMs ?? 30_000;
    this.jitter = opts.jitter ?? 0.5;
    this.random = opts.random ?? Math.random;
    if (!(this.initialMs > 0) || !(this.maxMs >= this.initialMs)) throw new RangeError('backoff: need 0 < initialMs <= maxMs');
    if (!(this.jitter >= 0 && this.jitter <= 1)) throw new RangeError('backoff: jitter must be within 0..1');
  }

  /** The delay before the next attempt; counts one more failure. */
  next(): number {
    // 2^n overflows to Infinity for large n; min() keeps it at the cap.
    const base = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.attempt, 62));
    this.attempt++;
    return Math.max(1, Math.round(base * (1 - this.jitter * this.random())));
  }

  /** Forget past failures. */
  reset(): void {
    this.attempt = 0;
  }
}
