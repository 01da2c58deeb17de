/**
 * LeiosFetch drivers (protocol 19, PROTOCOL.md §10.2–§10.3).
 *
 * The client pipelines up to 16 requests and checks every reply as §10.2 demands before handing
 * it over: `H256(Block) = eb_hash`; a BlockTxs echoes the point and the exact bitmap bytes of its
 * request, carries exactly the selected number of txs and, when the caller passes the EB's
 * references, each tx matches its reference hash and stated size. Any failure closes the
 * connection. The server answers in request order from handlers; a handler returning `null`
 * (item not held) closes with `leios-fetch:unheld` (§10.2: a server asked for anything it does
 * not hold MUST close).
 *
 * @module
 */
import { bytesEqual } from '../../bytes/index';
import { blake2b256 } from '../../crypto/blake2b';
import { P1Rank, type Priority } from '../../sched/index';
import type { Hash32 } from '../../types/index';
import { type EbPoint, type RawItem, raw, violation, type WireLimits } from '../common/index';
import { type ConnectionClosedError, Driver, OrderedReplies } from '../machine/index';
import { bitmapCount, maxBitmapIndex, type TxBitmap } from './bitmap';
import { LEIOS_FETCH_PIPELINE, type LeiosFetchMessage, type LeiosFetchState, leiosFetchSpec } from './messages';

export * from './bitmap';
export * from './messages';

type K = LeiosFetchMessage['type'];

/** A reference of an EB: tx reference hash and stated size (§4.3). */
export interface TxRef {
  readonly hash: Hash32;
  readonly size: number;
}

/** Default priority of Leios traffic about an EB of `slot`: P1 EB items (callers reclassify, §13.1). */
export function ebItemPriority(slot: number): Priority {
  return { cls: 1, rank: P1Rank.EbItems, slot };
}

/**
 * Check a request's bitmap against the EB it names (§10.3): every index below the EB's entry
 * count (else `leios-fetch:unheld`, a tx that does not exist) and, given the stated sizes, at most
 * MAX_REPLY_BYTES selected (else `leios-fetch:limit`). Servers call it in their handler.
 *
 * @example
 * ```ts
 * checkBitmapForEb(req.bitmap, ebRefs.map((r) => r.size), limits);
 * ```
 */
export function checkBitmapForEb(bitmap: TxBitmap, sizes: readonly number[], limits: WireLimits): void {
  const top = maxBitmapIndex(bitmap);
  if (top >= sizes.length) throw violation('leios-fetch', 'unheld', `index ${top} beyond an EB of ${sizes.length} txs`);
  let bytes = 0;
  for (const [key, word] of bitmap.entries) {
    for (let j = 0; j < 64; j++) if ((word >> BigInt(63 - j)) & 1n) bytes += sizes[key * 64 + j]!;
  }
  if (bytes > limits.maxReplyBytes) throw violation('leios-fetch', 'limit', `${bytes} tx bytes > ${limits.maxReplyBytes}`);
}

type Pending =
  | { kind: 'block'; point: EbPoint; resolve: (eb: RawItem) => void; reject: (e: Error) => void }
  | {
      kind: 'txs';
      point: EbPoint;
      bitmap: TxBitmap;
      expected: readonly TxRef[] | undefined;
      resolve: (txs: readonly RawItem[]) => void;
      reject: (e: Error) => void;
    };

/** The §10.2 checks of a reply against its request. */
function replyProblem(m: LeiosFetchMessage, p: Pending): ['malformed' | 'agency', string] | undefined {
  if (m.type === 'Block' && p.kind === 'block') {
    if (!bytesEqual(blake2b256(m.eb.bytes), p.point.hash)) return ['malformed', 'Block does not hash to eb_hash'];
  } else if (m.type === 'BlockTxs' && p.kind === 'txs') {
    if (m.point.slot !== p.point.slot || !bytesEqual(m.point.hash, p.point.hash)) {
      return ['agency', 'BlockTxs does not echo the requested eb_point'];
    }
    if (!bytesEqual(m.bitmap.bytes, p.bitmap.bytes)) return ['agency', 'BlockTxs does not echo the request bitmap bytes'];
    const want = bitmapCount(p.bitmap);
    if (m.txs.length !== want) return ['malformed', `BlockTxs has ${m.txs.length} txs, the bitmap selects ${want}`];
    if (p.expected) {
      for (let i = 0; i < m.txs.length; i++) {
        const t = m.txs[i]!.bytes;
        const ref = p.expected[i]!;
        if (t.length !== ref.size || !bytesEqual(blake2b256(t), ref.hash)) {
          return ['malformed', `tx ${i} does not match its reference hash / size`];
        }
      }
    }
  }
  return undefined;
}

/**
 * LeiosFetch client.
 *
 * @example
 * ```ts
 * const fetch = new LeiosFetchClient();
 * conn.register(fetch);
 * const eb = await fetch.requestBlock({ slot, hash: ebHash });
 * const txs = await fetch.requestTxs({ slot, hash: ebHash }, bitmapFromIndices([0, 5]), [refs[0], refs[5]]);
 * ```
 */
export class LeiosFetchClient extends Driver<LeiosFetchMessage, LeiosFetchState, K> {
  private readonly pending: Pending[] = [];

