/**
 * Wire peers for the relay's tests and benchmarks, independent of the runtime: real
 * shared/src/wire drivers over any WebSocket-like object (workerd's in the worker tests, Node's in
 * bench/run.ts), authenticated with a per-peer HMAC key or anonymous.
 *
 * - {@link producerOn}: a storage-node-like peer that *serves* (chain-sync over a list of blocks,
 *   block-fetch, LeiosNotify pushes, LeiosFetch EB bytes and txs, tx-submission): the relay's
 *   clients pull from it.
 * - {@link consumerOn}: an `initiator_only` peer that only *pulls* from the relay with the client
 *   drivers and records every LeiosNotify notification with its arrival time.
 *
 * @module
 */
import { blake2b256, toHex } from '@leios/shared';
import { decodeEb } from '@leios/shared/protocol';
import { PRAOS, type Priority, TX_SUBMISSION } from '@leios/shared/sched';
import type { Hash32 } from '@leios/shared/types';
import {
  BlockFetchClient,
  BlockFetchServer,
  type ChainUpdate,
  ChainSyncClient,
  ChainSyncServer,
  Connection,
  HandshakeClient,
  indicesFromBitmap,
  KEEP_ALIVE_INTERVAL_MS,
  KeepAliveClient,
  type LocalVersionData,
  LeiosFetchClient,
  LeiosFetchServer,
  LeiosNotifyClient,
  LeiosNotifyServer,
  type Notification,
  type PeerSecret,
  raw,
  type ServerNotification,
  TxSubmissionClient,
  TxSubmissionServer,
} from '@leios/shared/wire';

/**
 * Keep-alive interval of the peers (see {@link attachWire}): §9's 20 s, as storage nodes send them.
 * Longer than the Durable Object's ~10 s hibernation grace on purpose: the hub must keep sessions
 * whose peers are idle that long (../hub, residency timer).
 */
export const KEEP_ALIVE_MS = KEEP_ALIVE_INTERVAL_MS;

export interface Closed {
  code: number;
  reason: string;
}

/** What both runtimes' WebSockets offer (already open / accepted). */
export interface SocketLike {
  binaryType: string;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'message', fn: (e: { data: unknown }) => void): void;
  addEventListener(type: 'close', fn: (e: { code: number; reason: string }) => void): void;
}

/** A wire {@link Connection} (initiator) on a socket, with its handshake under way. */
export interface Wire {
  ws: SocketLike;
  conn: Connection;
  closed: Promise<Closed>;
  ready: Promise<unknown>;
}

/**
 * Run the initiator side of a session on an open socket: handshake (§8.3) and keep-alive.
 *
 * @example
 * ```ts
 * const w = attachWire(ws, { initiatorOnly: true, network, auth });
 * await w.ready;
 * ```
 */
export function attachWire(ws: SocketLike, opts: { initiatorOnly: boolean; network: LocalVersionData; auth: PeerSecret | null; keepAliveMs?: number | null }): Wire {
  const closed = new Promise<Closed>((resolve) => ws.addEventListener('close', (e) => resolve({ code: e.code, reason: e.reason })));
  ws.binaryType = 'arraybuffer';
  const conn = new Connection({ role: 'initiator', transport: { send: (b) => ws.send(b), close: (c, r) => ws.close(c, r) } });
  ws.addEventListener('message', (e) => conn.receive(e.data as ArrayBuffer | string));
  ws.addEventListener('close', (e) => conn.remoteClosed(e.code, e.reason));
  // auth null: an anonymous session (no auth element in the handshake).
  const hs = new HandshakeClient({ data: opts.network, initiatorOnly: opts.initiatorOnly, ...(opts.auth ? { auth: opts.auth } : {}) });
  conn.register(hs);
  const ka = opts.keepAliveMs === undefined ? KEEP_ALIVE_MS : opts.keepAliveMs;
  if (ka !== null) conn.register(new KeepAliveClient({ intervalMs: ka }));
  return { ws, conn, closed, ready: hs.result };
}

/** What a producer serves. */
export interface ProducerState {
  /** Blocks of its selected chain, in order. */
  chain: { header: Uint8Array; block: Uint8Array; hash: Uint8Array; slot: number; blockNo: number }[];
  /** Any block it can serve by hash (forks too). */
  blocks: Map<string, Uint8Array>;
  ebs: Map<string, Uint8Array>;
  txs: Map<string, Uint8Array>;
  /** Txs announced by tx-submission. */
  mempool: Uint8Array[];
  /** EB bodies served by LeiosFetch (how many times). */
  ebsServed: number;
}

