/**
 * One peer session of the relay (docs/session-roles.md): a client and a server instance of
 * chain-sync, block-fetch, tx-submission, LeiosNotify and LeiosFetch on one {@link Connection},
 * wired to the shared {@link Relay}.
 *
 * Primer — what flows where:
 * - *Serving*: chain-sync follows the relay's best chain with one cursor per connection (rolled
 *   back when the best chain switches away from it); block-fetch serves verified blocks (waiting
 *   briefly for one whose header is held and whose fetch is under way); tx-submission announces
 *   the recent-tx buffer; LeiosNotify pushes announcements, offers and votes from the
 *   per-connection {@link LeiosNotifyServer} queue in §13.1 order (§13.4 bounds with P2
 *   drop-and-re-offer); LeiosFetch serves what was offered on this connection.
 * - *Pulling*: chain-sync headers and BlockAnnouncements go to {@link Relay.ingestHeader}, whose
 *   block-fetch requests come back here; BlockOffer / BlockTxsOffer / Votes go to the relay;
 *   tx-submission pulls the peer's txs into the recent-tx buffer.
 *
 * Egress priority is the connection's §13.1 scheduler; in workerd there is no `bufferedAmount`, so
 * the connection hands out a bounded number of 12,288-byte segments per event-loop turn and bulk
 * LeiosFetch replies are paced by the peer's own pipelined requests (≤ 16), so a new P0 item never
 * waits behind more than the bulk reply already being cut.
 *
 * Access (issue 5 item 6): an *upstream* session (an authenticated storage node or relay, or any
 * peer of a relay without PEER_SECRETS) runs every client. A *reader* (an anonymous session) gets
 * every server — it may read — but of the clients only tx-submission, so the relay pulls the txs
 * it submits and nothing else: with no chain-sync, block-fetch, LeiosNotify or LeiosFetch client
 * towards it, a header, block, offer or vote it sends is a segment for which no local instance
 * exists, closed by the connection as `<proto>:agency` (1008, §8.2); and the relay never asks it
 * for blocks or EBs. The relay core refuses such input from a reader as well (../index).
 *
 * Penalties: each offence adds points;
 * at {@link PENALTY_LIMIT} the session closes with 1008 `<proto>:refused`. A notification queue
 * that would have to drop P0/P1 items closes with 1013 `overloaded` instead (§13.4: never drop them).
 *
 * @module
 */
import { toHex } from '@leios/shared';
import { ProtocolViolation, type WireProtocolName } from '@leios/shared/errors';
import { type Priority, SchedulerOverloadError } from '@leios/shared/sched';
import type { BlockNo, Hash32 } from '@leios/shared/types';
import {
  BlockFetchClient,
  BlockFetchServer,
  bitmapFromIndices,
  type ChainUpdate,
  ChainSyncClient,
  ChainSyncServer,
  type Connection,
  ConnectionClosedError,
  checkBitmapForEb,
  type EbPoint,
  indicesFromBitmap,
  type IntersectResult,
  LeiosFetchClient,
  LeiosFetchServer,
  LeiosNotifyClient,
  LeiosNotifyServer,
  type Point,
  raw,
  type ServerNotification,
  type Tip,
  TxSubmissionClient,
  TxSubmissionServer,
} from '@leios/shared/wire';
import type { HeaderEntry } from './chain/index';
import { PENALTY_LIMIT, type PeerNotification, type Relay, type RelayPeer } from './index';

/** Close code when a never-drop queue overflows (RFC 6455 1013 "try again later"). */
export const CLOSE_OVERLOADED = 1013;
const TX_IDS_PER_REQUEST = 16;

function isClosed(e: unknown): boolean {
  return e instanceof ConnectionClosedError || (e as { kind?: string } | null)?.kind === 'connection-closed';
}

/**
 * The relay's side of one peer connection.
 *
 * @example
 * ```ts
 * const s = new RelaySession(relay, conn, 'session-id');
 * s.registerServers();             // before the handshake completes
 * hs.result.then((r) => s.start(r.initiatorOnly, r.access !== 'anonymous'));
 * ```
 */
export class RelaySession implements RelayPeer {
  readonly notifier = new LeiosNotifyServer();
  private bf: BlockFetchClient | undefined;
  private lf: LeiosFetchClient | undefined;
  private score = 0;
  private readonly offences = new Map<string, number>();
  private started = false;
  private feeds = false;

  constructor(
    private readonly relay: Relay,
    readonly conn: Connection,
    readonly id: string,
    private readonly log: (fields: Record<string, unknown>) => void = () => undefined,
  ) {}

  get open(): boolean {
    return !this.conn.closed;
  }

