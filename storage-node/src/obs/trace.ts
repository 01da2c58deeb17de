/**
 * The trace writer: §14.1 events as JSON lines in a file per node, plus an in-memory ring of the
 * recent events and live subscribers (the dashboard's `/api/events` stream).
 *
 * Primer: events are emitted from hot paths (every vote, every block), so {@link TraceWriter.emit}
 * is synchronous and cheap: it stamps the event with `time_s` (seconds since the genesis
 * `systemStart`, the time base the Leios trace tools expect), stores it in a fixed-size ring,
 * notifies subscribers and appends the serialised line to a pending buffer. One background loop
 * writes the buffer to the file, batching whatever accumulated while the previous write was in
 * flight, so there is at most one write outstanding. The buffer is bounded
 * (`maxPendingBytes`): if the disk cannot keep up, further lines are dropped and counted (never
 * the node blocked or its memory grown without bound), and the writer reports the loss through
 * `onError` once per episode. {@link TraceWriter.close} flushes everything pending.
 *
 * @module
 */
import { type FileHandle, open } from 'node:fs/promises';
import { formatTraceLine, type TraceEvent, type TraceLine } from '@leios/shared/obs';

/** Options of {@link TraceWriter}. */
export interface TraceWriterOptions {
  /** Genesis `systemStart` in ms since the Unix epoch: `time_s` counts from it. */
  systemStartMs: number;
  /** File to append JSON lines to; omitted: memory only (ring and subscribers). */
  path?: string;
  /** Recent events kept for the dashboard (default 2,000). */
  ringSize?: number;
  /** Bound on serialised bytes waiting for the disk (default 8 MiB); lines beyond it are dropped. */
  maxPendingBytes?: number;
  /** Wall clock in ms since the Unix epoch (default: high-resolution `performance` time). */
  now?: () => number;
  /** Write failures, dropped lines and throwing subscribers are reported here (default: rethrown asynchronously, so they are never silent). */
  onError?: (err: Error) => void;
}

/** Counters of a {@link TraceWriter}. */
export interface TraceStats {
  emitted: number;
  /** Lines written to the file. */
  written: number;
  /** Lines dropped because the pending buffer was full, the writer closed or a write failed. */
  dropped: number;
  pendingBytes: number;
}

const defaultNow = (): number => performance.timeOrigin + performance.now();

/**
 * JSON-lines trace output of one node.
 *
 * @example
 * ```ts
 * const trace = await TraceWriter.open({ systemStartMs: genesis.systemStartMs, path: 'run/node-0.trace.jsonl' });
 * trace.emit({ type: 'Slot', node: 'node-0', slot: 12 });
 * const unsubscribe = trace.subscribe((line) => console.log(line.message.type));
 * await trace.close();
 * ```
 */
export class TraceWriter {
  private readonly ring: Array<TraceLine | undefined>;
  private ringNext = 0;
  private ringCount = 0;
  private readonly subscribers = new Set<(line: TraceLine) => void>();
  private pending: string[] = [];
  private writing: Promise<void> | null = null;
  private closed = false;
  private overflowing = false;
  private readonly now: () => number;
  private readonly maxPendingBytes: number;
  private readonly stats_: TraceStats = { emitted: 0, written: 0, dropped: 0, pendingBytes: 0 };

  private constructor(
    private readonly opts: TraceWriterOptions,
    private readonly file: FileHandle | null,
  ) {
    const ringSize = opts.ringSize ?? 2000;
    if (!Number.isSafeInteger(ringSize) || ringSize < 1) throw new RangeError(`ringSize must be a positive integer, got ${ringSize}`);
    this.ring = new Array<TraceLine | undefined>(ringSize);
    this.now = opts.now ?? defaultNow;
    this.maxPendingBytes = opts.maxPendingBytes ?? 8 * 2 ** 20;
  }

  /** Open (append to) the trace file, if any, and return a writer. */
  static async open(opts: TraceWriterOptions): Promise<TraceWriter> {
    const file = opts.path === undefined ? null : await open(opts.path, 'a');
    return new TraceWriter(opts, file);
  }

