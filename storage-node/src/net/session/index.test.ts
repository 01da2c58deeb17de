/**
 * Relay sessions over real WebSockets (the `ws` package on 127.0.0.1): a storage node dials a
 * second node that accepts with the same session code in the responder role. Headers, blocks,
 * EBs, closure txs, votes and txs flow both ways; the dialler reconnects after the server drops
 * it; a wrong per-peer secret is refused with 1008 handshake:refused.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { ascii, toHex } from '@leios/shared/bytes';
import { blake2b256 } from '@leios/shared/crypto';
import type { Hash32 } from '@leios/shared/types';
import { validateTraceEvent } from '@leios/shared/obs';
import { HandshakeAuthenticator } from '@leios/shared/wire';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import type { Database } from '../../db/index';
import { ManualTime } from '../../node/clock/index';
import { LeiosNode, type LeiosNodeOptions } from '../../node/index';
import { type TestNetwork, testNetwork } from '../../node/testkit/index';
import { openTestDb } from '../../test-support/index';
import { FetchManager } from '../fetch/index';
import type { NetObserver, NetTraceEvent, TrafficClass, VoteBatchOutcome } from '../observer/index';
import { startNetwork } from '../network/index';
import { attachFetchManager, nodeFetchTarget, type SessionWarning, versionDataFor } from '../peer/index';
import { MAX_WS_MESSAGE_BYTES, selectSubprotocol } from '../socket/index';
import { linkPeers, type PeerListener, RelaySession, type RelaySessionEvent, servePeers } from './index';

const START = Date.parse('2026-11-24T00:00:00.000Z');
const GENESIS_HASH = blake2b256(ascii('net-test-genesis')) as Hash32;

interface Side {
  node: LeiosNode;
  fetch: FetchManager;
  warnings: SessionWarning[];
}

async function makeSide(name: string, net: TestNetwork, database: Database, time: ManualTime, extra: Partial<LeiosNodeOptions> = {}): Promise<Side> {
  const node = await LeiosNode.create({ name, genesis: net.genesis, database, time, ...extra });
  const warnings: SessionWarning[] = [];
  const fetch = new FetchManager({ target: nodeFetchTarget(node), onWarning: (w) => warnings.push({ peer: w.peer ?? '', what: w.what, detail: w.detail }) });
  attachFetchManager(node, fetch);
  return { node, fetch, warnings };
}

/** A {@link NetObserver} that keeps everything it is told. */
function recorder(): NetObserver & { bytesBy: Record<string, number>; votesSeen: VoteBatchOutcome[]; events: NetTraceEvent[]; total(dir: 'in' | 'out'): number } {
  const bytesBy: Record<string, number> = {};
  const votesSeen: VoteBatchOutcome[] = [];
  const events: NetTraceEvent[] = [];
  return {
    bytesBy,
    votesSeen,
    events,
    total: (dir) => Object.entries(bytesBy).reduce((s, [k, n]) => (k.startsWith(`${dir}/`) ? s + n : s), 0),
    bytes: (dir: 'in' | 'out', cls: TrafficClass, n: number) => {
      bytesBy[`${dir}/${cls}`] = (bytesBy[`${dir}/${cls}`] ?? 0) + n;
    },
    votes: (o) => {
      votesSeen.push(o);
    },
    trace: (e) => {
      events.push(e);
    },
  };
}

async function listen(port = 0): Promise<{ wss: WebSocketServer; port: number }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port, path: '/v1/ws', handleProtocols: selectSubprotocol, maxPayload: MAX_WS_MESSAGE_BYTES });
  await once(wss, 'listening');
  return { wss, port: (wss.address() as AddressInfo).port };
}

function closeServer(wss: WebSocketServer): Promise<void> {
  for (const c of wss.clients) c.terminate();
  return new Promise((r) => wss.close(() => r()));
}

