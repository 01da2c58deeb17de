import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { toHex } from '@leios/shared';
import { describe, expect, it } from 'vitest';
import { FixtureNode, makeEb, makeRbBlock, relay } from '../testing/index';
import { HANDSHAKE_BUFFER_BYTES, type RelayHub } from './index';
import { encodeSegment, MAX_MESSAGE_BYTES } from './transport';

/** Open a peer session through the Worker and collect what the hub does with it. */
async function openSession(): Promise<{ ws: WebSocket; closed: Promise<{ code: number; reason: string }> }> {
  const res = await relay([], '/v1/ws', { headers: { upgrade: 'websocket', 'sec-websocket-protocol': 'leios-mux.1' } });
  expect(res.status).toBe(101);
  const ws = res.webSocket;
  if (ws === null) throw new Error('no WebSocket in the 101 response');
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.addEventListener('close', (e) => resolve({ code: e.code, reason: e.reason }));
  });
  ws.accept();
  return { ws, closed };
}

const seg = (protocol: number, len: number, fromResponder = false) =>
  encodeSegment({ time: 0, fromResponder, protocol, payload: new Uint8Array(len).fill(0x80) });

function rawSegment(protocolWord: number, declaredLen: number, actualLen: number): Uint8Array {
  const b = new Uint8Array(8 + actualLen);
  const v = new DataView(b.buffer);
  v.setUint16(4, protocolWord);
  v.setUint16(6, declaredLen);
  return b;
}

const hub = () => env.RELAY_HUB.getByName(env.RELAY_NAME);

describe('RelayHub transport rules (§8.1, §8.2)', () => {
  it('closes on a text frame with 1003 mux:malformed', async () => {
    const { ws, closed } = await openSession();
    ws.send('hello');
    expect(await closed).toEqual({ code: 1003, reason: 'mux:malformed' });
  });

  it('closes on a message above 1 MiB with 1009', async () => {
    const { ws, closed } = await openSession();
    ws.send(new Uint8Array(MAX_MESSAGE_BYTES + 1));
    const c = await closed;
    expect(c.code).toBe(1009);
  });

  it.each([
    ['payload length 0', rawSegment(0, 0, 0)],
    ['payload length 12,289', rawSegment(0, 12_289, 12_289)],
    ['a cut header', new Uint8Array(5)],
    ['a payload shorter than declared', rawSegment(0, 100, 50)],
  ])('closes on %s with 1002 mux:malformed', async (_what, bytes) => {
    const { ws, closed } = await openSession();
    ws.send(bytes);
    expect(await closed).toEqual({ code: 1002, reason: 'mux:malformed' });
  });

  it('closes on an unknown protocol number with 1002 mux:unknown-protocol', async () => {
    const { ws, closed } = await openSession();
    ws.send(seg(5, 10));
    expect(await closed).toEqual({ code: 1002, reason: 'mux:unknown-protocol' });
  });

  it('closes on a segment of another protocol before the handshake with 1008 handshake:agency', async () => {
    const { ws, closed } = await openSession();
    ws.send(seg(18, 10));
    expect(await closed).toEqual({ code: 1008, reason: 'handshake:agency' });
  });

  it('closes on a responder-mode handshake segment from the initiator with 1008 handshake:agency', async () => {
    const { ws, closed } = await openSession();
    ws.send(seg(0, 10, true));
    expect(await closed).toEqual({ code: 1008, reason: 'handshake:agency' });
  });

  it('bounds buffered handshake bytes (§11) and closes with 1008 handshake:limit', async () => {
    const { ws, closed } = await openSession();
    // Whole segments, several per message: accepted until the buffer bound is passed.
    const one = seg(0, 12_288);
    const msg = new Uint8Array(one.length * 2);
    msg.set(one, 0);
    msg.set(one, one.length);
    expect(2 * 12_288).toBeGreaterThan(HANDSHAKE_BUFFER_BYTES - 12_288);
    ws.send(seg(0, 4_000));
    ws.send(msg);
    expect(await closed).toEqual({ code: 1008, reason: 'handshake:limit' });
  });

  it('keeps a session open on well-formed handshake segments and records it with its attachment', async () => {
    const { ws } = await openSession();
    ws.send(seg(0, 100));
    // Round-trip through the hub so the message above has been processed.
    const sessions = await hub().sessions();
    expect(sessions.length).toBeGreaterThan(0);
    const open = await runInDurableObject(hub(), (_h: RelayHub, state) => state.getWebSockets().map((s) => s.deserializeAttachment() as { handshakeBytes: number }));
    expect(open.some((a) => a.handshakeBytes === 100)).toBe(true);
    ws.close(1000, 'bye');
  });

  it('closes sessions whose handshake does not complete within 10 s, from the alarm', async () => {
    const { closed } = await openSession();
    await runInDurableObject(hub(), async (h: RelayHub, state) => {
      // Age every session past the deadline, then run the alarm as the runtime would.
      for (const s of state.getWebSockets()) {
        const a = s.deserializeAttachment() as { openedAtMs: number };
        s.serializeAttachment({ ...a, openedAtMs: a.openedAtMs - 11_000 });
      }
      await h.alarm();
    });
    expect(await closed).toEqual({ code: 1008, reason: 'handshake:timeout' });
  });
});

describe('RelayHub content', () => {
  it('serves EBs a peer delivered, verified, without asking a storage node', async () => {
    const eb = makeEb(3);
    const node = new FixtureNode();
    const refused = await hub().holdEb(makeEb(1).hash, eb.bytes);
    expect(refused).toMatch(/hash/);
    expect(await hub().holdEb(eb.hash, eb.bytes)).toBeNull();
    const res = await relay([node], `/v1/eb/${eb.hex}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-leios-source')).toBe('hub');
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(eb.bytes);
    expect((await node.seen(`/v1/eb/${eb.hex}`)).hits).toBe(0);
  });

  it('holds RB blocks only when header and body hashes check out', async () => {
    const good = makeRbBlock();
    const bad = makeRbBlock({ tamperBody: true });
    expect(await hub().holdRb(bad.hash, bad.bytes)).toMatch(/body/);
    expect(await hub().holdRb(good.hash, good.bytes)).toBeNull();
    expect(await hub().getRb(good.hex)).toEqual(good.bytes);
    expect(await hub().getRb(toHex(bad.hash))).toBeNull();
  });
});
