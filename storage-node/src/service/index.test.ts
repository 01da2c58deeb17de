/**
 * One storage node composed by startStorageNode, alone (one pool with all the stake, so it
 * produces, votes and certifies by itself), driven through its HTTP API only: txs in by
 * POST /v1/tx, then the §12 read routes, /metrics, /api/status and the trace file must show the
 * certified EBs.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromHex } from '@leios/shared/bytes';
import { decodeEb } from '@leios/shared/protocol';
import { parseTraceLine } from '@leios/shared/obs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeStatus } from '../api/index';
import { createDevnetGenesis, writeDevnetGenesis } from '../cli/genesis';
import { TxGenerator } from '../cli/txgen';
import type { Database } from '../db/index';
import { createLogger } from '../obs/index';
import { openTestDb } from '../test-support/index';
import { ConfigFileError, parseNodeConfig, type StorageNodeHandle, startStorageNode } from './index';

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