  constructor() {
    super('client', leiosFetchSpec);
  }

  /** Requests sent and not yet answered. */
  get outstanding(): number {
    return this.pending.length;
  }

  /** Whether another request may be pipelined now. */
  get canRequest(): boolean {
    return !this.closedWith && this.pending.length < LEIOS_FETCH_PIPELINE && this.state !== 'StDone';
  }

  /** Fetch the EB bytes (resolves after `H256(bytes) = eb_hash` was checked). */
  requestBlock(point: EbPoint, priority: Priority = ebItemPriority(point.slot)): Promise<RawItem> {
    return new Promise((resolve, reject) => {
      this.send({ type: 'BlockRequest', point }, priority);
      this.pending.push({ kind: 'block', point, resolve, reject });
    });
  }

  /**
   * Fetch the txs selected by `bitmap`, ascending index order. `expected` (the selected EB
   * references, in index order) enables the §10.2 hash and size checks.
   */
  requestTxs(
    point: EbPoint,
    bitmap: TxBitmap,
    expected?: readonly TxRef[],
    priority: Priority = ebItemPriority(point.slot),
  ): Promise<readonly RawItem[]> {
    if (expected && expected.length !== bitmapCount(bitmap)) {
      return Promise.reject(new RangeError('leios-fetch: expected refs must match the bitmap'));
    }
    return new Promise((resolve, reject) => {
      this.send({ type: 'BlockTxsRequest', point, bitmap }, priority);
      this.pending.push({ kind: 'txs', point, bitmap, expected, resolve, reject });
    });
  }

  /** End the protocol (no request may be outstanding). */
  done(): void {
    this.send({ type: 'Done' }, ebItemPriority(0));
  }

  protected handle(m: LeiosFetchMessage): void {
    const p = this.pending[0];
    if (!p) return; // unreachable: the table admits replies only to requests
    const problem = replyProblem(m, p);
    if (problem) {
      // p stays pending and is rejected with the close error.
      this.fail(violation('leios-fetch', problem[0], problem[1]));
      return;
    }
    this.pending.shift();
    if (m.type === 'Block' && p.kind === 'block') p.resolve(m.eb);
    else if (m.type === 'BlockTxs' && p.kind === 'txs') p.resolve(m.txs);
  }

  protected override onClosed(err: ConnectionClosedError): void {
    for (const p of this.pending.splice(0)) p.reject(err);
  }
}

/** What a LeiosFetch server serves. `null` = not held (closes with `leios-fetch:unheld`). */
export interface LeiosFetchHandlers {
  /** The EB bytes for `point`, and the priority of the reply (§13.1). */
  block(point: EbPoint): Promise<{ eb: Uint8Array; priority?: Priority } | null>;
  /**
   * The selected txs in ascending index order (call {@link checkBitmapForEb} first) and the
   * priority of the reply.
   */
  blockTxs(point: EbPoint, bitmap: TxBitmap): Promise<{ txs: readonly Uint8Array[]; priority?: Priority } | null>;
}

/**
 * LeiosFetch server.
 *
 * @example
 * ```ts
 * conn.register(new LeiosFetchServer({
 *   block: async (p) => { const eb = await store.eb(p.hash); return eb && { eb }; },
 *   blockTxs: async (p, bm) => { … },
 * }));
 * ```
 */
export class LeiosFetchServer extends Driver<LeiosFetchMessage, LeiosFetchState, K> {
  private readonly replies = new OrderedReplies<LeiosFetchMessage & { priority: Priority }>((m) => {
    if (this.closedWith) return;
    const { priority, ...msg } = m;
    this.send(msg as LeiosFetchMessage, priority);
  });

  constructor(private readonly handlers: LeiosFetchHandlers) {
    super('server', leiosFetchSpec);
  }

  protected handle(m: LeiosFetchMessage): void {
    const onError = (e: unknown) => this.handlerFailed(e);
    if (m.type === 'BlockRequest') {
      const { point } = m;
      this.replies.push(
        this.handlers.block(point).then((r) => {
          if (!r) throw violation('leios-fetch', 'unheld', `EB ${point.slot} not held`);
          return { type: 'Block' as const, eb: raw(r.eb), priority: r.priority ?? ebItemPriority(point.slot) };
        }),
        onError,
      );
    } else if (m.type === 'BlockTxsRequest') {
      const { point, bitmap } = m;
      this.replies.push(
        this.handlers.blockTxs(point, bitmap).then((r) => {
          if (!r) throw violation('leios-fetch', 'unheld', `txs of EB ${point.slot} not held`);
          if (r.txs.length !== bitmapCount(bitmap)) throw new Error('leios-fetch handler: tx count must match the bitmap');
          let bytes = 0;
          for (const t of r.txs) bytes += t.length;
          // The peer would close on a reply above the §11 cap: fail here, loudly, instead.
          if (bytes > this.port.limits.maxReplyBytes + 32_000) throw new Error(`leios-fetch handler: ${bytes} reply bytes`);
          return {
            type: 'BlockTxs' as const,
            point,
            bitmap, // echoed with its exact request bytes (§10.2)
            txs: r.txs.map(raw),
            priority: r.priority ?? ebItemPriority(point.slot),
          };
        }),
        onError,
      );
    }
  }
}
