/**
 * Epochs on a running node (PROTOCOL.md §3.3a, §6.1): a keyless pool registers a vote key by tx;
 * the key counts from two epochs after the block that carried it, and only then does the node
 * vote and certify. A registration with a bad PoP is refused at the mempool.
 */
import { blsKeyGen, popProve } from '@leios/shared/crypto';
import { buildPayment } from '@leios/shared/ledger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../db/index';
import { openTestDb } from '../test-support/index';
import { ManualTime } from './clock/index';
import { LeiosNode, MempoolRejectedError } from './index';
import { testNetwork } from './testkit/index';

const START = Date.parse('2026-11-24T00:00:00.000Z');

describe('epochs and vote-key registration (§3.3a)', () => {
  let database: Database;
  beforeAll(async () => {
    database = await openTestDb();
  });
  afterAll(() => database.close());

  it('a registered key is used from epoch e+2 on; a bad PoP is rejected', async () => {
    const E = 20;
    const net = testNetwork({
      pools: 1,
      systemStartMs: START,
      keyless: [0],
      params: { epochLength: E, activeSlotCoeff: { num: 1n, den: 5n }, lHdr: 1, lVote: 1, lDiff: 1, maxRbBodySize: 1200 },
      label: 'epochs',
    });
    const pool = net.keys[0]!;
    const newKey = blsKeyGen(new Uint8Array(32).fill(0x42));
    const time = new ManualTime(START - 1);
    const node = await LeiosNode.create({
      name: 'e',
      genesis: net.genesis,
      database,
      time,
      pools: [{ ...pool, voteSecretKey: newKey.secretKey, votePublicKey: newKey.publicKey }],
    });
    expect(node.epochs.committee(0).canSign(0)).toBe(false); // keyless at genesis
    const wallet = net.wallets.wallets[0]!;
    const g = net.genesis.initialUtxo.find((e) => e.output.address.every((b, i) => b === wallet.address[i]))!;
    const reg = (pop: Uint8Array) =>
      buildPayment({
        inputs: [{ ...g.ref, amount: g.output.amount }],
        outputs: [{ address: wallet.address, amount: 2_000_000n }],
        changeAddress: wallet.address,
        ttlSlot: 10_000,
        signers: [wallet.seed, pool.coldSeed],
        keyRegs: [{ poolId: pool.poolId, voteKey: { vk: newKey.publicKey, pop } }],
      });
    const bad = reg(popProve(blsKeyGen(new Uint8Array(32).fill(0x43)).secretKey));
    const err = await node.submitTx(bad.bytes).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MempoolRejectedError);
    expect((err as MempoolRejectedError).rule).toBe('bad-pop');
    const good = reg(popProve(newKey.secretKey));
    await node.submitTx(good.bytes);
    net.wallets.forget(g.ref.txId, g.ref.index);

    node.start();
    let regEpoch = -1;
    let votesBeforeEffective = 0;
    for (let s = 0; s < 10 * E; s++) {
      if (s % 3 === 0 && net.wallets.spendable > 0) await node.submitTx(net.wallets.pay().bytes);
      await time.advanceTo(node.clock.slotStart(s));
      await node.idle();
      if (regEpoch < 0 && node.ledger.view().get(good.id, 0)) regEpoch = node.clock.epochOf(node.tipHeader()!.slot);
      if (regEpoch >= 0 && node.clock.epochOf(s) < regEpoch + 2) votesBeforeEffective = node.stats.votesCast;
      if (regEpoch >= 0 && node.stats.certified > 0) break;
    }
    await node.stop();
    expect(regEpoch).toBeGreaterThanOrEqual(0);
    expect(node.epochs.committee(regEpoch + 1).canSign(0)).toBe(false);
    expect(node.epochs.committee(regEpoch + 2).canSign(0)).toBe(true);
    expect(votesBeforeEffective).toBe(0);
    expect(node.stats.votesCast).toBeGreaterThan(0);
    expect(node.stats.certified).toBeGreaterThan(0);
    // nonces of later epochs are fixed along the chain and differ per epoch (§3.4)
    const tipEpoch = node.clock.epochOf(node.tipHeader()!.slot);
    const etas = new Set(Array.from({ length: tipEpoch + 2 }, (_, e) => Buffer.from(node.nonceForEpoch(e)).toString('hex')));
    expect(etas.size).toBe(tipEpoch + 2);
    // a restarted node derives the same nonces from its database
    const again = await LeiosNode.create({ name: 'e2', genesis: net.genesis, database, time });
    for (let e = 0; e <= tipEpoch + 1; e++) expect(again.nonceForEpoch(e)).toEqual(node.nonceForEpoch(e));
    expect(again.epochs.committee(regEpoch + 2).canSign(0)).toBe(true);
  });
});
