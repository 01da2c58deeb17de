/**
 * Per-session outbound segment scheduler (PROTOCOL.md §13.1, §13.4).
 *
 * Primer: a connection multiplexes several mini-protocol byte streams, one per (protocol, mode).
 * Messages of one stream must leave in order and must not interleave with each other (the
 * receiver reassembles a stream by concatenation, §8.2), but segments of *different* streams may
 * interleave freely. So the scheduler keeps a FIFO of encoded messages per stream and, for every
 * egress segment, picks the stream whose head message has the best {@link Priority}:
 *
 * - strict class priority P0 > P1 > P2, except that a backlogged lower class gets at least one
 *   segment in every {@link SchedulerOptions.guardInterval} (32) — the starvation guard of §13.1
 *   rule 1; when higher classes are idle, lower classes take all capacity;
 * - inside a class, {@link comparePriority} (P1: votes, then EB items freshest first, then
 *   tx-submission; P2: freshest first), ties in arrival order.
 *
 * Segments are cut lazily at {@link SchedulerOptions.maxSegment} (12,288 B) only when picked, so a
 * P0 header enqueued behind megabytes of P2 replies on other streams goes out as the very next
 * segment; behind a bulk reply on its *own* stream it waits for that one already-started message.
 *
 * Every class has a byte bound. The scheduler never drops anything: P0/P1 (and P2 replies, which
 * are owed to a request) that exceed the bound fail loudly with {@link SchedulerOverloadError}.
 * Droppable P2 *offers* live in the {@link OfferQueue} in front of this scheduler, which applies
 * the drop-and-re-offer rule of §13.4.
 *
 * @module
 */
import { LeiosSharedError } from '../errors/index';
import { comparePriority, type Priority, type PriorityClass } from './priority';

/**
 * A bounded queue that would have to drop P0/P1 data (or a reply that is owed) to stay within its
 * bound. DESIGN.md §5: sustained overload fails loudly; the session owner closes the connection.
 */
export class SchedulerOverloadError extends LeiosSharedError {
  readonly kind = 'scheduler-overload' as const;
  constructor(
    readonly cls: PriorityClass,
    readonly queued: number,
    readonly limit: number,
    readonly what: string,
  ) {
    super(`P${cls} ${what} overloaded: ${queued} > ${limit}`);
    this.name = 'SchedulerOverloadError';
  }
}

/** Tuning of an {@link OutboundScheduler}. Defaults follow PROTOCOL.md §8.2 / §11 / §13.1. */
export interface SchedulerOptions {
  /** Largest segment payload. Default 12,288 (§8.2). */
  maxSegment?: number;
  /** A backlogged lower class gets ≥ 1 segment in this many. Default 32 (§13.1). */
  guardInterval?: number;
  /** Unsent bytes allowed per class [P0, P1, P2]. Default 16 MiB, 32 MiB, 32 MiB. */
  maxQueuedBytes?: readonly [number, number, number];
}

/** One egress segment chosen by the scheduler (the mux adds the 8-byte header). */
export interface ScheduledSegment {
  protocol: number;
  mode: 0 | 1;
  payload: Uint8Array;
  cls: PriorityClass;
}

interface Queued {
  bytes: Uint8Array;
  sent: number;
  priority: Priority;
  seq: number;
}

interface Stream {
  protocol: number;
  mode: 0 | 1;
  queue: Queued[];
  head: number;
}

const DEFAULT_QUEUED: readonly [number, number, number] = [16 << 20, 32 << 20, 32 << 20];

/**
 * Chooses, segment by segment, what a session sends next.
 *
 * @example
 * ```ts
 * const s = new OutboundScheduler();
 * s.enqueue(19, 1, bigStaleReply, { cls: 2, slot: 5 });
 * s.enqueue(18, 1, headerMessage, PRAOS);
 * s.next()?.protocol // 18: the header jumps ahead of the stale reply
 * ```
 */
export class OutboundScheduler {
  private readonly streams = new Map<number, Stream>();
  private readonly maxSegment: number;
  private readonly guard: number;
  private readonly maxQueued: readonly [number, number, number];
  private readonly queuedBytes: [number, number, number] = [0, 0, 0];
  /** Segments sent since class c was last served while it had data waiting. */
  private readonly starved: [number, number, number] = [0, 0, 0];
  private seq = 0;
  /** Bytes handed out per class (for `leios_bytes_total{direction="out",class}`). */
  readonly sentBytes: [number, number, number] = [0, 0, 0];
  /** Called when the last queued message of a stream has been fully cut into segments. */
  onDrained: ((protocol: number, mode: 0 | 1) => void) | undefined;

