import type { Hash32, Slot } from '@leios/shared/types';
import { blake2b256 } from '@leios/shared/crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../db/index';
import { isStorageError, type StorageErrorCode } from '../../errors/index';
import { makeBlock, makeEbBytes, makeTxs, refsOf } from '../../test-support/fixtures';
import { openTestDb } from '../../test-support/index';
import { type ChainPoint, ChainDb } from '../chain-db/index';
import { type EbInput, EbStore } from './index';

let database: Database;
let chainDb: ChainDb;
let clock = 1_000_000;
const RB = new Uint8Array(32).fill(0xab) as Hash32;

beforeAll(async () => {
  database = await openTestDb();
});
afterAll(() => database.close());
beforeEach(async () => {
  await database.raw.query('truncate chain, rb_bodies, rb_headers, ebs, eb_txs, txs, votes cascade');
  chainDb = new ChainDb(database, { k: 2 });
  clock = 1_000_000;
});

function store(opts: ConstructorParameters<typeof EbStore>[2] = {}): EbStore {
  return new EbStore(database, chainDb, { now: () => clock, ...opts });
}
function ebOf(txs: Uint8Array[], slot = 1): EbInput {
  const refs = refsOf(txs);
  return { bytes: makeEbBytes(refs), refs, rbHash: RB, slot: slot as Slot };
}
async function txCount(): Promise<number> {
  const [r] = await database.raw.query<{ n: unknown }>('select count(*) as n from txs');
  return Number(r?.n);
}
async function expectCode(p: Promise<unknown>, code: StorageErrorCode): Promise<void> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(isStorageError(e, code), `expected StorageError ${code}, got ${String(e)}`).toBe(true);
}
const same = (a: Uint8Array | undefined, b: Uint8Array | undefined) =>
  a !== undefined && b !== undefined && Buffer.from(a).equals(Buffer.from(b));