/** Let both nodes and the sockets settle: no bytes moved for a few rounds. */
async function quiesce(nodes: LeiosNode[], bytes: () => number): Promise<void> {
  let last = -1;
  let stable = 0;
  for (let i = 0; i < 300 && stable < 3; i++) {
    await new Promise((r) => setTimeout(r, 2));
    await Promise.all(nodes.map((n) => n.idle()));
    const b = bytes();
    stable = b === last ? stable + 1 : 0;
    last = b;
  }
}

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting for a condition');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('RelaySession over real WebSockets', () => {
  const dbs: Database[] = [];
  const servers: WebSocketServer[] = [];
  const relays: RelaySession[] = [];
  const listeners: PeerListener[] = [];
  beforeAll(async () => {
    dbs.push(...(await Promise.all(Array.from({ length: 10 }, () => openTestDb()))));
  });
  afterAll(async () => {
    for (const r of relays) await r.close();
    for (const l of listeners) await l.close();
    for (const s of servers) await closeServer(s);
    for (const d of dbs) await d.close();
  });

  it('headers, blocks, EBs with their txs, votes and txs flow both ways between two producing nodes', async () => {
    const net = testNetwork({ pools: 2, systemStartMs: START, params: { maxRbBodySize: 1200 }, utxoEntries: 64, label: 'ws-both' });
    const time = new ManualTime(START - 1);
    const A = await makeSide('a', net, dbs[0]!, time, { pools: [net.keys[0]!] });
    const B = await makeSide('b', net, dbs[1]!, time, { pools: [net.keys[1]!] });
    const { wss, port } = await listen();
    servers.push(wss);
    const obsA = recorder();
    const obsB = recorder();
    const listener = servePeers({
      wss,
      node: B.node,
      fetch: B.fetch,
      versionData: versionDataFor(B.node, GENESIS_HASH),
      onWarning: (w) => B.warnings.push(w),
      observer: obsB,
    });
    listeners.push(listener);
    const relay = new RelaySession({
      url: `ws://127.0.0.1:${port}/v1/ws`,
      node: A.node,
      fetch: A.fetch,
      versionData: versionDataFor(A.node, GENESIS_HASH),
      name: 'b',
      keepAliveMs: null,
      onWarning: (w) => A.warnings.push(w),
      observer: obsA,
    });
    relays.push(relay);
    relay.start();
    const sa = await relay.whenOpen();
    await until(() => listener.sessions.size === 1);
    const sb = [...listener.sessions][0]!;
    // keep-alive: the initiator's client measures a round trip
    expect(await sa.keepAlive!.ping()).toBeGreaterThanOrEqual(0);
    expect(sa.rttMs).toBeDefined();

    const producedEbs = { a: [] as Hash32[], b: [] as Hash32[] };
    A.node.on('produced', (h) => h.ebAnnouncement && producedEbs.a.push(h.ebAnnouncement.hash));
    B.node.on('produced', (h) => h.ebAnnouncement && producedEbs.b.push(h.ebAnnouncement.hash));
    const submitted = { a: 0, b: 0 };
    A.node.start();
    B.node.start();
    const bytes = () => sa.conn.bytesIn + sa.conn.bytesOut + sb.conn.bytesIn + sb.conn.bytesOut;
    const ebsCrossed = () =>
      producedEbs.a.some((h) => B.node.ebInfo(h)?.complete) && producedEbs.b.some((h) => A.node.ebInfo(h)?.complete);
    const tipsAgree = () => toHex(A.node.tipHeader()?.hash ?? new Uint8Array(1)) === toHex(B.node.tipHeader()?.hash ?? new Uint8Array(2));
    let slot = 0;
    for (; slot < 800; slot++) {
      // bursts of txs, each submitted to one node only: tx-submission spreads them
      if (slot % 20 === 0 && net.wallets.spendable > 0 && slot < 600) {
        const target = (slot / 20) % 2 === 0 ? A : B;
        for (let k = 0; k < 8; k++) await target.node.submitTx(net.wallets.pay().bytes);
        submitted[target === A ? 'a' : 'b'] += 8;
      }
      await time.advanceTo(A.node.clock.slotStart(slot));
      await quiesce([A.node, B.node], bytes);
      const done =
        ebsCrossed() &&
        sa.stats.votes > 0 &&
        sb.stats.votes > 0 &&
        A.node.stats.certified + B.node.stats.certified > 0 &&
        A.node.mempool.size === 0 &&
        B.node.mempool.size === 0 &&
        tipsAgree();
      if (done && slot > 40) break;
    }
    await A.node.stop();
    await B.node.stop();
    await quiesce([A.node, B.node], bytes);
    if (process.env.LEIOS_DEBUG) console.log({ slot, a: A.node.stats, b: B.node.stats, sa: sa.stats, sb: sb.stats, fa: A.fetch.fetched, fb: B.fetch.fetched, wa: A.warnings, wb: B.warnings });
    // headers and blocks both ways (chain-sync + block-fetch)
    expect(sa.stats.headers).toBeGreaterThan(0);
    expect(sb.stats.headers).toBeGreaterThan(0);
    expect(sa.stats.blocks).toBeGreaterThan(0);
    expect(sb.stats.blocks).toBeGreaterThan(0);
    // an EB of each producer reached the other with its whole closure (LeiosNotify + LeiosFetch)
    expect(ebsCrossed()).toBe(true);
    expect(A.fetch.fetched.ebs).toBeGreaterThan(0);
    expect(B.fetch.fetched.ebs).toBeGreaterThan(0);
    // votes both ways; with two equal pools a certificate needs both seats' votes (τ = 3/4)
    expect(sa.stats.votes).toBeGreaterThan(0);
    expect(sb.stats.votes).toBeGreaterThan(0);
    expect(A.node.stats.certified + B.node.stats.certified).toBeGreaterThan(0);
    // txs submitted to either node ended up applied once on both, with the same state
    expect(submitted.a).toBeGreaterThan(0);
    expect(submitted.b).toBeGreaterThan(0);
    expect(A.node.ledger.txCount).toBe(submitted.a + submitted.b);
    expect(B.node.ledger.txCount).toBe(submitted.a + submitted.b);
    expect(tipsAgree()).toBe(true);
    expect(toHex(A.node.stateHash())).toBe(toHex(B.node.stateHash()));
    expect(A.warnings).toEqual([]);
    expect(B.warnings).toEqual([]);

    // §14.2 leios_bytes_total: every wire byte is counted once, in a class; both sides saw Praos
    // traffic (chain-sync, block-fetch) and fresh Leios traffic (votes, EBs, txs) both ways.
    for (const [obs, s] of [
      [obsA, sa],
      [obsB, sb],
    ] as const) {
      expect(obs.total('out')).toBe(s.conn.bytesOut);
      expect(obs.total('in')).toBe(s.conn.bytesIn);
      for (const k of ['in/praos', 'out/praos', 'in/fresh', 'out/fresh']) expect(obs.bytesBy[k], k).toBeGreaterThan(0);
      // votes over LeiosNotify reached the node, which verified them
      expect(obs.votesSeen.reduce((n, o) => n + o.received, 0)).toBe(s.stats.votes);
      expect(obs.votesSeen.reduce((n, o) => n + o.verified, 0)).toBeGreaterThan(0);
    }
    // §14.1: the send / receive events are catalogue-valid and name both nodes; what one side
    // sent, the other received under the same id
    for (const [obs, me, peer] of [
      [obsA, 'a', 'b'],
      [obsB, 'b', listener.sessions.size === 1 ? [...listener.sessions][0]!.id : ''],
    ] as const) {
      const types = new Set(obs.events.map((e) => e.type));
      for (const t of ['RBSent', 'RBReceived', 'EBSent', 'EBReceived', 'VTBundleSent', 'VTBundleReceived']) expect(types, `${me}: ${t}`).toContain(t);
      for (const e of obs.events) {
        expect(validateTraceEvent(e)).toBe(e);
        if (e.type.endsWith('Sent')) expect([e.sender, e.recipient]).toEqual([me, peer]);
        else expect([e.sender, e.recipient]).toEqual([peer, me]);
      }
    }
    const ids = (obs: typeof obsA, type: string) => new Set(obs.events.filter((e) => e.type === type).map((e) => e.id));
    for (const [from, to] of [
      [obsA, obsB],
      [obsB, obsA],
    ] as const) {
      expect([...ids(from, 'VTBundleSent')].every((id) => ids(to, 'VTBundleReceived').has(id))).toBe(true);
      expect([...ids(to, 'RBReceived')].every((id) => ids(from, 'RBSent').has(id))).toBe(true);
      expect([...ids(to, 'EBReceived')].every((id) => ids(from, 'EBSent').has(id))).toBe(true);
    }
    const bundle = obsA.events.find((e) => e.type === 'VTBundleSent');
    expect(bundle?.type === 'VTBundleSent' && bundle.ids.length).toBeGreaterThan(0);
  }, 100_000);

  it('fetches the closure txs it does not hold by LeiosFetch bitmap (a node whose mempool takes nothing)', async () => {
    const net = testNetwork({ pools: 1, systemStartMs: START, params: { maxRbBodySize: 1200 }, utxoEntries: 32, label: 'ws-txs' });
    const time = new ManualTime(START - 1);
    const A = await makeSide('a', net, dbs[2]!, time, { pools: [net.keys[0]!] });
    // B's mempool admits nothing, so tx-submission cannot give it the EB's txs ahead of time
    const B = await makeSide('b', net, dbs[3]!, time, { mempoolCapacityBytes: 1 });
    const { wss, port } = await listen();
    servers.push(wss);
    const listener = servePeers({ wss, node: A.node, fetch: A.fetch, versionData: versionDataFor(A.node, GENESIS_HASH) });
    listeners.push(listener);
    const relay = new RelaySession({ url: `ws://127.0.0.1:${port}/v1/ws`, node: B.node, fetch: B.fetch, versionData: versionDataFor(B.node, GENESIS_HASH), keepAliveMs: null });
    relays.push(relay);
    relay.start();
    const sb = await relay.whenOpen();
    await until(() => listener.sessions.size === 1);
    const produced: Hash32[] = [];
    A.node.on('produced', (h) => h.ebAnnouncement && produced.push(h.ebAnnouncement.hash));
    for (let k = 0; k < 16; k++) await A.node.submitTx(net.wallets.pay().bytes);
    A.node.start();
    const bytes = () => sb.conn.bytesIn + sb.conn.bytesOut;
    for (let slot = 0; slot < 400 && !produced.some((h) => B.node.ebInfo(h)?.complete); slot++) {
      await time.advanceTo(A.node.clock.slotStart(slot));
      await quiesce([A.node, B.node], bytes);
    }
    await A.node.stop();
    expect(produced.some((h) => B.node.ebInfo(h)?.complete)).toBe(true);
    expect(B.node.mempool.size).toBe(0);
    expect(B.fetch.fetched.txs).toBeGreaterThan(0);
    // what B fetched is what the EB references, no more: every fetched tx landed in a closure
    const closures = await Promise.all(produced.filter((h) => B.node.ebInfo(h)?.complete).map((h) => B.node.ebStore.getClosure(h)));
    expect(B.fetch.fetched.txs).toBeLessThanOrEqual(closures.reduce((s, c) => s + c.length, 0));
  }, 100_000);

  it('reconnects with backoff after the server drops the socket and after a server restart, then catches up', async () => {
    const net = testNetwork({ pools: 1, systemStartMs: START, label: 'ws-reconnect' });
    const time = new ManualTime(START - 1);
    const A = await makeSide('a', net, dbs[4]!, time);
    const B = await makeSide('b', net, dbs[5]!, time, { pools: [net.keys[0]!] });
    const first = await listen();
    const port = first.port;
    let listener = servePeers({ wss: first.wss, node: B.node, fetch: B.fetch, versionData: versionDataFor(B.node, GENESIS_HASH) });
    const events: RelaySessionEvent[] = [];
    const relay = new RelaySession({
      url: `ws://127.0.0.1:${port}/v1/ws`,
      node: A.node,
      fetch: A.fetch,
      versionData: versionDataFor(A.node, GENESIS_HASH),
      backoff: { initialMs: 20, maxMs: 200 },
      keepAliveMs: null,
      onEvent: (e) => events.push(e),
    });
    relays.push(relay);
    relay.start();
    const firstSession = await relay.whenOpen();
    expect(relay.opened).toBe(1);
    // 1. the server closes the session: the relay session redials
    for (const s of listener.sessions) s.close(1001, 'going away');
    await firstSession.closed;
    const second = await relay.whenOpen();
    expect(relay.opened).toBe(2);
    expect(events.some((e) => e.type === 'closed' && e.code === 1001)).toBe(true);
    expect(events.some((e) => e.type === 'waiting' && e.delayMs <= 20)).toBe(true);
    // 2. the server goes away entirely; B produces blocks meanwhile
    await listener.close();
    await closeServer(first.wss);
    await second.closed;
    B.node.start();
    for (let slot = 0; slot < 400 && (B.node.tipHeader()?.blockNo ?? 0) < 3; slot++) await time.advanceTo(B.node.clock.slotStart(slot));
    await B.node.stop();
    expect(B.node.tipHeader()!.blockNo).toBeGreaterThanOrEqual(3);
    await until(() => events.filter((e) => e.type === 'dial-failed').length >= 2);
    const waits = events.filter((e): e is Extract<RelaySessionEvent, { type: 'waiting' }> => e.type === 'waiting').map((e) => e.delayMs);
    expect(Math.max(...waits)).toBeLessThanOrEqual(200);
    // 3. the server is back on the same port: the session resumes and A catches up by chain-sync
    const back = await listen(port);
    servers.push(back.wss);
    listener = servePeers({ wss: back.wss, node: B.node, fetch: B.fetch, versionData: versionDataFor(B.node, GENESIS_HASH) });
    listeners.push(listener);
    await relay.whenOpen();
    expect(relay.opened).toBe(3);
    await until(() => A.node.tipHeader()?.blockNo === B.node.tipHeader()!.blockNo);
    await A.node.idle();
    expect(toHex(A.node.tipHeader()!.hash)).toBe(toHex(B.node.tipHeader()!.hash));
    // 4. close() stops the loop: no further dials
    await relay.close();
    const n = events.length;
    await new Promise((r) => setTimeout(r, 100));
    expect(events.length).toBe(n);
    expect(relay.current).toBeUndefined();
  }, 60_000);

  it('links two nodes in memory with the same session code (the successor of node/testkit/link.ts)', async () => {
    const net = testNetwork({ pools: 1, systemStartMs: START, params: { maxRbBodySize: 1200 }, utxoEntries: 32, label: 'mem-link' });
    const time = new ManualTime(START - 1);
    const A = await makeSide('a', net, dbs[8]!, time, { pools: [net.keys[0]!] });
    const B = await makeSide('b', net, dbs[9]!, time);
    const link = linkPeers(A, B, versionDataFor(A.node, GENESIS_HASH));
    await link.ready;
    const produced: Hash32[] = [];
    A.node.on('produced', (h) => h.ebAnnouncement && produced.push(h.ebAnnouncement.hash));
    for (let k = 0; k < 16; k++) await A.node.submitTx(net.wallets.pay().bytes);
    A.node.start();
    const bytes = () => link.a.conn.bytesIn + link.a.conn.bytesOut;
    const synced = () =>
      (A.node.tipHeader()?.blockNo ?? 0) >= 3 &&
      toHex(A.node.tipHeader()!.hash) === toHex(B.node.tipHeader()?.hash ?? new Uint8Array(1)) &&
      produced.some((h) => B.node.ebInfo(h)?.complete);
    for (let slot = 0; slot < 400 && !synced(); slot++) {
      await time.advanceTo(A.node.clock.slotStart(slot));
      await quiesce([A.node, B.node], bytes);
    }
    await A.node.stop();
    expect(synced()).toBe(true);
    expect(toHex(B.node.stateHash())).toBe(toHex(A.node.stateHash()));
    expect(B.node.mempool.size + B.node.ledger.txCount).toBeGreaterThan(0); // txs reached B
    link.close();
    const end = await link.b.closed;
    expect(end.code).toBe(1000);
  }, 60_000);

  it('refuses a wrong per-peer secret with 1008 handshake:refused and accepts the right one', async () => {
    const net = testNetwork({ pools: 1, systemStartMs: START, label: 'ws-auth' });
    const time = new ManualTime(START - 1);
    const A = await makeSide('a', net, dbs[6]!, time);
    const B = await makeSide('b', net, dbs[7]!, time);
    const secret = blake2b256(ascii('shared secret of node-a'));
    const { wss, port } = await listen();
    servers.push(wss);
    const authenticator = new HandshakeAuthenticator({ serverId: 'b', secretFor: (id) => (id === 'node-a' ? secret : undefined) });
    const serverEnds: Array<{ code: number; reason: string }> = [];
    const listener = servePeers({ wss, node: B.node, fetch: B.fetch, versionData: versionDataFor(B.node, GENESIS_HASH), authenticator });
    listeners.push(listener);
    wss.on('connection', () => {
      queueMicrotask(() => {
        for (const s of listener.sessions) void s.closed.then((e) => serverEnds.push({ code: e.code, reason: e.reason }));
      });
    });
    const dial = (key: Uint8Array, events: RelaySessionEvent[]) =>
      new RelaySession({
        url: `ws://127.0.0.1:${port}/v1/ws`,
        node: A.node,
        fetch: A.fetch,
        versionData: versionDataFor(A.node, GENESIS_HASH),
        auth: { peerId: 'node-a', secret: key },
        backoff: { initialMs: 5_000, maxMs: 5_000 },
        keepAliveMs: null,
        onEvent: (e) => events.push(e),
      });
    const badEvents: RelaySessionEvent[] = [];
    const bad = dial(blake2b256(ascii('a wrong secret')), badEvents);
    relays.push(bad);
    bad.start();
    await until(() => badEvents.some((e) => e.type === 'closed'));
    await bad.close();
    expect(badEvents.find((e) => e.type === 'refused')).toBeDefined();
    expect(badEvents.find((e) => e.type === 'closed')).toMatchObject({ code: 1008, reason: 'handshake:refused' });
    expect(bad.opened).toBe(0);
    await until(() => serverEnds.length > 0);
    expect(serverEnds[0]).toEqual({ code: 1008, reason: 'handshake:refused' });

    // the right secret (hex, as in the config file), through startNetwork next to a dead relay
    const dead = await listen();
    await closeServer(dead.wss);
    const network = startNetwork({
      node: A.node,
      genesisHash: GENESIS_HASH,
      relays: [
        { url: `ws://127.0.0.1:${port}/v1/ws`, peerId: 'node-a', secret: toHex(secret) },
        { url: `ws://127.0.0.1:${dead.port}/v1/ws` },
      ],
      backoff: { initialMs: 50, maxMs: 100 },
      keepAliveMs: null,
    });
    const s = await network.relays[0]!.whenOpen();
    expect(s.conn.negotiated?.version).toBe(1);
    expect(network.connected()).toBe(1);
    await network.close();
    expect(network.connected()).toBe(0);
    expect(() => startNetwork({ node: A.node, genesisHash: GENESIS_HASH, relays: [{ url: 'ws://x/v1/ws', secret: '00' }] })).toThrow(/peerId/);
  }, 30_000);
});
