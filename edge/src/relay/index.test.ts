/**
 * The relay end to end inside workerd: a producer peer and a consumer peer on real WebSockets to
 * the RelayHub, real signed headers (a leader slot found with the real VRF), EBs, txs, votes and
 * certificates. Checks §10.4 relaying, §6.3 / §2.3 vote batches, §6.5 certificates and §16 case 33.
 */
import { env } from 'cloudflare:workers';
import { blake2b256, bytesEqual, toHex } from '@leios/shared';
import { buildTx, decodeTx } from '@leios/shared/ledger';
import { decodeVote } from '@leios/shared/protocol';
import { VOTES } from '@leios/shared/sched';
import { bitmapFromIndices, raw } from '@leios/shared/wire';
import { beforeAll, describe, expect, it } from 'vitest';
import { FixtureNode, relay } from '../testing/index';
import {
  blockAt,
  certificateBy,
  closureTxs,
  ebOf,
  epochOf,
  findLeaderSlot,
  leaderAt,
  quorumSeats,
  serveCurrentEpochs,
  slotNow,
  slotStart,
  until,
  voteBy,
  waitForSlot,
  waitUntil,
} from '../testing/network';
import { openConsumer, openProducer } from '../testing/peer';

const hub = () => env.RELAY_HUB.getByName(env.RELAY_NAME);

