/**
 * Votes survive a restart (issue 3 item 5): a producer that received a quorum of votes for an RB
 * and then restarted on the same database still certifies that RB's EB in its next leader slot
 * that §7.2 allows.
 */
import { toHex } from '@leios/shared/bytes';
import { blake2b256, blsSign, voteMessage } from '@leios/shared/crypto';
import { canCertify, encodeEb } from '@leios/shared/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../db/index';
import { openTestDb } from '../test-support/index';
import { encodeVote } from './blocks';
import { ManualTime } from './clock/index';
import { LeiosNode } from './index';
import { craftBlock, testNetwork } from './testkit/index';

const START = Date.parse('2026-11-24T00:00:00.000Z');

describe('LeiosNode: persisted votes', () => {
  let database: Database;
  beforeAll(async () => {
    database = await openTestDb();
  });
  afterAll(() => database.close());

  it('a restarted producer certifies with the votes it received before the restart', async () => {
    // pool 1 announces (crafted here), pool 0 is the node: it votes, receives pool 1's vote and
    // later leads the certifying slot. Equal stakes: quorum (3/4) needs both votes.
    const net = testNetwork({ pools: 2, systemStartMs: START, params: { activeSlotCoeff: { num: 1n, den: 20n } }, label: 'vrestart' });
    const time = new ManualTime(START - 1);
    const create = (name: string) => LeiosNode.create({ name, genesis: net.genesis, database, time, pools: [net.keys[0]!] });
    const node = await create('before');
    node.start();
    const p = node.params;
    const txs = [net.wallets.pay(), net.wallets.pay()];
    const eb = encodeEb(txs.map((t) => ({ hash: t.hash, size: t.bytes.length })));
    // an announcing slot s of pool 1, such that pool 0's next leader slot L is the first one at
    // which §7.2 allows certifying (so pool 0 builds nothing on top of s before L)
    const eta = node.nonceForEpoch(0);
    const leads = (slot: number) => node.epochs.checkLeader(0, eta, slot, net.keys[0]!.poolId, net.keys[0]!.vrfSecretKey) !== null;
    let found: { s: number; L: number; block: NonNullable<ReturnType<typeof craftBlock>> } | undefined;
    for (let s = 5; s < 1000 && !found; s++) {
      const block = craftBlock({ node, keys: net.keys[1]!, slot: s, parent: null, ebAnnouncement: { hash: blake2b256(eb), size: eb.length } });
      if (!block || [...Array(s).keys()].some(leads)) continue; // pool 0 must not produce before s either
      let L = s + 1;
      while (!leads(L)) L++;
      if (canCertify(s, L, p) && L < p.epochLength) found = { s, L, block };
    }
    expect(found).toBeDefined();
    const { s, L, block } = found!;
    const at = async (n: LeiosNode, slot: number, plusMs = 0) => {
      await time.advanceTo(n.clock.slotStart(slot) + plusMs);
      await n.idle();
    };
    await at(node, s, 10);
    await node.receiveBlock(block.block);
    await node.receiveEb(eb);
    await node.receiveTxs(
      blake2b256(eb),
      txs.map((t) => t.bytes),
    );
    await at(node, s + 3);
    expect(node.stats.votesCast).toBe(1);
    const committee = node.epochs.committee(0);
    const seat1 = committee.seatOfPool(net.keys[1]!.poolId)!;
    const theirs = encodeVote(block.hash, seat1, blsSign(net.keys[1]!.voteSecretKey!, voteMessage(block.hash)));
    const r = await node.receiveVotes([theirs]);
    expect(r.outcomes).toEqual(['accepted']);
    expect(node.votes.hasQuorum(block.hash)).toBe(true);
    await node.stop();

    const again = await create('after');
    expect(toHex(again.tipHeader()!.hash)).toBe(toHex(block.hash));
    expect(again.votes.hasQuorum(block.hash)).toBe(true);
    again.start();
    await at(again, L - 1);
    expect(toHex(again.tipHeader()!.hash)).toBe(toHex(block.hash));
    await at(again, L);
    await again.stop();
    const tip = again.tipHeader()!;
    expect(tip.slot).toBe(L);
    expect(tip.certifiedEb).toBe(true);
    expect(toHex(tip.prevHash!)).toBe(toHex(block.hash));
    expect(again.stats.certified).toBe(1);
    expect(again.ledger.txCount).toBe(txs.length);
  });
});
