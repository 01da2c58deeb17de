import { toHex } from '@leios/shared/bytes';
import type { Tx } from '@leios/shared/ledger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../db/index';
import { openTestDb } from '../test-support/index';
import { ManualTime } from './clock/index';
import { LeiosNode, MempoolRejectedError, type TraceEvent } from './index';
import { testNetwork } from './testkit/index';

const START = Date.parse('2026-11-24T00:00:00.000Z');

describe('LeiosNode: one node producing a chain with EBs', () => {
  let database: Database;
  beforeAll(async () => {
    database = await openTestDb();
  });
  afterAll(() => database.close());

  it('produces RBs and EBs, certifies its own EBs, applies every tx once, and recovers after a restart', async () => {
    // S_RB of 1,200 bytes: ~4 txs per RB, the rest goes to EBs
    const net = testNetwork({ pools: 1, systemStartMs: START, params: { maxRbBodySize: 1200 }, label: 'single' });
    const time = new ManualTime(START - 1);
    const traces: TraceEvent[] = [];
    const node = await LeiosNode.create({
      name: 'n1',
      genesis: net.genesis,
      database,
      time,
      pools: net.keys,
      trace: (e) => traces.push(e),
    });
    const initialValue = node.ledger.totalValue();
    const txs: Tx[] = Array.from({ length: 30 }, () => net.wallets.pay());
    for (const tx of txs) await node.submitTx(tx.bytes);
    await expect(node.submitTx(txs[0]!.bytes)).rejects.toBeInstanceOf(MempoolRejectedError);
    node.start();
    for (let s = 0; s <= 400 && node.mempool.size > 0; s++) {
      await time.advanceTo(node.clock.slotStart(s));
      await node.idle();
    }
    await node.stop();
    if (process.env.LEIOS_DEBUG) console.log(node.stats, node.tipHeader()?.blockNo, node.currentSlot());
    expect(node.mempool.size).toBe(0);
    expect(node.stats.produced).toBeGreaterThan(1);
    expect(node.stats.ebsProduced).toBeGreaterThan(0);
    expect(node.stats.certified).toBeGreaterThan(0);
    expect(node.stats.votesCast).toBeGreaterThan(0);
    // every tx applied exactly once; value conserved (Σ UTxO = initial − fees)
    expect(node.ledger.txCount).toBe(txs.length);
    const fees = txs.reduce((s, t) => s + t.body.fee, 0n);
    expect(node.ledger.totalValue()).toBe(initialValue - fees);
    // traces of the life of an EB (§14.1)
    const types = new Set(traces.map((t) => t.message.type));
    for (const t of ['RBGenerated', 'EBGenerated', 'VTBundleGenerated', 'QuorumReached', 'CertGenerated']) expect(types).toContain(t);
    // the database holds the same tip
    const tip = node.tipHeader()!;
    const dbTip = await node.chainDb.tip();
    expect(dbTip && toHex(dbTip.hash)).toBe(toHex(tip.hash));
    // a restarted node rebuilds the same ledger state from the database alone
    const again = await LeiosNode.create({ name: 'n1b', genesis: net.genesis, database, time, pools: net.keys });
    expect(toHex(again.tipHeader()!.hash)).toBe(toHex(tip.hash));
    expect(toHex(again.stateHash())).toBe(toHex(node.stateHash()));
    expect(again.ledger.txCount).toBe(txs.length);
  });
});
