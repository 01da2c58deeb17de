/**
 * §13.1 / §13.4 under a stale-EB flood: a fresh header overtakes every queued stale offer on the
 * way to a peer (the LeiosNotify queue serves P0 before P2), and stale EB bodies are still served.
 */
import { env } from 'cloudflare:workers';
import { toHex } from '@leios/shared';
import { PRAOS } from '@leios/shared/sched';
import { LeiosNotifyClient, raw, type ServerNotification } from '@leios/shared/wire';
import { beforeAll, describe, expect, it } from 'vitest';
import { bigEb, blockAt, epochOf, findLeaderSlot, leaderAt, serveCurrentEpochs, slotNow, until, waitForSlot } from '../testing/network';
import { openConsumer, openProducer } from '../testing/peer';

const hub = () => env.RELAY_HUB.getByName(env.RELAY_NAME);

describe('a stale-EB flood does not delay a header (§13.1, §13.4)', () => {
  beforeAll(async () => {
    await serveCurrentEpochs();
    // The fresh header must reach the relay within 3·L_hdr of its slot to be forwarded at all;
    // a committee build in the background (sliced, but CPU all the same) must not eat into that
    // on a loaded machine. Built here, the next epoch's (same pools) costs nothing either.
    expect((await hub().prepareEpoch(epochOf(slotNow()))).known).toBe(true);
  }, 180_000);

  it('puts a fresh header ahead of 20 queued stale EB offers', { timeout: 120_000 }, async () => {
    // Everything CPU-heavy (VRF search, EBs) before the peers connect: a peer that does not answer
    // chain-sync within 10 s is timed out by the relay (§11).
    const now = slotNow();
    const stale: { slot: number; leader: NonNullable<ReturnType<typeof leaderAt>> }[] = [];
    for (let s = now - 250; s < now - 20 && stale.length < 20; s++) {
      const l = leaderAt(s);
      if (l) stale.push({ slot: s, leader: l });
    }
    expect(stale.length).toBe(20);
    let prev: Uint8Array | null = null;
    const ebs = [];
    const chain = [];
    for (let i = 0; i < stale.length; i++) {
      const eb = bigEb(4_000); // ≈ 148 kB each
      const b = blockAt({ slot: stale[i]!.slot, leader: stale[i]!.leader, blockNumber: i + 1, prevHash: prev, eb });
      prev = b.header.hash;
      chain.push(b);
      ebs.push({ eb, slot: stale[i]!.slot });
    }
    const lead = findLeaderSlot(slotNow() + 8, slotNow() + 80);
    const fresh = blockAt({ slot: lead.slot, leader: lead, blockNumber: 21, prevHash: prev, eb: bigEb(10) });

    const producer = await openProducer();
    // A consumer whose LeiosNotify client starts later: the relay queues what it owes meanwhile.
    const consumer = await openConsumer({ notifyClient: false });
    for (const { eb } of ebs) producer.state.ebs.set(toHex(eb.hash), eb.bytes);
    for (const b of chain) producer.extend(b);
    for (const { eb, slot } of ebs) producer.push({ type: 'BlockOffer', point: { slot: slot as never, hash: eb.hash as never }, ebSize: eb.bytes.length }, { cls: 2, slot });
    await until(async () => (await hub().relayStats()).ebsAccepted >= 20, 60_000);

    // The fresh header: block 21 at a leader slot now.
    await waitForSlot(lead.slot);
    const accepted = (await hub().relayStats()).headersAccepted;
    producer.extend(fresh);
    producer.push({ type: 'BlockAnnouncement', header: raw(fresh.header.bytes) }, PRAOS);
    await until(async () => (await hub().relayStats()).headersAccepted > accepted, 60_000);

    const got: ServerNotification[] = [];
    consumer.conn.register(new LeiosNotifyClient({ onNotification: (n) => got.push(n) }));
    await until(async () => got.filter((n) => n.type === 'BlockOffer').length >= 20, 30_000);
    // The header first, then the stale offers freshest first (§13.1 rule 2).
    const order = got.map((n) => (n.type === 'BlockOffer' ? `offer@${n.point.slot}` : n.type)).join(',');
    expect(got[0]?.type, `order: ${order}; fresh slot ${lead.slot}, relay slot now ${slotNow()}`).toBe('BlockAnnouncement');
    if (got[0]?.type === 'BlockAnnouncement') expect(toHex(got[0].header.bytes)).toBe(toHex(fresh.header.bytes));
    const offerSlots = got.flatMap((n) => (n.type === 'BlockOffer' ? [n.point.slot as number] : []));
    expect(offerSlots).toEqual([...offerSlots].sort((a, b) => b - a));
    // The stale EBs are still served (delayed, never omitted).
    const last = ebs[0]!;
    const body = await consumer.lf.requestBlock({ slot: last.slot as never, hash: last.eb.hash as never });
    expect(toHex(body.bytes)).toBe(toHex(last.eb.bytes));
  });
});
