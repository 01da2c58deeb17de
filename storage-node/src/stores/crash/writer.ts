/**
 * Crash-test writer (child process of index.test.ts): opens the database given on the command
 * line, resumes from whatever a previous (killed) run left, and writes RBs, EBs with closures in
 * several steps, forks and votes in a loop until it is SIGKILLed. It prints `ready` once open and
 * `progress <tip>` after each block, so the parent can kill it mid-write.
 *
 * Usage: writer.ts <postgres-url | pglite-dir>
 */
import type { Slot } from '@leios/shared/types';
import { blake2b256 } from '@leios/shared/crypto';
import { openDatabase } from '../../db/index';
import { makeBlock, makeEbBytes, makeTxs, makeVote, refsOf } from '../../test-support/fixtures';
import { type ChainPoint, ChainDb } from '../chain-db/index';
import { EbStore } from '../eb-store/index';
import { TxCache } from '../tx-cache/index';
import { VoteStore } from '../vote-store/index';

const target = process.argv[2];
if (!target) throw new Error('usage: writer.ts <postgres-url | pglite-dir>');
const database = await openDatabase(target.startsWith('postgres') ? { url: target, maxConnections: 4 } : { dataDir: target });
const chainDb = new ChainDb(database, { k: 5 });
const ebStore = new EbStore(database, chainDb);
await ebStore.refreshCompleteness();
const txCache = new TxCache(database, { afterFlush: (hs) => ebStore.refreshCompleteness(hs), flushDelayMs: 5 });
await txCache.load();
const weights = { seatWeight: (s: number) => (s < 8 ? BigInt(s + 1) : undefined), totalStake: 36n, quorum: { num: 3n, den: 4n } };
const votes = new VoteStore(database, { weightOf: () => weights });
await votes.load();
process.stdout.write('ready\n');

let tip: ChainPoint | null = await chainDb.tip();
let carry: Uint8Array[] = []; // txs shared with the next EB
for (let round = 0; ; round++) {
  // An EB announced by the next block: part of its txs shared with the previous EB, part from the tx cache.
  const own = makeTxs(round % 4 === 0 ? 400 : 40 + (round % 50), 150);
  const fromCache = makeTxs(5, 100);
  for (const t of fromCache) txCache.insert(t);
  const txs = [...carry, ...own, ...fromCache];
  carry = own.slice(0, 10);
  const refs = refsOf(txs);
  const ebBytes = makeEbBytes(refs);
  const ebHash = blake2b256(ebBytes);
  const withEb = makeBlock(tip, { eb: { hash: ebHash, size: ebBytes.length } });
  tip = await chainDb.rollForward(withEb);
  const eb = { bytes: ebBytes, refs, rbHash: withEb.hash, slot: tip.slot as Slot };
  if (round % 3 === 0) {
    await ebStore.putClosure(eb, txs);
  } else {
    await ebStore.putEb(eb);
    // Fill the closure in three steps, out of order.
    const idx = [...txs.keys()].sort(() => Math.random() - 0.5);
    const third = Math.ceil(idx.length / 3);
    for (let s = 0; s < 3; s++) {
      const part = idx.slice(s * third, (s + 1) * third);
      await ebStore.addClosureTxs(ebHash, part.map((i) => ({ index: i, bytes: txs[i]! })));
    }
  }
  // Votes: a batch and single ones.
  await votes.addMany([0, 1, 2].map((s) => makeVote(withEb.hash, s)));
  for (const s of [3, 4, 5, 6]) await votes.add(makeVote(withEb.hash, s));
  // Now and then a fork: roll back two blocks and replace them atomically.
  if (round % 7 === 6 && tip.blockNo > 3) {
    const base = await chainDb.pointAt(tip.blockNo - 2);
    if (base) {
      const f1 = makeBlock(base, { slotGap: 2 });
      const f2 = makeBlock({ hash: f1.hash, slot: f1.header.slot, blockNo: f1.header.blockNo });
      const f3 = makeBlock({ hash: f2.hash, slot: f2.header.slot, blockNo: f2.header.blockNo });
      tip = await chainDb.switchFork(base.hash, [f1, f2, f3]);
    }
  }
  process.stdout.write(`progress ${tip?.blockNo}\n`);
}
