/**
 * The voting rules of PROTOCOL.md §6.4 (and §16 case 15), checked on one voting node fed by
 * hand-built headers, EBs and closures at chosen times.
 */
import { toHex } from '@leios/shared/bytes';
import { blake2b256 } from '@leios/shared/crypto';
import { buildPayment, DEFAULT_VERIFIERS, encodeTx, type LedgerVerifiers, type Tx } from '@leios/shared/ledger';
import { encodeEb } from '@leios/shared/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import type { Database } from '../db/index';
import { openTestDb } from '../test-support/index';
import { ManualTime } from './clock/index';
import { LeiosNode } from './index';
import { craftBlock, type TestNetwork, testNetwork } from './testkit/index';

const START = Date.parse('2026-11-24T00:00:00.000Z');

interface Setup {
  net: TestNetwork;
  node: LeiosNode;
  time: ManualTime;
  votes: Uint8Array[];
  db: Database;
}

async function setup(label: string, ledgerVerifiers?: LedgerVerifiers): Promise<Setup> {
  // pool 0 announces, pool 1 (this node) votes
  const net = testNetwork({ pools: 2, systemStartMs: START, params: { activeSlotCoeff: { num: 1n, den: 2n } }, label });
  const time = new ManualTime(START - 1);
  const db = await openTestDb();
  const node = await LeiosNode.create({ name: 'voter', genesis: net.genesis, database: db, time, pools: [net.keys[1]!], produce: false, ...(ledgerVerifiers ? { ledgerVerifiers } : {}) });
  const votes: Uint8Array[] = [];
  node.on('votes', (v) => votes.push(...v));
  node.start();
  return { net, node, time, votes, db };
}

/** An announcing block of pool 0 at its first leader slot >= `from`, with an EB over `txs`. */
function announcing(s: Setup, from: number, txs: readonly Tx[]) {
  const eb = encodeEb(txs.map((t) => ({ hash: t.hash, size: t.bytes.length })));
  for (let slot = from; slot < from + 200; slot++) {
    const b = craftBlock({
      node: s.node,
      keys: s.net.keys[0]!,
      slot,
      parent: s.node.tipHeader(),
      ebAnnouncement: { hash: blake2b256(eb), size: eb.length },
    });
    if (b) return { ...b, slot, eb, txs };
  }
  throw new Error('no leader slot');
}

async function at(s: Setup, slot: number, plusMs = 0): Promise<void> {
  await s.time.advanceTo(s.node.clock.slotStart(slot) + plusMs);
  await s.node.idle();
}

async function deliver(s: Setup, b: ReturnType<typeof announcing>): Promise<void> {
  await s.node.receiveBlock(b.block);
  await s.node.receiveEb(b.eb);
  await s.node.receiveTxs(
    blake2b256(b.eb),
    b.txs.map((t) => t.bytes),
  );
  await s.node.idle();
}