describe('EbStore closures', () => {
  it('tracks missing indices, completes once, and serves the closure in reference order', async () => {
    const ebStore = store();
    const completed: string[] = [];
    ebStore.onClosureComplete((h) => completed.push(Buffer.from(h).toString('hex')));
    const txs = makeTxs(10);
    const eb = ebOf(txs);
    const st = await ebStore.putEb(eb);
    expect(st).toMatchObject({ txCount: 10, missing: 10, complete: false });
    expect(st.hash).toEqual(blake2b256(eb.bytes));
    await ebStore.addClosureTxs(st.hash, [0, 3, 7].map((i) => ({ index: i, bytes: txs[i]! })));
    expect(await ebStore.missing(st.hash)).toEqual([1, 2, 4, 5, 6, 8, 9]);
    await expectCode(ebStore.getClosure(st.hash), 'not-found');
    const done = await ebStore.addClosureTxs(
      st.hash,
      [1, 2, 4, 5, 6, 8, 9].map((i) => ({ index: i, bytes: txs[i]! })),
    );
    expect(done).toMatchObject({ missing: 0, complete: true });
    expect(completed).toEqual([Buffer.from(st.hash).toString('hex')]);
    const closure = await ebStore.getClosure(st.hash);
    expect(closure.length).toBe(10);
    closure.forEach((t, i) => {
      expect(same(t, txs[i])).toBe(true);
    });
    const at = await ebStore.getTxsAt(st.hash, [9, 0]);
    expect(same(at[0], txs[9]) && same(at[1], txs[0])).toBe(true);
    // Idempotent: re-adding and re-putting change nothing and fire no second event.
    await ebStore.addClosureTxs(st.hash, [{ index: 0, bytes: txs[0]! }]);
    expect((await ebStore.putEb(eb)).complete).toBe(true);
    expect(completed.length).toBe(1);
  });

  it('stores a tx shared by two EBs once, and completing one closure completes the other', async () => {
    const ebStore = store();
    const events: string[] = [];
    ebStore.onClosureComplete((h) => events.push(Buffer.from(h).toString('hex')));
    const [shared, onlyA, onlyB] = makeTxs(3);
    const a = await ebStore.putEb(ebOf([onlyA!, shared!]));
    const b = await ebStore.putEb(ebOf([shared!, onlyB!]));
    await ebStore.addClosureTxs(b.hash, [{ index: 1, bytes: onlyB! }]);
    expect(await ebStore.missing(b.hash)).toEqual([0]);
    await ebStore.addClosureTxs(a.hash, [
      { index: 0, bytes: onlyA! },
      { index: 1, bytes: shared! },
    ]);
    expect(await ebStore.isComplete(a.hash)).toBe(true);
    expect(await ebStore.isComplete(b.hash)).toBe(true);
    expect(events.length).toBe(2);
    expect(await txCount()).toBe(3);
    // An EB whose txs are all stored already is complete on arrival.
    const c = await ebStore.putEb(ebOf([onlyB!, onlyA!]));
    expect(c).toMatchObject({ missing: 0, complete: true });
  });

  it('handles large closures (binary COPY path on Postgres) in one putClosure', async () => {
    const ebStore = store();
    const txs = makeTxs(1500, 200);
    const eb = ebOf(txs);
    const st = await ebStore.putClosure(eb, txs);
    expect(st.complete).toBe(true);
    const back = await ebStore.getClosure(st.hash);
    expect(back.length).toBe(1500);
    expect(back.every((t, i) => same(t, txs[i]))).toBe(true);
    const refs = await ebStore.refs(st.hash);
    expect(refs.map((r) => r.size)).toEqual(txs.map((t) => t.length));
    // A second EB over the same txs plus new ones, filled by addClosureTxs in bulk.
    const more = makeTxs(600, 100);
    const all = [...txs.slice(0, 700), ...more];
    const st2 = await ebStore.putEb(ebOf(all));
    expect(st2.missing).toBe(600);
    await ebStore.addClosureTxs(
      st2.hash,
      more.map((bytes, i) => ({ index: 700 + i, bytes })),
    );
    expect(await ebStore.isComplete(st2.hash)).toBe(true);
    expect(await txCount()).toBe(2100);
  });

  it('survives concurrent writers sharing txs (unique-key races are retried) and completes once', async () => {
    const ebStore = store();
    const events: string[] = [];
    ebStore.onClosureComplete((h) => events.push(Buffer.from(h).toString('hex')));
    const shared = makeTxs(400, 80);
    const a = [...shared, ...makeTxs(50, 80)];
    const b = [...makeTxs(50, 80), ...shared];
    const [sa, sb] = await Promise.all([ebStore.putClosure(ebOf(a), a), ebStore.putClosure(ebOf(b), b)]);
    expect(sa.complete && sb.complete).toBe(true);
    expect(await txCount()).toBe(500);
    // Two peers deliver halves of one closure at the same time.
    const c = makeTxs(600, 60);
    const st = await ebStore.putEb(ebOf(c));
    const half = (from: number, to: number) => c.slice(from, to).map((bytes, i) => ({ index: from + i, bytes }));
    await Promise.all([ebStore.addClosureTxs(st.hash, half(0, 300)), ebStore.addClosureTxs(st.hash, half(300, 600))]);
    expect(await ebStore.isComplete(st.hash)).toBe(true);
    expect(events.filter((e) => e === Buffer.from(st.hash).toString('hex')).length).toBe(1);
  });

  it('completes exactly when every index has arrived, in any order and chunking (property)', async () => {
    const ebStore = store();
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 12 }),
        fc.array(fc.array(fc.nat(11), { maxLength: 6 }), { maxLength: 5 }),
        async (n, chunks) => {
          const txs = makeTxs(n, 40);
          const st = await ebStore.putEb(ebOf(txs));
          const added = new Set<number>();
          for (const chunk of chunks) {
            const idx = chunk.filter((i) => i < n);
            await ebStore.addClosureTxs(st.hash, idx.map((i) => ({ index: i, bytes: txs[i]! })));
            for (const i of idx) added.add(i);
          }
          const missing = await ebStore.missing(st.hash);
          expect(missing).toEqual([...Array(n).keys()].filter((i) => !added.has(i)));
          expect(await ebStore.isComplete(st.hash)).toBe(added.size === n);
        },
      ),
      { numRuns: 25 },
    );
  });
});

