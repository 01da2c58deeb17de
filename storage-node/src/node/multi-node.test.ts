/**
 * Several nodes in one process over in-memory links that carry the real mini-protocol messages
 * (handshake, chain-sync, block-fetch, LeiosNotify, LeiosFetch): they certify EBs and end on the
 * same tip with identical ledger state hashes.
 */
import { toHex } from '@leios/shared/bytes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../db/index';
import { openTestDb } from '../test-support/index';
import { ManualTime } from './clock/index';
import { LeiosNode } from './index';
import { linkNodes, type NodeLink } from './testkit/link';
import { testNetwork } from './testkit/index';

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

describe('multi-node network (in process, real mini-protocol messages)', () => {
  const dbs: Database[] = [];
  beforeAll(async () => {
    for (let i = 0; i < 3; i++) dbs.push(await openTestDb());
  });
  afterAll(async () => {
    for (const d of dbs) await d.close();
  });

  it('three pools certify EBs and agree on the tip and the ledger state hash', async () => {
    const net = testNetwork({ pools: 3, systemStartMs: START, params: { maxRbBodySize: 1200 }, label: 'multi' });
    const time = new ManualTime(START - 1);
    const nodes = await Promise.all(
      net.keys.map((k, i) =>
        LeiosNode.create({ name: `n${i}`, genesis: net.genesis, database: dbs[i]!, time, pools: [k] }),
      ),
    );
    const links = [await linkNodes(nodes[0]!, nodes[1]!), await linkNodes(nodes[1]!, nodes[2]!), await linkNodes(nodes[0]!, nodes[2]!)];
    for (const n of nodes) n.start();
    let submitted = 0;
    let slot = 0;
    const certifiedOnChain = () => Math.min(...nodes.map((n) => n.stats.certified));
    const agree = () => new Set(nodes.map((n) => toHex(n.tipHeader()?.hash ?? new Uint8Array(32)))).size === 1;
    for (; slot < 600; slot++) {
      // a steady trickle of txs, diffused to every mempool (as tx-submission would)
      if (slot % 5 === 0 && net.wallets.spendable > 0) {
        const tx = net.wallets.pay();
        for (const n of nodes) await n.submitTx(tx.bytes);
        submitted++;
      }
      await time.advanceTo(nodes[0]!.clock.slotStart(slot));
      await quiesce(nodes, links);
      if (certifiedOnChain() >= 2 && slot > 50 && agree()) break;
    }
    for (const n of nodes) await n.stop();
    await quiesce(nodes, links);
    if (process.env.LEIOS_DEBUG) {
      console.log({ slot, submitted, tip: nodes[0]!.tipHeader()?.blockNo, txs: nodes.map((n) => n.ledger.txCount) });
      for (const n of nodes) console.log(n.name, n.stats);
    }
    for (const l of links) expect(l.errors).toEqual([]);
    expect(certifiedOnChain()).toBeGreaterThanOrEqual(2);
    expect(agree()).toBe(true);
    const hashes = new Set(nodes.map((n) => toHex(n.stateHash())));
    expect(hashes.size).toBe(1);
    const tip = nodes[0]!.tipHeader()!;
    expect(tip.blockNo).toBeGreaterThan(3);
    // every node produced or at least followed; votes were cast by all three seats
    for (const n of nodes) expect(n.stats.votesCast).toBeGreaterThan(0);
    expect(submitted).toBeGreaterThan(0);
    for (const l of links) l.close();
  });
});