describe('relaying between two wire peers (§10.4)', () => {
  let producer: Awaited<ReturnType<typeof openProducer>>;
  let consumer: Awaited<ReturnType<typeof openConsumer>>;

  beforeAll(async () => {
    await serveCurrentEpochs();
    // The 900-seat committee takes seconds to build (key decoding, PoPs): not inside a vote window.
    const prepared = await hub().prepareEpoch(epochOf(slotNow()));
    expect(prepared.known).toBe(true);
    producer = await openProducer();
    consumer = await openConsumer();
  }, 180_000);

  it('relays a header, its block, its EB, the closure txs, votes and a tx; serves the tip', { timeout: 90_000 }, async () => {
    const closure = closureTxs(5);
    const eb = ebOf(closure);
    // Far enough ahead that the 900 votes below are signed before the slot comes.
    const lead = findLeaderSlot(slotNow() + 14, slotNow() + 80);
    const b1 = blockAt({ slot: lead.slot, leader: lead, blockNumber: 1, prevHash: null, eb });
    for (const t of closure) producer.state.txs.set(toHex(blake2b256(t)), t);
    producer.state.ebs.set(toHex(eb.hash), eb.bytes);
    // 900 votes, one of them signed with the wrong key (seat 417), signed before the window opens.
    const votes = Array.from({ length: 900 }, (_, seat) => voteBy(seat, b1.header.hash, seat === 417));
    await waitForSlot(lead.slot);

    producer.extend(b1);
    const point = { slot: lead.slot as never, hash: eb.hash as never };
    producer.push({ type: 'BlockAnnouncement', header: raw(b1.header.bytes) });
    producer.push({ type: 'BlockOffer', point, ebSize: eb.bytes.length });
    producer.push({ type: 'BlockTxsOffer', point });

    // chain-sync: the header, byte for byte
    await consumer.cs.findIntersect([null]);
    const u = await consumer.cs.requestNext();
    expect(u.type).toBe('RollForward');
    if (u.type === 'RollForward') expect(toHex(u.header.bytes)).toBe(toHex(b1.header.bytes));
    // the BlockAnnouncement (P0), within 3·L_hdr of its slot
    await consumer.until((r) => r.some((x) => x.n.type === 'BlockAnnouncement'));
    // block-fetch: the verified block
    const p = { slot: lead.slot as never, hash: b1.header.hash as never };
    const blocks = await consumer.bf.requestRange(p, p);
    expect(blocks?.map((b) => toHex(b.bytes))).toEqual([toHex(b1.bytes)]);
    // the EB offer, then its bytes by LeiosFetch
    await consumer.until((r) => r.some((x) => x.n.type === 'BlockOffer'));
    const ebBytes = await consumer.lf.requestBlock(point);
    expect(toHex(ebBytes.bytes)).toBe(toHex(eb.bytes));
    // the txs offer after every closure tx was fetched and checked, then the txs by bitmap
    await consumer.until((r) => r.some((x) => x.n.type === 'BlockTxsOffer'));
    const refs = closure.map((t) => ({ hash: blake2b256(t), size: t.length }));
    const txs = await consumer.lf.requestTxs(point, bitmapFromIndices([0, 2, 4]), [refs[0]!, refs[2]!, refs[4]!]);
    expect(txs.map((t) => toHex(t.bytes))).toEqual([closure[0], closure[2], closure[4]].map((t) => toHex(t!)));
    // GET /v1/tip answers from the relay's best header
    const tip = await relay([], '/v1/tip');
    expect(await tip.json()).toEqual({ slot: lead.slot, blockNumber: 1, hash: toHex(b1.header.hash), epoch: Math.floor(lead.slot / Number(env.EPOCH_LENGTH)) });

    // tx-submission: a tx the producer announces reaches the consumer through the relay
    const tx = buildTx({ inputs: [{ txId: blake2b256(new Uint8Array([1])) as never, index: 0 }], outputs: [{ address: new Uint8Array(28).fill(3), amount: 5_000_000n }], fee: 200_000n, ttlSlot: 10_000_000, signers: [new Uint8Array(32).fill(9)] });
    producer.addTx(tx.bytes);
    const ids = await consumer.ts.requestTxIds(true, 0, 4);
    expect(ids.map((i) => toHex(i.id))).toEqual([toHex(blake2b256(tx.bytes))]);
    const got = await consumer.ts.requestTxs(ids.map((i) => i.id));
    expect(toHex(decodeTx(got[0]!.bytes).hash)).toBe(toHex(tx.hash));

    // Votes (§6.3): early ones are not forwarded; in the window, one batch of 900 with one bad
    // signature: exactly the 899 good ones are re-diffused (§2.3 bisection).
    const before = (await hub().relayStats()).votesVerified;
    producer.push({ type: 'Vote', vote: raw(votes[0]!) }, VOTES);
    await waitUntil(slotStart(lead.slot + 3) - 700);
    const t0 = Date.now();
    for (const v of votes) producer.push({ type: 'Vote', vote: raw(v) }, VOTES);
    const seen = new Set<number>();
    await consumer.until((r) => {
      for (const x of r) if (x.n.type === 'Votes') for (const v of x.n.votes) seen.add(decodeVote(v.bytes).voterId);
      return seen.size >= 899;
    }, 60_000);
    const elapsed = Date.now() - t0;
    expect(seen.has(417)).toBe(false);
    expect(seen.size).toBe(899);
    const stats = await hub().relayStats();
    expect(stats.votesVerified - before).toBe(899);
    expect(stats.sessions.some((s) => s.penalty >= 1)).toBe(true);
    console.log(JSON.stringify({ at: 'relay-test', votes: 900, ms_to_rediffuse: elapsed }));
    // POST /v1/votes goes through the same checks: the bad vote is rejected by the relay and not
    // forwarded; the repeat of an accepted one is forwarded and the storage node's verdict merged.
    const node = new FixtureNode();
    await node.reply('/v1/votes', { method: 'POST', type: 'application/json', body: JSON.stringify({ accepted: 0, duplicates: 1, buffered: 0, rejected: [] }) });
    const body = new Uint8Array([0x82, ...votes[5]!, ...votes[417]!]);
    const res = await relay([node], '/v1/votes', { method: 'POST', headers: { 'content-type': 'application/cbor' }, body });
    expect(await res.json()).toEqual({ accepted: 0, duplicates: 1, buffered: 0, rejected: [{ index: 1, type: 'bad-signature' }] });
    expect((await node.seen('/v1/votes', 'POST')).lastBodyHex).toBe(toHex(new Uint8Array([0x81, ...votes[5]!])));
  });

  it('drops a third header for one (slot, issuer) and forwards two (§16 case 33)', { timeout: 60_000 }, async () => {
    const lead = findLeaderSlot(slotNow() + 1, slotNow() + 60);
    const headers = [1, 2, 3].map((n) => blockAt({ slot: lead.slot, leader: lead, blockNumber: 1, prevHash: null, txs: [], eb: ebOf(closureTxs(n)) }));
    await waitForSlot(lead.slot);
    const before = consumer.received.filter((r) => r.n.type === 'BlockAnnouncement').length;
    const third0 = (await hub().relayStats()).thirdHeaders;
    for (const h of headers) producer.push({ type: 'BlockAnnouncement', header: raw(h.header.bytes) });
    await until(async () => (await hub().relayStats()).thirdHeaders > third0);
    await consumer.until((r) => r.filter((x) => x.n.type === 'BlockAnnouncement').length >= before + 2);
    await new Promise((r) => setTimeout(r, 300));
    const anns = consumer.received.filter((r) => r.n.type === 'BlockAnnouncement').slice(before);
    expect(anns.length).toBe(2);
    expect(anns.map((a) => (a.n.type === 'BlockAnnouncement' ? toHex(a.n.header.bytes) : ''))).toEqual(headers.slice(0, 2).map((h) => toHex(h.header.bytes)));
  });

  it('relays a CertRB only with a verified certificate: forged and one-lovelace-short ones are dropped (§6.5)', { timeout: 60_000 }, async () => {
    // Parent with an EB in the recent past, three children at least 14 slots later (§7.2).
    const now = slotNow();
    const parentLead = findLeaderSlot(now - 70, now - 45);
    const eb = ebOf(closureTxs(2));
    const parent = blockAt({ slot: parentLead.slot, leader: parentLead, blockNumber: 1, prevHash: null, eb });
    const kids: { slot: number; leader: NonNullable<ReturnType<typeof leaderAt>> }[] = [];
    for (let s = parentLead.slot + 14; s <= now && kids.length < 3; s++) {
      const l = leaderAt(s);
      if (l) kids.push({ slot: s, leader: l });
    }
    expect(kids.length).toBe(3);
    const h = parent.header.hash;
    const certs = {
      forged: certificateBy(quorumSeats(600), h, eb.hash), // aggregate over the EB hash, not the vote message
      short: certificateBy(quorumSeats(599), h), // τ·S − 1
      exact: certificateBy(quorumSeats(600), h), // exactly τ·S
    };
    const blocks = Object.values(certs).map((certificate, i) => blockAt({ slot: kids[i]!.slot, leader: kids[i]!.leader, blockNumber: 2, prevHash: h, certificate }));
    producer.hold(parent);
    for (const b of blocks) producer.hold(b);
    const s0 = await hub().relayStats();
    producer.push({ type: 'BlockAnnouncement', header: raw(parent.header.bytes) });
    for (const b of blocks) producer.push({ type: 'BlockAnnouncement', header: raw(b.header.bytes) });
    await until(async () => {
      const s = await hub().relayStats();
      return s.certificatesVerified + s.certificatesRejected >= s0.certificatesVerified + s0.certificatesRejected + 3;
    }, 40_000);
    const s1 = await hub().relayStats();
    expect(s1.certificatesRejected - s0.certificatesRejected).toBe(2);
    expect(s1.certificatesVerified - s0.certificatesVerified).toBe(1);
    const fetchOne = async (b: (typeof blocks)[number]) => {
      const p = { slot: b.header.slot as never, hash: b.header.hash as never };
      return consumer.bf.requestRange(p, p);
    };
    expect(await fetchOne(blocks[0]!)).toBeNull();
    expect(await fetchOne(blocks[1]!)).toBeNull();
    expect((await fetchOne(blocks[2]!))?.map((x) => toHex(x.bytes))).toEqual([toHex(blocks[2]!.bytes)]);
    expect(bytesEqual(blocks[2]!.header.hash, blake2b256(blocks[2]!.header.bytes))).toBe(true);
    // Repeated offences (a bad vote 1, a third header 10, two bad certificates 10 + 10): the
    // producer's session is closed with the protocol of the last one.
    expect(await producer.closed).toEqual({ code: 1008, reason: 'block-fetch:refused' });
  });
});
