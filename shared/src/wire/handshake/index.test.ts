import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex } from '../../bytes/index';
import type { Hash32 } from '../../types/index';
import { ManualClock } from '../common/index';
import { connectionPair } from '../connection/index';
import { decodesOrViolates, mutate, sendRaw, settle, TEST_NETWORK } from '../testing/index';
import { hash32 } from '../testing/arb/index';
import {
  clientAuth,
  decodeHandshake,
  encodeHandshake,
  HandshakeAuthenticator,
  HandshakeClient,
  type HandshakeMessage,
  HandshakeServer,
  type VersionData,
} from './index';

const versionData: fc.Arbitrary<VersionData> = fc.record({
  networkMagic: fc.nat({ max: 0xffffffff }),
  genesisHash: hash32,
  ledgerMode: fc.constantFrom(0 as const, 1 as const),
  initiatorOnly: fc.boolean(),
});
const withAuth: fc.Arbitrary<VersionData> = fc.tuple(versionData, fc.option(fc.record({
  peerId: fc.string({ maxLength: 20 }),
  timeMs: fc.nat(),
  mac: fc.uint8Array({ minLength: 32, maxLength: 32 }),
}), { nil: undefined })).map(([d, auth]) => (auth ? { ...d, auth } : d));

const message: fc.Arbitrary<HandshakeMessage> = fc.oneof(
  fc
    .uniqueArray(fc.nat({ max: 1000 }), { minLength: 1, maxLength: 4 })
    .chain((vs) => fc.tuple(...vs.sort((a, b) => a - b).map((version) => withAuth.map((data) => ({ version, data })))))
    .map((versions) => ({ type: 'ProposeVersions' as const, versions })),
  fc.record({ type: fc.constant('AcceptVersion' as const), version: fc.nat({ max: 1000 }), data: withAuth }),
  fc.oneof(
    fc.array(fc.nat({ max: 100 }), { maxLength: 5 }).map((versions) => ({ kind: 'version-mismatch' as const, versions })),
    fc.record({ kind: fc.constantFrom('decode-error' as const, 'refused' as const), version: fc.nat(), message: fc.string({ maxLength: 30 }) }),
  ).map((reason) => ({ type: 'Refuse' as const, reason })),
);

describe('handshake codec (§8.3)', () => {
  it('round-trips byte-exactly', () => {
    fc.assert(
      fc.property(message, (m) => {
        const enc = encodeHandshake(m);
        expect(toHex(encodeHandshake(decodeHandshake(enc)))).toBe(toHex(enc));
      }),
    );
  });

  it('encodes the §8.3 layouts exactly; version_data without auth is the 4-element array', () => {
    expect(toHex(encodeHandshake({ type: 'Refuse', reason: { kind: 'refused', version: 1, message: 'genesis' } }))).toBe(
      `8202830201${'67'}${toHex(new TextEncoder().encode('genesis'))}`,
    );
    const data = { ...TEST_NETWORK, initiatorOnly: false };
    const propose = encodeHandshake({ type: 'ProposeVersions', versions: [{ version: 1, data }] });
    expect(toHex(propose)).toBe(`8200a101841907ea5820${'07'.repeat(32)}00f4`);
  });

  it('rejects descending version keys, bad ledger modes and bad auth shapes', () => {
    const d = `841907ea5820${'07'.repeat(32)}00f4`;
    for (const hex of [
      `8200a202${d}01${d}`, // keys not ascending
      `8200a101841907ea5820${'07'.repeat(32)}02f4`, // ledger_mode 2
      `8200a101851907ea5820${'07'.repeat(32)}00f480`, // auth not a triple
      `8200a101831907ea5820${'07'.repeat(32)}00`, // 3 elements
      `8200a0`, // no versions
    ]) {
      const bytes = Uint8Array.from(hex.match(/../g)!.map((h) => Number.parseInt(h, 16)));
      expect(decodesOrViolates(decodeHandshake, bytes), hex).toBe('violation');
    }
  });

  it('fuzz: random and mutated bytes raise only ProtocolViolation', () => {
    fc.assert(
      fc.property(message, fc.uint8Array({ maxLength: 64 }), fc.nat(), (m, noise, seed) => {
        decodesOrViolates(decodeHandshake, noise);
        decodesOrViolates(decodeHandshake, mutate(encodeHandshake(m), seed));
      }),
    );
  });
});

async function run(client: ConstructorParameters<typeof HandshakeClient>[0], server: ConstructorParameters<typeof HandshakeServer>[0]) {
  const clock = new ManualClock();
  const pair = connectionPair({ clock }, { clock });
  const hs = new HandshakeServer(server);
  const hc = new HandshakeClient(client);
  pair.b.register(hs);
  pair.a.register(hc);
  const [c, s] = await Promise.allSettled([hc.result, hs.result]);
  await settle();
  return { ...pair, c, s, clock };
}

