/**
 * `npm run bench` for @leios/edge: the relay's HTTP hot paths in a local workerd (wrangler's test
 * harness: the same Worker, RelayHub and Cache API as `wrangler dev`), against a loopback HTTP
 * storage node started here. Writes bench/results/edge.json at the repo root.
 *
 * Measured (latency percentiles over real HTTP on loopback, one client process):
 * - `eb_miss`: `GET /v1/eb/{hash}` of S_EB-sized EBs never seen before: upstream fetch, Blake2b-256
 *   of 512 kB, Cache API put.
 * - `eb_hit`: the same EBs again (served from the Cache API; the storage node's hit counter
 *   proves it was not asked), sequential and with 16 requests in flight.
 * - `tx_post`: `POST /v1/tx` of signed utxo txs: bounded read, strict decode, forward, id check.
 *
 * Numbers are for this machine and local workerd, not for Cloudflare's network; they exist to
 * catch regressions (a slower hash, an extra copy) and to size UPSTREAM_TIMEOUT_MS.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import os from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { blake2b256, CborWriter, parseHash32, toHex } from '@leios/shared';
import { buildTx, decodeTx } from '@leios/shared/ledger';
import { createTestHarness } from 'wrangler';

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(here, '../../bench/results/edge.json');

function randomBytes(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let o = 0; o < n; o += 65_536) crypto.getRandomValues(b.subarray(o, Math.min(n, o + 65_536)));
  return b;
}

/** A canonical EB of `count` references (37 bytes each with a 2-byte size head). */
function makeEb(count: number): { bytes: Uint8Array; hex: string } {
  const w = new CborWriter(count * 38 + 8).map(count);
  for (let i = 0; i < count; i++) w.bytes(randomBytes(32)).uint(300 + (i % 500));
  const bytes = w.finish();
  return { bytes, hex: toHex(blake2b256(bytes)) };
}

function percentiles(xs: number[]): { n: number; p50_ms: number; p95_ms: number; max_ms: number; mean_ms: number } {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
  const r = (x: number) => Math.round(x * 1000) / 1000;
  return { n: s.length, p50_ms: r(at(0.5)), p95_ms: r(at(0.95)), max_ms: r(s[s.length - 1] ?? Number.NaN), mean_ms: r(s.reduce((a, b) => a + b, 0) / s.length) };
}

// ---- the storage node: real HTTP on loopback, serving prepared bytes, counting hits -----------
const ebs = Array.from({ length: 20 }, () => makeEb(13_800)); // 13,800 × 37 B ≈ 511 kB ≈ S_EB
const byPath = new Map(ebs.map((e) => [`/v1/eb/${e.hex}`, e.bytes]));
let upstreamHits = 0;
const upstream = createServer((req, res) => {
  upstreamHits++;
  if (req.method === 'GET') {
    const body = byPath.get(req.url ?? '');
    if (body === undefined) return void res.writeHead(404).end();
    return void res.writeHead(200, { 'content-type': 'application/cbor', 'content-length': body.length }).end(body);
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const tx = decodeTx(new Uint8Array(Buffer.concat(chunks)));
    res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ txId: toHex(tx.id), txHash: toHex(tx.hash) }));
  });
});
await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
const addr = upstream.address();
if (addr === null || typeof addr === 'string') throw new Error('no upstream port');

// ---- the relay -------------------------------------------------------------------------------
process.env.CLOUDFLARE_CF_FETCH_ENABLED = 'false';
const harness = createTestHarness({
  root: resolve(here, '..'),
  workers: [{ configPath: './wrangler.jsonc', vars: { UPSTREAM_URLS: `http://127.0.0.1:${addr.port}`, RELAY_NAME: 'bench' } }],
});
const { url } = await harness.listen();
const base = url.toString().replace(/\/$/, '');

async function timed(path: string, init?: RequestInit): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${base}${path}`, init);
  const body = new Uint8Array(await res.arrayBuffer());
  const dt = performance.now() - t0;
  if (res.status !== 200 && res.status !== 202) throw new Error(`${path}: ${res.status} ${new TextDecoder().decode(body.subarray(0, 300))}`);
  return dt;
}

try {
  // Warm the isolate (module load, first hub / cache use) on one EB, which then counts as cached.
  await timed(`/v1/eb/${ebs[0]!.hex}`);
  const missLat: number[] = [];
  for (const e of ebs.slice(1)) missLat.push(await timed(`/v1/eb/${e.hex}`));
  const hitsAfterMiss = upstreamHits;

  const hitLat: number[] = [];
  for (let i = 0; i < 400; i++) hitLat.push(await timed(`/v1/eb/${ebs[i % ebs.length]!.hex}`));

  const concurrent = 16;
  const total = 800;
  let next = 0;
  const concLat: number[] = [];
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrent }, async () => {
      while (next < total) {
        const i = next++;
        concLat.push(await timed(`/v1/eb/${ebs[i % ebs.length]!.hex}`));
      }
    }),
  );
  const concWall = performance.now() - t0;
  const upstreamAskedOnHits = upstreamHits - hitsAfterMiss;

  const txs = Array.from({ length: 200 }, () =>
    buildTx({
      inputs: [{ txId: parseHash32(randomBytes(32)), index: 0 }],
      outputs: [{ address: randomBytes(28), amount: 1_000_000n }],
      fee: 200_000n,
      ttlSlot: 1_000,
      signers: [randomBytes(32)],
    }),
  );
  const txLat: number[] = [];
  for (const tx of txs) txLat.push(await timed('/v1/tx', { method: 'POST', body: tx.bytes, headers: { 'content-type': 'application/cbor' } }));

  const results = {
    eb_bytes: ebs[0]!.bytes.length,
    eb_miss: percentiles(missLat),
    eb_hit_sequential: percentiles(hitLat),
    eb_hit_concurrent: { ...percentiles(concLat), in_flight: concurrent, requests_per_s: Math.round((total / concWall) * 1000), mib_per_s: Math.round(((total * ebs[0]!.bytes.length) / 2 ** 20 / (concWall / 1000)) * 10) / 10 },
    upstream_requests_during_hits: upstreamAskedOnHits,
    tx_post: { ...percentiles(txLat), tx_bytes: txs[0]!.bytes.length },
  };
  const doc = {
    package: '@leios/edge',
    date: new Date().toISOString(),
    runtime: 'local workerd via wrangler createTestHarness; client and storage node in this Node process',
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, memGiB: Math.round(os.totalmem() / 2 ** 30) },
    results,
  };
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify(doc, null, 2)}\n`);
  console.log(JSON.stringify(results, null, 2));
  console.log(`wrote ${out}`);
  if (upstreamAskedOnHits !== 0) throw new Error(`cache hits asked the storage node ${upstreamAskedOnHits} times`);
} finally {
  await harness.close();
  upstream.close();
}
