import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex } from '../../bytes/index';
import { CborWriter, encodeValue } from '../../cbor/index';
import { ProtocolViolation } from '../../errors/index';
import { PRAOS, VOTES } from '../../sched/index';
import type { Hash32, Slot } from '../../types/index';
import { DEFAULT_LIMITS, type EbPoint, raw } from '../common/index';
import { decodesOrViolates, handshakenPair, mutate, sendRaw, settle } from '../testing/index';
import { ebPoint, rawItem } from '../testing/arb/index';
import {
  decodeLeiosNotify,
  encodeLeiosNotify,
  LeiosNotifyClient,
  type LeiosNotifyMessage,
  LeiosNotifyServer,
  type ServerNotification,
} from './index';

const decode = (b: Uint8Array) => decodeLeiosNotify(b, DEFAULT_LIMITS);
const vote = (i: number) => raw(encodeValue([new Uint8Array(32).fill(i & 0xff), i, new Uint8Array(48).fill(1)]));
const message: fc.Arbitrary<LeiosNotifyMessage> = fc.oneof(
  fc.constant({ type: 'RequestNext' as const }),
  fc.constant({ type: 'Done' as const }),
  rawItem(1000).map((header) => ({ type: 'BlockAnnouncement' as const, header })),
  fc.record({ type: fc.constant('BlockOffer' as const), point: ebPoint, ebSize: fc.nat({ max: 0xffffffff }) }),
  fc.record({ type: fc.constant('BlockTxsOffer' as const), point: ebPoint }),
  fc.array(rawItem(100), { minLength: 1, maxLength: 20 }).map((votes) => ({ type: 'Votes' as const, votes })),
);

function violation(f: () => unknown): ProtocolViolation {
  try {
    f();
  } catch (e) {
    if (e instanceof ProtocolViolation) return e;
    throw e;
  }
  throw new Error('expected a ProtocolViolation');
}

describe('LeiosNotify codec (§10.1)', () => {
  it('round-trips byte-exactly', () => {
    fc.assert(
      fc.property(message, (m) => {
        const enc = encodeLeiosNotify(m);
        expect(toHex(encodeLeiosNotify(decode(enc)))).toBe(toHex(enc));
      }),
    );
  });

  it('§16 case 31: 1,025 votes in one message is leios-notify:limit (1008); 1,024 is fine', () => {
    const w = (n: number) => {
      const x = new CborWriter().array(2).uint(4).array(n);
      for (let i = 0; i < n; i++) x.raw(vote(i).bytes);
      return x.finish();
    };
    const ok = decode(w(1024));
    expect(ok.type === 'Votes' && ok.votes.length).toBe(1024);
    const v = violation(() => decode(w(1025)));
    expect([v.closeCode, v.reason]).toEqual([1008, 'leios-notify:limit']);
  });

  it('caps Votes at 131,072 B and other messages at 2,048 B; a header above MAX_HEADER', () => {
    const bigVotes = new CborWriter().array(2).uint(4).array(600);
    for (let i = 0; i < 600; i++) bigVotes.raw(encodeValue(new Uint8Array(230)));
    expect(violation(() => decode(bigVotes.finish())).reason).toBe('leios-notify:limit');
    const header = encodeValue(new Uint8Array(1_200));
    expect(violation(() => decode(new CborWriter().array(2).uint(1).raw(header).finish())).reason).toBe('leios-notify:limit');
    expect(violation(() => decode(Uint8Array.of(0x82, 0x04, 0x80))).reason).toBe('leios-notify:malformed'); // empty votes
  });

  it('fuzz: random and mutated bytes raise only ProtocolViolation', () => {
    fc.assert(
      fc.property(message, fc.uint8Array({ maxLength: 64 }), fc.nat(), (m, noise, seed) => {
        decodesOrViolates(decode, noise);
        decodesOrViolates(decode, mutate(encodeLeiosNotify(m), seed));
      }),
    );
  });
});

const pt = (slot: number): EbPoint => ({ slot: slot as Slot, hash: new Uint8Array(32).fill(slot & 0xff) as Hash32 });

async function notifyPair(pipeline = 64, queue?: ConstructorParameters<typeof LeiosNotifyServer>[0]) {
  const p = await handshakenPair();
  const got: ServerNotification[] = [];
  const server = new LeiosNotifyServer(queue);
  p.b.register(server);
  const client = new LeiosNotifyClient({ onNotification: (n) => got.push(n), pipeline });
  return { ...p, server, client, got };
}