  /** Whether this session may feed the relay (set by {@link start}; false before it). */
  get upstream(): boolean {
    return this.feeds;
  }

  /** Penalty points so far. */
  get penalty(): number {
    return this.score;
  }

  penalise(proto: WireProtocolName, points: number, detail: string): void {
    if (this.conn.closed) return;
    this.score += points;
    this.offences.set(proto, (this.offences.get(proto) ?? 0) + 1);
    this.log({ event: 'penalty', session: this.id, proto, points, score: this.score, detail: detail.slice(0, 200) });
    if (this.score >= PENALTY_LIMIT) {
      this.conn.fail(new ProtocolViolation(proto, 'refused', 1008, `penalty ${this.score}: ${detail}`));
    }
  }

  notify(n: PeerNotification, priority: Priority): void {
    if (this.conn.closed) return;
    try {
      switch (n.type) {
        case 'BlockAnnouncement':
          this.notifier.notify({ type: 'BlockAnnouncement', header: raw(n.header) }, priority);
          break;
        case 'Vote':
          this.notifier.notify({ type: 'Vote', vote: raw(n.vote) }, priority);
          break;
        default:
          this.notifier.notify(n, priority);
      }
    } catch (e) {
      if (!(e instanceof SchedulerOverloadError)) throw e;
      this.log({ event: 'overloaded', session: this.id, detail: e.message });
      this.conn.close(CLOSE_OVERLOADED, 'overloaded');
    }
  }

  async fetchBlock(point: { slot: number; hash: Uint8Array }): Promise<Uint8Array | null> {
    const bf = this.bf;
    if (bf === undefined || !bf.canRequest) return null;
    const p = { slot: point.slot, hash: point.hash as Hash32 } as Point;
    const blocks = await bf.requestRange(p, p);
    return blocks?.[0]?.bytes.slice() ?? null;
  }

  async fetchEb(point: EbPoint, priority: Priority): Promise<Uint8Array> {
    const lf = this.lf;
    if (lf === undefined || !lf.canRequest) throw new Error('leios-fetch: no room');
    return (await lf.requestBlock(point, priority)).bytes.slice();
  }

  async fetchTxs(point: EbPoint, indices: readonly number[], refs: readonly { hash: Uint8Array; size: number }[], priority: Priority): Promise<readonly Uint8Array[]> {
    const lf = this.lf;
    if (lf === undefined || !lf.canRequest) throw new Error('leios-fetch: no room');
    const txs = await lf.requestTxs(point, bitmapFromIndices(indices), refs as { hash: Hash32; size: number }[], priority);
    return txs.map((t) => t.bytes.slice());
  }

  /** Register the server instances (before the handshake: egress is held until it completes). */
  registerServers(): void {
    const relay = this.relay;
    const cursor = new ChainCursor(relay);
    this.conn.register(
      new ChainSyncServer({
        findIntersect: (points) => cursor.intersect(points),
        next: () => cursor.next() ?? this.waitTip(cursor),
      }),
    );
    this.conn.register(
      new BlockFetchServer({
        range: async (from, to) => {
          if (from === null || to === null) return null;
          // Walk back from `to` to `from` over held headers (≤ 100, §9).
          const hexes: string[] = [];
          let hex: string | null = toHex(to.hash);
          const fromHex = toHex(from.hash);
          while (hex !== null && hexes.length < 100) {
            hexes.push(hex);
            if (hex === fromHex) break;
            hex = relay.tree.get(hex)?.parentHex ?? null;
          }
          if (hexes[hexes.length - 1] !== fromHex) return null;
          const out: Uint8Array[] = [];
          for (const h of hexes.reverse()) {
            const b = await relay.blockOrWait(h);
            if (b === null) return out.length > 0 ? out : null;
            out.push(b);
          }
          return out;
        },
      }),
    );
    let txCursor = -1;
    this.conn.register(
      new TxSubmissionServer({
        txIds: async (blocking, req) => {
          for (;;) {
            const { items, last } = relay.txs.after(txCursor, req, this.id);
            txCursor = last;
            if (items.length > 0 || !blocking) return items.map((t) => ({ id: t.hash as Hash32, size: t.size }));
            if (this.conn.closed) throw new ConnectionClosedError(1000, 'closed');
            await relay.txs.waitForNext();
          }
        },
        txs: async (ids) => ids.flatMap((id) => relay.txs.get(toHex(id)) ?? []),
      }),
    );
    this.conn.register(this.notifier);
    this.conn.register(
      new LeiosFetchServer({
        block: async (point) => {
          const rec = relay.eb(toHex(point.hash));
          // §10.2: only what was offered on this connection.
          if (rec === undefined || rec.invalid || !this.notifier.wasOffered('block', point.hash)) return null;
          const eb = await relay.ebBytes(rec);
          return eb === null ? null : { eb, priority: relay.ebPriority(rec) };
        },
        blockTxs: async (point, bitmap) => {
          const rec = relay.eb(toHex(point.hash));
          if (rec === undefined || rec.invalid || !this.notifier.wasOffered('txs', point.hash)) return null;
          if ((await relay.ebBytes(rec)) === null || rec.view === undefined) return null;
          checkBitmapForEb(bitmap, Array.from(rec.view.sizes), this.conn.limits);
          const txs = await relay.ebTxs(rec, indicesFromBitmap(bitmap), bitmap.bytes);
          return txs === null ? null : { txs, priority: relay.ebPriority(rec) };
        },
      }),
    );
  }

