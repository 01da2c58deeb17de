/**
 * A held, complete EB past its vote window keeps only its flags in memory (§13.3: Leios buffers
 * stay bounded — a 720-EB burst must not keep an object per reference in the node), and stays
 * held, complete, stored and servable.
 */
import { toHex } from '@leios/shared/bytes';
import { blake2b256 } from '@leios/shared/crypto';
import { encodeOpaqueTx } from '@leios/shared/ledger';
import { encodeEb, leiosWindows } from '@leios/shared/protocol';
import type { Hash32 } from '@leios/shared/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../db/index';
import { openTestDb } from '../test-support/index';
import { ManualTime } from './clock/index';
import { LeiosNode } from './index';
import { craftBlock, testNetwork } from './testkit/index';

const START = Date.parse('2026-11-24T00:00:00.000Z');

/** The node's in-memory state of one EB (white-box: what the release is about). */
function ebState(node: LeiosNode, hash: Uint8Array): { view?: unknown; indexByRef?: unknown; released?: boolean } | undefined {
  const ebs = Reflect.get(node, 'ebs') as Map<string, { view?: unknown; indexByRef?: unknown; released?: boolean }>;
  return ebs.get(toHex(hash));
}

describe('EB views are released once no vote can be cast (§13.3 memory)', () => {
  let db: Database;
  beforeAll(async () => {
    db = await openTestDb();
  });
  afterAll(async () => {
    await db.close();
  });

  it('keeps a fresh EB decoded during its vote window and drops the view of a stale one once complete', async () => {
    const net = testNetwork({
      pools: 1,
      systemStartMs: START,
      params: { ledgerMode: 'opaque', activeSlotCoeff: { num: 1n, den: 2n } },
      label: 'release',
    });
    const p = net.genesis.params;
    const time = new ManualTime(START);
    const node = await LeiosNode.create({ name: 'r', genesis: net.genesis, database: db, time });
    const txs = [1, 2, 3].map((i) => encodeOpaqueTx(new Uint8Array(40).fill(i)));
    const ebBytes = encodeEb(
      txs.map((t) => ({ hash: blake2b256(t), size: t.length })),
      p,
    );
    const ebHash = blake2b256(ebBytes) as Hash32;
    let block: ReturnType<typeof craftBlock> = null;
    let slot = 1;
    for (; slot < 100 && !block; slot++) {
      block = craftBlock({ node, keys: net.keys[0]!, slot, parent: null, ebAnnouncement: { hash: ebHash, size: ebBytes.length } });
    }
    slot--;
    expect(block).not.toBeNull();
    await time.advanceTo(node.clock.slotStart(slot));
    await node.receiveBlock(block!.block);
    // fresh: body and closure arrive inside the vote window, the view stays (a vote may need it)
    await node.receiveEb(ebBytes);
    await node.receiveTxs(ebHash, txs.slice(0, 2));
    expect(node.ebInfo(ebHash)).toMatchObject({ held: true, complete: false });
    expect(ebState(node, ebHash)?.view).toBeDefined();
    await node.receiveTxs(ebHash, txs.slice(2));
    expect(node.ebInfo(ebHash)).toMatchObject({ held: true, complete: true });
    expect(ebState(node, ebHash)?.view).toBeDefined();
    // past T(s + 3·L_hdr + L_vote): the next slot's pass releases it
    const last = leiosWindows(slot, p).lastVote;
    node.start();
    await time.advanceTo(node.clock.slotStart(last + 1));
    await node.idle();
    node.clock.stop();
    const st = ebState(node, ebHash);
    expect(st?.view).toBeUndefined();
    expect(st?.indexByRef).toBeUndefined();
    expect(st?.released).toBe(true);
    // still held and complete, still stored and servable; re-deliveries are harmless no-ops
    expect(node.ebInfo(ebHash)).toMatchObject({ held: true, complete: true });
    expect(toHex((await node.ebStore.getEb(ebHash))!.bytes)).toBe(toHex(ebBytes));
    expect((await node.ebStore.getTxsAt(ebHash, [0, 1, 2])).map((t) => toHex(t!))).toEqual(txs.map((t) => toHex(t)));
    await node.receiveEb(ebBytes);
    await node.receiveTxs(ebHash, txs);
    expect(ebState(node, ebHash)?.view).toBeUndefined();
    await node.stop();
  });

  it('drops the view as soon as the closure completes when the EB is already stale', async () => {
    const net = testNetwork({
      pools: 1,
      systemStartMs: START,
      params: { ledgerMode: 'opaque', activeSlotCoeff: { num: 1n, den: 2n } },
      label: 'release-stale',
    });
    const p = net.genesis.params;
    const time = new ManualTime(START);
    const db2 = await openTestDb();
    try {
      const node = await LeiosNode.create({ name: 's', genesis: net.genesis, database: db2, time });
      const txs = [4, 5].map((i) => encodeOpaqueTx(new Uint8Array(50).fill(i)));
      const ebBytes = encodeEb(
        txs.map((t) => ({ hash: blake2b256(t), size: t.length })),
        p,
      );
      const ebHash = blake2b256(ebBytes) as Hash32;
      let block: ReturnType<typeof craftBlock> = null;
      let slot = 1;
      for (; slot < 100 && !block; slot++) {
        block = craftBlock({ node, keys: net.keys[0]!, slot, parent: null, ebAnnouncement: { hash: ebHash, size: ebBytes.length } });
      }
      slot--;
      await time.advanceTo(node.clock.slotStart(slot));
      await node.receiveBlock(block!.block);
      // the EB turns up long after its slot (a withheld EB released later)
      await time.advanceTo(node.clock.slotStart(slot + 100));
      await node.receiveEb(ebBytes);
      expect(ebState(node, ebHash)?.view).toBeDefined();
      await node.receiveTxs(ebHash, txs);
      expect(node.ebInfo(ebHash)).toMatchObject({ held: true, complete: true });
      expect(ebState(node, ebHash)).toMatchObject({ released: true });
      expect(ebState(node, ebHash)?.view).toBeUndefined();
      await node.stop();
    } finally {
      await db2.close();
    }
  });
});
