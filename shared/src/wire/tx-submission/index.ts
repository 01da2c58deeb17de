/**
 * Tx-submission drivers (protocol 4, PROTOCOL.md §9). The client pulls tx ids and txs from the
 * server; both ends track the window of announced, unacknowledged ids (≤ 128) and enforce it:
 * the server refuses acks beyond what it announced and requests that would exceed the window,
 * the client refuses replies with more ids than requested, an empty reply to a blocking request,
 * and txs that were not requested (by reference hash, in request order) or differ from their
 * announced size.
 *
 * @module
 */
import { bytesEqual, toHex } from '../../bytes/index';
import { blake2b256 } from '../../crypto/blake2b';
import { TX_SUBMISSION } from '../../sched/index';
import type { Hash32 } from '../../types/index';
import { type RawItem, raw, violation } from '../common/index';
import { type ConnectionClosedError, Driver } from '../machine/index';
import {
  MAX_TXS_PER_REQUEST,
  MAX_UNACKED_TX_IDS,
  type TxIdAndSize,
  type TxSubmissionKey,
  type TxSubmissionMessage,
  type TxSubmissionState,
  txSubmissionSpec,
} from './messages';

export * from './messages';

type Pending =
  | { kind: 'ids'; blocking: boolean; req: number; resolve: (v: readonly TxIdAndSize[]) => void; reject: (e: Error) => void }
  | { kind: 'txs'; ids: readonly TxIdAndSize[]; resolve: (v: readonly RawItem[]) => void; reject: (e: Error) => void };

/**
 * Tx-submission client (the puller).
 *
 * @example
 * ```ts
 * const ts = new TxSubmissionClient();
 * conn.register(ts);
 * const ids = await ts.requestTxIds(true, 0, 16);
 * const txs = await ts.requestTxs(ids.map((i) => i.id));
 * ```
 */
export class TxSubmissionClient extends Driver<TxSubmissionMessage, TxSubmissionState, TxSubmissionKey> {
  private unacked: TxIdAndSize[] = [];
  private pending: Pending | undefined;

  constructor() {
    super('client', txSubmissionSpec);
  }

  /** Announced ids not yet acknowledged. */
  get unacknowledged(): readonly TxIdAndSize[] {
    return this.unacked;
  }

  /**
   * Acknowledge the oldest `ack` ids and ask for up to `req` new ones. A blocking request waits
   * for at least one id; a non-blocking one may come back empty.
   */
  requestTxIds(blocking: boolean, ack: number, req: number): Promise<readonly TxIdAndSize[]> {
    if (this.pending) return Promise.reject(new Error('tx-submission: one request at a time'));
    if (ack > this.unacked.length) return Promise.reject(new RangeError('tx-submission: ack beyond announced ids'));
    if (this.unacked.length - ack + req > MAX_UNACKED_TX_IDS || (blocking && req < 1)) {
      return Promise.reject(new RangeError('tx-submission: request outside the 128-id window'));
    }
    return new Promise((resolve, reject) => {
      this.send({ type: 'RequestTxIds', blocking, ack, req }, TX_SUBMISSION);
      this.unacked = this.unacked.slice(ack);
      this.pending = { kind: 'ids', blocking, req, resolve, reject };
    });
  }

  /** Fetch announced txs (≤ 64); unavailable ones are omitted by the server. */
  requestTxs(ids: readonly Hash32[]): Promise<readonly RawItem[]> {
    if (this.pending) return Promise.reject(new Error('tx-submission: one request at a time'));
    if (ids.length < 1 || ids.length > MAX_TXS_PER_REQUEST) return Promise.reject(new RangeError('tx-submission: 1..64 ids'));
    const refs: TxIdAndSize[] = [];
    for (const id of ids) {
      const ref = this.unacked.find((u) => bytesEqual(u.id, id));
      if (!ref) return Promise.reject(new RangeError(`tx-submission: id ${toHex(id)} was not announced`));
      refs.push(ref);
    }
    return new Promise((resolve, reject) => {
      this.send({ type: 'RequestTxs', ids }, TX_SUBMISSION);
      this.pending = { kind: 'txs', ids: refs, resolve, reject };
    });
  }

  /** End the protocol. */
  done(): void {
    this.send({ type: 'Done' }, TX_SUBMISSION);
  }