  constructor(opts: SchedulerOptions = {}) {
    this.maxSegment = opts.maxSegment ?? 12_288;
    this.guard = opts.guardInterval ?? 32;
    this.maxQueued = opts.maxQueuedBytes ?? DEFAULT_QUEUED;
    if (this.maxSegment < 1 || this.guard < 4) throw new RangeError('scheduler: bad options');
  }

  /**
   * Queue one complete encoded message on stream (protocol, mode).
   *
   * @throws SchedulerOverloadError when the class's byte bound would be exceeded.
   */
  enqueue(protocol: number, mode: 0 | 1, bytes: Uint8Array, priority: Priority): void {
    if (bytes.length === 0) throw new RangeError('scheduler: empty message');
    const cls = priority.cls;
    const after = this.queuedBytes[cls] + bytes.length;
    if (after > this.maxQueued[cls]) throw new SchedulerOverloadError(cls, after, this.maxQueued[cls], 'egress bytes');
    const id = (mode << 15) | protocol;
    let s = this.streams.get(id);
    if (!s) {
      s = { protocol, mode, queue: [], head: 0 };
      this.streams.set(id, s);
    }
    s.queue.push({ bytes, sent: 0, priority, seq: this.seq++ });
    this.queuedBytes[cls] = after;
  }

  /** Whether anything is waiting. */
  get pending(): boolean {
    return this.queuedBytes[0] + this.queuedBytes[1] + this.queuedBytes[2] > 0;
  }

  /** Unsent bytes of class `cls`, or of all classes. */
  queued(cls?: PriorityClass): number {
    return cls === undefined ? this.queuedBytes[0] + this.queuedBytes[1] + this.queuedBytes[2] : this.queuedBytes[cls];
  }

  /** Messages still queued (including one partially sent) on stream (protocol, mode). */
  streamLength(protocol: number, mode: 0 | 1): number {
    const s = this.streams.get((mode << 15) | protocol);
    return s ? s.queue.length - s.head : 0;
  }

  /** Drop everything (the connection is closing). */
  clear(): void {
    this.streams.clear();
    this.queuedBytes.fill(0);
    this.starved.fill(0);
  }

  /**
   * Cut and return the next segment, or `null` when nothing is queued.
   *
   * @example
   * ```ts
   * for (let seg = s.next(); seg; seg = s.next()) send(seg);
   * ```
   */
  next(): ScheduledSegment | null {
    const best: Array<Stream | undefined> = [undefined, undefined, undefined];
    for (const s of this.streams.values()) {
      const h = s.queue[s.head];
      if (!h) continue;
      const c = h.priority.cls;
      const cur = best[c];
      if (!cur) best[c] = s;
      else {
        const ch = cur.queue[cur.head]!;
        const d = comparePriority(h.priority, ch.priority);
        if (d < 0 || (d === 0 && h.seq < ch.seq)) best[c] = s;
      }
    }
    let pick: PriorityClass | -1 = -1;
    // Starvation guard (§13.1 rule 1): a lower class that has waited guard − 2 segments goes now.
    // One less than strictly needed, so that when P1 and P2 come due together the second is still
    // served within its `guard` segments.
    for (const c of [1, 2] as const) {
      if (best[c] && this.starved[c] >= this.guard - 2) {
        pick = c;
        break;
      }
    }
    if (pick === -1) {
      if (best[0]) pick = 0;
      else if (best[1]) pick = 1;
      else if (best[2]) pick = 2;
      else return null;
    }
    for (const c of [0, 1, 2] as const) {
      if (c === pick || !best[c]) this.starved[c] = 0;
      else this.starved[c]++;
    }
    const s = best[pick]!;
    const m = s.queue[s.head]!;
    const n = Math.min(this.maxSegment, m.bytes.length - m.sent);
    const payload = m.bytes.subarray(m.sent, m.sent + n);
    m.sent += n;
    this.queuedBytes[pick] -= n;
    this.sentBytes[pick] += n;
    if (m.sent === m.bytes.length) {
      s.queue[s.head] = undefined as unknown as Queued;
      s.head++;
      if (s.head === s.queue.length) {
        s.queue.length = 0;
        s.head = 0;
        this.onDrained?.(s.protocol, s.mode);
      } else if (s.head > 64 && s.head * 2 > s.queue.length) {
        s.queue = s.queue.slice(s.head);
        s.head = 0;
      }
    }
    return { protocol: s.protocol, mode: s.mode, payload, cls: pick };
  }
}
