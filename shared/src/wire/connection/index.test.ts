import { describe, expect, it } from 'vitest';
import { concatBytes } from '../../bytes/index';
import { encodeValue } from '../../cbor/index';
import { PRAOS } from '../../sched/index';
import { ManualClock, Protocol, raw } from '../common/index';
import { encodeHandshake, HandshakeClient, HandshakeServer } from '../handshake/index';
import { encodeKeepAlive, KeepAliveClient, KeepAliveServer } from '../keep-alive/index';
import { encodeLeiosNotify, LeiosNotifyClient, LeiosNotifyServer, type ServerNotification } from '../leios-notify/index';
import { decodeSegments, encodeSegment, MAX_WS_MESSAGE, packSegments, splitMessage } from '../mux/index';
import { handshakenPair, sendRaw, settle, TEST_NETWORK } from '../testing/index';
import { Connection, connectionPair, type Transport } from './index';

function rawSegment(word: number, len: number): Uint8Array {
  const b = new Uint8Array(8 + Math.max(len, 0));
  const v = new DataView(b.buffer);
  v.setUint16(4, word);
  v.setUint16(6, len);
  return b;
}

/** A responder with only a handshake server, recording how it was closed. */
function responder(): { conn: Connection; closed: Array<[number, string]>; sent: Uint8Array[] } {
  const closed: Array<[number, string]> = [];
  const sent: Uint8Array[] = [];
  const t: Transport = { send: (b) => sent.push(b), close: (c, r) => closed.push([c, r]) };
  const conn = new Connection({ transport: t, role: 'responder', clock: new ManualClock() });
  conn.register(new HandshakeServer({ data: TEST_NETWORK }));
  return { conn, closed, sent };
}

