/**
 * An in-memory link between two {@link LeiosNode}s that carries the real mini-protocol messages
 * (PROTOCOL.md §9, §10) over a real {@link Connection} pair: handshake, chain-sync, block-fetch,
 * LeiosNotify and LeiosFetch, both directions on one connection (duplex).
 *
 * Primer: this is the smallest glue that lets several nodes in one process reach consensus the
 * way they would over relays — headers by chain-sync (and BlockAnnouncement), bodies by
 * block-fetch, EB offers and votes by LeiosNotify, EB bodies and missing closure txs by
 * LeiosFetch with bitmaps. It is test and benchmark support: the production session logic
 * (reconnects, fetch decisions across peers, §13 budgets) is storage-node/src/net.
 *
 * @module
 */
import { toHex } from '@leios/shared/bytes';
import { blake2b256 } from '@leios/shared/crypto';
import { leiosPriority, PRAOS, VOTES } from '@leios/shared/sched';
import type { BlockNo, Hash32, Slot } from '@leios/shared/types';
import {
  BlockFetchClient,
  BlockFetchServer,
  type ChainUpdate,
  ChainSyncClient,
  ChainSyncServer,
  type Connection,
  connectionPair,
  HandshakeClient,
  HandshakeServer,
  indicesFromBitmap,
  bitmapFromIndices,
  LeiosFetchClient,
  LeiosFetchServer,
  LeiosNotifyClient,
  LeiosNotifyServer,
  ManualClock,
  type MemoryTransport,
  raw,
  type Point,
  type ServerNotification,
  type Tip,
} from '@leios/shared/wire';
import type { HeaderInfo } from '../blocks';
import type { LeiosNode } from '../index';

/** A live link; `close()` ends it. */
export interface NodeLink {
  readonly a: Connection;
  readonly b: Connection;
  readonly ta: MemoryTransport;
  readonly tb: MemoryTransport;
  /** Errors raised while handling the peer's messages (should stay empty). */
  readonly errors: unknown[];
  close(): void;
}

function versionData(node: LeiosNode) {
  return {
    networkMagic: node.genesis.networkMagic,
    genesisHash: blake2b256(node.genesis.initialNonce) as Hash32,
    ledgerMode: node.params.ledgerMode === 'utxo' ? (0 as const) : (1 as const),
  };
}

function tipOf(node: LeiosNode): Tip {
  const h = node.tipHeader();
  return h ? { point: { slot: h.slot, hash: h.hash }, blockNo: h.blockNo } : { point: null, blockNo: 0 as BlockNo };
}

/** The server side of one connection: serve `node`'s chain, blocks, EB offers, EBs and txs. */
function serve(node: LeiosNode, conn: Connection, errors: unknown[]): () => void {
  // chain-sync: one cursor (the last header sent to this client)
  let cursor: HeaderInfo | null = null;
  let waiter: (() => void) | undefined;
  const onTip = () => {
    const w = waiter;
    waiter = undefined;
    w?.();
  };
  node.on('tip', onTip);
  const nextUpdate = (): ChainUpdate | null => {
    const chain = node.tree.selectedChain();
    if (cursor && !node.tree.isSelected(cursor.hash)) {
      // roll the client back to the deepest ancestor of its cursor on our chain
      let h: HeaderInfo | undefined = cursor;
      while (h && !node.tree.isSelected(h.hash)) h = h.prevHash ? node.header(h.prevHash) : undefined;
      cursor = h ?? null;
      const point: Point = h ? { slot: h.slot, hash: h.hash } : null;
      return { type: 'RollBackward', point, tip: tipOf(node) };
    }
    const want = (cursor?.blockNo ?? 0) + 1;
    const next = chain.find((e) => e.header.blockNo === want);
    if (!next) return null;
    cursor = next.data.header;
    return { type: 'RollForward', header: raw(cursor.bytes), tip: tipOf(node) };
  };
  conn.register(
    new ChainSyncServer({
      findIntersect: () => {
        cursor = null;
        return { found: true, point: null, tip: tipOf(node) };
      },
      next: () => {
        const u = nextUpdate();
        if (u) return u;
        return new Promise<ChainUpdate>((resolve) => {
          const wait = () => {
            const v = nextUpdate();
            if (v) resolve(v);
            else waiter = wait;
          };
          waiter = wait;
        });
      },
    }),
  );
  conn.register(
    new BlockFetchServer({
      range: async (from, to) => {
        if (!from || !to || toHex(from.hash) !== toHex(to.hash)) return null;
        const b = await node.blockBytes(from.hash);
        return b ? [b] : null;
      },
    }),
  );
  const notify = new LeiosNotifyServer();
  conn.register(notify);
  const prio = (slot: number) => leiosPriority({ ebSlot: slot, currentSlot: node.currentSlot(), params: node.params });
  const onHeader = (h: HeaderInfo) => {
    if (h.ebAnnouncement) notify.notify({ type: 'BlockAnnouncement', header: raw(h.bytes) }, PRAOS);
  };
  const onEb = (e: { ebHash: Hash32; slot: number; size: number }) =>
    notify.notify({ type: 'BlockOffer', point: { slot: e.slot as Slot, hash: e.ebHash }, ebSize: e.size }, prio(e.slot));
  const onEbTxs = (e: { ebHash: Hash32; slot: number }) =>
    notify.notify({ type: 'BlockTxsOffer', point: { slot: e.slot as Slot, hash: e.ebHash } }, prio(e.slot));
  const onVotes = (vs: Uint8Array[]) => {
    for (const v of vs) notify.notify({ type: 'Vote', vote: raw(v) }, VOTES);
  };
  node.on('header', onHeader);
  node.on('eb', onEb);
  node.on('eb-txs', onEbTxs);
  node.on('votes', onVotes);
  conn.register(
    new LeiosFetchServer({
      block: async (point) => {
        const eb = await node.ebStore.getEb(point.hash);
        return eb ? { eb: eb.bytes } : null;
      },
      blockTxs: async (point, bitmap) => {
        const txs = await node.ebStore.getTxsAt(point.hash, indicesFromBitmap(bitmap));
        if (txs.some((t) => t === undefined)) return null;
        return { txs: txs as Uint8Array[] };
      },
    }),
  );
  void errors;
  return () => {
    node.off('tip', onTip);
    node.off('header', onHeader);
    node.off('eb', onEb);
    node.off('eb-txs', onEbTxs);
    node.off('votes', onVotes);
  };
}

