/**
 * Fork and rollback scenarios: a partition heals and the shorter side rolls back (ledger undo,
 * mempool re-validation), a double spend resolves to one side, and a block with an invalid tx is
 * never adopted.
 */
import { toHex } from '@leios/shared/bytes';
import { buildPayment, type Tx } from '@leios/shared/ledger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../db/index';
import { openTestDb } from '../test-support/index';
import { ManualTime } from './clock/index';
import { BlockRejectedError, LeiosNode } from './index';
import { craftBlock, testNetwork } from './testkit/index';
import { linkNodes, type NodeLink } from './testkit/link';

const START = Date.parse('2026-11-24T00:00:00.000Z');

async function quiesce(nodes: readonly LeiosNode[], links: readonly NodeLink[]): Promise<void> {
  let last = -1;
  let stable = 0;
  for (let i = 0; i < 400 && stable < 3; i++) {
    await new Promise((r) => setTimeout(r, 0));
    await Promise.all(nodes.map((n) => n.idle()));
    const sent = links.reduce((s, l) => s + l.ta.sent.length + l.tb.sent.length, 0);
    stable = sent === last ? stable + 1 : 0;
    last = sent;
  }
}

describe('forks and rollbacks (§7.4, §5.5)', () => {
  const dbs: Database[] = [];
  beforeAll(async () => {
    for (let i = 0; i < 3; i++) dbs.push(await openTestDb());
  });
  afterAll(async () => {
    for (const d of dbs) await d.close();
  });

  it('a healed partition converges on the longer chain; the loser rolls back and drops its double spend', async () => {
    const net = testNetwork({
      pools: 2,
      systemStartMs: START,
      stakes: [3_000_000n, 1_000_000n],
      params: { securityParam: 60, activeSlotCoeff: { num: 1n, den: 5n } },
      label: 'fork',
    });
    const time = new ManualTime(START - 1);
    const [n0, n1] = await Promise.all(
      net.keys.map((k, i) => LeiosNode.create({ name: `f${i}`, genesis: net.genesis, database: dbs[i]!, time, pools: [k] })),
    );
    const nodes = [n0!, n1!];
    // two txs spending one genesis entry: one per side of the partition
    const g = net.genesis.initialUtxo[0]!;
    const owner = net.wallets.wallets.find((w) => toHex(w.address) === toHex(g.output.address))!;
    const spend = (to: number): Tx =>
      buildPayment({
        inputs: [{ ...g.ref, amount: g.output.amount }],
        outputs: [{ address: net.wallets.wallets[to]!.address, amount: 5_000_000n }],
        changeAddress: owner.address,
        ttlSlot: 10_000,
        signers: [owner.seed],
      });
    const txA = spend(1);
    const txB = spend(2);
    await n0!.submitTx(txA.bytes);
    await n1!.submitTx(txB.bytes);
    for (const n of nodes) n.start();
    // partition: both sides extend their own chain
    let slot = 0;
    for (; slot < 80; slot++) {
      await time.advanceTo(n0!.clock.slotStart(slot));
      await quiesce(nodes, []);
    }
    const h0 = n0!.tipHeader()!;
    const h1 = n1!.tipHeader()!;
    expect(h0.blockNo).toBeGreaterThan(0);
    expect(h1.blockNo).toBeGreaterThan(0);
    expect(toHex(h0.hash)).not.toBe(toHex(h1.hash));
    expect(toHex(n0!.stateHash())).not.toBe(toHex(n1!.stateHash()));
    // heal
    const link = await linkNodes(n0!, n1!);
    const agree = () => toHex(n0!.tipHeader()!.hash) === toHex(n1!.tipHeader()!.hash);
    for (let i = 0; i < 200 && !agree(); i++, slot++) {
      await time.advanceTo(n0!.clock.slotStart(slot));
      await quiesce(nodes, [link]);
    }
    for (const n of nodes) await n.stop();
    await quiesce(nodes, [link]);
    expect(link.errors).toEqual([]);
    expect(agree()).toBe(true);
    expect(toHex(n0!.stateHash())).toBe(toHex(n1!.stateHash()));
    expect(n0!.stats.rollbacks + n1!.stats.rollbacks).toBeGreaterThan(0);
    // exactly one of the double spends is on the chain, and neither mempool keeps the other
    const view = n0!.ledger.view();
    const aOn = view.get(txA.id, 0) !== undefined;
    const bOn = view.get(txB.id, 0) !== undefined;
    expect(aOn !== bOn).toBe(true);
    for (const n of nodes) {
      expect(n.mempool.hasId(txA.id)).toBe(false);
      expect(n.mempool.hasId(txB.id)).toBe(false);
    }
    // the database follows the selected chain on both
    for (const n of nodes) expect(toHex((await n.chainDb.tip())!.hash)).toBe(toHex(n.tipHeader()!.hash));
    link.close();
  });

  it('never adopts a block whose tx does not apply, keeps its chain, and takes a valid sibling', async () => {
    const net = testNetwork({ pools: 1, systemStartMs: START, params: { activeSlotCoeff: { num: 1n, den: 2n } }, label: 'bad' });
    const time = new ManualTime(START + 100 * net.genesis.params.slotLengthMs);
    const node = await LeiosNode.create({ name: 'v', genesis: net.genesis, database: dbs[2]!, time });
    const keys = net.keys[0]!;
    // a correctly signed tx spending an output that does not exist
    const ghost = buildPayment({
      inputs: [{ txId: new Uint8Array(32).fill(9) as never, index: 0, amount: 10_000_000n }],
      outputs: [{ address: net.wallets.wallets[1]!.address, amount: 2_000_000n }],
      changeAddress: net.wallets.wallets[0]!.address,
      ttlSlot: 10_000,
      signers: [net.wallets.wallets[0]!.seed],
    });
    const good = net.wallets.pay();
    let bad: ReturnType<typeof craftBlock> = null;
    let ok: ReturnType<typeof craftBlock> = null;
    for (let s = 1; s < 100 && !(bad && ok); s++) {
      if (!bad) bad = craftBlock({ node, keys, slot: s, parent: null, txs: [ghost.bytes] });
      else if (!ok) ok = craftBlock({ node, keys, slot: s, parent: null, txs: [good.bytes] });
    }
    expect(bad && ok).toBeTruthy();
    const before = toHex(node.stateHash());
    const err = await node.receiveBlock(bad!.block).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(BlockRejectedError);
    expect((err as BlockRejectedError).code).toBe('tx-invalid');
    expect(node.tipHeader()).toBeNull();
    expect(toHex(node.stateHash())).toBe(before);
    expect(await node.chainDb.tip()).toBeNull();
    // a body that does not match its header is refused
    const forged = new Uint8Array(ok!.block);
    forged[forged.length - 1] = (forged[forged.length - 1] ?? 0) ^ 1;
    await expect(node.receiveBlock(forged)).rejects.toBeInstanceOf(BlockRejectedError);
    await node.receiveBlock(ok!.block);
    expect(toHex(node.tipHeader()!.hash)).toBe(toHex(ok!.hash));
    expect(node.ledger.view().get(good.id, 0)).toBeDefined();
  });
});
