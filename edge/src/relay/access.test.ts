/**
 * Anonymous sessions (issue 5 item 6) end to end in workerd, with real signed headers, blocks, EBs
 * and votes of the 900-pool test network: an anonymous session reads (chain-sync, block-fetch) and
 * submits txs that reach authenticated peers, and can never be an upstream — a compliant one is
 * simply never asked (no relay client towards it), and the relay core refuses upstream input from
 * a reader outright.
 */
import { env } from 'cloudflare:workers';
import { blake2b256, toHex } from '@leios/shared';
import { buildTx } from '@leios/shared/ledger';
import { connectionPair, raw } from '@leios/shared/wire';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Env, parseConfig } from '../config/index';
import { blockAt, closureTxs, ebOf, findLeaderSlot, serveCurrentEpochs, slotNow, voteBy } from '../testing/network';
import { openConsumer, openProducer } from '../testing/peer';
import { PENALTY_LIMIT, Relay } from './index';
import { RelaySession } from './session';

const hub = () => env.RELAY_HUB.getByName(env.RELAY_NAME);

describe('anonymous sessions read and submit txs, and are never an upstream', () => {
  beforeAll(() => serveCurrentEpochs());

  it('an anonymous reader chain-syncs and block-fetches; an anonymous peer submits a tx that reaches an authenticated peer; its own offers are never taken', { timeout: 60_000 }, async () => {
    // Leader slots in the recent past: valid now, no waiting.
    const lead = findLeaderSlot(slotNow() - 80, slotNow() - 40);
    const other = findLeaderSlot(lead.slot + 1, slotNow() - 2);
    const b1 = blockAt({ slot: lead.slot, leader: lead, blockNumber: 1, prevHash: null, txs: [] });
    const eb = ebOf(closureTxs(2));
    const forged = blockAt({ slot: other.slot, leader: other, blockNumber: 2, prevHash: b1.header.hash, eb });

    const producer = await openProducer();
    const reader = await openConsumer({ anonymous: true });
    const submitter = await openProducer({ anonymous: true }); // not initiator_only: serves tx-submission
    const consumer = await openConsumer();
    const s0 = await hub().relayStats();

    // The anonymous peer offers a chain, a header, an EB and votes the way a storage node would:
    // the relay runs no chain-sync, block-fetch, LeiosNotify or LeiosFetch client towards it.
    submitter.extend(forged);
    submitter.state.ebs.set(toHex(eb.hash), eb.bytes);
    submitter.push({ type: 'BlockAnnouncement', header: raw(forged.header.bytes) });
    submitter.push({ type: 'BlockOffer', point: { slot: other.slot as never, hash: eb.hash as never }, ebSize: eb.bytes.length });
    submitter.push({ type: 'Vote', vote: raw(voteBy(0, b1.header.hash)) });

    // The authenticated producer's block reaches the anonymous reader by chain-sync and block-fetch.
    producer.extend(b1);
    await reader.cs.findIntersect([null]);
    let header: string | null = null;
    for (let i = 0; i < 20 && header !== toHex(b1.header.bytes); i++) {
      const u = await reader.cs.requestNext();
      if (u.type === 'RollForward') header = toHex(u.header.bytes);
    }
    expect(header).toBe(toHex(b1.header.bytes));
    const p = { slot: lead.slot as never, hash: b1.header.hash as never };
    expect((await reader.bf.requestRange(p, p))?.map((b) => toHex(b.bytes))).toEqual([toHex(b1.bytes)]);

    // A tx the anonymous peer announces is pulled by the relay and offered to an authenticated peer.
    const tx = buildTx({
      inputs: [{ txId: blake2b256(new Uint8Array([7])) as never, index: 1 }],
      outputs: [{ address: new Uint8Array(28).fill(4), amount: 3_000_000n }],
      fee: 200_000n,
      ttlSlot: 10_000_000,
      signers: [new Uint8Array(32).fill(8)],
    });
    submitter.addTx(tx.bytes);
    const want = toHex(blake2b256(tx.bytes));
    const seen = new Set<string>();
    for (let ack = 0; !seen.has(want); ) {
      const ids = await consumer.ts.requestTxIds(true, ack, 16);
      ack = ids.length;
      for (const i of ids) seen.add(toHex(i.id));
    }
    const got = await consumer.ts.requestTxs([blake2b256(tx.bytes) as never]);
    expect(got.map((t) => toHex(t.bytes))).toEqual([toHex(tx.bytes)]);

    // Nothing of the anonymous peer's was taken: its block and EB were never fetched, its header
    // not held, and its session is open (it broke no rule: it was just never asked).
    const s1 = await hub().relayStats();
    expect(s1.headersAccepted - s0.headersAccepted).toBe(1); // b1 only
    expect(await hub().getRb(toHex(forged.header.hash))).toBeNull();
    expect(submitter.state.ebsServed).toBe(0);
    expect(s1.notUpstream).toBe(s0.notUpstream);
    expect(s1.sessions.filter((s) => s.anonymous).length).toBeGreaterThanOrEqual(2);
    expect(submitter.conn.closed).toBe(false);
    for (const w of [producer, reader, submitter, consumer]) w.conn.close(1000, 'bye');
  });

  it('the relay core refuses a header, an EB offer and votes from a reader with the full penalty (the session closes 1008 <proto>:refused)', async () => {
    const cfg = parseConfig(env as unknown as Env);
    // Real parts: the relay core and a relay session on an in-memory connection pair.
    const relay = new Relay({ params: cfg.params, systemStartMs: cfg.systemStartMs, loadEpoch: async () => null });
    const lead = findLeaderSlot(slotNow() - 80, slotNow() - 2);
    const b = blockAt({ slot: lead.slot, leader: lead, blockNumber: 1, prevHash: null, eb: ebOf(closureTxs(1)) });
    const cases = [
      ['chain-sync:refused', (s: RelaySession) => relay.ingestHeader(b.header.bytes, s, { root: true, proto: 'chain-sync' })],
      ['leios-notify:refused', (s: RelaySession) => relay.offerBlock(s, { slot: lead.slot as never, hash: blake2b256(new Uint8Array([1])) as never }, 100)],
      ['leios-notify:refused', (s: RelaySession) => relay.ingestVotes([voteBy(3, b.header.hash)], s)],
    ] as const;
    for (const [reason, offer] of cases) {
      const { b: conn } = connectionPair();
      const session = new RelaySession(relay, conn, `reader-${reason}`);
      session.start(true, false);
      expect(session.upstream).toBe(false);
      await offer(session);
      expect(session.penalty).toBe(PENALTY_LIMIT);
      expect([conn.closeError?.code, conn.closeError?.reason]).toEqual([1008, reason]);
    }
    expect(relay.stats.notUpstream).toBe(3);
    expect(relay.stats.headersAccepted + relay.stats.headersRejected).toBe(0); // refused before any check
  });
});