describe('handshake drivers', () => {
  it('accepts the highest common version', async () => {
    const r = await run({ data: TEST_NETWORK, versions: [1, 2, 5] }, { data: TEST_NETWORK, versions: [1, 2, 3] });
    expect(r.c.status === 'fulfilled' && r.c.value.version).toBe(2);
    expect(r.a.negotiated?.version).toBe(2);
    expect(r.b.negotiated?.version).toBe(2);
  });

  for (const [field, change] of [
    ['magic', { networkMagic: 1 }],
    ['genesis', { genesisHash: new Uint8Array(32) as Hash32 }],
    ['ledger-mode', { ledgerMode: 1 as const }],
  ] as const) {
    it(`refuses a ${field} mismatch with [2, [2, version, "${field}"]] and closes 1008 handshake:refused`, async () => {
      const r = await run({ data: { ...TEST_NETWORK, ...change }, versions: [1, 4] }, { data: TEST_NETWORK, versions: [1] });
      const replies = r.tb.sent.map(toHex);
      // version = the highest version proposed (4)
      expect(replies).toHaveLength(1);
      expect(replies[0]!.slice(16)).toBe(toHex(encodeHandshake({ type: 'Refuse', reason: { kind: 'refused', version: 4, message: field } })));
      expect([r.b.closeError?.code, r.b.closeError?.reason]).toEqual([1008, 'handshake:refused']);
      expect(r.a.closeError?.reason).toBe('handshake:refused');
      expect(r.c.status).toBe('rejected');
    });
  }

  it('no common version: Refuse [0, versions] then close 1008 handshake:refused', async () => {
    const r = await run({ data: TEST_NETWORK, versions: [7] }, { data: TEST_NETWORK, versions: [1] });
    const refuse = decodeHandshake(r.tb.sent.map((m) => m.subarray(8))[0]!);
    expect(refuse).toEqual({ type: 'Refuse', reason: { kind: 'version-mismatch', versions: [1] } });
    expect(r.b.closeError?.reason).toBe('handshake:refused');
  });

  it('times out in StConfirm after 10 s', async () => {
    const clock = new ManualClock();
    const { a, tb } = connectionPair({ clock }, { clock });
    tb.connect(undefined as never); // nobody answers
    const hc = new HandshakeClient({ data: TEST_NETWORK });
    a.register(hc);
    await settle();
    clock.advance(9_999);
    expect(a.closed).toBe(false);
    clock.advance(1);
    expect(a.closeError?.reason).toBe('handshake:timeout');
    await expect(hc.result).rejects.toThrow();
  });

  it('a second ProposeVersions is handshake:agency', async () => {
    const r = await run({ data: TEST_NETWORK }, { data: TEST_NETWORK });
    sendRaw(r.ta, 0, 0, encodeHandshake({ type: 'ProposeVersions', versions: [{ version: 1, data: { ...TEST_NETWORK, initiatorOnly: false } }] }));
    await settle();
    expect(r.b.closeError?.reason).toBe('handshake:agency');
  });
});

describe('handshake authentication extension', () => {
  const secret = new Uint8Array(32).fill(0x5a);
  const secrets = new Map([['pool-a', secret]]);
  const authn = (now: () => number) =>
    new HandshakeAuthenticator({ serverId: 'relay-1', secretFor: (id) => secrets.get(id), now });

  it('authenticates both ways with per-peer secrets', async () => {
    const t = 1_700_000_000_000;
    const r = await run(
      { data: TEST_NETWORK, auth: { peerId: 'pool-a', secret }, now: () => t },
      { data: TEST_NETWORK, auth: authn(() => t + 500), now: () => t + 500 },
    );
    expect(r.s.status === 'fulfilled' && r.s.value.peerId).toBe('pool-a');
    expect(r.c.status).toBe('fulfilled');
    expect(r.a.closed || r.b.closed).toBe(false);
  });

  for (const [what, client, skew] of [
    ['a wrong secret', { peerId: 'pool-a', secret: new Uint8Array(32) }, 0],
    ['an unknown peer', { peerId: 'pool-x', secret }, 0],
    ['a stale timestamp', { peerId: 'pool-a', secret }, 31_000],
    ['no auth at all', undefined, 0],
  ] as const) {
    it(`refuses ${what} with [2, [2, v, "auth"]] and 1008 handshake:refused`, async () => {
      const t = 1_700_000_000_000;
      const r = await run(
        { data: TEST_NETWORK, ...(client ? { auth: client } : {}), now: () => t },
        { data: TEST_NETWORK, auth: authn(() => t + skew) },
      );
      const reply = decodeHandshake(r.tb.sent[0]!.subarray(8));
      expect(reply).toEqual({ type: 'Refuse', reason: { kind: 'refused', version: 1, message: 'auth' } });
      expect(r.b.closeError?.reason).toBe('handshake:refused');
    });
  }

  it('refuses a replayed handshake', () => {
    const t = 1_700_000_000_000;
    const a = authn(() => t);
    const data = { ...TEST_NETWORK, initiatorOnly: false };
    const auth = clientAuth({ peerId: 'pool-a', secret }, 1, data, t);
    expect(a.verify(1, { ...data, auth }).ok).toBe(true);
    expect(a.verify(1, { ...data, auth })).toEqual({ ok: false, detail: 'replay' });
    // The MAC binds the version data: flipping initiator_only breaks it.
    const auth2 = clientAuth({ peerId: 'pool-a', secret }, 1, data, t + 1);
    expect(a.verify(1, { ...data, initiatorOnly: true, auth: auth2 })).toEqual({ ok: false, detail: 'bad-mac' });
  });

  it('the client refuses a server that cannot authenticate back', async () => {
    const t = 1_700_000_000_000;
    const r = await run(
      { data: TEST_NETWORK, auth: { peerId: 'pool-a', secret }, now: () => t },
      { data: TEST_NETWORK }, // a relay without auth answers without the auth element
    );
    expect(r.c.status).toBe('rejected');
    expect(r.a.closeError?.reason).toBe('handshake:refused');
  });
});
