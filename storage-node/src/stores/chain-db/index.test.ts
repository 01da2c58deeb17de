import type { Hash32 } from '@leios/shared/types';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../db/index';
import { isStorageError } from '../../errors/index';
import { makeBlock } from '../../test-support/fixtures';
import { openTestDb } from '../../test-support/index';
import { type ChainPoint, ChainDb, rbHeaderInput } from './index';

let database: Database;
let chainDb: ChainDb;
beforeAll(async () => {
  database = await openTestDb();
});
afterAll(() => database.close());
beforeEach(async () => {
  await database.raw.query('truncate chain, rb_bodies, rb_headers cascade');
  chainDb = new ChainDb(database, { k: 3 });
});

async function grow(n: number, from: ChainPoint | null = null): Promise<ChainPoint[]> {
  const pts: ChainPoint[] = [];
  let tip = from;
  for (let i = 0; i < n; i++) {
    tip = await chainDb.rollForward(makeBlock(tip));
    pts.push(tip);
  }
  return pts;
}

describe('ChainDb', () => {
  it('appends blocks, tracks the tip and serves exact bytes by hash, slot and height', async () => {
    expect(await chainDb.tip()).toBeNull();
    const b1 = makeBlock(null);
    const t1 = await chainDb.rollForward(b1);
    expect(t1).toEqual({ hash: b1.hash, slot: 1, blockNo: 1 });
    const b2 = makeBlock(t1, { slotGap: 5, eb: { hash: new Uint8Array(32).fill(4) as Hash32, size: 100 } });
    await chainDb.rollForward(b2);
    expect(await chainDb.tip()).toEqual({ hash: b2.hash, slot: 6, blockNo: 2 });
    const got = await chainDb.getBlock(b2.hash);
    expect(Buffer.from(got?.header.bytes ?? []).equals(Buffer.from(b2.header.bytes))).toBe(true);
    expect(Buffer.from(got?.body ?? []).equals(Buffer.from(b2.body))).toBe(true);
    expect(got?.header.ebAnnouncement?.size).toBe(100);
    expect((await chainDb.blockAtSlot(6))?.header.hash).toEqual(b2.hash);
    expect((await chainDb.blockAtHeight(1))?.header.hash).toEqual(b1.hash);
    expect(await chainDb.blockAtSlot(3)).toBeUndefined();
    expect(await chainDb.isOnChain(b1.hash)).toBe(true);
  });

  it('splits the chain into an immutable part and a volatile suffix of k blocks', async () => {
    const pts = await grow(3);
    expect(await chainDb.immutableTip()).toBeNull();
    pts.push(...(await grow(3, pts[2])));
    expect(await chainDb.immutableTip()).toEqual(pts[2]);
    expect(await chainDb.volatileSuffix()).toEqual(pts.slice(3));
  });

  it('rolls back at most k blocks, and only to a block on the chain', async () => {
    const pts = await grow(6);
    const deep = await chainDb.rollBack(pts[1]!.hash).catch((e: unknown) => e);
    expect(isStorageError(deep, 'rollback-too-deep')).toBe(true);
    expect(await chainDb.tip()).toEqual(pts[5]);
    const stranger = await chainDb.rollBack(new Uint8Array(32) as Hash32).catch((e: unknown) => e);
    expect(isStorageError(stranger, 'not-found')).toBe(true);
    expect(await chainDb.rollBack(pts[2]!.hash)).toEqual(pts[2]);
    expect(await chainDb.tip()).toEqual(pts[2]);
    expect(await chainDb.blockAtHeight(4)).toBeUndefined();
    // The rolled-back blocks stay known headers (forks may come back).
    expect(await chainDb.getHeader(pts[4]!.hash)).toBeDefined();
  });

  it('switches forks atomically: a bad block in the fork leaves the old chain intact', async () => {
    const pts = await grow(4);
    const f1 = makeBlock(pts[1]!, { slotGap: 2 });
    const f1p: ChainPoint = { hash: f1.hash, slot: f1.header.slot, blockNo: f1.header.blockNo };
    const f2 = makeBlock(f1p);
    const bad = makeBlock({ hash: f2.hash, slot: f2.header.slot, blockNo: f2.header.blockNo });
    const badBody = { ...bad, body: new Uint8Array(bad.body.length) };
    const err = await chainDb.switchFork(pts[1]!.hash, [f1, f2, badBody]).catch((e: unknown) => e);
    expect(isStorageError(err, 'hash-mismatch')).toBe(true);
    expect(await chainDb.tip()).toEqual(pts[3]);
    const f3 = makeBlock({ hash: f2.hash, slot: f2.header.slot, blockNo: f2.header.blockNo });
    const tip = await chainDb.switchFork(pts[1]!.hash, [f1, f2, f3]);
    expect(tip?.hash).toEqual(f3.hash);
    expect((await chainDb.pointAt(2))?.hash).toEqual(pts[1]!.hash);
    expect((await chainDb.pointAt(3))?.hash).toEqual(f1.hash);
  });

  it('refuses blocks that do not extend the tip, and torn bodies, writing nothing', async () => {
    const [p1] = await grow(1);
    const orphan = makeBlock({ hash: new Uint8Array(32).fill(1) as Hash32, slot: 5, blockNo: 1 });
    expect(isStorageError(await chainDb.rollForward(orphan).catch((e: unknown) => e), 'not-connected')).toBe(true);
    const skip = makeBlock({ ...p1!, blockNo: 2 });
    expect(isStorageError(await chainDb.rollForward(skip).catch((e: unknown) => e), 'not-connected')).toBe(true);
    const b = makeBlock(p1!);
    const short = { ...b, body: b.body.subarray(1) };
    expect(isStorageError(await chainDb.rollForward(short).catch((e: unknown) => e), 'size-mismatch')).toBe(true);
    expect(await chainDb.getHeader(orphan.hash)).toBeUndefined();
    expect(await chainDb.getHeader(b.hash)).toBeUndefined();
    expect(await chainDb.tip()).toEqual(p1);
  });

  it('keeps candidate headers and finds equivocating ones by slot and issuer', async () => {
    const [p1] = await grow(1);
    const a = makeBlock(p1!);
    const b = makeBlock(p1!);
    await chainDb.putHeader(a.header);
    await chainDb.putHeader(b.header);
    await chainDb.putHeader(a.header); // idempotent
    const same = await chainDb.headersAtSlot(a.header.slot, a.header.issuer);
    expect(same.map((h) => Buffer.from(h.hash).toString('hex')).sort()).toEqual(
      [a.hash, b.hash].map((h) => Buffer.from(h).toString('hex')).sort(),
    );
    expect(await chainDb.isOnChain(a.hash)).toBe(false);
  });

  it('takes exactly the indexed fields out of a decoded header, and stores a block built from them', async () => {
    const b = makeBlock(null, { eb: { hash: new Uint8Array(32).fill(9) as Hash32, size: 42 } });
    // a decoded header carries more than the store indexes (signature, VRF proof, …)
    const decoded = { ...b.header, signature: new Uint8Array(64), vrfProof: new Uint8Array(80) };
    const picked = rbHeaderInput(decoded);
    expect(picked).toEqual(b.header);
    expect(Object.keys(picked).sort()).toEqual(Object.keys(b.header).sort());
    await chainDb.rollForward({ header: picked, body: b.body });
    expect((await chainDb.getBlock(b.hash))?.header.ebAnnouncement).toEqual({ hash: new Uint8Array(32).fill(9), size: 42 });
  });
});