  /** A writer without a file (ring and subscribers only): tests, or nodes run without tracing to disk. */
  static memory(opts: Omit<TraceWriterOptions, 'path'>): TraceWriter {
    return new TraceWriter(opts, null);
  }

  /** Seconds since `systemStart` now (the `time_s` the next event gets). */
  timeS(): number {
    return (this.now() - this.opts.systemStartMs) / 1000;
  }

  /**
   * Record one event; returns the stamped line. Never blocks and never throws for I/O trouble.
   *
   * @example
   * ```ts
   * trace.emit({ type: 'EBTxsReceived', node: name, id: hex, slot, latency_s: 0.42 });
   * ```
   */
  emit(message: TraceEvent): TraceLine {
    const line: TraceLine = { time_s: this.timeS(), message };
    this.stats_.emitted++;
    this.ring[this.ringNext] = line;
    this.ringNext = (this.ringNext + 1) % this.ring.length;
    if (this.ringCount < this.ring.length) this.ringCount++;
    for (const fn of this.subscribers) {
      try {
        fn(line);
      } catch (e) {
        this.report(new Error(`trace subscriber threw on ${message.type}`, { cause: e }));
      }
    }
    if (this.file !== null) this.enqueue(`${formatTraceLine(line.time_s, message)}\n`);
    return line;
  }

  private enqueue(text: string): void {
    if (this.closed) {
      this.stats_.dropped++;
      return;
    }
    if (this.stats_.pendingBytes + text.length > this.maxPendingBytes) {
      this.stats_.dropped++;
      if (!this.overflowing) {
        this.overflowing = true;
        this.report(new Error(`trace buffer above ${this.maxPendingBytes} bytes: dropping lines until the disk catches up`));
      }
      return;
    }
    this.pending.push(text);
    this.stats_.pendingBytes += text.length;
    if (this.writing === null) this.writing = this.drain();
  }

  private async drain(): Promise<void> {
    const file = this.file;
    if (file === null) return;
    try {
      while (this.pending.length > 0) {
        const batch = this.pending;
        this.pending = [];
        const chunk = batch.join('');
        try {
          await file.write(chunk);
          this.stats_.written += batch.length;
        } catch (e) {
          this.stats_.dropped += batch.length;
          this.report(new Error(`trace write failed, ${batch.length} line(s) lost`, { cause: e }));
        } finally {
          this.stats_.pendingBytes -= chunk.length;
        }
      }
    } finally {
      this.writing = null;
      // one report per episode: it ends when the disk has caught up (nothing pending), not when a
      // shorter line happens to fit (line lengths vary, e.g. with time_s's digits)
      this.overflowing = false;
    }
  }

  private report(err: Error): void {
    if (this.opts.onError !== undefined) this.opts.onError(err);
    else
      queueMicrotask(() => {
        throw err;
      });
  }

  /**
   * The most recent events, oldest first (at most `limit`, default the whole ring).
   *
   * @example
   * ```ts
   * trace.recent(50).filter((l) => l.message.type === 'CertGenerated')
   * ```
   */
  recent(limit = this.ring.length): TraceLine[] {
    const n = Math.min(Math.max(0, limit), this.ringCount);
    const out: TraceLine[] = [];
    for (let i = n; i > 0; i--) {
      const line = this.ring[(this.ringNext - i + this.ring.length) % this.ring.length];
      if (line !== undefined) out.push(line);
    }
    return out;
  }

  /** Call `fn` synchronously for every future event; returns the unsubscribe function. */
  subscribe(fn: (line: TraceLine) => void): () => void {
    this.subscribers.add(fn);
    return () => {
      this.subscribers.delete(fn);
    };
  }

  /** Number of live subscribers (SSE clients). */
  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** Counters: emitted, written, dropped, pending bytes. */
  get stats(): Readonly<TraceStats> {
    return { ...this.stats_ };
  }

  /** Resolve once every line emitted so far has been written (or dropped on error). */
  async flush(): Promise<void> {
    while (this.writing !== null) await this.writing;
  }

  /** Flush and close the file. Later events still reach the ring and subscribers, not the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    // Refuse new file lines first, so nothing can start a write after the final flush.
    this.closed = true;
    await this.flush();
    await this.file?.close();
  }
}
