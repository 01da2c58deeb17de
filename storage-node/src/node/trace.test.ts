/** The node's §14.1 trace events carry the fields the spec lists. */
import { blake2b256 } from '@leios/shared/crypto';
import { encodeEb } from '@leios/shared/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../db/index';
import { openTestDb } from '../test-support/index';
import { ManualTime } from './clock/index';
import { LeiosNode, type TraceEvent } from './index';
import { craftBlock, testNetwork } from './testkit/index';

const START = Date.parse('2026-11-24T00:00:00.000Z');

describe('LeiosNode traces (§14.1)', () => {
  let database: Database;
  beforeAll(async () => {
    database = await openTestDb();
  });
  afterAll(() => database.close());

  it('CertGenerated names the CertRB, QuorumReached has latency_s, EBDropped uses the §14.1 reasons', async () => {
    await database.raw.query('truncate chain, rb_bodies, rb_headers, ebs, eb_txs, txs, votes, ledger_utxo, ledger_tx_ids, ledger_key_regs, ledger_nonces, ledger_checkpoint cascade');
    const net = testNetwork({ pools: 1, systemStartMs: START, params: { maxRbBodySize: 1200 }, label: 'trace-1' });
    const time = new ManualTime(START - 1);
    const traces: TraceEvent[] = [];
    const node = await LeiosNode.create({ name: 't1', genesis: net.genesis, database, time, pools: net.keys, trace: (e) => traces.push(e) });
    for (let i = 0; i < 40; i++) await node.submitTx(net.wallets.pay().bytes);
    node.start();
    for (let s = 0; s <= 600 && (node.mempool.size > 0 || node.stats.certified === 0); s++) {
      await time.advanceTo(node.clock.slotStart(s));
      await node.idle();
    }
    await node.stop();
    const of = (type: string) => traces.filter((t) => t.message.type === type).map((t) => t.message);
    const certs = of('CertGenerated');
    expect(certs.length).toBeGreaterThan(0);
    const endorsing = new Map(
      of('RBGenerated')
        .filter((m) => m.endorsement !== null)
        .map((m) => [m.id as string, m]),
    );
    for (const c of certs) {
      expect(Object.keys(c).sort()).toEqual(['eb', 'id', 'producer', 'signers', 'size_bytes', 'slot', 'type']);
      const rb = endorsing.get(c.id as string);
      expect(rb).toBeDefined();
      expect(rb?.endorsement).toEqual({ eb: { id: c.eb } });
    }
    const quorums = of('QuorumReached');
    expect(quorums.length).toBeGreaterThan(0);
    for (const q of quorums) {
      expect(typeof q.latency_s).toBe('number');
      expect(q.latency_s as number).toBeGreaterThanOrEqual(0);
    }
    for (const d of of('EBDropped')) expect(['too-early', 'no-quorum', 'superseded']).toContain(d.reason);
  });

  it('EBReceived names the sender when the caller knows it', async () => {
    await database.raw.query('truncate chain, rb_bodies, rb_headers, ebs, eb_txs, txs, votes, ledger_utxo, ledger_tx_ids, ledger_key_regs, ledger_nonces, ledger_checkpoint cascade');
    const net = testNetwork({ pools: 2, systemStartMs: START, params: { activeSlotCoeff: { num: 1n, den: 2n } }, label: 'trace-2' });
    const time = new ManualTime(START - 1);
    const traces: TraceEvent[] = [];
    const node = await LeiosNode.create({ name: 't2', genesis: net.genesis, database, time, trace: (e) => traces.push(e) });
    node.start();
    const tx = net.wallets.pay();
    const eb = encodeEb([{ hash: tx.hash, size: tx.bytes.length }]);
    let b: ReturnType<typeof craftBlock> = null;
    let slot = 5;
    for (; slot < 200 && !b; slot++) {
      b = craftBlock({ node, keys: net.keys[0]!, slot, parent: null, ebAnnouncement: { hash: blake2b256(eb), size: eb.length } });
    }
    expect(b).not.toBeNull();
    await time.advanceTo(node.clock.slotStart(slot - 1) + 10);
    await node.receiveBlock(b!.block);
    await node.receiveEb(eb, 'peer-7');
    await node.stop();
    const got = traces.filter((t) => t.message.type === 'EBReceived').map((t) => t.message);
    expect(got).toEqual([{ type: 'EBReceived', sender: 'peer-7', recipient: 't2', id: Buffer.from(blake2b256(eb)).toString('hex'), slot: slot - 1 }]);
  });
});