describe('EbStore bad input: typed error, nothing written', () => {
  it('refuses a tx whose bytes do not match its reference hash or size', async () => {
    const ebStore = store();
    const txs = makeTxs(4);
    const st = await ebStore.putEb(ebOf(txs));
    const forged = Uint8Array.from(txs[1]!);
    forged[0] = (forged[0]! + 1) & 0xff;
    // The good tx at index 0 is in the same batch: it must not be written either.
    await expectCode(
      ebStore.addClosureTxs(st.hash, [
        { index: 0, bytes: txs[0]! },
        { index: 1, bytes: forged },
      ]),
      'hash-mismatch',
    );
    await expectCode(ebStore.addClosureTxs(st.hash, [{ index: 2, bytes: txs[2]!.subarray(1) }]), 'size-mismatch');
    await expectCode(ebStore.addClosureTxs(st.hash, [{ index: 4, bytes: txs[0]! }]), 'invalid');
    await expectCode(ebStore.addClosureTxs(new Uint8Array(32) as Hash32, [{ index: 0, bytes: txs[0]! }]), 'not-found');
    await expectCode(ebStore.putClosure(ebOf(txs), [txs[0]!, txs[1]!, txs[3]!, txs[2]!]), 'size-mismatch');
    expect(await ebStore.missing(st.hash)).toEqual([0, 1, 2, 3]);
    expect(await txCount()).toBe(0);
  });

  it('refuses EBs above S_EB, S_EB_tx or MAX_TX_SIZE, empty EBs, and announcement mismatches', async () => {
    const ebStore = store({ limits: { maxEbSize: 200, maxEbTxBytes: 1000, maxTxSize: 300 } });
    await expectCode(ebStore.putEb(ebOf(makeTxs(6, 10, true))), 'too-large'); // 3 + 6·39 = 237 B > S_EB
    await expectCode(ebStore.putEb(ebOf(makeTxs(4, 260, true))), 'too-large'); // 1040 B > S_EB_tx
    await expectCode(ebStore.putEb(ebOf(makeTxs(1, 301, true))), 'too-large'); // > MAX_TX_SIZE
    const zero = ebOf(makeTxs(1, 10, true));
    await expectCode(ebStore.putEb({ ...zero, refs: [{ hash: zero.refs[0]!.hash, size: 0 }] }), 'invalid');
    await expectCode(ebStore.putEb({ ...zero, refs: [] }), 'invalid');
    const dup = ebOf(makeTxs(2, 10, true));
    await expectCode(ebStore.putEb({ ...dup, refs: [dup.refs[0]!, dup.refs[0]!] }), 'invalid');
    const ok = ebOf(makeTxs(5, 10, true)); // 198 B: at the cap
    await expectCode(ebStore.putEb({ ...ok, announced: { hash: new Uint8Array(32) as Hash32, size: 198 } }), 'hash-mismatch');
    await expectCode(ebStore.putEb({ ...ok, announced: { hash: blake2b256(ok.bytes), size: 197 } }), 'size-mismatch');
    const [n] = await database.raw.query<{ n: unknown }>('select count(*) as n from ebs');
    expect(Number(n?.n)).toBe(0);
    const st = await ebStore.putEb({ ...ok, announced: { hash: blake2b256(ok.bytes), size: 198 } });
    expect(st.txCount).toBe(5);
  });
});

describe('EbStore retention', () => {
  /** Grow the chain: block i (1-based) announces `ebAt[i]` if given; `certify` marks certifying blocks. */
  async function growChain(n: number, ann: Map<number, Hash32> = new Map(), certify: Set<number> = new Set()) {
    const pts: ChainPoint[] = [];
    let tip: ChainPoint | null = await chainDb.tip();
    const first = (tip?.blockNo ?? 0) + 1;
    for (let i = first; i < first + n; i++) {
      const h = ann.get(i);
      const b = makeBlock(tip, { slotGap: 10, eb: h ? { hash: h, size: 100 } : null, certifiedEb: certify.has(i) });
      tip = await chainDb.rollForward(b);
      pts.push(tip);
    }
    return pts;
  }

  it('promotes an EB once its certifying RB is immutable, and keeps it forever', async () => {
    const ebStore = store({ retentionMs: 1000 });
    const txs = makeTxs(3);
    const eb = ebOf(txs, 20);
    const ebHash = blake2b256(eb.bytes);
    // Block 2 (slot 20) announces the EB, block 3 certifies it.
    const pts = await growChain(3, new Map([[2, ebHash]]), new Set([3]));
    await ebStore.putClosure({ ...eb, rbHash: pts[1]!.hash }, txs);
    expect(await ebStore.promoteImmutable()).toEqual([]); // block 3 is volatile (k = 2)
    await growChain(1);
    expect(await ebStore.promoteImmutable()).toEqual([]);
    await growChain(1); // tip 5, immutable tip 3
    const promoted = await ebStore.promoteImmutable();
    expect(promoted.map((h) => Buffer.from(h).toString('hex'))).toEqual([Buffer.from(ebHash).toString('hex')]);
    expect((await ebStore.getEb(ebHash))?.immutable).toBe(true);
    await growChain(5);
    clock += 10 * 86_400_000;
    expect(await ebStore.prune()).toEqual({ ebs: 0, txs: 0 });
    expect((await ebStore.getClosure(ebHash)).length).toBe(3);
  });

  it('prunes uncertified EBs older than the immutable tip after the retention period, with their own txs only', async () => {
    const ebStore = store({ retentionMs: 36 * 3600_000 });
    const [shared, own, cached] = makeTxs(3);
    const old = await ebStore.putClosure(ebOf([shared!, own!, cached!], 15), [shared!, own!, cached!]);
    await database.raw.query('update txs set cached_at = 1 where hash = $1', [blake2b256(cached!)]); // tx cache holds it
    await growChain(6); // slots 10..60, immutable tip slot 40
    const fresh = await ebStore.putEb(ebOf([shared!], 55)); // announced after the immutable tip
    clock += 36 * 3600_000 - 1;
    expect(await ebStore.prune()).toEqual({ ebs: 0, txs: 0 }); // retention not yet over
    clock += 2;
    expect(await ebStore.prune()).toEqual({ ebs: 1, txs: 1 });
    expect(await ebStore.getEb(old.hash)).toBeUndefined();
    expect(await ebStore.getTx(blake2b256(own!))).toBeUndefined();
    expect(await ebStore.getTx(blake2b256(shared!))).toBeDefined(); // still referenced by `fresh`
    expect(await ebStore.getTx(blake2b256(cached!))).toBeDefined(); // held by the tx cache
    expect(await ebStore.isComplete(fresh.hash)).toBe(true);
  });

  it('refuses new stale EBs loudly once the stale bound is reached, but accepts fresh ones', async () => {
    const ebStore = store({ maxStaleBytes: 2000 });
    await growChain(6); // immutable tip slot 40
    const a = ebOf(makeTxs(3, 400, true), 5); // 1200 + 120 B, stale
    await ebStore.putEb(a);
    const b = ebOf(makeTxs(3, 400, true), 6);
    const err = await ebStore.putEb(b).catch((e: unknown) => e);
    expect(isStorageError(err, 'storage-full')).toBe(true);
    expect(String(err)).toContain('2000');
    expect(await ebStore.getEb(blake2b256(b.bytes))).toBeUndefined();
    const fresh = await ebStore.putEb(ebOf(makeTxs(3, 400, true), 50));
    expect(fresh.txCount).toBe(3);
    expect(await ebStore.usage()).toMatchObject({ ebs: 2, staleEbs: 1, staleBytes: 1320 });
  });
});

