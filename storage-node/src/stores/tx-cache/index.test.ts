import type { Hash32, Slot } from '@leios/shared/types';
import { blake2b256 } from '@leios/shared/crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../db/index';
import { isStorageError } from '../../errors/index';
import { makeEbBytes, makeTxs, refsOf } from '../../test-support/fixtures';
import { openTestDb } from '../../test-support/index';
import { ChainDb } from '../chain-db/index';
import { EbStore } from '../eb-store/index';
import { TxCache } from './index';

let database: Database;
let clock = 0;
beforeAll(async () => {
  database = await openTestDb();
});
afterAll(() => database.close());
beforeEach(async () => {
  await database.raw.query('truncate ebs, eb_txs, txs cascade');
  clock = 1_000_000;
});
const now = () => clock;
async function rowCount(): Promise<number> {
  const [r] = await database.raw.query<{ n: unknown }>('select count(*) as n from txs');
  return Number(r?.n);
}

describe('TxCache', () => {
  it('indexes by reference hash with age and size, and persists bodies in the database', async () => {
    const cache = new TxCache(database, { now });
    const [a, b] = makeTxs(2);
    const ha = cache.insert(a!);
    expect(ha).toEqual(blake2b256(a!));
    clock += 5;
    cache.insert(b!);
    expect(cache.has(ha)).toBe(true);
    expect(cache.meta(blake2b256(b!))).toEqual({ insertedAt: clock, size: b!.length });
    expect(cache.size).toBe(2);
    expect(cache.bytes).toBe(a!.length + b!.length);
    expect(Buffer.from((await cache.get(ha))!).equals(Buffer.from(a!))).toBe(true); // before flush
    await cache.flush();
    expect(await rowCount()).toBe(2);
    expect(Buffer.from((await cache.get(ha))!).equals(Buffer.from(a!))).toBe(true); // from the database
    cache.insert(a!); // a re-insert keeps the first age
    expect(cache.meta(ha)?.insertedAt).toBe(1_000_000);
    expect(isStorageError((() => { try { cache.insert(new Uint8Array(16_385)); } catch (e) { return e; } })(), 'too-large')).toBe(true);
    await cache.close();
  });

  it('evicts by age, keeping rows an EB references', async () => {
    const cache = new TxCache(database, { now, maxAgeMs: 1000 });
    const [old, inEb, young] = makeTxs(3);
    cache.insert(old!);
    cache.insert(inEb!);
    await cache.flush();
    const refs = refsOf([inEb!]);
    await new EbStore(database, new ChainDb(database, { k: 2 })).putEb({
      bytes: makeEbBytes(refs),
      refs,
      rbHash: new Uint8Array(32) as Hash32,
      slot: 1 as Slot,
    });
    clock += 600;
    cache.insert(young!);
    clock += 500;
    expect(await cache.evict()).toBe(2);
    expect(cache.has(blake2b256(old!))).toBe(false);
    expect(cache.has(blake2b256(young!))).toBe(true);
    expect(await rowCount()).toBe(2); // `old` deleted; `inEb` kept for the EB; `young`
    const [r] = await database.raw.query<{ c: unknown }>('select cached_at as c from txs where hash = $1', [blake2b256(inEb!)]);
    expect(r?.c).toBeNull();
    await cache.close();
  });

  it('keeps within its memory bound, evicting the oldest first', async () => {
    const cache = new TxCache(database, { now, maxEntries: 5, maxBytes: 10_000 });
    const txs = makeTxs(8, 100, true);
    for (const t of txs) {
      cache.insert(t);
      clock++;
    }
    expect(cache.size).toBe(5);
    expect(txs.map((t) => cache.has(blake2b256(t)))).toEqual([false, false, false, true, true, true, true, true]);
    const big = new TxCache(database, { now, maxBytes: 250 });
    for (const t of txs.slice(0, 3)) big.insert(t);
    expect(big.size).toBe(2);
    expect(big.bytes).toBe(200);
    await cache.close();
    await big.close();
  });

  it('rebuilds its index from the database after a restart, and completes closures it fills', async () => {
    const ebStore = new EbStore(database, new ChainDb(database, { k: 2 }));
    const txs = makeTxs(4);
    const refs = refsOf(txs);
    const st = await ebStore.putEb({ bytes: makeEbBytes(refs), refs, rbHash: new Uint8Array(32) as Hash32, slot: 1 as Slot });
    const completed: Hash32[] = [];
    ebStore.onClosureComplete((h) => completed.push(h));
    const cache = new TxCache(database, { now, afterFlush: (hs) => ebStore.refreshCompleteness(hs) });
    for (const t of txs) cache.insert(t);
    await cache.close();
    expect(completed).toEqual([st.hash]);
    clock += 10;
    const again = new TxCache(database, { now });
    expect(await again.load()).toBe(4);
    expect(txs.every((t) => again.has(blake2b256(t)))).toBe(true);
    expect(again.meta(blake2b256(txs[0]!))?.insertedAt).toBe(1_000_000);
    clock += 3600_000;
    const late = new TxCache(database, { now });
    expect(await late.load()).toBe(0); // all expired; rows stay for the EB
    expect(await rowCount()).toBe(4);
  });
});
