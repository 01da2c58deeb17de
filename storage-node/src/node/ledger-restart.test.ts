/**
 * The ledger state survives a restart through the database checkpoint (issue 4: "state in the
 * database via the storage layer"): store maintenance moves the checkpoint up as blocks leave
 * the volatile suffix, a restarted node loads it, checks it against the stored state hash and
 * replays only the blocks above it — not the chain from genesis. A tampered checkpoint stops the
 * start-up with a typed error.
 */
import { toHex } from '@leios/shared/bytes';
import { encodeOpaqueTx, utxoSetHash } from '@leios/shared/ledger';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../db/index';
import { UtxoStore } from '../stores/utxo/index';
import { openTestDb } from '../test-support/index';
import { ManualTime } from './clock/index';
import { LeiosNode, NodeStateError } from './index';
import { testNetwork } from './testkit/index';

const START = Date.parse('2026-11-24T00:00:00.000Z');

/** Everything a restart must reproduce. */
function snapshot(n: LeiosNode) {
  const tip = n.tipHeader()!;
  const epoch = n.clock.epochOf(tip.slot);
  return {
    tip: toHex(tip.hash),
    stateHash: toHex(n.stateHash()),
    size: n.ledger.size,
    txCount: n.ledger.txCount,
    etas: Array.from({ length: epoch + 2 }, (_, e) => toHex(n.nonceForEpoch(e))),
  };
}

async function runUntil(node: LeiosNode, time: ManualTime, from: number, done: () => boolean, feed?: (slot: number) => Promise<void>): Promise<number> {
  let s = from;
  for (; s <= from + 800 && !done(); s++) {
    await feed?.(s);
    await time.advanceTo(node.clock.slotStart(s));
    await node.idle();
  }
  return s;
}

