import { encodeOpaqueTx } from '@leios/shared/ledger';
import { MAINNET_PARAMS } from '@leios/shared/protocol';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { Database } from '../db/index';
import { openTestDb } from '../test-support/index';
import { ManualTime } from './clock/index';
import { LeiosNode } from './index';
import { AnnounceCostModel } from './producer';
import { testNetwork } from './testkit/index';

const START = Date.parse('2026-11-24T00:00:00.000Z');

describe('AnnounceCostModel', () => {
  it('fits a steady linear cost and covers a recent overrun', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 1, max: 400, noNaN: true }),
        fc.double({ min: 0.001, max: 0.2, noNaN: true }),
        fc.double({ min: 1.2, max: 5, noNaN: true }),
        (fixed, perRef, slowdown) => {
          const m = new AnnounceCostModel();
          const cost = (n: number) => fixed + perRef * n;
          // a spread of EB sizes, as a producing node sees them
          for (let i = 0; i < 12; i++) {
            const n = (i * 997) % 13_000;
            m.observe(n, cost(n));
          }
          for (const n of [0, 5_000, 13_000]) expect(m.estimate(n)).toBeCloseTo(cost(n), 6);
          // one overloaded production: the next estimate for that size covers it
          m.observe(8_000, cost(8_000) * slowdown);
          expect(m.estimate(8_000)).toBeGreaterThanOrEqual(cost(8_000) * slowdown - 1e-6);
        },
      ),
    );
  });

  it('answers a slow commit with a larger fixed part, not a starved EB', () => {
    const m = new AnnounceCostModel();
    // a loaded machine: 300 ms whatever the size, plus 0.02 ms per reference
    for (const n of [6_000, 1_200, 9_000, 500, 4_000, 7_500]) m.observe(n, 300 + 0.02 * n);
    expect(m.fixedMs).toBeGreaterThan(150);
    expect(m.perRefMs).toBeLessThan(0.04);
  });

  it('starts pessimistic and ignores nonsense', () => {
    const m = new AnnounceCostModel({ fixedMs: 20, perRefMs: 0.04 });
    expect(m.estimate(13_000)).toBeCloseTo(540, 6);
    m.observe(1000, Number.NaN);
    m.observe(1000, -3);
    m.observe(Number.POSITIVE_INFINITY, 5);
    expect(m.estimate(13_000)).toBeCloseTo(540, 6);
  });
});

describe('producer: the EB is cut so the RB is announced within the budget (issue 4 item 5)', () => {
  let database: Database;
  beforeAll(async () => {
    database = await openTestDb();
  });
  afterAll(() => database.close());

  it('cuts the EB to what the learned write cost allows, then learns the real cost; no tx is lost', async () => {
    const net = testNetwork({
      pools: 1,
      systemStartMs: START,
      params: { ...MAINNET_PARAMS, securityParam: 10, epochLength: 1200, committeeSize: 8, ledgerMode: 'opaque', activeSlotCoeff: { num: 1n, den: 2n }, slotLengthMs: 1000 },
      label: 'budget',
    });
    // ManualTime: no node time passes during the slot, so only the cost model can cut the EB
    const time = new ManualTime(START - 1);
    const node = await LeiosNode.create({ name: 'budget', genesis: net.genesis, database, time, pools: net.keys, ebBudgetMs: 500 });
    const n = 1500;
    for (let i = 0; i < n; i++) {
      const payload = new Uint8Array(200);
      new DataView(payload.buffer).setUint32(0, i);
      await node.submitTx(encodeOpaqueTx(payload));
    }
    // a machine where each EB reference costs 1 ms to write: at most ~480 fit in 500 ms
    node.announceCost = new AnnounceCostModel({ fixedMs: 20, perRefMs: 1 });
    const produced: { ebTxs: number; ebTruncated: boolean; txs: number }[] = [];
    node.on('produced', (_h, info) => produced.push(info));
    node.start();
    for (let s = 0; s < 200 && node.mempool.size > 0; s++) {
      await time.advanceTo(node.clock.slotStart(s));
      await node.idle();
    }
    await node.stop();
    const first = produced.find((p) => p.ebTxs > 0);
    expect(first).toBeDefined();
    // checked every 64 entries: the cut lands within one stride of the 480 the model allows
    expect(first!.ebTxs).toBeGreaterThan(0);
    expect(first!.ebTxs).toBeLessThanOrEqual(480 + 64);
    expect(first!.ebTruncated).toBe(true);
    // the real write was far cheaper than 1 ms per reference: the model learned it
    expect(node.announceCost.perRefMs).toBeLessThan(1);
    // nothing is lost: later blocks took the rest
    expect(node.mempool.size).toBe(0);
    expect(produced.reduce((s, p) => s + p.txs + p.ebTxs, 0)).toBeGreaterThanOrEqual(n);
  });

  it('keeps a minimum EB share when the slot handler starts past the budget', async () => {
    const net = testNetwork({
      pools: 1,
      systemStartMs: START,
      params: { ...MAINNET_PARAMS, securityParam: 10, epochLength: 1200, committeeSize: 8, ledgerMode: 'opaque', activeSlotCoeff: { num: 1n, den: 2n }, slotLengthMs: 1000 },
      label: 'late',
    });
    const time = new ManualTime(START - 1);
    // a database of its own: the other test's chain holds the same opaque txs
    const db = await openTestDb();
    onTestFinished(() => db.close());
    const node = await LeiosNode.create({ name: 'late', genesis: net.genesis, database: db, time, pools: net.keys, ebBudgetMs: 500, minEbMs: 100 });
    for (let i = 0; i < 600; i++) {
      const payload = new Uint8Array(200);
      new DataView(payload.buffer).setUint32(0, i);
      await node.submitTx(encodeOpaqueTx(payload));
    }
    node.announceCost = new AnnounceCostModel({ fixedMs: 20, perRefMs: 1 });
    let first: { ebTxs: number; ebTruncated: boolean } | undefined;
    node.on('produced', (_h, info) => {
      first ??= info;
    });
    node.start();
    for (let s = 0; s < 200 && !first; s++) {
      // the process was paused: every slot handler runs 800 ms after its slot start
      time.jump(node.clock.slotStart(s) + 800 - time.now());
      await time.advanceTo(node.clock.slotStart(s) + 800);
      await node.idle();
    }
    await node.stop();
    // past the budget already, yet ~100 ms of EB work (1 ms per reference, checked every 64)
    expect(first?.ebTruncated).toBe(true);
    expect(first?.ebTxs).toBeGreaterThanOrEqual(100);
    expect(first?.ebTxs).toBeLessThanOrEqual(100 + 64);
  });
});
