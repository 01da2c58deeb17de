/**
 * Benchmark of the storage node's observability and HTTP API paths: trace emission to a file,
 * metric updates and scrape rendering, and the §12 read routes in process and over a socket.
 *
 * Primer: these paths sit under every vote and block (trace, metrics) and under every edge relay
 * cache miss (`GET /v1/eb`, `POST /v1/eb/{hash}/txs`), so their cost is measured here rather than
 * asserted in unit tests. Run `npx tsx storage-node/src/api/bench.ts`; it writes
 * bench/results/storage-node-api.json at the repo root. The backend is an in-memory map, so the
 * figures are the API's own overhead (routing, checks, encoding, HTTP), not the database's.
 *
 * @module
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { blake2b256, CborWriter, type Hash32, toHex } from '@leios/shared';
import { bitmapFromIndices } from '@leios/shared/wire';
import { NodeMetrics, TraceWriter } from '../obs/index';
import type { EbTxsResult, NodeApiBackend, NodeStatus, TipInfo } from './backend';
import { createApiApp, serveApi } from './index';

function rate(n: number, ms: number): number {
  return Math.round((n / ms) * 1000);
}

async function time(fn: () => Promise<void> | void): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** An in-memory backend with one EB of `count` txs of `size` bytes. */
function memoryBackend(count: number, size: number): { backend: NodeApiBackend; eb: Hash32 } {
  const txs = Array.from({ length: count }, (_, i) => {
    const w = new CborWriter();
    const pad = new Uint8Array(size - 4).fill(i & 0xff);
    pad[0] = i >> 8;
    return w.bytes(pad).finish();
  });
  const ebw = new CborWriter();
  ebw.map(txs.length);
  for (const t of txs) ebw.bytes(blake2b256(t)).uint(t.length);
  const ebBytes = ebw.finish();
  const eb = blake2b256(ebBytes);
  const unused = (): never => {
    throw new Error('not used by this benchmark');
  };
  const backend: NodeApiBackend = {
    getEbBytes: async (h) => (toHex(h) === toHex(eb) ? ebBytes : null),
    getEbTxs: async (_h, sel): Promise<EbTxsResult> => ({ ok: true, txs: sel.indices.map((i) => txs[i]!) }),
    getRbBlock: async () => null,
    tip: async (): Promise<TipInfo> => ({ slot: 1, blockNumber: 1, hash: eb, epoch: 0 }),
    epochPools: async () => null,
    currentEpoch: () => 0,
    submitTx: unused,
    submitVotes: unused,
    status: async (): Promise<NodeStatus> => unused(),
  };
  return { backend, eb };
}

/**
 * Run the benchmark and return its figures.
 *
 * @example
 * ```ts
 * const results = await benchApi();
 * ```
 */
export async function benchApi(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const dir = await mkdtemp(join(os.tmpdir(), 'leios-bench-'));
  try {
    // Trace: 200,000 events to a file, emit cost and time until everything is on disk.
    const trace = await TraceWriter.open({ systemStartMs: Date.now(), path: join(dir, 't.jsonl'), maxPendingBytes: 64 * 2 ** 20 });
    const n = 200_000;
    const hex = 'ab'.repeat(32);
    const emitMs = await time(() => {
      for (let i = 0; i < n; i++) trace.emit({ type: 'EBTxsReceived', node: 'node-0', id: hex, slot: i, latency_s: 0.25 });
    });
    const flushMs = await time(() => trace.close());
    out.trace = { events: n, emitPerS: rate(n, emitMs), endToEndPerS: rate(n, emitMs + flushMs), dropped: trace.stats.dropped };

    // Metrics: counter and histogram updates, and rendering a scrape.
    const m = new NodeMetrics();
    const incMs = await time(() => {
      for (let i = 0; i < n; i++) m.inc('leios_bytes_total', { direction: 'in', class: 'fresh' }, 100);
    });
    const obsMs = await time(() => {
      for (let i = 0; i < n; i++) m.observe('leios_praos_block_diffusion_seconds', { stage: 'header' }, (i % 1000) / 500);
    });
    const scrapes = 200;
    const scrapeMs = await time(async () => {
      for (let i = 0; i < scrapes; i++) await m.text();
    });
    out.metrics = { incPerS: rate(n, incMs), observePerS: rate(n, obsMs), scrapeMs: +(scrapeMs / scrapes).toFixed(3), scrapeBytes: (await m.text()).length };

    // Routes in process (no socket): GET /v1/eb of a 400-tx EB, POST /v1/eb/{hash}/txs for 100 txs of 1 kB.
    const { backend, eb } = memoryBackend(400, 1000);
    const app = createApiApp({ backend, metrics: m, trace: TraceWriter.memory({ systemStartMs: 0 }) });
    const bitmap = bitmapFromIndices(Array.from({ length: 100 }, (_, i) => i * 4)).bytes;
    const reqs = 5_000;
    const getMs = await time(async () => {
      for (let i = 0; i < reqs; i++) await (await app.request(`/v1/eb/${toHex(eb)}`)).arrayBuffer();
    });
    const txsMs = await time(async () => {
      for (let i = 0; i < reqs / 5; i++) {
        const res = await app.request(`/v1/eb/${toHex(eb)}/txs`, { method: 'POST', body: bitmap, headers: { 'content-type': 'application/cbor' } });
        await res.arrayBuffer();
      }
    });
    out.inProcess = { getEbPerS: rate(reqs, getMs), postEbTxs100PerS: rate(reqs / 5, txsMs) };

    // Over a socket with 32 concurrent clients.
    const server = await serveApi(app, { port: 0 });
    try {
      const base = `http://127.0.0.1:${server.port}`;
      const total = 5_000;
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < total) {
          next++;
          await (await fetch(`${base}/v1/eb/${toHex(eb)}`)).arrayBuffer();
        }
      };
      const httpMs = await time(() => Promise.all(Array.from({ length: 32 }, worker)).then(() => undefined));
      out.http = { concurrency: 32, getEbPerS: rate(total, httpMs) };
    } finally {
      await server.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return out;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const results = await benchApi();
  const file = resolve(dirname(fileURLToPath(import.meta.url)), '../../../bench/results/storage-node-api.json');
  const doc = {
    package: '@leios/storage-node (api, obs)',
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, memGiB: Math.round(os.totalmem() / 2 ** 30) },
    results,
  };
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(doc, null, 2)}\n`);
  console.log(JSON.stringify(results, null, 2));
  console.log(`wrote ${file}`);
}
