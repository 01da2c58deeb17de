/**
 * One storage node composed by startStorageNode, alone (one pool with all the stake, so it
 * produces, votes and certifies by itself), driven through its HTTP API only: txs in by
 * POST /v1/tx, then the §12 read routes, /metrics, /api/status and the trace file must show the
 * certified EBs.
 */
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromHex } from '@leios/shared/bytes';
import { blake2bBackend } from '@leios/shared/crypto';
import { decodeEb, parseGenesis } from '@leios/shared/protocol';
import { parseTraceLine } from '@leios/shared/obs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import type { NodeStatus } from '../api/index';
import { createDevnetGenesis, writeDevnetGenesis } from '../cli/genesis';
import { TxGenerator } from '../cli/txgen';
import { HASH_WASM_BACKEND_NAME } from '../crypto-backends/index';
import type { Database } from '../db/index';
import {
  attachFetchManager,
  FetchManager,
  MAX_WS_MESSAGE_BYTES,
  nodeFetchTarget,
  type PeerListener,
  selectSubprotocol,
  servePeers,
  versionDataFor,
} from '../net/index';
import { SystemTime } from '../node/clock/index';
import { LeiosNode } from '../node/index';
import { createLogger } from '../obs/index';
import { openTestDb } from '../test-support/index';
import { ConfigFileError, parseNodeConfig, poolKeysFromSeed, type StorageNodeHandle, startStorageNode, toNodeGenesis } from './index';

describe('parseNodeConfig', () => {
  it('resolves paths, applies defaults and rejects unknown keys with their path', () => {
    const c = parseNodeConfig({ name: 'n0', genesis: 'g.json', dataDir: 'd', pools: [{ seed: 's' }] }, '/base');
    expect(c.genesis).toBe('/base/g.json');
    expect(c.dataDir).toBe('/base/d');
    expect(c.api).toEqual({ host: '127.0.0.1', port: 12798 });
    expect(c.relays).toEqual([]);
    expect(() => parseNodeConfig({ name: 'n0', genesis: 'g', dataDir: 'd', extra: 1 }, '/')).toThrow(ConfigFileError);
    expect(() => parseNodeConfig({ name: 'n0', genesis: 'g', dataDir: 'd', relays: [{ url: 'http://x' }] }, '/')).toThrow(/relays\.0\.url/);
  });
});

