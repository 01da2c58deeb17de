import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex } from '../../bytes/index';
import type { Hash32 } from '../../types/index';
import { ManualClock } from '../common/index';
import { connectionPair } from '../connection/index';
import { decodesOrViolates, mutate, sendRaw, settle, TEST_NETWORK } from '../testing/index';
import { hash32 } from '../testing/arb/index';
import {
  admit,
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

describe('optional authentication (admit)', () => {
  const secret = new Uint8Array(32).fill(0x5a);
  const secrets = new Map([['pool-a', secret]]);
  const t = 1_700_000_000_000;
  const authn = () => new HandshakeAuthenticator({ serverId: 'relay-1', secretFor: (id) => secrets.get(id), now: () => t });
  const data = { ...TEST_NETWORK, initiatorOnly: false };
  const signed = (peerId: string, key: Uint8Array, at = t) => ({ ...data, auth: clientAuth({ peerId, secret: key }, 1, data, at) });

  // One row per case of the admission table in ./auth.ts.
  it.each([
    ['no server auth, no element', undefined, 'refuse', data, { ok: true, access: 'open' }],
    ['no server auth, an element', undefined, 'refuse', signed('pool-a', secret), { ok: true, access: 'open' }],
    ['a valid element', 'authn', 'accept', signed('pool-a', secret), { ok: true, access: 'authenticated', peerId: 'pool-a', secret }],
    ['an unknown peer while anonymous is accepted', 'authn', 'accept', signed('pool-x', secret), { ok: false, reason: 'auth', detail: 'unknown-peer' }],
    ['a wrong MAC while anonymous is accepted', 'authn', 'accept', signed('pool-a', new Uint8Array(32)), { ok: false, reason: 'auth', detail: 'bad-mac' }],
    ['a stale element while anonymous is accepted', 'authn', 'accept', signed('pool-a', secret, t - 31_000), { ok: false, reason: 'auth', detail: 'stale' }],
    ['no element, anonymous refused', 'authn', 'refuse', data, { ok: false, reason: 'auth', detail: 'missing' }],
    ['no element, anonymous accepted', 'authn', 'accept', data, { ok: true, access: 'anonymous' }],
    ['no element, the policy admits', 'authn', (): string | null => null, data, { ok: true, access: 'anonymous' }],
    ['no element, the policy turns it away', 'authn', (): string | null => 'anonymous-limit', data, { ok: false, reason: 'anonymous-limit', detail: 'anonymous refused' }],
  ] as const)('%s', (_what, server, anonymous, proposed, expected) => {
    expect(admit(server === undefined ? undefined : authn(), anonymous, 1, proposed)).toEqual(expected);
  });

  it('a replayed element is refused even where anonymous clients are accepted (never downgraded)', () => {
    const a = authn();
    const p = signed('pool-a', secret);
    expect(admit(a, 'accept', 1, p).ok).toBe(true);
    expect(admit(a, 'accept', 1, p)).toEqual({ ok: false, reason: 'auth', detail: 'replay' });
  });

  it('asks the anonymous policy only for clients that would otherwise be admitted', async () => {
    let asked = 0;
    const policy = () => {
      asked++;
      return null;
    };
    const a = authn();
    // A network mismatch is refused before admission, a present element never reaches the policy.
    await run({ data: { ...TEST_NETWORK, networkMagic: 1 }, now: () => t }, { data: TEST_NETWORK, auth: a, anonymous: policy });
    await run({ data: TEST_NETWORK, auth: { peerId: 'pool-a', secret }, now: () => t }, { data: TEST_NETWORK, auth: a, anonymous: policy, now: () => t });
    expect(asked).toBe(0);
    await run({ data: TEST_NETWORK }, { data: TEST_NETWORK, auth: a, anonymous: policy });
    expect(asked).toBe(1);
  });

  it('drivers: an anonymous client is accepted without an auth element; an authenticated one gets its peer id', async () => {
    const anon = await run({ data: TEST_NETWORK, now: () => t }, { data: TEST_NETWORK, auth: authn(), anonymous: 'accept', now: () => t });
    expect(anon.s.status === 'fulfilled' && anon.s.value).toMatchObject({ access: 'anonymous', version: 1 });
    expect(anon.s.status === 'fulfilled' && anon.s.value.peerId).toBeUndefined();
    expect(anon.c.status === 'fulfilled' && anon.c.value.access).toBe('open');
    expect(decodeHandshake(anon.tb.sent[0]!.subarray(8))).toMatchObject({ type: 'AcceptVersion', data: { initiatorOnly: false } });
    expect((decodeHandshake(anon.tb.sent[0]!.subarray(8)) as { data: VersionData }).data.auth).toBeUndefined();
    expect(anon.a.closed || anon.b.closed).toBe(false);

    const peer = await run({ data: TEST_NETWORK, auth: { peerId: 'pool-a', secret }, now: () => t }, { data: TEST_NETWORK, auth: authn(), anonymous: 'accept', now: () => t });
    expect(peer.s.status === 'fulfilled' && peer.s.value).toMatchObject({ access: 'authenticated', peerId: 'pool-a' });
    expect(peer.c.status === 'fulfilled' && peer.c.value.access).toBe('authenticated');
    const open = await run({ data: TEST_NETWORK }, { data: TEST_NETWORK });
    expect(open.s.status === 'fulfilled' && open.s.value.access).toBe('open');
  });

  for (const [what, client] of [
    ['a wrong secret', { peerId: 'pool-a', secret: new Uint8Array(32) }],
    ['an unknown peer', { peerId: 'pool-x', secret }],
  ] as const) {
    it(`drivers: with anonymous accepted, ${what} is still refused with "auth" and 1008 handshake:refused`, async () => {
      const r = await run({ data: TEST_NETWORK, auth: client, now: () => t }, { data: TEST_NETWORK, auth: authn(), anonymous: 'accept' });
      expect(decodeHandshake(r.tb.sent[0]!.subarray(8))).toEqual({ type: 'Refuse', reason: { kind: 'refused', version: 1, message: 'auth' } });
      expect([r.b.closeError?.code, r.b.closeError?.reason]).toEqual([1008, 'handshake:refused']);
      expect(r.s.status).toBe('rejected');
    });
  }

  it('drivers: an anonymous client the policy turns away gets its reason and 1008 handshake:refused', async () => {
    const r = await run({ data: TEST_NETWORK }, { data: TEST_NETWORK, auth: authn(), anonymous: () => 'anonymous-limit' });
    expect(decodeHandshake(r.tb.sent[0]!.subarray(8))).toEqual({ type: 'Refuse', reason: { kind: 'refused', version: 1, message: 'anonymous-limit' } });
    expect(r.b.closeError?.reason).toBe('handshake:refused');
    expect(r.c.status === 'rejected' && String(r.c.reason)).toMatch(/anonymous-limit/);
  });
});