describe('Connection: §8 closes', () => {
  it('§16 case 30: segment length 0 or 12,289 closes with 1002 mux:malformed', () => {
    for (const len of [0, 12_289]) {
      const r = responder();
      r.conn.receive(rawSegment(0, len));
      expect(r.closed).toEqual([[1002, 'mux:malformed']]);
      expect(r.conn.closed).toBe(true);
    }
  });

  it('§16 case 30: a WebSocket message of 1 MiB + 1 byte closes with 1009 mux:limit', () => {
    const r = responder();
    r.conn.receive(new Uint8Array(MAX_WS_MESSAGE + 1));
    expect(r.closed).toEqual([[1009, 'mux:limit']]);
  });

  it('a text frame closes with 1003 mux:malformed; an unknown protocol with 1002 mux:unknown-protocol', () => {
    const a = responder();
    a.conn.receive('hello');
    expect(a.closed).toEqual([[1003, 'mux:malformed']]);
    const b = responder();
    b.conn.receive(concatBytes(rawSegment(7, 1)));
    expect(b.closed).toEqual([[1002, 'mux:unknown-protocol']]);
  });

  it('any segment of another protocol before the handshake completes is handshake:agency (1008)', () => {
    const r = responder();
    r.conn.register(new KeepAliveServer());
    r.conn.receive(packSegments(splitMessage(8, 0, encodeKeepAlive({ type: 'KeepAlive', cookie: 1 }), 0))[0]!);
    expect(r.closed).toEqual([[1008, 'handshake:agency']]);
  });

  it('undecodable CBOR is <proto>:malformed (1002), a segment for an unserved protocol is <proto>:agency', async () => {
    const { a, b, ta } = await handshakenPair();
    b.register(new KeepAliveServer());
    sendRaw(ta, 8, 0, Uint8Array.of(0x82, 0x00, 0x18, 0x01)); // non-canonical cookie
    await settle();
    expect([b.closeError?.code, b.closeError?.reason]).toEqual([1002, 'keep-alive:malformed']);
    expect(a.closeError?.reason).toBe('keep-alive:malformed'); // the peer saw the close
    const p2 = await handshakenPair();
    sendRaw(p2.ta, 3, 0, Uint8Array.of(0x81, 0x01));
    await settle();
    expect([p2.b.closeError?.code, p2.b.closeError?.reason]).toEqual([1008, 'block-fetch:agency']);
  });

  it('§16 case 30: a 40 kB message split over 4 segments interleaved with another protocol is reassembled', async () => {
    const { a, b, tb } = await handshakenPair();
    const got: ServerNotification[] = [];
    const ka = new KeepAliveClient({ intervalMs: null });
    a.register(ka);
    a.register(new LeiosNotifyClient({ onNotification: (n) => got.push(n), pipeline: 1 }));
    b.register(new KeepAliveServer());
    b.register(new LeiosNotifyServer());
    await settle();
    const votes = Array.from({ length: 460 }, (_, i) => raw(encodeValue([new Uint8Array(32).fill(i & 0xff), i, new Uint8Array(48)])));
    const big = encodeLeiosNotify({ type: 'Votes', votes });
    expect(big.length).toBeGreaterThan(40_000);
    const bigSegs = splitMessage(18, 1, big, 0);
    expect(bigSegs.length).toBe(4);
    tb.tap = () => {}; // the responder's own egress is replaced by the hand-made stream below
    const ping = ka.ping();
    await settle();
    tb.tap = undefined;
    const kaSeg = splitMessage(8, 1, encodeKeepAlive({ type: 'Response', cookie: 1 }), 0)[0]!;
    // Interleave: big[0], keep-alive response, big[1..3] — each in its own WebSocket message.
    for (const s of [bigSegs[0]!, kaSeg, bigSegs[1]!, bigSegs[2]!, bigSegs[3]!]) tb.send(encodeSegment(s));
    await settle();
    await expect(ping).resolves.toBe(0);
    expect(got.length).toBe(1);
    const n = got[0]!;
    expect(n.type).toBe('Votes');
    if (n.type === 'Votes') expect(n.votes.map((v) => v.bytes)).toEqual(votes.map((v) => v.bytes));
    expect(a.closed).toBe(false);
  });

  it('initiator_only: the initiator refuses client segments from the responder', async () => {
    const { a, tb } = await handshakenPair({ initiatorOnly: true });
    expect(a.negotiated?.initiatorOnly).toBe(true);
    sendRaw(tb, 8, 0, encodeKeepAlive({ type: 'KeepAlive', cookie: 3 }));
    await settle();
    expect(a.closeError?.reason).toBe('keep-alive:agency');
  });

  it('initiator_only: the responder retires its client instances and sends nothing from them', async () => {
    const clock = new ManualClock();
    const pair = connectionPair({ clock }, { clock });
    const responderClient = new KeepAliveClient({ intervalMs: null });
    pair.b.register(new HandshakeServer({ data: TEST_NETWORK }));
    pair.b.register(responderClient);
    const early = responderClient.ping(); // held until the handshake
    early.catch(() => {});
    const hc = new HandshakeClient({ data: TEST_NETWORK, initiatorOnly: true });
    pair.a.register(hc);
    await hc.result;
    await settle();
    await expect(early).rejects.toThrow(/initiator_only/);
    expect(pair.a.closed || pair.b.closed).toBe(false);
    const modes = pair.tb.sent.flatMap((m) => decodeSegments(m).map((s) => s.mode));
    expect(modes.every((m) => m === 1)).toBe(true);
    expect(() => pair.b.register(new KeepAliveClient())).toThrow(/initiator_only/);
  });

  it('holds other protocols’ egress until the handshake completes', async () => {
    const clock = new ManualClock();
    const pair = connectionPair({ clock }, { clock });
    const ka = new KeepAliveClient({ intervalMs: null });
    pair.a.register(ka);
    const ping = ka.ping();
    await settle();
    expect(pair.ta.sent.length).toBe(0);
    pair.b.register(new HandshakeServer({ data: TEST_NETWORK }));
    pair.b.register(new KeepAliveServer());
    pair.a.register(new HandshakeClient({ data: TEST_NETWORK }));
    await expect(ping).resolves.toBe(0);
    const protos = pair.ta.sent.flatMap((m) => decodeSegments(m).map((s) => s.protocol));
    expect(protos[0]).toBe(Protocol.Handshake);
    expect(protos).toContain(Protocol.KeepAlive);
  });
});