/** A storage-node-like serving peer on an opened wire (see {@link attachWire}). */
export async function producerOn(w: Wire) {
  const state: ProducerState = { chain: [], blocks: new Map(), ebs: new Map(), txs: new Map(), mempool: [], ebsServed: 0 };
  let waiters: (() => void)[] = [];
  const changed = () => {
    const ws = waiters;
    waiters = [];
    for (const f of ws) f();
  };
  let cursor = 0;
  const nextUpdate = (): ChainUpdate | null => {
    const b = state.chain[cursor];
    if (b === undefined) return null;
    cursor++;
    const tip = state.chain[state.chain.length - 1]!;
    return { type: 'RollForward', header: raw(b.header), tip: { point: { slot: tip.slot as never, hash: tip.hash as Hash32 }, blockNo: tip.blockNo as never } };
  };
  w.conn.register(
    new ChainSyncServer({
      findIntersect: () => {
        cursor = 0;
        return { found: true, point: null, tip: { point: null, blockNo: 0 as never } };
      },
      next: () =>
        nextUpdate() ??
        new Promise<ChainUpdate>((resolve) => {
          const again = () => {
            const u = nextUpdate();
            if (u) resolve(u);
            else waiters.push(again);
          };
          waiters.push(again);
        }),
    }),
  );
  w.conn.register(
    new BlockFetchServer({
      range: async (from, to) => {
        if (!from || !to || toHex(from.hash) !== toHex(to.hash)) return null;
        const b = state.blocks.get(toHex(to.hash));
        return b ? [b] : null;
      },
    }),
  );
  const notify = new LeiosNotifyServer({ queue: { capacity: [4096, 16384, 4096] } });
  w.conn.register(notify);
  w.conn.register(
    new LeiosFetchServer({
      block: async (p) => {
        const eb = state.ebs.get(toHex(p.hash));
        if (eb) state.ebsServed++;
        return eb ? { eb } : null;
      },
      blockTxs: async (p, bitmap) => {
        const eb = state.ebs.get(toHex(p.hash));
        if (!eb) return null;
        const view = decodeEb(eb);
        const txs: Uint8Array[] = [];
        for (const i of indicesFromBitmap(bitmap)) {
          const t = state.txs.get(toHex(view.hashAt(i)));
          if (!t) return null;
          txs.push(t);
        }
        return { txs };
      },
    }),
  );
  let sentTx = 0;
  let txWaiters: (() => void)[] = [];
  w.conn.register(
    new TxSubmissionServer({
      txIds: async (blocking, req) => {
        for (;;) {
          const ids = state.mempool.slice(sentTx, sentTx + req).map((t) => ({ id: blake2b256(t), size: t.length }));
          sentTx += ids.length;
          if (ids.length > 0 || !blocking) return ids;
          await new Promise<void>((r) => txWaiters.push(r));
        }
      },
      txs: async (ids) => ids.flatMap((id) => state.mempool.find((t) => toHex(blake2b256(t)) === toHex(id)) ?? []),
    }),
  );
  await w.ready;
  return {
    ...w,
    state,
    notify,
    /** Extend the served chain (chain-sync RollForward to the relay). */
    extend(b: { header: { bytes: Uint8Array; hash: Uint8Array; slot: number; blockNumber: number }; bytes: Uint8Array }): void {
      state.chain.push({ header: b.header.bytes, block: b.bytes, hash: b.header.hash, slot: b.header.slot, blockNo: b.header.blockNumber });
      state.blocks.set(toHex(b.header.hash), b.bytes);
      changed();
    },
    /** Serve a block by hash without putting it on the chain (forks, announcements). */
    hold(b: { header: { hash: Uint8Array }; bytes: Uint8Array }): void {
      state.blocks.set(toHex(b.header.hash), b.bytes);
    },
    push(n: Notification, priority: Priority = PRAOS): void {
      notify.notify(n, priority);
    },
    addTx(tx: Uint8Array): void {
      state.mempool.push(tx);
      const ws = txWaiters;
      txWaiters = [];
      for (const f of ws) f();
    },
  };
}

/** One received notification and when. */
export interface Received {
  n: ServerNotification;
  at: number;
}

/** An `initiator_only` peer pulling from the relay, on an opened wire (see {@link attachWire}). */
export async function consumerOn(w: Wire, opts: { notifyPipeline?: number; notifyClient?: boolean } = {}) {
  const received: Received[] = [];
  let waiters: (() => void)[] = [];
  const cs = new ChainSyncClient();
  const bf = new BlockFetchClient();
  const lf = new LeiosFetchClient();
  const ts = new TxSubmissionClient();
  w.conn.register(cs);
  w.conn.register(bf);
  w.conn.register(lf);
  w.conn.register(ts);
  if (opts.notifyClient !== false) w.conn.register(
    new LeiosNotifyClient({
      pipeline: opts.notifyPipeline,
      onNotification: (n) => {
        received.push({ n, at: performance.now() });
        const ws = waiters;
        waiters = [];
        for (const f of ws) f();
      },
    }),
  );
  await w.ready;
  /** Wait (≤ `ms`) until `pred` holds over the received notifications. */
  const until = async (pred: (r: Received[]) => boolean, ms = 15_000): Promise<void> => {
    const end = Date.now() + ms;
    while (!pred(received)) {
      const left = end - Date.now();
      if (left <= 0) throw new Error(`consumer: condition not met in ${ms} ms (${received.length} notifications: ${received.map((r) => r.n.type).join(',')})`);
      await Promise.race([new Promise<void>((r) => waiters.push(r)), new Promise((r) => setTimeout(r, Math.min(left, 250)))]);
    }
  };
  return { ...w, cs, bf, lf, ts, received, until, TX_SUBMISSION };
}