  private waitTip(cursor: ChainCursor): Promise<ChainUpdate> {
    return new Promise<ChainUpdate>((resolve, reject) => {
      const again = () => {
        if (this.conn.closed) {
          reject(new ConnectionClosedError(1000, 'closed'));
          return;
        }
        const u = cursor.next();
        if (u !== null) resolve(u);
        else this.relay.tree.onTipChange(again);
      };
      this.relay.tree.onTipChange(again);
    });
  }

  /**
   * After the handshake: join the relay, owe the §10.1 offers, start the clients — all of them
   * towards an upstream, only tx-submission towards a reader (`upstream: false`).
   */
  start(initiatorOnly: boolean, upstream = true): void {
    if (this.started) return;
    this.started = true;
    this.feeds = upstream;
    this.relay.attach(this);
    this.relay.offersForNewPeer(this);
    // §8.2: a responder runs no clients towards an initiator_only peer.
    if (initiatorOnly && this.conn.role === 'responder') return;
    if (!upstream) {
      const ts = new TxSubmissionClient();
      this.conn.register(ts);
      void this.pullTxs(ts).catch((e: unknown) => this.loopFailed('tx-submission', e));
      return;
    }
    const bf = new BlockFetchClient();
    const cs = new ChainSyncClient();
    const lf = new LeiosFetchClient();
    const ts = new TxSubmissionClient();
    this.bf = bf;
    this.lf = lf;
    this.conn.register(bf);
    this.conn.register(cs);
    this.conn.register(lf);
    this.conn.register(new LeiosNotifyClient({ onNotification: (n) => this.onNotification(n) }));
    this.conn.register(ts);
    void this.follow(cs).catch((e: unknown) => this.loopFailed('chain-sync', e));
    void this.pullTxs(ts).catch((e: unknown) => this.loopFailed('tx-submission', e));
  }

  /** The session ended: leave the relay. */
  stop(): void {
    this.relay.detach(this);
  }

  private loopFailed(what: string, e: unknown): void {
    if (isClosed(e) || this.conn.closed) return;
    this.log({ event: 'loop-failed', session: this.id, what, error: e instanceof Error ? e.message : String(e) });
    this.conn.close(1011, 'internal');
  }

  /**
   * Chain-sync client: the peer's selected chain into the relay's tree, one header at a time.
   *
   * A header that could not be checked yet (its epoch's pools not served: §12 404 before η is
   * fixed, or no storage node answered) must not be skipped: every later header would lack its
   * parent and the relay's chain would stop there for good. The follower waits (first wait,
   * doubling, capped: {@link Relay.epochRetry}) and intersects again, so the peer sends the
   * chain from the relay's best header on, that header included.
   */
  private async follow(cs: ChainSyncClient): Promise<void> {
    const intersect = async (): Promise<boolean> => {
      const r: IntersectResult = await cs.findIntersect(intersectPoints(this.relay));
      // After an intersection the relay does not hold, the next header may root the tree.
      return !r.found || r.point === null || this.relay.tree.get(toHex(r.point.hash)) === undefined;
    };
    let root = await intersect();
    let waitMs = this.relay.epochRetry.firstWaitMs;
    while (!this.conn.closed) {
      const u = await cs.requestNext();
      if (u.type === 'RollBackward') {
        root = u.point !== null && this.relay.tree.get(toHex(u.point.hash)) === undefined;
        continue;
      }
      const outcome = await this.relay.ingestHeaderOutcome(u.header.bytes.slice(), this, { root, proto: 'chain-sync' });
      root = false;
      if (outcome !== 'deferred') {
        waitMs = this.relay.epochRetry.firstWaitMs;
        continue;
      }
      this.log({ event: 'chain-sync-deferred', session: this.id, retryInMs: waitMs });
      await new Promise((r) => setTimeout(r, waitMs));
      waitMs = Math.min(2 * waitMs, this.relay.epochRetry.maxWaitMs);
      if (this.conn.closed) return;
      root = await intersect();
    }
  }