describe('Connection: fuzz', () => {
  it('random segments never throw: the session either survives or closes with a §8.2 code', async () => {
    const fc = (await import('fast-check')).default;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            word: fc.oneof(fc.constantFrom(0, 2, 3, 4, 8, 18, 19, 0x8000 | 18, 0x8000 | 19, 0x8002), fc.nat({ max: 0xffff })),
            payload: fc.uint8Array({ minLength: 1, maxLength: 64 }),
          }),
          { minLength: 1, maxLength: 6 },
        ),
        async (segs) => {
          const { a, b, tb } = await handshakenPair();
          a.register(new KeepAliveClient({ intervalMs: null }));
          a.register(new LeiosNotifyClient({ onNotification: () => {} }));
          b.register(new KeepAliveServer());
          b.register(new LeiosNotifyServer());
          for (const s of segs) {
            const seg = new Uint8Array(8 + s.payload.length);
            const v = new DataView(seg.buffer);
            v.setUint16(4, s.word);
            v.setUint16(6, s.payload.length);
            seg.set(s.payload, 8);
            tb.send(seg);
          }
          await settle(2);
          if (a.closed) expect([1002, 1003, 1008, 1009]).toContain(a.closeError?.code);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('Connection: egress (§13.1)', () => {
  it('without bufferedAmount, paces per turn so a new P0 message overtakes queued bulk data', async () => {
    const sent: Uint8Array[] = [];
    const turns: Array<() => void> = [];
    const conn = new Connection({
      transport: { send: (b) => sent.push(b), close: () => {} },
      role: 'responder',
      clock: new ManualClock(),
      defer: (fn) => turns.push(fn),
      bytesPerTurn: 2 * 12_288,
    });
    conn.register(new HandshakeServer({ data: TEST_NETWORK }));
    const notify = new LeiosNotifyServer();
    conn.register(notify);
    // Complete the handshake by hand: feed a ProposeVersions.
    conn.receive(
      packSegments(
        splitMessage(0, 0, encodeHandshake({ type: 'ProposeVersions', versions: [{ version: 1, data: { ...TEST_NETWORK, initiatorOnly: false } }] }), 0),
      )[0]!,
    );
    await settle(1);
    sent.length = 0;
    // 1 MB of stale bulk data on another stream, then a P0 message.
    conn.scheduler.enqueue(19, 1, new Uint8Array(1_000_000), { cls: 2, slot: 1 });
    conn.flushSoon();
    await settle(1);
    // One paced turn: two segments (24,576 B), then the pump yields to the event loop.
    const firstTurn = sent.length;
    expect(sent.flatMap((m) => decodeSegments(m)).length).toBe(2);
    conn.scheduler.enqueue(2, 1, new Uint8Array(100).fill(1), PRAOS);
    conn.flushSoon(); // a pump is already pending for the next turn: no extra send now
    await settle(1);
    expect(sent.length).toBe(firstTurn);
    turns.shift()!();
    const next = decodeSegments(sent[firstTurn]!);
    expect(next[0]!.protocol).toBe(2);
    expect(next[0]!.mode).toBe(1);
  });

  it('with bufferedAmount, keeps unsent bytes under 256 KiB and resumes when the buffer drains', async () => {
    const clock = new ManualClock();
    let buffered = 0;
    const sent: Uint8Array[] = [];
    const conn = new Connection({
      transport: {
        send: (b) => {
          sent.push(b);
          buffered += b.length;
        },
        close: () => {},
        bufferedAmount: () => buffered,
      },
      role: 'responder',
      clock,
    });
    conn.register(new HandshakeServer({ data: TEST_NETWORK }));
    conn.receive(
      encodeSegment(
        splitMessage(0, 0, encodeHandshake({ type: 'ProposeVersions', versions: [{ version: 1, data: { ...TEST_NETWORK, initiatorOnly: false } }] }), 0)[0]!,
      ),
    );
    await settle(1);
    buffered = 0;
    conn.scheduler.enqueue(19, 1, new Uint8Array(2_000_000), { cls: 2, slot: 1 });
    conn.flushSoon();
    await settle(1);
    expect(buffered).toBeLessThanOrEqual(256 * 1024 + 12_296);
    expect(buffered).toBeGreaterThan(200 * 1024);
    const before = buffered;
    clock.advance(10); // buffer still full: nothing more
    expect(buffered).toBe(before);
    buffered = 0; // the socket drained
    clock.advance(2);
    expect(buffered).toBeGreaterThan(200 * 1024);
  });
});
