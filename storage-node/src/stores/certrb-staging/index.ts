/**
 * CertRbStaging: CertRBs waiting for the closure of the EB they certify.
 *
 * Primer: a node MUST NOT adopt a CertRB before it holds and has applied the certified closure
 * (PROTOCOL.md §7.2). When a CertRB arrives first, it waits here while the closure is fetched
 * (Praos-class traffic, §13). Each wait is bounded in time (typed `staging-timeout`) and the number
 * of waiting CertRBs is bounded (`staging-full`, refused at once), so a peer cannot park
 * unbounded work (DESIGN.md §5). Completion comes from {@link EbStore.onClosureComplete}; a
 * closure already complete when the CertRB is staged resolves at once.
 *
 * In memory only: after a restart the node re-fetches any CertRB it had not adopted.
 *
 * @module
 */
import type { Hash32 } from '@leios/shared/types';
import { hashHex } from '@leios/shared/types';
import { StorageError } from '../../errors/index';

/** What the staging area needs from the EB store. */
export interface ClosureSource {
  isComplete(ebHash: Hash32): Promise<boolean>;
  onClosureComplete(listener: (ebHash: Hash32) => void): () => void;
}

/** CertRbStaging options. */
export interface CertRbStagingOptions {
  /** Maximum CertRBs waiting at once (default 64). */
  readonly maxWaiting?: number;
  /** Default wait for a closure (default 30 s, the LeiosFetch BlockTxs inactivity limit of §11). */
  readonly timeoutMs?: number;
}

interface Waiter<T> {
  readonly certRbHash: Hash32;
  readonly ebHash: Hash32;
  readonly item: T;
  readonly promise: Promise<T>;
  resolve(v: T): void;
  reject(e: unknown): void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

function keyOf(h: Uint8Array): string {
  return Buffer.from(h.buffer, h.byteOffset, h.byteLength).toString('latin1');
}

/**
 * The staging area. `T` is whatever the caller needs back (the CertRB's block, its peer…).
 *
 * @example
 * ```ts
 * const staging = new CertRbStaging<Block>(ebStore, { maxWaiting: 64 });
 * try {
 *   const block = await staging.stage(certRbHash, parentEbHash, block); // resolves on completion
 *   await adopt(block);
 * } catch (e) {
 *   if (isStorageError(e, 'staging-timeout')) penalise(peer);
 * }
 * ```
 */
export class CertRbStaging<T> {
  readonly maxWaiting: number;
  readonly timeoutMs: number;
  private readonly byRb = new Map<string, Waiter<T>>();
  private readonly byEb = new Map<string, Set<Waiter<T>>>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly closures: ClosureSource,
    opts: CertRbStagingOptions = {},
  ) {
    this.maxWaiting = opts.maxWaiting ?? 64;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.unsubscribe = closures.onClosureComplete((h) => this.closureComplete(h));
  }

  /** CertRBs waiting now. */
  get size(): number {
    return this.byRb.size;
  }

  /**
   * Wait until the closure of `ebHash` is complete, then resolve with `item`. Staging the same
   * CertRB again returns the same promise. Rejects with `staging-full` (at once),
   * `staging-timeout` or `staging-cancelled`.
   *
   * @example `const block = await staging.stage(rbHash, ebHash, block, { timeoutMs: 10_000 })`
   */
  stage(certRbHash: Hash32, ebHash: Hash32, item: T, opts: { timeoutMs?: number } = {}): Promise<T> {
    const rk = keyOf(certRbHash);
    const existing = this.byRb.get(rk);
    if (existing) return existing.promise;
    if (this.byRb.size >= this.maxWaiting) {
      return Promise.reject(
        new StorageError('staging-full', `${this.byRb.size} CertRBs already wait for closures (bound ${this.maxWaiting})`, {
          rb: hashHex(certRbHash),
          bound: this.maxWaiting,
        }),
      );
    }
    let resolve!: (v: T) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const w: Waiter<T> = { certRbHash, ebHash, item, promise, resolve, reject, timer: undefined };
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    w.timer = setTimeout(() => {
      this.remove(w);
      w.reject(
        new StorageError('staging-timeout', `closure of EB ${hashHex(ebHash)} for CertRB ${hashHex(certRbHash)} not complete after ${timeoutMs} ms`, {
          rb: hashHex(certRbHash),
          eb: hashHex(ebHash),
          timeoutMs,
        }),
      );
    }, timeoutMs);
    this.byRb.set(rk, w);
    const ek = keyOf(ebHash);
    let set = this.byEb.get(ek);
    if (!set) {
      set = new Set();
      this.byEb.set(ek, set);
    }
    set.add(w);
    // Registered before the check, so a completion between the two cannot be missed.
    this.closures.isComplete(ebHash).then(
      (done) => {
        if (done) this.settle(w);
      },
      (e: unknown) => {
        this.remove(w);
        w.reject(e);
      },
    );
    return promise;
  }

  /** The closure of `ebHash` is complete: release every CertRB waiting for it. @example `staging.closureComplete(h)` */
  closureComplete(ebHash: Hash32): void {
    const set = this.byEb.get(keyOf(ebHash));
    if (!set) return;
    for (const w of [...set]) this.settle(w);
  }

  /** Withdraw a waiting CertRB (e.g. its chain lost); rejects its wait with `staging-cancelled`. @example `staging.cancel(h)` */
  cancel(certRbHash: Hash32, reason = 'withdrawn'): boolean {
    const w = this.byRb.get(keyOf(certRbHash));
    if (!w) return false;
    this.remove(w);
    w.reject(new StorageError('staging-cancelled', `CertRB ${hashHex(certRbHash)}: ${reason}`, { rb: hashHex(certRbHash) }));
    return true;
  }

  /** Cancel every wait and stop listening. @example `staging.close()` */
  close(): void {
    for (const w of [...this.byRb.values()]) this.cancel(w.certRbHash, 'staging closed');
    this.unsubscribe();
  }

  private settle(w: Waiter<T>): void {
    if (this.byRb.get(keyOf(w.certRbHash)) !== w) return; // already settled
    this.remove(w);
    w.resolve(w.item);
  }

  private remove(w: Waiter<T>): void {
    if (w.timer) clearTimeout(w.timer);
    this.byRb.delete(keyOf(w.certRbHash));
    const ek = keyOf(w.ebHash);
    const set = this.byEb.get(ek);
    set?.delete(w);
    if (set?.size === 0) this.byEb.delete(ek);
  }
}