describe('LeiosNode: ledger checkpoint across restarts', () => {
  let database: Database;
  beforeAll(async () => {
    database = await openTestDb();
  });
  afterAll(() => database.close());
  beforeEach(async () => {
    await database.raw.query(
      'truncate chain, rb_bodies, rb_headers, ebs, eb_txs, txs, votes, ledger_utxo, ledger_tx_ids, ledger_key_regs, ledger_nonces, ledger_checkpoint cascade',
    );
  });

  it('utxo mode: a restarted node loads the checkpoint, replays only the blocks above it and reaches the same state', async () => {
    const net = testNetwork({ pools: 1, systemStartMs: START, params: { maxRbBodySize: 1200 }, label: 'ckpt-u' });
    const time = new ManualTime(START - 1);
    const create = (name: string) => LeiosNode.create({ name, genesis: net.genesis, database, time, pools: net.keys, maintenanceEverySlots: 5 });
    const node = await create('before');
    expect(node.recoveryStats).toEqual({ checkpointBlockNo: 0, replayedBlocks: 0 });
    const k = node.params.securityParam;
    for (let i = 0; i < 30; i++) await node.submitTx(net.wallets.pay().bytes);
    node.start();
    const last = await runUntil(node, time, 0, () => node.stats.certified > 0 && (node.tipHeader()?.blockNo ?? 0) > k + 12);
    // maintenance moved the checkpoint while the node ran, over blocks with certified closures
    expect(node.maintenanceStats.checkpoints).toBeGreaterThan(0);
    expect(node.ledgerCheckpoint().point.blockNo).toBeGreaterThan(0);
    await node.stop();
    const before = snapshot(node);
    const tipNo = node.tipHeader()!.blockNo;

    // stop() wrote the rest: the checkpoint is the tree's anchor, k + 1 below the tip
    const stored = await new UtxoStore(database).load();
    expect(stored!.checkpoint.point.blockNo).toBe(tipNo - k - 1);
    expect(toHex(utxoSetHash(stored!.entries))).toBe(toHex(stored!.checkpoint.stateHash));

    const again = await create('after');
    expect(again.recoveryStats).toEqual({ checkpointBlockNo: tipNo - k - 1, replayedBlocks: k + 1 });
    expect(snapshot(again)).toEqual(before);

    // it goes on from there: new blocks, and the checkpoint keeps moving from the loaded one (the
    // mempool is not persisted: the txs still pending before the restart are submitted again)
    for (const e of node.mempool.entries()) await again.submitTx(e.bytes);
    for (let i = 0; i < 10; i++) await again.submitTx(net.wallets.pay().bytes);
    again.start();
    await runUntil(again, time, last + 1, () => again.maintenanceStats.checkpoints > 0 && again.tipHeader()!.blockNo > tipNo + 3);
    await again.stop();
    expect(again.maintenanceStats.checkpoints).toBeGreaterThan(0);
    const after = await new UtxoStore(database).load();
    expect(after!.checkpoint.point.blockNo).toBe(again.tipHeader()!.blockNo - k - 1);
    expect(toHex(utxoSetHash(after!.entries))).toBe(toHex(after!.checkpoint.stateHash));
    expect(after!.checkpoint.txCount).toBeLessThanOrEqual(again.ledger.txCount);

    // a database from before the ledger tables (chain, no checkpoint): the one replay from
    // genesis, then the checkpoint is written (all immutable blocks as one composed change)
    const final = snapshot(again);
    await database.raw.query('truncate ledger_utxo, ledger_tx_ids, ledger_key_regs, ledger_nonces, ledger_checkpoint');
    const legacy = await create('legacy');
    expect(legacy.recoveryStats).toEqual({ checkpointBlockNo: 0, replayedBlocks: again.tipHeader()!.blockNo });
    expect(snapshot(legacy)).toEqual(final);
    await legacy.stop();
    const written = await new UtxoStore(database).load();
    expect(written!.checkpoint).toEqual(after!.checkpoint);
    expect(toHex(utxoSetHash(written!.entries))).toBe(toHex(written!.checkpoint.stateHash));
    expect(written!.nonces).toEqual(after!.nonces);
    expect(written!.keyRegs).toEqual(after!.keyRegs);

    // a stored set that does not match its hash stops the start-up (no silent replay)
    await database.raw.query('update ledger_utxo set amount = amount + 1 where (tx_id, idx) in (select tx_id, idx from ledger_utxo limit 1)');
    const err = await create('tampered').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(NodeStateError);
    expect((err as NodeStateError).code).toBe('recovery-failed');
    expect((err as NodeStateError).detail).toMatch(/hashes to/);
  });

  it('opaque mode: the set of tx ids on the chain is checkpointed the same way', async () => {
    const net = testNetwork({ pools: 1, systemStartMs: START, params: { maxRbBodySize: 1200, ledgerMode: 'opaque' }, label: 'ckpt-o' });
    const time = new ManualTime(START - 1);
    const create = (name: string) => LeiosNode.create({ name, genesis: net.genesis, database, time, pools: net.keys, maintenanceEverySlots: 5 });
    const node = await create('before');
    const k = node.params.securityParam;
    let n = 0;
    const feed = async () => {
      for (let i = 0; i < 3; i++) await node.submitTx(encodeOpaqueTx(new TextEncoder().encode(`opaque tx ${n++} ${'x'.repeat(200)}`)));
    };
    node.start();
    await runUntil(node, time, 0, () => (node.tipHeader()?.blockNo ?? 0) > k + 6 && node.stats.certified > 0, feed);
    await node.stop();
    const before = snapshot(node);
    const tipNo = node.tipHeader()!.blockNo;
    const stored = await new UtxoStore(database).load();
    expect(stored!.checkpoint.mode).toBe('opaque');
    expect(stored!.ids.length).toBe(stored!.checkpoint.size);
    expect(stored!.ids.length).toBeGreaterThan(0);

    const again = await create('after');
    expect(again.recoveryStats).toEqual({ checkpointBlockNo: tipNo - k - 1, replayedBlocks: k + 1 });
    expect(snapshot(again)).toEqual(before);
    await again.stop();
  });
});