  protected handle(m: TxSubmissionMessage): void {
    const p = this.pending;
    if (!p) return;
    const problem = this.check(m, p);
    if (problem) {
      this.fail(violation('tx-submission', problem[0], problem[1]));
      return;
    }
    this.pending = undefined;
    if (m.type === 'ReplyTxIds' && p.kind === 'ids') {
      this.unacked.push(...m.ids);
      p.resolve(m.ids);
    } else if (m.type === 'ReplyTxs' && p.kind === 'txs') p.resolve(m.txs);
  }

  private check(m: TxSubmissionMessage, p: Pending): ['limit' | 'agency' | 'malformed', string] | undefined {
    if (m.type === 'ReplyTxIds' && p.kind === 'ids') {
      if (m.ids.length > p.req) return ['limit', `${m.ids.length} ids for a request of ${p.req}`];
      if (p.blocking && m.ids.length === 0) return ['agency', 'empty reply to a blocking request'];
    }
    if (m.type === 'ReplyTxs' && p.kind === 'txs') {
      let j = 0;
      for (const t of m.txs) {
        const h = blake2b256(t.bytes);
        while (j < p.ids.length && !bytesEqual(p.ids[j]!.id, h)) j++;
        if (j === p.ids.length) return ['malformed', 'a tx that was not requested, or out of request order'];
        if (p.ids[j]!.size !== t.bytes.length) return ['malformed', 'a tx that differs from its announced size'];
        j++;
      }
    }
    return undefined;
  }

  protected override onClosed(err: ConnectionClosedError): void {
    this.pending?.reject(err);
    this.pending = undefined;
  }
}

/** What a tx-submission server offers (usually the mempool). */
export interface TxSubmissionHandlers {
  /**
   * Up to `req` ids not announced to this client yet, in mempool order. For a blocking request
   * wait until at least one exists.
   */
  txIds(blocking: boolean, req: number): Promise<readonly TxIdAndSize[]>;
  /** The txs with these reference hashes, in the same order; omit the unavailable ones. */
  txs(ids: readonly Hash32[]): Promise<readonly Uint8Array[]>;
}

/**
 * Tx-submission server.
 *
 * @example
 * ```ts
 * conn.register(new TxSubmissionServer({ txIds: (b, n) => mempool.nextIds(peer, b, n), txs: (ids) => mempool.get(ids) }));
 * ```
 */
export class TxSubmissionServer extends Driver<TxSubmissionMessage, TxSubmissionState, TxSubmissionKey> {
  private announced: TxIdAndSize[] = [];

  constructor(private readonly handlers: TxSubmissionHandlers) {
    super('server', txSubmissionSpec);
  }

  protected handle(m: TxSubmissionMessage): void {
    if (m.type === 'RequestTxIds') {
      if (m.ack > this.announced.length) {
        this.fail(violation('tx-submission', 'limit', `ack ${m.ack} > ${this.announced.length} announced`));
        return;
      }
      if (this.announced.length - m.ack + m.req > MAX_UNACKED_TX_IDS || (m.blocking && m.req === 0)) {
        this.fail(violation('tx-submission', 'limit', `request of ${m.req} ids exceeds the 128-id window`));
        return;
      }
      this.announced = this.announced.slice(m.ack);
      this.handlers.txIds(m.blocking, m.req).then((ids) => {
        if (this.closedWith) return;
        if (ids.length > m.req || (m.blocking && ids.length === 0)) {
          throw new Error(`tx-submission handler: ${ids.length} ids for a ${m.blocking ? 'blocking ' : ''}request of ${m.req}`);
        }
        this.announced.push(...ids);
        this.send({ type: 'ReplyTxIds', ids }, TX_SUBMISSION);
      }).catch((e) => this.handlerFailed(e));
    } else if (m.type === 'RequestTxs') {
      for (const id of m.ids) {
        if (!this.announced.some((a) => bytesEqual(a.id, id))) {
          this.fail(violation('tx-submission', 'unheld', `RequestTxs for unannounced id ${toHex(id)}`));
          return;
        }
      }
      this.handlers.txs(m.ids).then((txs) => {
        if (this.closedWith) return;
        if (txs.length > m.ids.length) throw new Error('tx-submission handler: more txs than requested');
        this.send({ type: 'ReplyTxs', txs: txs.map(raw) }, TX_SUBMISSION);
      }).catch((e) => this.handlerFailed(e));
    }
  }
}