describe('LeiosNotify drivers', () => {
  it('delivers notifications in §13 order: header first, then votes, fresh offers, stale offers freshest first', async () => {
    const { a, server, client, got } = await notifyPair();
    // Queue before the client asks, so that everything competes.
    server.notify({ type: 'BlockOffer', point: pt(3), ebSize: 100 }, { cls: 2, slot: 3 });
    server.notify({ type: 'BlockOffer', point: pt(9), ebSize: 100 }, { cls: 2, slot: 9 });
    server.notify({ type: 'BlockOffer', point: pt(50), ebSize: 100 }, { cls: 1, slot: 50 });
    server.notify({ type: 'Vote', vote: vote(1) }, VOTES);
    server.notify({ type: 'BlockAnnouncement', header: raw(encodeValue([1, 2, 3])) }, PRAOS);
    a.register(client);
    await settle();
    expect(got.map((n) => (n.type === 'BlockOffer' ? `offer-${n.point.slot}` : n.type))).toEqual([
      'BlockAnnouncement',
      'Votes',
      'offer-50',
      'offer-9',
      'offer-3',
    ]);
  });

  it('a header arriving while stale offers wait goes out next', async () => {
    const { a, server, client, got } = await notifyPair(1);
    a.register(client);
    await settle();
    // The client's one request is waiting: the first offer leaves at once, 19 wait.
    for (let s = 1; s <= 20; s++) server.notify({ type: 'BlockOffer', point: pt(s), ebSize: 10 }, { cls: 2, slot: s });
    expect(server.queue.size).toBe(19);
    server.notify({ type: 'BlockAnnouncement', header: raw(encodeValue('hdr')) }, PRAOS);
    await settle();
    const order = got.map((n) => (n.type === 'BlockOffer' ? n.point.slot : n.type));
    expect(order).toEqual([1, 'BlockAnnouncement', ...Array.from({ length: 19 }, (_, i) => 20 - i)]);
  });

  it('batches queued votes into one Votes message (≤ 1,024)', async () => {
    const { a, server, client, got } = await notifyPair(1);
    for (let i = 0; i < 1_500; i++) server.notify({ type: 'Vote', vote: vote(i) }, VOTES);
    a.register(client);
    await settle();
    const sizes = got.map((n) => (n.type === 'Votes' ? n.votes.length : -1));
    expect(sizes).toEqual([1_024, 476]);
    const all = got.flatMap((n) => (n.type === 'Votes' ? n.votes.map((v) => toHex(v.bytes)) : []));
    expect(all).toEqual(Array.from({ length: 1_500 }, (_, i) => toHex(vote(i).bytes)));
  });

  it('never sends a BlockTxsOffer before the BlockOffer of its EB', async () => {
    const { a, server, client, got } = await notifyPair(64, { queue: { capacity: [10, 10, 1] } });
    server.notify({ type: 'BlockOffer', point: pt(5), ebSize: 10 }, { cls: 2, slot: 5 });
    server.notify({ type: 'BlockOffer', point: pt(6), ebSize: 10 }, { cls: 2, slot: 6 }); // defers offer-5
    server.notify({ type: 'BlockTxsOffer', point: pt(5) }, { cls: 2, slot: 5 });
    a.register(client);
    await settle();
    const order = got.map((n) => `${n.type}-${'point' in n ? n.point.slot : ''}`);
    expect(order.indexOf('BlockOffer-5')).toBeLessThan(order.indexOf('BlockTxsOffer-5'));
    expect(order).toHaveLength(3); // delayed, never omitted
    expect(server.wasOffered('block', pt(5).hash)).toBe(true);
    expect(server.wasOffered('txs', pt(5).hash)).toBe(true);
    expect(server.wasOffered('txs', pt(6).hash)).toBe(false);
  });

  it('re-offers dropped stale offers once the queue drains (§13.4)', async () => {
    const { a, server, client, got } = await notifyPair(64, { queue: { capacity: [10, 10, 4] } });
    for (let s = 1; s <= 30; s++) server.notify({ type: 'BlockOffer', point: pt(s), ebSize: 10 }, { cls: 2, slot: s });
    expect(server.queue.deferredCount).toBe(26);
    a.register(client);
    await settle(10);
    expect(got.map((n) => (n.type === 'BlockOffer' ? n.point.slot : -1)).sort((x, y) => x - y)).toEqual(
      Array.from({ length: 30 }, (_, i) => i + 1),
    );
  });

  it('a 65th pipelined RequestNext is leios-notify:limit; a notification without a request is agency', async () => {
    const { b, ta } = await notifyPair();
    const req = encodeLeiosNotify({ type: 'RequestNext' });
    for (let i = 0; i < 64; i++) sendRaw(ta, 18, 0, req);
    await settle();
    expect(b.closed).toBe(false);
    sendRaw(ta, 18, 0, req);
    await settle();
    expect([b.closeError?.code, b.closeError?.reason]).toEqual([1008, 'leios-notify:limit']);

    const q = await handshakenPair();
    const c = new LeiosNotifyClient({ onNotification: () => {}, pipeline: 1 });
    q.a.register(c);
    q.ta.tap = () => {}; // b never sees the client; the test plays the server by hand
    await settle();
    c.stop(); // one request is still outstanding: the first Votes is owed
    sendRaw(q.tb, 18, 1, encodeLeiosNotify({ type: 'Votes', votes: [vote(1)] }));
    await settle();
    expect(q.a.closed).toBe(false);
    expect(c.state).toBe('StDone'); // answered, then Done
    sendRaw(q.tb, 18, 1, encodeLeiosNotify({ type: 'Votes', votes: [vote(2)] }));
    await settle();
    expect([q.a.closeError?.code, q.a.closeError?.reason]).toEqual([1008, 'leios-notify:agency']);
  });

  it('the server times out a peer that sends no RequestNext for 3,600 s; StBusy has no timeout', async () => {
    const idle = await notifyPair();
    idle.clock.advance(3_600_000 - 1);
    expect(idle.b.closed).toBe(false);
    idle.clock.advance(1);
    expect(idle.b.closeError?.reason).toBe('leios-notify:timeout');

    const busy = await notifyPair(1);
    busy.a.register(busy.client);
    await settle();
    busy.clock.advance(10 * 3_600_000); // a request is outstanding: the server owes a reply, no timer
    expect(busy.a.closed || busy.b.closed).toBe(false);
  });
});