describe('startStorageNode (single pool, fast slots)', () => {
  let dir: string;
  let database: Database;
  let h: StorageNodeHandle;
  let gen: TxGenerator;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'leios-service-'));
    database = await openTestDb();
    const g = createDevnetGenesis({
      stakes: [1_000_000_000_000n],
      funds: 2,
      outputsPerFund: 256,
      systemStartMs: Date.now() + 500,
      // small RBs so txs spill into EBs
      params: { slotLengthMs: 100, maxRbBodySize: 1200 },
      prefix: 'svc',
    });
    const genesisPath = await writeDevnetGenesis(dir, g);
    gen = new TxGenerator({ funds: g.fundSeeds.map((seed, k) => ({ seed, outputs: g.created.funds[k]?.outputs ?? [] })) });
    const config = parseNodeConfig({ name: 'svc-0', genesis: genesisPath, dataDir: join(dir, 'node'), pools: [{ seed: g.poolSeeds[0] }], api: { port: 0 } }, dir);
    h = await startStorageNode(config, { database, logger: createLogger({ name: 'svc-0', level: 'warn' }) });
  });

  afterAll(async () => {
    await h?.stop();
    await database?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('certifies EBs from txs submitted over HTTP and reports them on every surface', async () => {
    const post = async (bytes: Uint8Array) =>
      fetch(`${h.url}/v1/tx`, { method: 'POST', headers: { 'content-type': 'application/cbor' }, body: bytes });
    let certified = 0;
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      for (let i = 0; i < 4; i++) {
        const tx = gen.next();
        if (!tx) break;
        const r = await post(tx.bytes);
        expect(r.status, await r.text()).toBe(202);
      }
      const s = (await (await fetch(`${h.url}/api/status`)).json()) as NodeStatus;
      certified = s.certifiedEbCount;
      if (certified >= 2) break;
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(certified).toBeGreaterThanOrEqual(2);

    // Resubmitting a tx already taken is idempotent (§12).
    const again = gen.next();
    if (!again) throw new Error('generator exhausted');
    expect((await post(again.bytes)).status).toBe(202);
    const r2 = await post(again.bytes);
    expect(r2.status).toBe(202);

    const status = (await (await fetch(`${h.url}/api/status`)).json()) as NodeStatus;
    const certifiedRb = status.recentRbs.find((rb) => rb.eb?.state === 'certified');
    if (!certifiedRb?.eb) throw new Error('no certified EB among the recent RBs');
    // the EB is served as stored bytes and decodes to the stated tx count
    const ebRes = await fetch(`${h.url}/v1/eb/${certifiedRb.eb.hash}`);
    expect(ebRes.status).toBe(200);
    const ebBytes = new Uint8Array(await ebRes.arrayBuffer());
    expect(decodeEb(ebBytes, h.genesis.params).refs.length).toBe(certifiedRb.eb.txCount);
    expect((await fetch(`${h.url}/v1/rb/${certifiedRb.hash}`)).status).toBe(200);
    const tip = (await (await fetch(`${h.url}/v1/tip`)).json()) as { blockNumber: number; hash: string };
    expect(tip.blockNumber).toBeGreaterThan(0);
    expect(fromHex(tip.hash).length).toBe(32);

    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    const value = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(metrics)?.[1] ?? Number.NaN);
    expect(value('leios_certificates_built_total')).toBeGreaterThanOrEqual(2);
    expect(value('leios_quorum_reached_total')).toBeGreaterThanOrEqual(2);
    expect(value('leios_chain_tip_slot')).toBeGreaterThan(0);
    expect(metrics).toMatch(/leios_eb_closure_latency_seconds_bucket/);

    await h.trace.flush();
    const lines = (await readFile(join(dir, 'node', 'trace.jsonl'), 'utf8')).trim().split('\n');
    const types = new Set(lines.map((l) => parseTraceLine(l).message.type));
    for (const t of ['Slot', 'RBGenerated', 'EBGenerated', 'VTBundleGenerated', 'CertGenerated']) expect(types).toContain(t);

    const ledger = (await (await fetch(`${h.url}/api/ledger`)).json()) as { stateHash: string; txCount: number };
    expect(ledger.stateHash).toMatch(/^[0-9a-f]{64}$/);
    expect(ledger.txCount).toBeGreaterThan(0);
  });
});

/**
 * Two producing nodes over a real WebSocket: A is composed by startStorageNode and dials B, a
 * node that accepts with the same session code. A's /metrics must count the network layer
 * (bytes by class, votes over ws, Praos diffusion) and its trace file must hold the §14.1 send
 * and receive events.
 */