describe('EbStore.putWithClosure (one transaction with the block, issue 4 item 5)', () => {
  it('stores EB, closure and block together, writing only the txs the database lacks', async () => {
    const ebStore = store();
    const txs = makeTxs(6);
    await ebStore.putClosure(ebOf(txs.slice(0, 4), 1), txs.slice(0, 4)); // 4 of 6 already stored
    const completed: Hash32[] = [];
    ebStore.onClosureComplete((h) => completed.push(h));
    const input = ebOf(txs, 2);
    const b1 = makeBlock(null, { eb: { hash: blake2b256(input.bytes), size: input.bytes.length } });
    const r = await database.transaction(async (tx) => {
      const r = await ebStore.putWithClosure({ ...input, rbHash: b1.hash }, txs, tx);
      await chainDb.switchFork(null, [b1], tx);
      return r;
    });
    expect(r.written).toBe(2);
    expect(completed).toEqual([]); // told only after the commit
    await r.notify();
    expect(completed).toEqual([r.hash]);
    expect(await ebStore.isComplete(r.hash)).toBe(true);
    expect((await chainDb.tip())?.hash).toEqual(b1.hash);
    expect((await ebStore.getClosure(r.hash)).length).toBe(6);
  });

  it('leaves neither the EB nor the block stored when the block write fails after the EB write', async () => {
    const ebStore = store();
    const txs = makeTxs(5);
    const input = ebOf(txs, 3);
    const b1 = makeBlock(null);
    await chainDb.rollForward(b1);
    // block 2 claims parent `null`: it does not extend the tip, so the chain write throws
    const bad = makeBlock(null, { eb: { hash: blake2b256(input.bytes), size: input.bytes.length } });
    const failed = await database
      .transaction(async (tx) => {
        await ebStore.putWithClosure({ ...input, rbHash: bad.hash }, txs, tx);
        expect(await tx.query('select 1 from ebs where hash = $1', [blake2b256(input.bytes)])).toHaveLength(1);
        await chainDb.switchFork(b1.hash, [bad], tx);
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(isStorageError(failed, 'not-connected')).toBe(true);
    expect(await ebStore.getEb(blake2b256(input.bytes))).toBeUndefined();
    expect(await ebStore.refs(blake2b256(input.bytes))).toEqual([]);
    expect(await txCount()).toBe(0);
    expect(await chainDb.getBlock(bad.hash)).toBeUndefined();
    expect((await chainDb.tip())?.hash).toEqual(b1.hash);
  });
});
