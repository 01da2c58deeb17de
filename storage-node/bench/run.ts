/**
 * `npm run bench` for @leios/storage-node: runs the storage benchmarks in one process (so the
 * baselines are measured on the same machine state) and writes bench/results/storage.json at
 * the repo root. Postgres when DATABASE_URL is set, else PGlite; the JSON records which.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchStorage } from './storage';

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(here, '../../bench/results/storage.json');

const t0 = performance.now();
process.stdout.write('bench storage … ');
const results = await benchStorage();
process.stdout.write(`${((performance.now() - t0) / 1000).toFixed(1)} s\n`);

const doc = {
  package: '@leios/storage-node',
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, memGiB: Math.round(os.totalmem() / 2 ** 30), loadavg1m: os.loadavg()[0] },
  results,
};
await mkdir(dirname(out), { recursive: true });
await writeFile(out, `${JSON.stringify(doc, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`);
console.log(`wrote ${out}`);
