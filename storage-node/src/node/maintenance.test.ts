/**
 * Start-up and periodic store maintenance of a node: the genesis guard of its database, and the
 * promotion of certified closures once their CertRB is immutable (§10).
 */
import { ascii } from '@leios/shared/bytes';
import { blake2b256 } from '@leios/shared/crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../db/index';
import { openTestDb } from '../test-support/index';
import { ManualTime } from './clock/index';
import { LeiosNode, NodeStateError } from './index';
import { testNetwork } from './testkit/index';

const START = Date.parse('2026-11-24T00:00:00.000Z');

describe('LeiosNode maintenance', () => {
  let database: Database;
  beforeAll(async () => {
    database = await openTestDb();
  });
  afterAll(() => database.close());

  it('refuses a database created for another genesis', async () => {
    const net = testNetwork({ pools: 1, systemStartMs: START, label: 'maint-g' });
    const time = new ManualTime(START - 1);
    const mine = blake2b256(ascii('genesis file of this network'));
    const first = await LeiosNode.create({ name: 'g1', genesis: net.genesis, database, time, genesisHash: mine });
    await first.stop();
    const again = await LeiosNode.create({ name: 'g2', genesis: net.genesis, database, time, genesisHash: mine });
    await again.stop();
    const err = await LeiosNode.create({ name: 'g3', genesis: net.genesis, database, time, genesisHash: blake2b256(ascii('another network')) }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(NodeStateError);
    expect((err as NodeStateError).code).toBe('genesis-mismatch');
  });

  it('promotes certified closures to immutable as the chain grows past k', async () => {
    await database.raw.query('truncate chain, rb_bodies, rb_headers, ebs, eb_txs, txs, votes, ledger_utxo, ledger_tx_ids, ledger_key_regs, ledger_nonces, ledger_checkpoint cascade');
    const net = testNetwork({ pools: 1, systemStartMs: START, params: { maxRbBodySize: 1200 }, label: 'maint-p' });
    const time = new ManualTime(START - 1);
    const node = await LeiosNode.create({ name: 'm1', genesis: net.genesis, database, time, pools: net.keys, maintenanceEverySlots: 5 });
    for (let i = 0; i < 30; i++) await node.submitTx(net.wallets.pay().bytes);
    node.start();
    for (let s = 0; s <= 600 && !(node.stats.certified > 0 && (node.tipHeader()?.blockNo ?? 0) > node.params.securityParam + 12); s++) {
      await time.advanceTo(node.clock.slotStart(s));
      await node.idle();
    }
    await time.advanceTo(node.clock.slotStart(node.currentSlot() + 5));
    await node.idle();
    await node.stop();
    expect(node.stats.certified).toBeGreaterThan(0);
    expect(node.maintenanceStats.runs).toBeGreaterThan(0);
    expect(node.maintenanceStats.promoted).toBeGreaterThan(0);
    const [r] = await database.raw.query<{ n: unknown }>('select count(*) as n from ebs where immutable');
    expect(Number(r?.n)).toBe(node.maintenanceStats.promoted);
  });
});
