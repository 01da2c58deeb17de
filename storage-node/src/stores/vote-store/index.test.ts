import type { Hash32 } from '@leios/shared/types';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../db/index';
import { isStorageError, type StorageErrorCode } from '../../errors/index';
import { makeBlock, makeVote } from '../../test-support/fixtures';
import { openTestDb } from '../../test-support/index';
import { ChainDb } from '../chain-db/index';
import { type QuorumEvent, type RbWeights, VoteStore } from './index';

let database: Database;
let chainDb: ChainDb;
let clock = 0;
let rbWithEb: Hash32;
let rbWithoutEb: Hash32;
beforeAll(async () => {
  database = await openTestDb();
});
afterAll(() => database.close());
beforeEach(async () => {
  await database.raw.query('truncate chain, rb_bodies, rb_headers, votes cascade');
  chainDb = new ChainDb(database, { k: 2 });
  clock = 5_000_000;
  const b1 = makeBlock(null);
  await chainDb.rollForward(b1);
  const b2 = makeBlock({ hash: b1.hash, slot: 1, blockNo: 1 }, { eb: { hash: new Uint8Array(32).fill(3) as Hash32, size: 99 } });
  rbWithEb = await chainDb.putHeader(b2.header); // a known candidate header, not on the chain
  rbWithoutEb = b1.hash;
});

// Stakes: seats 0..3 with 2^70 + i lovelace-like units each (exact arithmetic needed), S = 4·2^70 + 6.
const BIG = 2n ** 70n;
const stakes = [BIG, BIG + 1n, BIG + 2n, BIG + 3n];
const weights: RbWeights = {
  seatWeight: (s) => stakes[s],
  totalStake: stakes.reduce((a, b) => a + b, 0n),
  quorum: { num: 3n, den: 4n },
};
const store = () => new VoteStore(database, { weightOf: () => weights, now: () => clock });
async function code(p: Promise<unknown>): Promise<StorageErrorCode | string> {
  return p.then(
    () => 'ok',
    (e: unknown) => (isStorageError(e) ? e.code : String(e)),
  );
}

describe('VoteStore', () => {
  it('fires quorum exactly when τ·S is reached, once, in exact arithmetic', async () => {
    const votes = store();
    const events: QuorumEvent[] = [];
    votes.onQuorum((e) => events.push(e));
    expect(await votes.add(makeVote(rbWithEb, 0))).toBe('added');
    expect(await votes.add(makeVote(rbWithEb, 1))).toBe('added');
    expect(events).toEqual([]);
    // 3 of 4 seats: (3·2^70 + 3)·4 = 12·2^70 + 12 < 3·(4·2^70 + 6) = 12·2^70 + 18 → not yet.
    expect(await votes.add(makeVote(rbWithEb, 2))).toBe('added');
    expect(events).toEqual([]);
    expect(votes.tally(rbWithEb)).toEqual({ signedWeight: 3n * BIG + 3n, votes: 3, quorum: false });
    expect(await votes.add(makeVote(rbWithEb, 3))).toBe('added');
    expect(events.length).toBe(1);
    expect(events[0]).toMatchObject({ signedWeight: weights.totalStake, votes: 4 });
    expect(events[0]!.rbHash).toEqual(rbWithEb);
  });

  it('accepts signed weight of exactly τ·S', async () => {
    const w: RbWeights = { seatWeight: (s) => [3n, 1n][s], totalStake: 4n, quorum: { num: 3n, den: 4n } };
    const votes = new VoteStore(database, { weightOf: () => w, now: () => clock });
    const events: QuorumEvent[] = [];
    votes.onQuorum((e) => events.push(e));
    await votes.add(makeVote(rbWithEb, 0));
    expect(events.map((e) => e.signedWeight)).toEqual([3n]);
  });

  it('ignores duplicates (first vote stays) and counts a seat once', async () => {
    const votes = store();
    const first = makeVote(rbWithEb, 1);
    await votes.add(first);
    expect(await votes.add(makeVote(rbWithEb, 1))).toBe('duplicate');
    expect(await votes.addMany([makeVote(rbWithEb, 1), makeVote(rbWithEb, 2), makeVote(rbWithEb, 2)])).toEqual({ added: 1, duplicates: 2 });
    const stored = await votes.votesFor(rbWithEb);
    expect(stored.map((v) => v.seat)).toEqual([1, 2]);
    expect(Buffer.from(stored[0]!.bytes).equals(Buffer.from(first.bytes))).toBe(true);
    expect(votes.tally(rbWithEb)?.signedWeight).toBe(stakes[1]! + stakes[2]!);
    // A second store instance (e.g. another process) racing on the same seat is refused by the database.
    expect(await store().add(makeVote(rbWithEb, 1))).toBe('duplicate');
  });

  it('refuses votes for unknown RBs, RBs without an EB, unknown seats and bad signatures, writing nothing', async () => {
    const votes = store();
    expect(await code(votes.add(makeVote(new Uint8Array(32).fill(9) as Hash32, 0)))).toBe('unknown-rb');
    expect(await code(votes.add(makeVote(rbWithoutEb, 0)))).toBe('unknown-rb');
    expect(await code(votes.add(makeVote(rbWithEb, 4)))).toBe('unknown-seat');
    expect(await code(votes.add({ ...makeVote(rbWithEb, 0), signature: new Uint8Array(47) }))).toBe('invalid');
    expect(await code(votes.addMany([makeVote(rbWithEb, 0), makeVote(rbWithEb, 7)]))).toBe('unknown-seat');
    const none = new VoteStore(database, { weightOf: () => undefined, now: () => clock });
    expect(await code(none.add(makeVote(rbWithEb, 0)))).toBe('unknown-rb');
    const [r] = await database.raw.query<{ n: unknown }>('select count(*) as n from votes');
    expect(Number(r?.n)).toBe(0);
  });

  it('survives a restart: a new store rebuilds tallies of still-open RBs from the database', async () => {
    const a = store();
    await a.addMany([0, 1, 2, 3].map((s) => makeVote(rbWithEb, s)));
    expect(a.tally(rbWithEb)?.quorum).toBe(true);
    clock += 60_000;
    const b = store();
    expect(await b.load()).toBe(4);
    expect(b.tally(rbWithEb)).toEqual({ signedWeight: weights.totalStake, votes: 4, quorum: true });
    expect(await b.add(makeVote(rbWithEb, 2))).toBe('duplicate');
  });

  it('evicts votes older than the retention period (default 10 min)', async () => {
    const votes = store();
    expect(votes.retentionMs).toBe(600_000);
    await votes.add(makeVote(rbWithEb, 0));
    clock += 300_000;
    await votes.add(makeVote(rbWithEb, 1));
    clock += 300_001;
    expect(await votes.evict()).toBe(1);
    expect(votes.tally(rbWithEb)).toEqual({ signedWeight: stakes[1], votes: 1, quorum: false });
    clock += 300_000;
    expect(await votes.evict()).toBe(1);
    expect(votes.tally(rbWithEb)).toBeUndefined();
    const fresh = store();
    expect(await fresh.load()).toBe(0);
  });
});
