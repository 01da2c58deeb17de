/**
 * Bounded time series for the dashboard: certified throughput and EB diffusion latency.
 *
 * Primer: the dashboard plots two quantities the node learns one event at a time: "an EB with N
 * tx bytes was certified at t" and "EB x's closure was held L seconds after its header arrived".
 * {@link StatusSeries} turns those into the `certifiedThroughput` and `ebDiffusionLatency` arrays
 * of the status snapshot. Throughput is bucketed (bytes per bucket / bucket length, in TxkB/s with
 * kB = 1,000 bytes as in the Leios literature) over a sliding window, with empty buckets reported
 * as 0 so the plot shows stalls; latency keeps the last N points. Memory is bounded by the window
 * and N whatever the event rate.
 *
 * @module
 */
import type { SeriesPoint } from './backend';

/** Options of {@link StatusSeries}. */
export interface StatusSeriesOptions {
  /** Throughput bucket length in seconds (default 10). */
  bucketS?: number;
  /** Throughput window in seconds (default 600). */
  windowS?: number;
  /** Latency points kept (default 500). */
  maxLatencyPoints?: number;
}

/**
 * @example
 * ```ts
 * const series = new StatusSeries({ bucketS: 5 });
 * series.recordCertified(trace.timeS(), closureTxBytes);
 * series.recordEbLatency(trace.timeS(), 0.42);
 * const status = { …, certifiedThroughput: series.throughput(trace.timeS()), ebDiffusionLatency: series.latency() };
 * ```
 */
export class StatusSeries {
  readonly bucketS: number;
  readonly windowS: number;
  private readonly maxLatencyPoints: number;
  /** bucket index (floor(t / bucketS)) → certified tx bytes */
  private readonly buckets = new Map<number, number>();
  private readonly latencies: SeriesPoint[] = [];
  private certified = 0;
  private latest = Number.NEGATIVE_INFINITY;

  constructor(opts: StatusSeriesOptions = {}) {
    this.bucketS = opts.bucketS ?? 10;
    this.windowS = opts.windowS ?? 600;
    this.maxLatencyPoints = opts.maxLatencyPoints ?? 500;
    if (!(this.bucketS > 0) || !(this.windowS >= this.bucketS)) throw new RangeError('need 0 < bucketS <= windowS');
    if (!Number.isSafeInteger(this.maxLatencyPoints) || this.maxLatencyPoints < 1) throw new RangeError('maxLatencyPoints must be >= 1');
  }

  /** An EB with `txBytes` of referenced txs was certified at `timeS` (seconds since systemStart). */
  recordCertified(timeS: number, txBytes: number): void {
    const b = Math.floor(timeS / this.bucketS);
    this.buckets.set(b, (this.buckets.get(b) ?? 0) + txBytes);
    this.certified++;
    this.latest = Math.max(this.latest, timeS);
    this.prune(this.latest);
  }

  /** An EB's closure was held `latencyS` after its header arrived, at `timeS`. */
  recordEbLatency(timeS: number, latencyS: number): void {
    this.latencies.push({ t_s: timeS, value: latencyS });
    if (this.latencies.length > this.maxLatencyPoints) this.latencies.splice(0, this.latencies.length - this.maxLatencyPoints);
  }

  private prune(nowS: number): void {
    const oldest = Math.floor((nowS - this.windowS) / this.bucketS);
    for (const b of this.buckets.keys()) if (b < oldest) this.buckets.delete(b);
  }

  /** Certified EBs recorded since start. */
  get certifiedCount(): number {
    return this.certified;
  }

  /**
   * Throughput per complete bucket in the window ending at `nowS`, oldest first, in TxkB/s; each
   * point is stamped with its bucket's end time. The bucket containing `nowS` is still filling and
   * is left out.
   */
  throughput(nowS: number): SeriesPoint[] {
    this.prune(nowS);
    const last = Math.floor(nowS / this.bucketS) - 1;
    const first = Math.max(0, last - Math.floor(this.windowS / this.bucketS) + 1);
    const out: SeriesPoint[] = [];
    for (let b = first; b <= last; b++) {
      out.push({ t_s: (b + 1) * this.bucketS, value: (this.buckets.get(b) ?? 0) / this.bucketS / 1000 });
    }
    return out;
  }

  /** The latency points, oldest first. */
  latency(): SeriesPoint[] {
    return this.latencies.slice();
  }
}
