/**
 * `npm run bench` for @leios/shared: runs every shared benchmark in one process (so ratios are
 * measured on the same machine state) and writes bench/results/shared.json at the repo root.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

type Bench = () => Promise<Record<string, unknown>>;

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(here, '../../bench/results/shared.json');

async function load(name: string, file: string, fn: string): Promise<[string, Bench]> {
  const mod = (await import(file)) as Record<string, Bench>;
  const f = mod[fn];
  if (typeof f !== 'function') throw new Error(`bench ${name}: ${file} does not export ${fn}`);
  return [name, f];
}

const benches = await Promise.all([
  load('crypto', './crypto', 'benchCrypto'),
  load('codec', './codec', 'benchCodec'),
  load('ledger', './ledger', 'benchLedger'),
]);

const results: Record<string, unknown> = {};
for (const [name, fn] of benches) {
  const t0 = performance.now();
  process.stdout.write(`bench ${name} … `);
  results[name] = await fn();
  process.stdout.write(`${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
}

const doc = {
  package: '@leios/shared',
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, memGiB: Math.round(os.totalmem() / 2 ** 30) },
  results,
};
await mkdir(dirname(out), { recursive: true });
await writeFile(out, `${JSON.stringify(doc, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`);
console.log(`wrote ${out}`);
