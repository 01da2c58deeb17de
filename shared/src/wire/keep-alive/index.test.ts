import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex } from '../../bytes/index';
import { ProtocolViolation } from '../../errors/index';
import { decodesOrViolates, handshakenPair, mutate, sendRaw, settle } from '../testing/index';
import { decodeKeepAlive, encodeKeepAlive, KeepAliveClient, type KeepAliveMessage, KeepAliveServer } from './index';

const message: fc.Arbitrary<KeepAliveMessage> = fc.oneof(
  fc.integer({ min: 0, max: 0xffff }).map((cookie) => ({ type: 'KeepAlive' as const, cookie })),
  fc.integer({ min: 0, max: 0xffff }).map((cookie) => ({ type: 'Response' as const, cookie })),
  fc.constant({ type: 'Done' as const }),
);

describe('keep-alive codec', () => {
  it('encodes the §9 layout', () => {
    expect(toHex(encodeKeepAlive({ type: 'KeepAlive', cookie: 7 }))).toBe('820007');
    expect(toHex(encodeKeepAlive({ type: 'Response', cookie: 300 }))).toBe('820119012c');
    expect(toHex(encodeKeepAlive({ type: 'Done' }))).toBe('8102');
  });

  it('round-trips', () => {
    fc.assert(
      fc.property(message, (m) => {
        expect(decodeKeepAlive(encodeKeepAlive(m))).toEqual(m);
      }),
    );
  });

  it('rejects non-canonical, wrong-arity and out-of-range messages with violations only', () => {
    for (const hex of ['82001807', '8300070a', '8201', '820a07', '82001a00010000', '9f0007ff']) {
      const bytes = Uint8Array.from(hex.match(/../g)!.map((h) => Number.parseInt(h, 16)));
      expect(() => decodeKeepAlive(bytes), hex).toThrow(ProtocolViolation);
    }
  });

  it('fuzz: random and mutated bytes raise only ProtocolViolation', () => {
    fc.assert(
      fc.property(message, fc.uint8Array({ maxLength: 8 }), fc.nat(), (m, noise, seed) => {
        expect(['ok', 'violation']).toContain(decodesOrViolates(decodeKeepAlive, noise));
        expect(['ok', 'violation']).toContain(decodesOrViolates(decodeKeepAlive, mutate(encodeKeepAlive(m), seed)));
      }),
    );
  });
});

describe('keep-alive drivers', () => {
  it('answer pings with the same cookie and measure RTT', async () => {
    const { a, b } = await handshakenPair();
    const client = new KeepAliveClient({ intervalMs: null });
    a.register(client);
    b.register(new KeepAliveServer());
    const rtt = await client.ping();
    expect(rtt).toBe(0); // manual clock did not move
    expect(client.state).toBe('StClient');
    await client.ping();
    expect(a.closed || b.closed).toBe(false);
  });

  it('pings every 20 s on the clock and times out after 60 s without a response', async () => {
    const { a, b, clock, tb } = await handshakenPair();
    const client = new KeepAliveClient();
    a.register(client);
    b.register(new KeepAliveServer());
    clock.advance(20_000);
    await settle();
    expect(client.rttMs).toBe(0);
    // Now the server goes silent: drop everything it sends.
    tb.tap = () => {};
    clock.advance(20_000);
    await settle();
    clock.advance(60_000);
    await settle();
    expect(a.closeError?.code).toBe(1008);
    expect(a.closeError?.reason).toBe('keep-alive:timeout');
  });

  it('a Response without a KeepAlive is keep-alive:agency (1008)', async () => {
    const { a, b, tb } = await handshakenPair();
    a.register(new KeepAliveClient({ intervalMs: null }));
    b.register(new KeepAliveServer());
    sendRaw(tb, 8, 1, encodeKeepAlive({ type: 'Response', cookie: 1 }));
    await settle();
    expect(a.closeError?.code).toBe(1008);
    expect(a.closeError?.reason).toBe('keep-alive:agency');
  });

  it('a Response with the wrong cookie closes the connection', async () => {
    const { a, b, tb } = await handshakenPair();
    const client = new KeepAliveClient({ intervalMs: null });
    a.register(client);
    b.register(new KeepAliveServer());
    tb.tap = () => {};
    const p = client.ping();
    await settle();
    tb.tap = undefined;
    sendRaw(tb, 8, 1, encodeKeepAlive({ type: 'Response', cookie: 999 }));
    await expect(p).rejects.toThrow();
    expect(a.closeError?.reason).toBe('keep-alive:agency');
  });
});