describe('voter (§6.4)', () => {
  let open: Setup | undefined;
  afterEach(async () => {
    if (open) {
      await open.node.stop();
      await open.db.close();
      open = undefined;
    }
  });

  it('votes exactly once, at T(s + 3·L_hdr), when every rule holds', async () => {
    const s = await setup('v-ok');
    open = s;
    const b = announcing(s, 5, [s.net.wallets.pay(), s.net.wallets.pay()]);
    await at(s, b.slot, 10);
    await deliver(s, b);
    expect(toHex(s.node.tipHeader()!.hash)).toBe(toHex(b.hash));
    await at(s, b.slot + 2);
    expect(s.votes).toEqual([]); // rule 6: not before T(s + 3)
    await at(s, b.slot + 3);
    expect(s.votes.length).toBe(1);
    await at(s, b.slot + 6);
    expect(s.votes.length).toBe(1); // at most once per (EB, seat)
    expect(s.node.votes.has(b.hash, s.node.epochs.committee(0).seatOfPool(s.net.keys[1]!.poolId)!)).toBe(true);
  });

  it('does not vote on a header received after T(s + L_hdr)', async () => {
    const s = await setup('v-late');
    open = s;
    const b = announcing(s, 5, [s.net.wallets.pay()]);
    await at(s, b.slot + 1, 1); // just after T(s + 1)
    await deliver(s, b);
    await at(s, b.slot + 4);
    expect(s.votes).toEqual([]);
  });

  it('does not vote after seeing an equivocating header by T(s + 3·L_hdr)', async () => {
    const s = await setup('v-equiv');
    open = s;
    const b = announcing(s, 5, [s.net.wallets.pay()]);
    const equivocations: unknown[] = [];
    s.node.on('equivocation', (x, y) => equivocations.push([x, y]));
    await at(s, b.slot, 10);
    await deliver(s, b);
    // same slot, same issuer, different header (no EB)
    const other = craftBlock({ node: s.node, keys: s.net.keys[0]!, slot: b.slot, parent: null, txs: [] });
    expect(other).not.toBeNull();
    expect(toHex(s.node.tipHeader()!.hash)).toBe(toHex(b.hash));
    await s.node.receiveHeader(other!.header);
    expect(equivocations.length).toBe(1);
    await at(s, b.slot + 4);
    expect(s.votes).toEqual([]);
  });

  it('does not vote for an EB whose txs do not apply on the state after the RB', async () => {
    const s = await setup('v-badtx');
    open = s;
    const w = s.net.wallets.wallets[0]!;
    const ghost = buildPayment({
      inputs: [{ txId: new Uint8Array(32).fill(5) as never, index: 0, amount: 50_000_000n }],
      outputs: [{ address: w.address, amount: 1_000_000n }],
      changeAddress: w.address,
      ttlSlot: 10_000,
      signers: [w.seed],
    });
    const b = announcing(s, 5, [s.net.wallets.pay(), ghost]);
    await at(s, b.slot, 10);
    await deliver(s, b);
    expect(toHex(s.node.tipHeader()!.hash)).toBe(toHex(b.hash));
    await at(s, b.slot + 4);
    expect(s.votes).toEqual([]);
    expect(s.node.ebInfo(blake2b256(b.eb))?.invalid).toMatch(/tx-invalid/);
  });

  it('does not vote when the announcing RB is not the tip', async () => {
    const s = await setup('v-nottip');
    open = s;
    const txs = [s.net.wallets.pay()];
    // an announcing slot s of pool 0 such that some pool also leads s+1 or s+2
    let b = announcing(s, 5, txs);
    let childSlot: { slot: number; pool: number } | undefined;
    for (let tries = 0; tries < 50 && !childSlot; tries++) {
      const eta = s.node.nonceForEpoch(0);
      for (const slot of [b.slot + 1, b.slot + 2]) {
        for (const pool of [0, 1]) {
          const k = s.net.keys[pool]!;
          if (!childSlot && s.node.epochs.checkLeader(0, eta, slot, k.poolId, k.vrfSecretKey)) childSlot = { slot, pool };
        }
      }
      if (!childSlot) b = announcing(s, b.slot + 1, txs);
    }
    expect(childSlot).toBeDefined();
    await at(s, b.slot, 10);
    await deliver(s, b);
    expect(toHex(s.node.tipHeader()!.hash)).toBe(toHex(b.hash));
    // a child arrives before T(s + 3): the RB is no longer the tip
    await at(s, childSlot!.slot, 5);
    const child = craftBlock({ node: s.node, keys: s.net.keys[childSlot!.pool]!, slot: childSlot!.slot, parent: s.node.tipHeader() });
    await s.node.receiveBlock(child!.block);
    expect(toHex(s.node.tipHeader()!.hash)).toBe(toHex(child!.hash));
    await at(s, b.slot + 4);
    expect(s.votes).toEqual([]);
  });

  it('checks mempool-known closure txs without signature verification, and votes at T(s + 3·L_hdr)', async () => {
    const counter = { ed25519: 0 };
    const verifiers: LedgerVerifiers = {
      ed25519: (sig, msg, vk) => {
        counter.ed25519++;
        return DEFAULT_VERIFIERS.ed25519(sig, msg, vk);
      },
      pop: (vk, pop) => DEFAULT_VERIFIERS.pop(vk, pop),
    };
    const s = await setup('v-fast', verifiers);
    open = s;
    const txs = Array.from({ length: 20 }, () => s.net.wallets.pay());
    const b = announcing(s, 5, txs);
    await at(s, b.slot, 10);
    for (const t of txs) await s.node.submitTx(t.bytes);
    expect(counter.ed25519).toBe(txs.length); // admission verified each once
    await deliver(s, b);
    // the closure was checked as soon as it was complete (before the window opens), at reapply
    const check = s.node.lastClosureCheck;
    expect(check?.txs).toBe(txs.length);
    expect(check?.fullChecks).toBe(0);
    expect(counter.ed25519).toBe(txs.length);
    await at(s, b.slot + 3);
    expect(s.votes.length).toBe(1);
    expect(counter.ed25519).toBe(txs.length);
  });

  it('does not vote for an EB with a badly signed tx that the mempool never saw', async () => {
    const s = await setup('v-badsig');
    open = s;
    const good = s.net.wallets.pay();
    const signed = s.net.wallets.pay();
    const w = signed.witnesses[0]!;
    const sig = w.sig.slice();
    sig[0] = sig[0]! ^ 1;
    const forged = s.node.ledger.decodeTx(encodeTx(signed.bodyBytes, [{ vk: w.vk, sig }])) as Tx;
    await at(s, 5, 10);
    await s.node.submitTx(good.bytes);
    const b = announcing(s, 5, [good, forged]);
    await at(s, b.slot, 10);
    await deliver(s, b);
    await at(s, b.slot + 4);
    expect(s.votes).toEqual([]);
    expect(s.node.ebInfo(blake2b256(b.eb))?.invalid).toMatch(/tx-invalid.*witness 0 does not verify/);
  });
});
