import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { concatBytes, fromHex, toHex } from '../../bytes/index';
import { CborWriter } from '../../cbor/index';
import { blake2b224, blake2b256 } from '../../crypto/blake2b';
import { isLeader, leaderThresholdConstant, vrfProve } from '../../crypto/bls/index';
import { ed25519KeyFromSeed, ed25519Verify } from '../../crypto/ed25519';
import { DecodeError, ValidationError } from '../../errors/index';
import type { Epoch, Hash32 } from '../../types/index';
import { encodeCertificate } from '../certificate/index';
import { type CreatedGenesis, createGenesis, PoolSnapshot, type PoolSecrets } from '../genesis/index';
import { DEVNET_PARAMS, type ProtocolParams } from '../params/index';
import { type SlotClock, slotStartMs } from '../timing/index';
import {
  buildRb,
  buildRbHeader,
  DEFAULT_RB_LIMITS,
  decodeRbBlock,
  decodeRbBody,
  decodeRbHeader,
  encodeRbBlock,
  encodeRbBody,
  type RbHeader,
  type RbHeaderInput,
  validateBody,
  validateHeaderAgainstParent,
  validateHeaderStateless,
} from './index';

const reason = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    if (e instanceof DecodeError) return e.reason;
    throw e;
  }
  return 'ok';
};
const fieldOf = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    if (e instanceof ValidationError) return e.field;
    throw e;
  }
  return 'ok';
};

const COLD = new Uint8Array(32).fill(7);
const bytesN = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });

const headerInput: fc.Arbitrary<RbHeaderInput> = fc
  .record({
    blockNumber: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    slot: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
    prevHash: bytesN(32),
    vrfOutput: bytesN(32),
    vrfProof: bytesN(48),
    bodyHash: bytesN(32),
    bodySize: fc.nat({ max: 2 ** 40 }),
    certifiedEb: fc.boolean(),
    ebAnnouncement: fc.option(fc.record({ ebHash: bytesN(32), ebSize: fc.nat({ max: 0xffffffff }) })),
  })
  .map((f) => ({ ...f, prevHash: f.blockNumber === 1 ? null : f.prevHash }));

/** The ten fields encoded independently of the codec (test oracle for the signed bytes). */
function tenFields(h: RbHeader): Uint8Array {
  const w = new CborWriter().array(10).uint(h.blockNumber).uint(h.slot);
  if (h.prevHash === null) w.null();
  else w.bytes(h.prevHash);
  w.bytes(h.issuerPoolId).bytes(h.issuerColdVk).array(2).bytes(h.vrfOutput).bytes(h.vrfProof);
  w.bytes(h.bodyHash).uint(h.bodySize).bool(h.certifiedEb);
  if (h.ebAnnouncement === null) w.null();
  else w.array(2).bytes(h.ebAnnouncement.ebHash).uint(h.ebAnnouncement.ebSize);
  return w.finish();
}