describe('startStorageNode with a relay session (two pools)', () => {
  let dir: string;
  const dbs: Database[] = [];
  let h: StorageNodeHandle | undefined;
  let b: LeiosNode | undefined;
  let listener: PeerListener | undefined;
  let wss: WebSocketServer | undefined;

  afterAll(async () => {
    await h?.stop();
    await listener?.close();
    await b?.stop();
    if (wss) {
      const w = wss;
      for (const c of w.clients) c.terminate();
      await new Promise((r) => w.close(() => r(undefined)));
    }
    for (const d of dbs) await d.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('counts wire bytes by class and ws votes, and traces RB / EB / vote bundle sends and receipts', async () => {
    dir = await mkdtemp(join(tmpdir(), 'leios-service-net-'));
    dbs.push(await openTestDb(), await openTestDb());
    const g = createDevnetGenesis({
      stakes: [1_000_000_000_000n, 1_000_000_000_000n],
      funds: 1,
      outputsPerFund: 64,
      systemStartMs: Date.now() + 500,
      params: { slotLengthMs: 100, maxRbBodySize: 1200 },
      prefix: 'svc-net',
    });
    const genesisPath = await writeDevnetGenesis(dir, g);
    const genesis = parseGenesis(new Uint8Array(await readFile(genesisPath)));
    b = await LeiosNode.create({
      name: 'svc-b',
      genesis: toNodeGenesis(genesis),
      database: dbs[1]!,
      time: new SystemTime(),
      pools: [poolKeysFromSeed(g.poolSeeds[1]!)],
    });
    const fetchB = new FetchManager({ target: nodeFetchTarget(b) });
    attachFetchManager(b, fetchB);
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/v1/ws', handleProtocols: selectSubprotocol, maxPayload: MAX_WS_MESSAGE_BYTES });
    await once(wss, 'listening');
    const port = (wss.address() as AddressInfo).port;
    listener = servePeers({ wss, node: b, fetch: fetchB, versionData: versionDataFor(b, genesis.hash) });
    const config = parseNodeConfig(
      { name: 'svc-a', genesis: genesisPath, dataDir: join(dir, 'a'), pools: [{ seed: g.poolSeeds[0] }], api: { port: 0 }, relays: [{ url: `ws://127.0.0.1:${port}/v1/ws` }] },
      dir,
    );
    h = await startStorageNode(config, { database: dbs[0]!, logger: createLogger({ name: 'svc-a', level: 'warn' }) });
    // the Node crypto backends are installed process-wide by the service
    expect(blake2bBackend().name).toBe(HASH_WASM_BACKEND_NAME);
    b.start();
    const gen = new TxGenerator({ funds: g.fundSeeds.map((seed, k) => ({ seed, outputs: g.created.funds[k]?.outputs ?? [] })) });

    const want = ['RBSent', 'RBReceived', 'EBSent', 'EBReceived', 'VTBundleSent', 'VTBundleReceived'];
    const tracePath = join(dir, 'a', 'trace.jsonl');
    const traceTypes = async (): Promise<Set<string>> => {
      await h?.trace.flush();
      const text = await readFile(tracePath, 'utf8').catch(() => '');
      return new Set(text.trim().split('\n').filter(Boolean).map((l) => parseTraceLine(l).message.type));
    };
    let metrics = '';
    const value = (name: string, labels: string) =>
      Number(new RegExp(`^${name}\\{[^}]*${labels}[^}]*\\} (\\S+)$`, 'm').exec(metrics)?.[1] ?? Number.NaN);
    const deadline = Date.now() + 90_000;
    let types = new Set<string>();
    while (Date.now() < deadline) {
      for (let i = 0; i < 3; i++) {
        const tx = gen.next();
        if (tx) await fetch(`${h.url}/v1/tx`, { method: 'POST', headers: { 'content-type': 'application/cbor' }, body: tx.bytes });
      }
      await new Promise((r) => setTimeout(r, 300));
      types = await traceTypes();
      metrics = await (await fetch(`${h.url}/metrics`)).text();
      if (want.every((t) => types.has(t)) && value('leios_votes_verified_total', 'source="ws"') > 0) break;
    }
    for (const t of want) expect(types, t).toContain(t);
    for (const dir of ['in', 'out']) {
      for (const cls of ['praos', 'fresh']) expect(value('leios_bytes_total', `direction="${dir}",class="${cls}"`), `${dir}/${cls}`).toBeGreaterThan(0);
    }
    expect(value('leios_votes_received_total', 'source="ws"')).toBeGreaterThan(0);
    expect(value('leios_votes_verified_total', 'source="ws"')).toBeGreaterThan(0);
    expect(value('leios_praos_block_diffusion_seconds_count', 'stage="header"')).toBeGreaterThan(0);
    expect(value('leios_praos_block_diffusion_seconds_count', 'stage="body"')).toBeGreaterThan(0);
    // every line of the file is a §14.1 event; the network layer's name A and the relay
    const lines = (await readFile(tracePath, 'utf8')).trim().split('\n').map((l) => parseTraceLine(l).message);
    const sent = lines.find((m) => m.type === 'RBSent');
    expect(sent?.type === 'RBSent' && [sent.sender, sent.recipient]).toEqual(['svc-a', 'relay-0']);
    // the node's sender-less EBReceived is replaced by the network layer's
    expect(lines.filter((m) => m.type === 'EBReceived').every((m) => m.type === 'EBReceived' && m.sender === 'relay-0')).toBe(true);
  }, 120_000);
});