/** The client side of one connection: follow the peer and feed `node`. */
function follow(node: LeiosNode, conn: Connection, errors: unknown[]): () => void {
  let stopped = false;
  const expected = (e: unknown) => {
    const k = (e as { kind?: string; code?: string }).kind;
    // a closed connection ends the loops; anything else is a real failure of the test network
    if (k === 'connection-closed' || stopped) return;
    errors.push(e);
  };
  const cs = new ChainSyncClient();
  const bf = new BlockFetchClient();
  const lf = new LeiosFetchClient();
  conn.register(cs);
  conn.register(bf);
  conn.register(lf);
  // one ordered pipeline for everything this connection delivers to the node
  let chainWork: Promise<void> = Promise.resolve();
  const inOrder = (fn: () => Promise<void>) => {
    chainWork = chainWork.then(fn).catch(expected);
  };
  void (async () => {
    await cs.findIntersect([null]);
    while (!stopped) {
      const u = await cs.requestNext();
      if (u.type !== 'RollForward') continue;
      const headerBytes = u.header.bytes.slice();
      inOrder(async () => {
        await node.receiveHeader(headerBytes);
        const hash = blake2b256(headerBytes);
        const h = node.header(hash);
        if (!h) return;
        const point = { slot: h.slot, hash: h.hash };
        const blocks = await bf.requestRange(point, point);
        for (const b of blocks ?? []) await node.receiveBlock(b.bytes.slice());
      });
    }
  })().catch(expected);
  const onNotification = (n: ServerNotification) => {
    inOrder(async () => {
      if (n.type === 'BlockAnnouncement') {
        try {
          await node.receiveHeader(n.header.bytes.slice());
        } catch (e) {
          // a header on a chain we do not follow yet is normal here; chain-sync brings it
          if ((e as { code?: string }).code !== 'unknown-parent') throw e;
        }
      } else if (n.type === 'BlockOffer') {
        const info = node.ebInfo(n.point.hash);
        if (!info || info.held) return;
        const eb = await lf.requestBlock(n.point);
        await node.receiveEb(eb.bytes.slice());
      } else if (n.type === 'BlockTxsOffer') {
        const info = node.ebInfo(n.point.hash);
        if (!info?.held || info.complete) return;
        const missing = await node.ebStore.missing(n.point.hash);
        if (missing.length === 0) return;
        const refs = await node.ebStore.refs(n.point.hash);
        const txs = await lf.requestTxs(
          n.point,
          bitmapFromIndices(missing),
          missing.map((i) => refs[i]!),
        );
        await node.receiveTxs(
          n.point.hash,
          txs.map((t) => t.bytes.slice()),
        );
      } else if (n.type === 'Votes') {
        await node.receiveVotes(n.votes.map((v) => v.bytes.slice()));
      }
    });
  };
  conn.register(new LeiosNotifyClient({ onNotification }));
  return () => {
    stopped = true;
  };
}

/**
 * Link two nodes (a dials b). Resolves once the handshake completed.
 *
 * @example
 * ```ts
 * const link = await linkNodes(n1, n2);
 * …
 * link.close();
 * ```
 */
export async function linkNodes(a: LeiosNode, b: LeiosNode): Promise<NodeLink> {
  const clock = new ManualClock();
  const pair = connectionPair({ clock }, { clock });
  const hc = new HandshakeClient({ data: versionData(a), initiatorOnly: false });
  const hs = new HandshakeServer({ data: versionData(b) });
  pair.b.register(hs);
  pair.a.register(hc);
  await hc.result;
  await hs.result;
  const errors: unknown[] = [];
  const stops = [serve(a, pair.a, errors), serve(b, pair.b, errors), follow(a, pair.a, errors), follow(b, pair.b, errors)];
  return {
    ...pair,
    errors,
    close: () => {
      for (const s of stops) s();
      pair.ta.close(1000, 'done');
    },
  };
}
