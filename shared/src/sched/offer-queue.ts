/**
 * Per-connection queue of pending notifications (offers, headers, votes) in §13.1 order, with the
 * §13.4 overflow rule.
 *
 * Primer: a relay learns of EBs, headers and votes faster than a slow peer drains them, and during
 * an ATK-LeiosProtocolBurst (§13.2) it may learn of hundreds of stale EBs at once. LeiosNotify
 * answers one RequestNext with one item "chosen by §13", so the pending items wait here, ordered by
 * {@link comparePriority}, and the LeiosNotify server takes the best one each time it may send.
 *
 * Bounds (§13.4): each class has an item bound. P0 and P1 items are never dropped: exceeding their
 * bound throws {@link SchedulerOverloadError} (sustained overload fails loudly). P2 offers beyond
 * the bound are *dropped oldest first* — the oldest (stalest) EB slot, latest arrival among equals,
 * i.e. the items that would be served last anyway — into a deferred list, and are re-offered once the
 * active P2 queue drains: delayed, never omitted. The deferred list itself is bounded
 * (`maxDeferred`); beyond it the queue fails loudly too. Deferred items are compact offers
 * (an eb_point and a size), so the bound is generous.
 *
 * @module
 */
import { comparePriority, type Priority, type PriorityClass } from './priority';
import { SchedulerOverloadError } from './scheduler';

/** Bounds of an {@link OfferQueue}. */
export interface OfferQueueOptions {
  /** Items per class [P0, P1, P2] in the active queue. Default [4096, 16384, 256]. */
  capacity?: readonly [number, number, number];
  /** Dropped P2 items kept for re-offer. Default 65,536. */
  maxDeferred?: number;
}

/** A queued item with its priority. */
export interface Offer<T> {
  readonly item: T;
  readonly priority: Priority;
  readonly seq: number;
}

function cmp<T>(a: Offer<T>, b: Offer<T>): number {
  return comparePriority(a.priority, b.priority) || a.seq - b.seq;
}

/** Insert keeping `arr` sorted by `cmp` (stable: equal items keep arrival order). */
function insertSorted<T>(arr: Offer<T>[], o: Offer<T>): void {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cmp(arr[mid]!, o) <= 0) lo = mid + 1;
    else hi = mid;
  }
  arr.splice(lo, 0, o);
}

/**
 * A bounded priority queue of pending notifications.
 *
 * @example
 * ```ts
 * const q = new OfferQueue<string>({ capacity: [16, 16, 2] });
 * q.push('stale-1', { cls: 2, slot: 1 });
 * q.push('stale-2', { cls: 2, slot: 2 });
 * q.push('stale-3', { cls: 2, slot: 3 }); // 'stale-1' is deferred
 * q.push('header', PRAOS);
 * q.shift()?.item // 'header'
 * ```
 */
export class OfferQueue<T> {
  private readonly classes: [Offer<T>[], Offer<T>[], Offer<T>[]] = [[], [], []];
  private deferred: Offer<T>[] = [];
  private readonly capacity: readonly [number, number, number];
  private readonly maxDeferred: number;
  private seq = 0;
  /** P2 items dropped to the deferred list so far (for metrics). */
  droppedTotal = 0;

  constructor(opts: OfferQueueOptions = {}) {
    this.capacity = opts.capacity ?? [4096, 16384, 256];
    this.maxDeferred = opts.maxDeferred ?? 65_536;
  }

  /** Active items (not counting deferred ones). */
  get size(): number {
    return this.classes[0].length + this.classes[1].length + this.classes[2].length;
  }

  /** P2 items waiting in the deferred list. */
  get deferredCount(): number {
    return this.deferred.length;
  }

  /** Active items of one class. */
  count(cls: PriorityClass): number {
    return this.classes[cls].length;
  }

  /**
   * Add an item. P2 overflow defers the stalest P2 item; P0/P1 overflow throws.
   *
   * @throws SchedulerOverloadError
   */
  push(item: T, priority: Priority): void {
    const c = priority.cls;
    const arr = this.classes[c];
    const o: Offer<T> = { item, priority, seq: this.seq++ };
    if (arr.length >= this.capacity[c]) {
      if (c !== 2) throw new SchedulerOverloadError(c, arr.length + 1, this.capacity[c], 'offer queue');
      insertSorted(arr, o);
      // The tail of the freshest-first order is the oldest EB (latest arrival among equals, so
      // an EB's BlockOffer, queued before its BlockTxsOffer, is not deferred before it).
      const dropped = arr.pop();
      this.defer(dropped!);
      return;
    }
    insertSorted(arr, o);
  }

  private defer(o: Offer<T>): void {
    if (this.deferred.length >= this.maxDeferred) {
      throw new SchedulerOverloadError(2, this.deferred.length + 1, this.maxDeferred, 'deferred offers');
    }
    this.deferred.push(o);
    this.droppedTotal++;
  }

  /** The best item without removing it. */
  peek(): Offer<T> | undefined {
    return this.classes[0][0] ?? this.classes[1][0] ?? this.classes[2][0];
  }

  /**
   * Remove and return the best item. When the active P2 queue drains, deferred P2 items come
   * back (freshest first, up to the P2 capacity): §13.4 re-offer.
   */
  shift(): Offer<T> | undefined {
    const c = this.classes[0].length ? 0 : this.classes[1].length ? 1 : 2;
    const o = this.classes[c].shift();
    if (this.classes[2].length === 0 && this.deferred.length > 0) this.reoffer();
    return o;
  }

  /** Remove and return up to `max` items from the front while `pred` holds (e.g. batch votes). */
  shiftWhile(pred: (o: Offer<T>) => boolean, max: number): Offer<T>[] {
    const out: Offer<T>[] = [];
    while (out.length < max) {
      const o = this.peek();
      if (!o || !pred(o)) break;
      out.push(this.shift()!);
    }
    return out;
  }

  private reoffer(): void {
    const back = this.deferred;
    this.deferred = [];
    back.sort(cmp);
    const cap = this.capacity[2];
    this.classes[2] = back.slice(0, cap);
    this.deferred = back.slice(cap);
  }

  /**
   * Remove and return the first queued item (active or deferred) matching `pred`, in queue order.
   * O(n): for the rare reorderings a driver needs (a BlockOffer that must precede its
   * BlockTxsOffer).
   */
  take(pred: (item: T) => boolean): Offer<T> | undefined {
    for (const arr of [...this.classes, this.deferred]) {
      const i = arr.findIndex((o) => pred(o.item));
      if (i >= 0) return arr.splice(i, 1)[0];
    }
    return undefined;
  }

  /** Forget everything (connection closed). */
  clear(): void {
    this.classes[0] = [];
    this.classes[1] = [];
    this.classes[2] = [];
    this.deferred = [];
  }
}