  private onNotification(n: ServerNotification): void {
    const relay = this.relay;
    switch (n.type) {
      case 'BlockAnnouncement':
        void relay.ingestHeader(n.header.bytes.slice(), this, { root: false, proto: 'leios-notify' }).catch((e: unknown) => this.loopFailed('announcement', e));
        break;
      case 'BlockOffer':
        relay.offerBlock(this, n.point, n.ebSize);
        break;
      case 'BlockTxsOffer':
        relay.offerTxs(this, n.point);
        break;
      case 'Votes':
        void relay.ingestVotes(
          n.votes.map((v) => v.bytes.slice()),
          this,
        ).catch((e: unknown) => this.loopFailed('votes', e));
        break;
    }
  }

  /** Tx-submission client: the peer's txs into the recent-tx buffer. */
  private async pullTxs(ts: TxSubmissionClient): Promise<void> {
    let ack = 0;
    while (!this.conn.closed) {
      // blocking: the server answers when it has something (no timeout, §11)
      const ids = await ts.requestTxIds(true, ack, TX_IDS_PER_REQUEST);
      ack = ids.length;
      const want = ids.filter((i) => !this.relay.txs.has(toHex(i.id))).map((i) => i.id);
      if (want.length === 0) continue;
      const txs = await ts.requestTxs(want);
      for (const t of txs) this.relay.addTx(t.bytes.slice(), this);
    }
  }
}

/** Points for FindIntersect: the held best chain's tip, then exponentially older, then origin. */
export function intersectPoints(relay: Relay): Point[] {
  const chain = relay.tree.bestChain();
  const out: Point[] = [];
  for (let back = 0, step = 1; chain.length - 1 - back >= 0 && out.length < 63; back += step, step *= 2) {
    const h = chain[chain.length - 1 - back]!.header;
    out.push({ slot: h.slot, hash: h.hash });
  }
  out.push(null);
  return out;
}

function tipOf(relay: Relay): Tip {
  const t = relay.tree.tip;
  return t === null ? { point: null, blockNo: 0 as BlockNo } : { point: { slot: t.header.slot, hash: t.header.hash }, blockNo: t.header.blockNumber };
}

function pointOf(e: HeaderEntry): Point {
  return { slot: e.header.slot, hash: e.header.hash };
}

/** A chain-sync server cursor over the relay's held best chain. */
export class ChainCursor {
  /** The last header sent (null: nothing yet / origin). */
  private at: HeaderEntry | null = null;

  constructor(private readonly relay: Relay) {}

  intersect(points: readonly Point[]): IntersectResult {
    const tree = this.relay.tree;
    const chain = tree.bestChain();
    for (const p of points) {
      if (p === null) {
        // Origin is an intersection only when the held chain starts at block 1.
        if (chain.length === 0 || chain[0]!.parentHex === null) {
          this.at = null;
          return { found: true, point: null, tip: tipOf(this.relay) };
        }
        continue;
      }
      const hex = toHex(p.hash);
      if (tree.onBest(hex)) {
        this.at = tree.get(hex) ?? null;
        return { found: true, point: p, tip: tipOf(this.relay) };
      }
    }
    // Not found: the next RequestNext starts from the oldest held header of the best chain.
    this.at = null;
    return { found: false, tip: tipOf(this.relay) };
  }

  /** The next update, or null when the client is at the tip. */
  next(): ChainUpdate | null {
    const tree = this.relay.tree;
    const chain = tree.bestChain();
    if (this.at !== null && !tree.onBest(this.at.hex)) {
      // The best chain switched away: roll back to the deepest ancestor still on it (§9).
      let e: HeaderEntry | undefined = this.at;
      while (e !== undefined && !tree.onBest(e.hex)) e = e.parentHex === null ? undefined : tree.get(e.parentHex);
      this.at = e ?? null;
      const point: Point = e !== undefined ? pointOf(e) : chain[0] !== undefined && chain[0].parentHex !== null ? pointOf(chain[0]) : null;
      if (e === undefined && chain[0] !== undefined && chain[0].parentHex !== null) this.at = chain[0];
      return { type: 'RollBackward', point, tip: tipOf(this.relay) };
    }
    let nextEntry: HeaderEntry | undefined;
    if (this.at === null) nextEntry = chain[0];
    else {
      const i = chain.indexOf(this.at);
      nextEntry = i >= 0 ? chain[i + 1] : undefined;
    }
    if (nextEntry === undefined) return null;
    this.at = nextEntry;
    return { type: 'RollForward', header: raw(nextEntry.header.bytes), tip: tipOf(this.relay) };
  }
}
