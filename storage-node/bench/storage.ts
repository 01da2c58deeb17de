/**
 * Storage benchmarks (issue 3): closure write/read against a same-run raw-driver baseline, vote
 * insert latency, quorum detection latency, tx cache insert/lookup latency and the resident
 * memory of a one-hour tx cache. Uses Postgres when DATABASE_URL is set (a scratch database,
 * dropped afterwards), else PGlite on a temporary directory; the record says which.
 *
 * The 40,000-tx closure exceeds what one EB can reference under S_EB (512,000 B allows about
 * 13,000 references of 39 bytes each), so the EbStore here runs with S_EB raised to fit the
 * reference list; S_EB_tx (12,000,000 B) is met exactly (40,000 × 300 B).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import vm from 'node:vm';
import v8 from 'node:v8';
import type { Hash32, Slot } from '@leios/shared/types';
import { blake2b256, blake2bBackend } from '@leios/shared/crypto';
import { type Database, openDatabase } from '../src/db/index';
import { ChainDb } from '../src/stores/chain-db/index';
import { EbStore } from '../src/stores/eb-store/index';
import { TxCache } from '../src/stores/tx-cache/index';
import { type RbWeights, VoteStore } from '../src/stores/vote-store/index';
import { makeBlock, makeEbBytes, makeTxs, makeVote, refsOf } from '../src/test-support/fixtures';
import { createScratchDatabase } from '../src/test-support/index';

const CLOSURE_TXS = 40_000;
const TX_SIZE = 300;
const REPEATS = 7;

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
}
const median = (xs: number[]) => quantile(xs, 0.5);
const r3 = (x: number) => Math.round(x * 1000) / 1000;

function gcFn(): () => void {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as unknown;
  if (typeof gc !== 'function') throw new Error('cannot expose gc for the memory benchmark');
  return gc as () => void;
}

async function timeIt(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

async function withDatabase<T>(fn: (db: Database) => Promise<T>): Promise<T> {
  if (process.env.DATABASE_URL) {
    const scratch = await createScratchDatabase();
    const database = await openDatabase({ url: scratch.url });
    try {
      return await fn(database);
    } finally {
      await database.close();
      await scratch.drop();
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'leios-bench-'));
  const database = await openDatabase({ dataDir: dir });
  try {
    return await fn(database);
  } finally {
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function benchClosure(database: Database): Promise<Record<string, unknown>> {
  const chainDb = new ChainDb(database, { k: 10 });
  const ebStore = new EbStore(database, chainDb, {
    limits: { maxEbSize: 2_000_000, maxEbTxBytes: 12_000_000, maxTxSize: 16_384 },
  });
  const writes: number[] = [];
  const hashes: number[] = [];
  const reads: number[] = [];
  const baseWrites: number[] = [];
  const baseReads: number[] = [];
  await database.raw.query('create table bench_raw (hash bytea primary key, bytes bytea not null)');
  for (let i = 0; i < REPEATS; i++) {
    const txs = makeTxs(CLOSURE_TXS, TX_SIZE, true);
    const refs = refsOf(txs);
    const eb = { bytes: makeEbBytes(refs), refs, rbHash: new Uint8Array(32).fill(i) as Hash32, slot: (i + 1) as Slot };
    // What verification alone costs (the store hashes every tx against its reference, §4.3).
    hashes.push(
      await timeIt(async () => {
        for (const t of txs) blake2b256(t);
      }),
    );
    let hash: Hash32 | undefined;
    writes.push(
      await timeIt(async () => {
        hash = (await ebStore.putClosure(eb, txs)).hash;
      }),
    );
    let back: Uint8Array[] = [];
    reads.push(
      await timeIt(async () => {
        back = await ebStore.getClosure(hash!);
      }),
    );
    if (back.length !== CLOSURE_TXS || !Buffer.from(back[123]!).equals(Buffer.from(txs[123]!))) {
      throw new Error('closure read back wrong');
    }
    // Baseline: the raw driver (postgres.js `unsafe` / PGlite `query`) inserting and selecting
    // the same bytes with plain multi-row VALUES, no verification, no references.
    await database.raw.query('truncate bench_raw');
    baseWrites.push(
      await timeIt(async () => {
        await database.transaction(async (tx) => {
          const chunk = 8_000;
          for (let s = 0; s < txs.length; s += chunk) {
            const part = txs.slice(s, s + chunk);
            const values = part.map((_, j) => `($${2 * j + 1}, $${2 * j + 2})`).join(',');
            await tx.query(
              `insert into bench_raw (hash, bytes) values ${values}`,
              part.flatMap((t, j) => [refs[s + j]!.hash, t]),
            );
          }
        });
      }),
    );
    baseReads.push(await timeIt(() => database.raw.query('select bytes from bench_raw')));
  }
  const readMs = median(reads);
  return {
    txs: CLOSURE_TXS,
    bytes: CLOSURE_TXS * TX_SIZE,
    repeats: REPEATS,
    blake2bBackend: blake2bBackend().name,
    write_ms: { p50: r3(median(writes)), min: r3(Math.min(...writes)) },
    write_hash_verification_ms: { p50: r3(median(hashes)) },
    write_db_ms_p50: r3(median(writes) - median(hashes)),
    read_ms: { p50: r3(readMs), min: r3(Math.min(...reads)), max: r3(Math.max(...reads)) },
    baseline_raw_write_ms: { p50: r3(median(baseWrites)) },
    baseline_raw_read_ms: { p50: r3(median(baseReads)) },
    read_budget_ms: 50,
    read_meets_budget: readMs < 50,
  };
}

async function benchVotes(database: Database): Promise<Record<string, unknown>> {
  const chainDb = new ChainDb(database, { k: 10 });
  const seats = 100;
  const stakes = Array.from({ length: seats }, (_, i) => BigInt(1_000_000 + i));
  const total = stakes.reduce((a, b) => a + b, 0n);
  const weights: RbWeights = { seatWeight: (s) => stakes[s], totalStake: total, quorum: { num: 3n, den: 4n } };
  const rbs: Hash32[] = [];
  for (let i = 0; i < 70; i++) {
    const b = makeBlock(null, { eb: { hash: new Uint8Array(32).fill(i) as Hash32, size: 1000 } });
    rbs.push(await chainDb.putHeader(b.header));
  }
  // Vote insert latency: 2,000 single adds over 20 RBs.
  const votes = new VoteStore(database, { weightOf: () => weights });
  const lat: number[] = [];
  for (let r = 0; r < 20; r++) {
    for (let s = 0; s < seats; s++) {
      const v = makeVote(rbs[r]!, s);
      const t = performance.now();
      await votes.add(v);
      lat.push(performance.now() - t);
    }
  }
  // Quorum detection: for 50 RBs, add votes up to just below τ·S, then time the deciding vote
  // from the call to the quorum event.
  const quorumLat: number[] = [];
  let fired = 0;
  let t0 = 0;
  votes.onQuorum(() => {
    quorumLat.push(performance.now() - t0);
    fired++;
  });
  for (let r = 20; r < 70; r++) {
    let signed = 0n;
    let s = 0;
    const below: ReturnType<typeof makeVote>[] = [];
    while (4n * (signed + stakes[s]!) < 3n * total) {
      below.push(makeVote(rbs[r]!, s));
      signed += stakes[s]!;
      s++;
    }
    await votes.addMany(below);
    const deciding = makeVote(rbs[r]!, s);
    const before = fired;
    t0 = performance.now();
    await votes.add(deciding);
    if (fired !== before + 1) throw new Error('quorum event did not fire on the deciding vote');
  }
  const p50 = quantile(lat, 0.5);
  const p99 = quantile(lat, 0.99);
  const q99 = quantile(quorumLat, 0.99);
  return {
    vote_insert_ms: { n: lat.length, p50: r3(p50), p99: r3(p99), max: r3(Math.max(...lat)) },
    vote_insert_budget_ms: 1,
    vote_insert_meets_budget: p50 < 1 && p99 < 1,
    quorum_detection_ms: { n: quorumLat.length, p50: r3(quantile(quorumLat, 0.5)), p99: r3(q99), max: r3(Math.max(...quorumLat)) },
    quorum_detection_budget_ms: 10,
    quorum_detection_meets_budget: q99 < 10,
  };
}

async function benchTxCache(database: Database): Promise<Record<string, unknown>> {
  const gc = gcFn();
  const n = 131_000;
  // One hour of txs at the Leios target throughput (~36 tx/s).
  const txs = makeTxs(n, TX_SIZE);
  const hashes = txs.map((t) => blake2b256(t));
  let clock = Date.now() - 3600_000;
  let cache: TxCache | undefined = new TxCache(database, { now: () => clock, maxAgeMs: 3600_000 });
  const ins: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    cache.insert(txs[i]!);
    ins.push(performance.now() - t);
    clock += 27; // 3,600 s / 131,000
    if (i % 1000 === 999) await new Promise((r) => setImmediate(r)); // let batched flushes run
  }
  await cache.flush();
  const look: number[] = [];
  let hits = 0;
  for (let i = 0; i < 200_000; i++) {
    const h = hashes[(i * 7919) % n]!;
    const t = performance.now();
    if (cache.has(h)) hits++;
    look.push(performance.now() - t);
  }
  if (hits !== 200_000 || cache.size !== n || txs.length !== n) throw new Error('tx cache lost entries');
  // Bodies are in the database now: what stays resident is the index. Measure the heap with the
  // cache and again after dropping it, both with `txs` and `hashes` alive, so the difference is
  // the cache's own memory and garbage from earlier benchmarks cannot skew it.
  const indexed = cache.bytes;
  await cache.close();
  gc();
  const heapWith = process.memoryUsage().heapUsed;
  const rssWith = process.memoryUsage().rss;
  cache = undefined;
  gc();
  const heapIndex = heapWith - process.memoryUsage().heapUsed;
  const rssIndex = rssWith - process.memoryUsage().rss;
  const insP99 = quantile(ins, 0.99) * 1000;
  const lookP99 = quantile(look, 0.99) * 1000;
  return {
    entries: n,
    tx_bytes_indexed: indexed,
    insert_us: { p50: r3(quantile(ins, 0.5) * 1000), p99: r3(insP99), note: 'includes H256 of the tx bytes' },
    lookup_us: { p50: r3(quantile(look, 0.5) * 1000), p99: r3(lookP99) },
    budget_us: 100,
    meets_budget: insP99 < 100 && lookP99 < 100,
    resident_heap_mib: r3(heapIndex / 2 ** 20),
    resident_heap_bytes_per_entry: Math.round(heapIndex / n),
    resident_rss_released_mib: r3(rssIndex / 2 ** 20),
  };
}

/** Say by how much a budget is missed and what the same-run baseline did. */
function notes(closure: Record<string, unknown>, votes: Record<string, unknown>): string[] {
  const out: string[] = [];
  const load = os.loadavg()[0]?.toFixed(1);
  const read = (closure.read_ms as { p50: number }).p50;
  const base = (closure.baseline_raw_read_ms as { p50: number }).p50;
  if (read >= 50) {
    out.push(
      `closure read p50 ${read} ms misses the 50 ms budget by ${r3(read - 50)} ms; the raw-driver select of the same ` +
        `bytes took ${base} ms in this run (${r3(read / base)}x). The store joins 40,000 references to their tx rows ` +
        `(txs are shared, stored once) and moves 12 MB; load average ${load} on 2 cores.`,
    );
  }
  const v = votes.vote_insert_ms as { p50: number; p99: number };
  if (v.p50 >= 1 || v.p99 >= 1) {
    out.push(
      `vote insert p50 ${v.p50} ms / p99 ${v.p99} ms vs the 1 ms budget: one committed INSERT round trip per vote ` +
        `(durable before the quorum check); the tail follows machine load (average ${load} on 2 cores). ` +
        'Batches (addMany, one LeiosNotify message) amortise it.',
    );
  }
  const q = votes.quorum_detection_ms as { p99: number };
  if (q.p99 >= 10) out.push(`quorum detection p99 ${q.p99} ms vs 10 ms: it is the deciding vote's insert latency (load average ${load}).`);
  const hash = (closure.write_hash_verification_ms as { p50: number }).p50;
  out.push(
    `closure write includes verifying every tx against its reference: ${hash} ms of it is Blake2b-256 with the ` +
      `'${closure.blake2bBackend}' backend; a faster Node backend (shared/crypto) shrinks that part.`,
  );
  return out;
}

/**
 * Run all storage benchmarks.
 *
 * @example
 * ```ts
 * const results = await benchStorage();
 * ```
 */
export async function benchStorage(): Promise<Record<string, unknown>> {
  return withDatabase(async (database) => {
    const closure = await benchClosure(database);
    const votes = await benchVotes(database);
    const txCache = await benchTxCache(database);
    return { driver: database.driver, location: database.driver === 'postgres' ? database.location : 'pglite (temporary directory)', closure, votes, txCache, notes: notes(closure, votes) };
  });
}