describe('RB header codec (§4.1)', () => {
  it('round-trips: build → decode gives the same bytes and fields, signed over 8A || ten fields', () => {
    const { publicKey } = ed25519KeyFromSeed(COLD);
    fc.assert(
      fc.property(headerInput, (f) => {
        const h = buildRbHeader(f, COLD);
        const d = decodeRbHeader(h.bytes);
        expect(d.bytes).toBe(h.bytes);
        expect(toHex(d.hash)).toBe(toHex(blake2b256(h.bytes)));
        expect(d.blockNumber).toBe(f.blockNumber);
        expect(d.slot).toBe(f.slot);
        expect(d.prevHash === null ? null : toHex(d.prevHash)).toBe(f.prevHash === null ? null : toHex(f.prevHash));
        expect(toHex(d.issuerColdVk)).toBe(toHex(publicKey));
        expect(toHex(d.issuerPoolId)).toBe(toHex(blake2b224(publicKey)));
        expect(toHex(d.vrfOutput)).toBe(toHex(f.vrfOutput));
        expect(toHex(d.vrfProof)).toBe(toHex(f.vrfProof));
        expect(toHex(d.bodyHash)).toBe(toHex(f.bodyHash));
        expect(d.bodySize).toBe(f.bodySize);
        expect(d.certifiedEb).toBe(f.certifiedEb);
        expect(d.ebAnnouncement ? [toHex(d.ebAnnouncement.ebHash), d.ebAnnouncement.ebSize] : null).toEqual(
          f.ebAnnouncement ? [toHex(f.ebAnnouncement.ebHash), f.ebAnnouncement.ebSize] : null,
        );
        // §4.1: the signed bytes are 8A || received bytes of the first ten elements
        const ten = tenFields(d);
        expect(ten[0]).toBe(0x8a);
        expect(toHex(d.signedBytes())).toBe(toHex(ten));
        expect(toHex(d.bytes)).toBe(toHex(concatBytes(Uint8Array.of(0x8b), ten.subarray(1), Uint8Array.of(0x58, 0x40), d.signature)));
        expect(ed25519Verify(d.signature, d.signedBytes(), d.issuerColdVk)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it('§16 case 6: flipping any byte of a header breaks decoding or the signature', () => {
    const h = buildRbHeader(
      {
        blockNumber: 5,
        slot: 300,
        prevHash: new Uint8Array(32).fill(1),
        vrfOutput: new Uint8Array(32).fill(2),
        vrfProof: new Uint8Array(48).fill(3),
        bodyHash: new Uint8Array(32).fill(4),
        bodySize: 1000,
        certifiedEb: false,
        ebAnnouncement: { ebHash: new Uint8Array(32).fill(5), ebSize: 4000 },
      },
      COLD,
    );
    const { publicKey } = ed25519KeyFromSeed(COLD);
    for (let i = 0; i < h.bytes.length; i++) {
      for (const mask of [0x01, 0x80]) {
        const m = h.bytes.slice();
        m[i]! ^= mask;
        let ok = false;
        try {
          const d = decodeRbHeader(m);
          // verify against the genuine key (the issuer's registered cold key) and the carried one
          ok = ed25519Verify(d.signature, d.signedBytes(), publicKey) && ed25519Verify(d.signature, d.signedBytes(), d.issuerColdVk);
        } catch (e) {
          if (!(e instanceof DecodeError)) throw e;
        }
        expect(ok, `byte ${i} ^ ${mask}`).toBe(false);
      }
    }
  });

  it('rejects non-canonical encodings, wrong shapes and oversize headers', () => {
    const h = buildRbHeader(
      {
        blockNumber: 1,
        slot: 30,
        prevHash: null,
        vrfOutput: new Uint8Array(32),
        vrfProof: new Uint8Array(48),
        bodyHash: new Uint8Array(32),
        bodySize: 10,
        certifiedEb: false,
        ebAnnouncement: null,
      },
      COLD,
    );
    expect(toHex(h.bytes.subarray(0, 4))).toBe('8b01181e');
    // array head 9B 00..0B (non-minimal)
    expect(reason(() => decodeRbHeader(concatBytes(fromHex('98' + '0b'), h.bytes.subarray(1))))).toBe('non-canonical');
    // slot 30 as 19 001e
    expect(reason(() => decodeRbHeader(concatBytes(fromHex('8b0119001e'), h.bytes.subarray(4))))).toBe('non-canonical');
    expect(reason(() => decodeRbHeader(concatBytes(Uint8Array.of(0x8a), h.bytes.subarray(1))))).toBe('limit');
    expect(reason(() => decodeRbHeader(concatBytes(h.bytes, Uint8Array.of(0))))).toBe('trailing');
    expect(reason(() => decodeRbHeader(h.bytes.subarray(0, h.bytes.length - 1)))).toBe('truncated');
    expect(reason(() => decodeRbHeader(new Uint8Array(1101)))).toBe('limit');
    expect(reason(() => decodeRbHeader(h.bytes, h.bytes.length - 1))).toBe('limit');
    // eb_size must fit uint .size 4
    const big = buildRbHeader({ ...(h as RbHeaderInput), ebAnnouncement: { ebHash: new Uint8Array(32), ebSize: 0xffffffff } }, COLD);
    const i = big.bytes.length - 66 - 5;
    expect(toHex(big.bytes.subarray(i, i + 5))).toBe('1affffffff');
    const over = concatBytes(big.bytes.subarray(0, i), fromHex('1b0000000100000000'), big.bytes.subarray(i + 5));
    expect(reason(() => decodeRbHeader(over))).toBe('limit');
  });
});

describe('RB body and block codecs (§4.2)', () => {
  const tx = (n: number, fill: number) => new CborWriter().bytes(new Uint8Array(n).fill(fill)).finish();

  it('round-trips bodies and blocks; txs and certificate are exact spans (§16 case 5)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 3000 }), fc.nat(255)), { maxLength: 12 }), fc.boolean(), (specs, withCert) => {
        const txs = specs.map(([n, f]) => tx(n, f));
        const cert = withCert ? encodeCertificate(Uint8Array.of(0xf0), new Uint8Array(48).fill(9)) : null;
        const body = encodeRbBody({ txs: withCert ? [] : txs, certificate: cert });
        const again = decodeRbBody(body.bytes);
        expect(again.txs.map(toHex)).toEqual((withCert ? [] : txs).map(toHex));
        expect(again.certificate === null ? null : toHex(again.certificate)).toBe(cert === null ? null : toHex(cert));
        expect(again.topStakeCertificate?.signers).toEqual(cert ? Uint8Array.of(0xf0) : undefined);
        const rb = buildRb(
          { blockNumber: 2, slot: 99, prevHash: new Uint8Array(32), vrfOutput: new Uint8Array(32), vrfProof: new Uint8Array(48), ebAnnouncement: null, txs: withCert ? [] : txs, certificate: cert },
          COLD,
        );
        const d = decodeRbBlock(rb.bytes);
        // received → stored → served again: byte-identical, hashes of the received spans
        expect(toHex(encodeRbBlock(d.header, d.body).bytes)).toBe(toHex(rb.bytes));
        expect(toHex(d.header.bytes)).toBe(toHex(rb.header.bytes));
        expect(toHex(d.body.bytes)).toBe(toHex(rb.body.bytes));
        expect(toHex(d.header.hash)).toBe(toHex(blake2b256(rb.bytes.subarray(1, 1 + d.header.bytes.length))));
        expect(d.header.bytes.buffer).toBe(rb.bytes.buffer);
        d.body.txs.forEach((t, i) => {
          expect(t.buffer).toBe(rb.bytes.buffer);
          expect(toHex(t)).toBe(toHex(txs[i]!));
        });
        expect(() => validateBody(d.header, d.body)).not.toThrow();
      }),
      { numRuns: 60 },
    );
  });

  it('enforces S_RB, MAX_TX_SIZE and the certificate shape', () => {
    const lim = { ...DEFAULT_RB_LIMITS, maxRbBodySize: 100 };
    const small = encodeRbBody({ txs: [tx(50, 1)], certificate: null });
    expect(reason(() => decodeRbBody(small.bytes, lim))).toBe('ok');
    const big = encodeRbBody({ txs: [tx(50, 1), tx(50, 2)], certificate: null });
    expect(reason(() => decodeRbBody(big.bytes, lim))).toBe('limit');
    // inside a block, the body span is capped too
    expect(fieldOf(() => encodeRbBody({ txs: [tx(50, 1), tx(50, 2)], certificate: null }, lim))).toBe('rb_body');
    const huge = encodeRbBody({ txs: [tx(16_381, 1)], certificate: null });
    expect(huge.txs[0]!.length).toBe(16_384);
    expect(reason(() => decodeRbBody(encodeRbBody({ txs: [tx(16_382, 1)], certificate: null }, { ...DEFAULT_RB_LIMITS, maxTxSize: 20_000 }).bytes))).toBe('limit');
    // a tx must be one canonical item
    expect(reason(() => decodeRbBody(fromHex('82815900016100f6')))).toBe('non-canonical');
    expect(reason(() => decodeRbBody(fromHex('8281f7f6')))).toBe('unsupported');
    // top-stake certificate shape: [bytes, 48 bytes]
    expect(reason(() => decodeRbBody(concatBytes(fromHex('828082'), fromHex('41f0'), fromHex('582f'), new Uint8Array(47))))).toBe('limit');
    // in fait-accompli mode the certificate is kept raw
    const fa = decodeRbBody(fromHex('82808300f6f6'), { ...DEFAULT_RB_LIMITS, committeeMode: 'fait-accompli' });
    expect(toHex(fa.certificate!)).toBe('8300f6f6');
    expect(fa.topStakeCertificate).toBeNull();
  });

  it('fuzz: random and mutated blocks only raise DecodeError', () => {
    const rb = buildRb(
      { blockNumber: 3, slot: 1234, prevHash: new Uint8Array(32).fill(1), vrfOutput: new Uint8Array(32), vrfProof: new Uint8Array(48), ebAnnouncement: { ebHash: new Uint8Array(32), ebSize: 77 }, txs: [tx(40, 3), tx(300, 4)], certificate: null },
      COLD,
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (b) => {
        reason(() => decodeRbBlock(b));
        reason(() => decodeRbHeader(b));
        reason(() => decodeRbBody(b));
      }),
      { numRuns: 1500 },
    );
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'insert', 'delete'), (pos, byte, op) => {
        const at = pos % rb.bytes.length;
        const m =
          op === 'set'
            ? (() => {
                const c = rb.bytes.slice();
                c[at] = byte;
                return c;
              })()
            : op === 'insert'
              ? concatBytes(rb.bytes.subarray(0, at), Uint8Array.of(byte), rb.bytes.subarray(at))
              : concatBytes(rb.bytes.subarray(0, at), rb.bytes.subarray(at + 1));
        if (reason(() => decodeRbBlock(m)) === 'ok') {
          const d = decodeRbBlock(m);
          expect(toHex(encodeRbBlock(d.header, d.body).bytes)).toBe(toHex(m));
        }
      }),
      { numRuns: 1500 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Validation with real keys

/** f = 1/2 so that leader slots are frequent; two pools. */
const PARAMS: ProtocolParams = { ...DEVNET_PARAMS, activeSlotCoeff: { num: 1n, den: 2n } };
let net: CreatedGenesis;
let clock: SlotClock;
let snap: PoolSnapshot;
let leaderSlots: number[];
let nonLeaderSlot: number;

function header(pool: PoolSecrets, slot: number, over: Partial<RbHeaderInput> = {}, eta = net.genesis.initialNonce): RbHeader {
  const { proof, output } = vrfProve(pool.vrfSecretKey, eta, slot);
  return buildRbHeader(
    {
      blockNumber: 2,
      slot,
      prevHash: new Uint8Array(32).fill(8),
      vrfOutput: output,
      vrfProof: proof,
      bodyHash: new Uint8Array(32),
      bodySize: 100,
      certifiedEb: false,
      ebAnnouncement: { ebHash: new Uint8Array(32).fill(6), ebSize: 1000 },
      ...over,
    },
    pool.coldSecretKey,
  );
}

beforeAll(() => {
  net = createGenesis({
    pools: [
      { stake: 900n, seed: 'rb-a' },
      { stake: 100n, seed: 'rb-b' },
    ],
    systemStart: Date.UTC(2026, 10, 24),
    params: PARAMS,
  });
  clock = { systemStartMs: net.genesis.systemStartMs, slotLengthMs: 1000 };
  snap = new PoolSnapshot(0 as Epoch, net.genesis.initialNonce, net.genesis.pools);
  const a = net.pools[0]!;
  const C = leaderThresholdConstant(PARAMS.activeSlotCoeff);
  leaderSlots = [];
  nonLeaderSlot = -1;
  for (let s = 1; leaderSlots.length < 3 || nonLeaderSlot < 0; s++) {
    const { output } = vrfProve(a.vrfSecretKey, net.genesis.initialNonce, s);
    if (isLeader(output, 900n, 1000n, C)) leaderSlots.push(s);
    else if (nonLeaderSlot < 0) nonLeaderSlot = s;
  }
});


describe('stateless header validation (§4.1, §10.4)', () => {
  const ctx = (nowSlot: number) => ({ snapshot: snap, params: PARAMS, clock, nowMs: slotStartMs(clock, nowSlot) });

  it('accepts a leader header and rejects each broken rule, naming the field', () => {
    const a = net.pools[0]!;
    const b = net.pools[1]!;
    const s = leaderSlots[0]!;
    const good = header(a, s);
    expect(fieldOf(() => validateHeaderStateless(good, ctx(s)))).toBe('ok');
    // not in the future: slot <= slot(now + MAX_SKEW)
    expect(fieldOf(() => validateHeaderStateless(good, ctx(s - 1)))).toBe('ok');
    expect(fieldOf(() => validateHeaderStateless(good, { ...ctx(s - 1), nowMs: slotStartMs(clock, s - 1) - 1 }))).toBe('rb_header.slot');
    expect(fieldOf(() => validateHeaderStateless(header(a, s, { bodySize: PARAMS.maxRbBodySize + 1 }), ctx(s)))).toBe('rb_header.body_size');
    expect(fieldOf(() => validateHeaderStateless(header(a, s, { bodySize: PARAMS.maxRbBodySize }), ctx(s)))).toBe('ok');
    expect(fieldOf(() => validateHeaderStateless(header(a, s, { ebAnnouncement: { ebHash: new Uint8Array(32), ebSize: 0 } }), ctx(s)))).toBe('rb_header.eb_announcement.eb_size');
    expect(fieldOf(() => validateHeaderStateless(header(a, s, { ebAnnouncement: { ebHash: new Uint8Array(32), ebSize: PARAMS.maxEbSize + 1 } }), ctx(s)))).toBe('rb_header.eb_announcement.eb_size');
    expect(fieldOf(() => validateHeaderStateless(header(a, s, { ebAnnouncement: { ebHash: new Uint8Array(32), ebSize: PARAMS.maxEbSize } }), ctx(s)))).toBe('ok');
    expect(fieldOf(() => validateHeaderStateless(header(a, s, { blockNumber: 1 }), ctx(s)))).toBe('rb_header.prev_hash');
    expect(fieldOf(() => validateHeaderStateless(header(a, s, { blockNumber: 1, prevHash: null }), ctx(s)))).toBe('ok');
    // not leader in this slot
    expect(fieldOf(() => validateHeaderStateless(header(a, nonLeaderSlot), ctx(nonLeaderSlot)))).toBe('rb_header.leader_vrf.output');
    // §16 case 29: output ≠ H256(proof)
    const { proof } = vrfProve(a.vrfSecretKey, net.genesis.initialNonce, s);
    const otherOutput = blake2b256(concatBytes(proof, Uint8Array.of(1)));
    const forged = header(a, s, { vrfOutput: otherOutput });
    const check = fieldOf(() => validateHeaderStateless(forged, ctx(s)));
    expect(['rb_header.leader_vrf', 'rb_header.leader_vrf.output']).toContain(check);
    // a proof from the wrong nonce (or for another slot) fails the VRF check even when it leads
    let reachedVrf = false;
    for (let t = 0; t < 40 && !reachedVrf; t++) {
      const wrongEta = blake2b256(Uint8Array.of(t)) as Hash32;
      const h = header(a, s, {}, wrongEta);
      const r = fieldOf(() => validateHeaderStateless(h, ctx(s)));
      if (r !== 'rb_header.leader_vrf.output') {
        expect(r).toBe('rb_header.leader_vrf');
        reachedVrf = true;
      }
    }
    expect(reachedVrf).toBe(true);
    // a pool of another network / not in the snapshot
    const stranger = createGenesis({ pools: [{ stake: 1n, seed: 'stranger' }], systemStart: 0 }).pools[0]!;
    expect(fieldOf(() => validateHeaderStateless(header(stranger, s), ctx(s)))).toBe('rb_header.issuer_pool_id');
    // a header signed by pool b's cold key but claiming pool a's VRF proof: b is rarely leader at 10%
    const hb = header(b, s, { vrfOutput: good.vrfOutput, vrfProof: good.vrfProof });
    expect(['rb_header.leader_vrf', 'rb_header.leader_vrf.output']).toContain(fieldOf(() => validateHeaderStateless(hb, ctx(s))));
    // a snapshot of another epoch is refused
    expect(fieldOf(() => validateHeaderStateless(good, { ...ctx(s), snapshot: new PoolSnapshot(1 as Epoch, snap.nonce, snap.pools) }))).toBe('rb_header.slot');
  });

  it('rejects a bad signature and a cold key that does not match the pool', () => {
    const a = net.pools[0]!;
    const s = leaderSlots[1]!;
    const good = header(a, s);
    const badSig = good.bytes.slice();
    badSig[badSig.length - 1]! ^= 1;
    expect(fieldOf(() => validateHeaderStateless(decodeRbHeader(badSig), ctx(s)))).toBe('rb_header.signature');
    // same fields signed by another key that claims a's pool id: H224(cold_vk) mismatch
    const w = new CborWriter().array(11).uint(good.blockNumber).uint(good.slot).bytes(good.prevHash!);
    const other = ed25519KeyFromSeed(new Uint8Array(32).fill(3));
    w.bytes(good.issuerPoolId).bytes(other.publicKey);
    const afterColdVk = good.issuerColdVk.byteOffset - good.bytes.byteOffset + 32;
    w.raw(good.bytes.subarray(afterColdVk));
    const swapped = decodeRbHeader(w.finish());
    expect(fieldOf(() => validateHeaderStateless(swapped, ctx(s)))).toBe('rb_header.issuer_pool_id');
  });

  it('a pool whose VRF PoP fails never leads', () => {
    const a = net.pools[0]!;
    const s = leaderSlots[2]!;
    const pools = net.genesis.pools.map((p, i) => (i === 0 ? { ...p, vrfKey: { vk: p.vrfKey.vk, pop: net.genesis.pools[1]!.vrfKey.pop } } : p));
    const badSnap = new PoolSnapshot(0 as Epoch, snap.nonce, pools);
    expect(fieldOf(() => validateHeaderStateless(header(a, s), { ...ctx(s), snapshot: badSnap }))).toBe('rb_header.leader_vrf');
  });
});

describe('header against parent (§4.1, §7.2)', () => {
  const base = (over: Partial<RbHeaderInput>) =>
    buildRbHeader(
      {
        blockNumber: 1,
        slot: 100,
        prevHash: null,
        vrfOutput: new Uint8Array(32),
        vrfProof: new Uint8Array(48),
        bodyHash: new Uint8Array(32),
        bodySize: 0,
        certifiedEb: false,
        ebAnnouncement: null,
        ...over,
      },
      COLD,
    );

  it('checks block number, prev hash, slot order', () => {
    const first = base({ ebAnnouncement: { ebHash: new Uint8Array(32), ebSize: 10 } });
    expect(fieldOf(() => validateHeaderAgainstParent(first, null, PARAMS))).toBe('ok');
    expect(fieldOf(() => validateHeaderAgainstParent(base({ blockNumber: 2, prevHash: new Uint8Array(32) }), null, PARAMS))).toBe('rb_header.block_number');
    expect(fieldOf(() => validateHeaderAgainstParent(base({ certifiedEb: true }), null, PARAMS))).toBe('rb_header.certified_eb');
    const child = (over: Partial<RbHeaderInput>) => base({ blockNumber: 2, slot: 101, prevHash: first.hash, ...over });
    expect(fieldOf(() => validateHeaderAgainstParent(child({}), first, PARAMS))).toBe('ok');
    expect(fieldOf(() => validateHeaderAgainstParent(child({ blockNumber: 3 }), first, PARAMS))).toBe('rb_header.block_number');
    expect(fieldOf(() => validateHeaderAgainstParent(child({ prevHash: new Uint8Array(32) }), first, PARAMS))).toBe('rb_header.prev_hash');
    expect(fieldOf(() => validateHeaderAgainstParent(child({ slot: 100 }), first, PARAMS))).toBe('rb_header.slot');
  });

  it('§16 case 22: a certificate at s+13 or in a grandchild is invalid; s+14 in the child is valid', () => {
    const parent = base({ ebAnnouncement: { ebHash: new Uint8Array(32), ebSize: 10 } });
    const cert = (slot: number) => base({ blockNumber: 2, slot, prevHash: parent.hash, certifiedEb: true });
    expect(fieldOf(() => validateHeaderAgainstParent(cert(113), parent, PARAMS))).toBe('rb_header.certified_eb');
    expect(fieldOf(() => validateHeaderAgainstParent(cert(114), parent, PARAMS))).toBe('ok');
    // the child does not certify; the grandchild tries to certify the grandparent's EB
    const child = base({ blockNumber: 2, slot: 105, prevHash: parent.hash });
    const grandchild = base({ blockNumber: 3, slot: 130, prevHash: child.hash, certifiedEb: true });
    expect(fieldOf(() => validateHeaderAgainstParent(grandchild, child, PARAMS))).toBe('rb_header.certified_eb');
  });
});

describe('body against header (§4.2)', () => {
  const cert = encodeCertificate(Uint8Array.of(0x80), new Uint8Array(48).fill(1));
  const tx = new CborWriter().bytes(new Uint8Array(20)).finish();
  const rb = (txs: Uint8Array[], certificate: Uint8Array | null) =>
    buildRb({ blockNumber: 2, slot: 200, prevHash: new Uint8Array(32), vrfOutput: new Uint8Array(32), vrfProof: new Uint8Array(48), ebAnnouncement: null, txs, certificate }, COLD);

  it('§16 case 23: a CertRB with txs, or a certified_eb flag disagreeing with the body, is invalid', () => {
    const ok = rb([], cert);
    expect(ok.header.certifiedEb).toBe(true);
    expect(fieldOf(() => validateBody(ok.header, ok.body))).toBe('ok');
    const withTxs = encodeRbBody({ txs: [tx], certificate: cert });
    expect(fieldOf(() => validateBody({ bodyHash: withTxs.hash, bodySize: withTxs.bytes.length, certifiedEb: true }, withTxs))).toBe('rb_body.txs');
    const txRb = rb([tx], null);
    expect(fieldOf(() => validateBody({ ...pick(txRb.header), certifiedEb: true }, txRb.body))).toBe('rb_body.certificate');
    expect(fieldOf(() => validateBody({ ...pick(ok.header), certifiedEb: false }, ok.body))).toBe('rb_body.certificate');
  });

  it('checks body hash and size', () => {
    const a = rb([tx], null);
    const b = rb([tx, tx], null);
    expect(fieldOf(() => validateBody(a.header, b.body))).toBe('rb_body');
    expect(fieldOf(() => validateBody({ ...pick(a.header), bodyHash: b.body.hash }, a.body))).toBe('rb_body');
    const sameLen = encodeRbBody({ txs: [new CborWriter().bytes(new Uint8Array(20).fill(1)).finish()], certificate: null });
    expect(sameLen.bytes.length).toBe(a.body.bytes.length);
    expect(fieldOf(() => validateBody(a.header, sameLen))).toBe('rb_body');
  });
});

function pick(h: RbHeader) {
  return { bodyHash: h.bodyHash, bodySize: h.bodySize, certifiedEb: h.certifiedEb };
}
