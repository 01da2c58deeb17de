/**
 * Chain-sync drivers (protocol 2, PROTOCOL.md §9): one request outstanding at a time; the server
 * follows its selected chain for this client through handlers.
 *
 * @module
 */
import { PRAOS } from '../../sched/index';
import type { Point, RawItem, Tip } from '../common/index';
import { type ConnectionClosedError, Driver } from '../machine/index';
import { type ChainSyncMessage, type ChainSyncState, chainSyncSpec } from './messages';

export * from './messages';

type K = ChainSyncMessage['type'];

/** The answer to RequestNext. */
export type ChainUpdate =
  | { type: 'RollForward'; header: RawItem; tip: Tip }
  | { type: 'RollBackward'; point: Point; tip: Tip };

/** The answer to FindIntersect. */
export type IntersectResult = { found: true; point: Point; tip: Tip } | { found: false; tip: Tip };

/**
 * Chain-sync client.
 *
 * @example
 * ```ts
 * const cs = new ChainSyncClient();
 * conn.register(cs);
 * const i = await cs.findIntersect([myTip, null]);
 * for (;;) handle(await cs.requestNext());
 * ```
 */
export class ChainSyncClient extends Driver<ChainSyncMessage, ChainSyncState, K> {
  private pending: { resolve: (v: ChainUpdate | IntersectResult) => void; reject: (e: Error) => void } | undefined;

  constructor(private readonly opts: { onAwait?: () => void } = {}) {
    super('client', chainSyncSpec);
  }

  private request<T extends ChainUpdate | IntersectResult>(m: ChainSyncMessage): Promise<T> {
    if (this.pending) return Promise.reject(new Error('chain-sync: one request at a time'));
    return new Promise<T>((resolve, reject) => {
      this.send(m, PRAOS);
      this.pending = { resolve: resolve as (v: ChainUpdate | IntersectResult) => void, reject };
    });
  }

  /** Ask for the next update of the server's chain (the server may first say AwaitReply). */
  requestNext(): Promise<ChainUpdate> {
    return this.request<ChainUpdate>({ type: 'RequestNext' });
  }

  /** Find the best intersection among `points` (≤ 64, best first). */
  findIntersect(points: readonly Point[]): Promise<IntersectResult> {
    return this.request<IntersectResult>({ type: 'FindIntersect', points });
  }

  /** End the protocol. */
  done(): void {
    this.send({ type: 'Done' }, PRAOS);
  }

  protected handle(m: ChainSyncMessage): void {
    if (m.type === 'AwaitReply') {
      this.opts.onAwait?.();
      return;
    }
    const p = this.pending;
    this.pending = undefined;
    if (m.type === 'RollForward' || m.type === 'RollBackward') p?.resolve(m);
    else if (m.type === 'IntersectFound') p?.resolve({ found: true, point: m.point, tip: m.tip });
    else if (m.type === 'IntersectNotFound') p?.resolve({ found: false, tip: m.tip });
  }

  protected override onClosed(err: ConnectionClosedError): void {
    this.pending?.reject(err);
    this.pending = undefined;
  }
}

/** What a chain-sync server needs (one cursor per client). */
export interface ChainSyncHandlers {
  /** Best intersection of `points` with the selected chain; moves the cursor there. */
  findIntersect(points: readonly Point[]): Promise<IntersectResult> | IntersectResult;
  /**
   * The next update for this client's cursor. Return it synchronously when available; return a
   * Promise when the client is at the tip — the server then sends AwaitReply and the update when
   * the promise resolves.
   */
  next(): ChainUpdate | Promise<ChainUpdate>;
}

/**
 * Chain-sync server.
 *
 * @example
 * ```ts
 * conn.register(new ChainSyncServer({ findIntersect: (ps) => cursor.intersect(ps), next: () => cursor.next() }));
 * ```
 */
export class ChainSyncServer extends Driver<ChainSyncMessage, ChainSyncState, K> {
  constructor(private readonly handlers: ChainSyncHandlers) {
    super('server', chainSyncSpec);
  }

  protected handle(m: ChainSyncMessage): void {
    if (m.type === 'RequestNext') {
      let u: ChainUpdate | Promise<ChainUpdate>;
      try {
        u = this.handlers.next();
      } catch (e) {
        this.handlerFailed(e);
        return;
      }
      if (u instanceof Promise) {
        this.send({ type: 'AwaitReply' }, PRAOS);
        u.then(
          (v) => {
            if (!this.closedWith) this.send(v, PRAOS);
          },
          (e) => this.handlerFailed(e),
        );
      } else this.send(u, PRAOS);
    } else if (m.type === 'FindIntersect') {
      Promise.resolve()
        .then(() => this.handlers.findIntersect(m.points))
        .then(
          (r) => {
            if (this.closedWith) return;
            if (r.found) this.send({ type: 'IntersectFound', point: r.point, tip: r.tip }, PRAOS);
            else this.send({ type: 'IntersectNotFound', tip: r.tip }, PRAOS);
          },
          (e) => this.handlerFailed(e),
        );
    }
  }
}
