import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../bytes/index';
import { CborWriter, encodeValue } from '../../cbor/index';
import { blake2b256 } from '../../crypto/blake2b';
import { DecodeError, ProtocolViolation } from '../../errors/index';
import type { Hash32, Slot } from '../../types/index';
import { DEFAULT_LIMITS, type EbPoint, raw } from '../common/index';
import { decodesOrViolates, handshakenPair, mutate, sendRaw, settle } from '../testing/index';
import { ebPoint, rawItem } from '../testing/arb/index';
import {
  bitmapCount,
  bitmapFromIndices,
  checkBitmapForEb,
  decodeLeiosFetch,
  decodeTxBitmap,
  encodeLeiosFetch,
  indicesFromBitmap,
  LeiosFetchClient,
  type LeiosFetchMessage,
  LeiosFetchServer,
  type TxBitmap,
} from './index';

const L = DEFAULT_LIMITS;
const decode = (b: Uint8Array) => decodeLeiosFetch(b, L);
const bitmap = fc.uniqueArray(fc.nat({ max: 3000 }), { minLength: 1, maxLength: 64 }).chain((ix) =>
  fc.boolean().map((definite) => bitmapFromIndices(ix, { definite })),
);
const message: fc.Arbitrary<LeiosFetchMessage> = fc.oneof(
  ebPoint.map((point) => ({ type: 'BlockRequest' as const, point })),
  rawItem(2000).map((eb) => ({ type: 'Block' as const, eb })),
  fc.record({ type: fc.constant('BlockTxsRequest' as const), point: ebPoint, bitmap }),
  fc.record({ type: fc.constant('BlockTxs' as const), point: ebPoint, bitmap, txs: fc.array(rawItem(500), { maxLength: 5 }) }),
  fc.constant({ type: 'Done' as const }),
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

/** BlockTxsRequest bytes with a hand-written bitmap. */
function requestWithBitmap(bitmapBytes: Uint8Array): Uint8Array {
  return new CborWriter().array(3).uint(2).array(2).uint(5).bytes(new Uint8Array(32)).raw(bitmapBytes).finish();
}

describe('tx bitmap (§10.3)', () => {
  it('§16 case 32: {0: 0x8000000000000000} is tx 0, {1: 1} is tx 127', () => {
    expect(indicesFromBitmap(decodeTxBitmap(fromHex('a1001b8000000000000000')))).toEqual([0]);
    expect(indicesFromBitmap(decodeTxBitmap(fromHex('a10101')))).toEqual([127]);
    expect(toHex(bitmapFromIndices([0], { definite: true }).bytes)).toBe('a1001b8000000000000000');
    expect(toHex(bitmapFromIndices([127], { definite: true }).bytes)).toBe('a10101');
    expect(toHex(bitmapFromIndices([127]).bytes)).toBe('bf0101ff');
  });

  it('round-trips indices through bitmaps, definite and indefinite', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.nat({ max: 65_535 * 64 }), { minLength: 1, maxLength: 200 }), fc.boolean(), (ix, definite) => {
        const b = bitmapFromIndices(ix, { definite });
        const d = decodeTxBitmap(b.bytes);
        expect(indicesFromBitmap(d)).toEqual([...ix].sort((x, y) => x - y));
        expect(bitmapCount(d)).toBe(ix.length);
        expect(toHex(d.bytes)).toBe(toHex(b.bytes));
      }),
    );
  });

  it('§16 case 31: 1,025 entries, descending keys or a zero value are protocol violations', () => {
    const many = new CborWriter().indefiniteMap();
    for (let k = 0; k < 1025; k++) many.uint(k).uint(1);
    const cases: Array<[string, Uint8Array, string]> = [
      ['1,025 entries (indefinite)', many.end().finish(), 'leios-fetch:limit'],
      ['1,025 entries (definite)', (() => {
        const w = new CborWriter().map(1025);
        for (let k = 0; k < 1025; k++) w.uint(k).uint(1);
        return w.finish();
      })(), 'leios-fetch:limit'],
      ['descending keys', fromHex('a202010101'), 'leios-fetch:malformed'],
      ['equal keys', fromHex('bf01010101ff'), 'leios-fetch:malformed'],
      ['zero value', fromHex('a10100'), 'leios-fetch:malformed'],
      ['empty', fromHex('a0'), 'leios-fetch:malformed'],
      ['empty indefinite', fromHex('bfff'), 'leios-fetch:malformed'],
      ['key above uint16', fromHex('a11a0001000001'), 'leios-fetch:limit'],
      ['non-canonical key', fromHex('a1180101'), 'leios-fetch:malformed'],
    ];
    for (const [what, bm, reason] of cases) {
      expect(violation(() => decode(requestWithBitmap(bm))).reason, what).toBe(reason);
    }
    // exactly 1,024 entries is fine
    const ok = new CborWriter().indefiniteMap();
    for (let k = 0; k < 1024; k++) ok.uint(k).uint(1);
    expect(() => decode(requestWithBitmap(ok.end().finish()))).not.toThrow();
  });

  it('§16 case 31: an index beyond the EB is a protocol violation (unheld); selected bytes are capped', () => {
    const sizes = [100, 100, 100];
    expect(() => checkBitmapForEb(bitmapFromIndices([0, 2]), sizes, L)).not.toThrow();
    const v = violation(() => checkBitmapForEb(bitmapFromIndices([3]), sizes, L));
    expect([v.closeCode, v.reason]).toEqual([1008, 'leios-fetch:unheld']);
    const big = Array.from({ length: 300 }, () => 16_384);
    expect(violation(() => checkBitmapForEb(bitmapFromIndices(Array.from({ length: 300 }, (_, i) => i)), big, L)).reason).toBe(
      'leios-fetch:limit',
    );
  });

  it('standalone decode throws DecodeError (for the HTTP route)', () => {
    expect(() => decodeTxBitmap(fromHex('a10100'))).toThrow(DecodeError);
  });
});

describe('LeiosFetch codec', () => {
  it('round-trips byte-exactly and keeps raw spans', () => {
    fc.assert(
      fc.property(message, (m) => {
        const enc = encodeLeiosFetch(m);
        const d = decode(enc);
        expect(toHex(encodeLeiosFetch(d))).toBe(toHex(enc));
        if (d.type === 'Block') expect(toHex(enc.subarray(d.eb.offset!, d.eb.offset! + d.eb.bytes.length))).toBe(toHex(d.eb.bytes));
        if (d.type === 'BlockTxs') for (const t of d.txs) expect(t.bytes.buffer).toBe(enc.buffer);
      }),
    );
  });

  it('enforces the §11 message caps', () => {
    const bigReq = new CborWriter().array(2).uint(0).array(2).uint(5).bytes(new Uint8Array(60)).finish();
    expect(violation(() => decode(bigReq)).reason).toBe('leios-fetch:limit'); // BlockRequest > 64 B
    const eb = encodeValue(new Uint8Array(L.maxEbSize + 1));
    expect(violation(() => decode(new CborWriter().array(2).uint(1).raw(eb).finish())).reason).toBe('leios-fetch:limit');
    const tooManyTxs = new CborWriter().array(4).uint(3).array(2).uint(1).bytes(new Uint8Array(32)).raw(bitmapFromIndices([0]).bytes).array(4097);
    for (let i = 0; i < 4097; i++) tooManyTxs.uint(0);
    expect(violation(() => decode(tooManyTxs.finish())).reason).toBe('leios-fetch:limit');
  });

  it('fuzz: random and mutated bytes raise only ProtocolViolation', () => {
    fc.assert(
      fc.property(message, fc.uint8Array({ maxLength: 64 }), fc.nat(), (m, noise, seed) => {
        decodesOrViolates(decode, noise);
        decodesOrViolates(decode, mutate(encodeLeiosFetch(m), seed));
      }),
    );
  });
});

/** A small in-memory EB store: an EB of `n` opaque txs. */
function makeEb(n: number, slot = 42) {
  const txs = Array.from({ length: n }, (_, i) => encodeValue(new Uint8Array(50 + (i % 7)).fill(i & 0xff)));
  const refs = txs.map((t) => ({ hash: blake2b256(t), size: t.length }));
  const w = new CborWriter().map(n);
  for (const r of refs) w.bytes(r.hash).uint(r.size);
  const eb = w.finish();
  const point: EbPoint = { slot: slot as Slot, hash: blake2b256(eb) };
  return { txs, refs, eb, point };
}

async function fetchPair(ebs: ReturnType<typeof makeEb>[]) {
  const p = await handshakenPair();
  const find = (pt: EbPoint) => ebs.find((e) => toHex(e.point.hash) === toHex(pt.hash));
  const client = new LeiosFetchClient();
  const server = new LeiosFetchServer({
    block: async (pt) => {
      const e = find(pt);
      return e ? { eb: e.eb } : null;
    },
    blockTxs: async (pt, bm: TxBitmap) => {
      const e = find(pt);
      if (!e) return null;
      checkBitmapForEb(bm, e.refs.map((r) => r.size), L);
      return { txs: indicesFromBitmap(bm).map((i) => e.txs[i]!) };
    },
  });
  p.a.register(client);
  p.b.register(server);
  return { ...p, client, server };
}

describe('LeiosFetch drivers', () => {
  it('fetch an EB and its txs; the reply echoes point and exact bitmap bytes (§16 case 32)', async () => {
    const e = makeEb(200);
    const { client, tb } = await fetchPair([e]);
    const got = await client.requestBlock(e.point);
    expect(toHex(got.bytes)).toBe(toHex(e.eb));
    for (const definite of [true, false]) {
      for (const ix of [[0], [127], [0, 5, 64, 199]]) {
        const bm = bitmapFromIndices(ix, { definite });
        const txs = await client.requestTxs(e.point, bm, ix.map((i) => e.refs[i]!));
        expect(txs.map((t) => toHex(t.bytes))).toEqual(ix.map((i) => toHex(e.txs[i]!)));
      }
    }
    // The last BlockTxs on the wire carries the request's bitmap bytes verbatim.
    const last = decode(tb.sent[tb.sent.length - 1]!.subarray(8));
    expect(last.type === 'BlockTxs' && toHex(last.bitmap.bytes)).toBe(toHex(bitmapFromIndices([0, 5, 64, 199]).bytes));
  });

  it('pipelines up to 16 requests, replies in order', async () => {
    const ebs = Array.from({ length: 16 }, (_, i) => makeEb(3 + i, 100 + i));
    const { client } = await fetchPair(ebs);
    const all = ebs.map((e) => client.requestBlock(e.point));
    expect(client.outstanding).toBe(16);
    expect(client.canRequest).toBe(false);
    await expect(client.requestBlock(ebs[0]!.point)).rejects.toThrow(/may not send/);
    const got = await Promise.all(all);
    expect(got.map((g) => toHex(g.bytes))).toEqual(ebs.map((e) => toHex(e.eb)));
  });

  it('a 17th pipelined request from the peer is leios-fetch:limit (1008)', async () => {
    const { a, b, ta } = await handshakenPair();
    a.register(new LeiosFetchClient());
    // A server whose store is slow: no reply comes back while the requests pile up.
    b.register(new LeiosFetchServer({ block: () => new Promise(() => {}), blockTxs: () => new Promise(() => {}) }));
    const req = encodeLeiosFetch({ type: 'BlockRequest', point: { slot: 1 as Slot, hash: new Uint8Array(32) as Hash32 } });
    for (let i = 0; i < 16; i++) sendRaw(ta, 19, 0, req);
    await settle();
    expect(b.closed).toBe(false);
    sendRaw(ta, 19, 0, req);
    await settle();
    expect([b.closeError?.code, b.closeError?.reason]).toEqual([1008, 'leios-fetch:limit']);
  });

  it('a request for an EB not held closes with leios-fetch:unheld', async () => {
    const { client, b } = await fetchPair([]);
    await expect(client.requestBlock({ slot: 1 as Slot, hash: new Uint8Array(32) as Hash32 })).rejects.toThrow();
    expect([b.closeError?.code, b.closeError?.reason]).toEqual([1008, 'leios-fetch:unheld']);
  });

  it('a bitmap index beyond the EB closes with leios-fetch:unheld', async () => {
    const e = makeEb(10);
    const { client, b } = await fetchPair([e]);
    await expect(client.requestTxs(e.point, bitmapFromIndices([10]))).rejects.toThrow();
    expect(b.closeError?.reason).toBe('leios-fetch:unheld');
  });

  it('the client closes on a Block that does not hash to eb_hash, and on a wrong echo', async () => {
    const e = makeEb(4);
    const p = await fetchPair([{ ...e, eb: encodeValue(new Uint8Array(3)) }]);
    await expect(p.client.requestBlock(e.point)).rejects.toThrow();
    expect(p.a.closeError?.reason).toBe('leios-fetch:malformed');
    expect(p.a.closeError?.error?.message).toMatch(/eb_hash/);

    const q = await handshakenPair();
    const client = new LeiosFetchClient();
    q.a.register(client);
    q.ta.tap = () => {}; // the request never reaches b; b answers by hand below
    const pending = client.requestTxs(e.point, bitmapFromIndices([1], { definite: false }));
    pending.catch(() => {});
    await settle();
    // Same selection, but definite encoding: not the exact request bytes.
    sendRaw(q.tb, 19, 1, encodeLeiosFetch({ type: 'BlockTxs', point: e.point, bitmap: bitmapFromIndices([1], { definite: true }), txs: [raw(e.txs[1]!)] }));
    await expect(pending).rejects.toThrow();
    expect(q.a.closeError?.reason).toBe('leios-fetch:agency');
    expect(q.a.closeError?.error?.message).toMatch(/bitmap bytes/);
  });

  it('a reply without a request is leios-fetch:agency; StBlock times out after 10 s', async () => {
    const e = makeEb(2);
    const p = await handshakenPair();
    const client = new LeiosFetchClient();
    p.a.register(client);
    sendRaw(p.tb, 19, 1, encodeLeiosFetch({ type: 'Block', eb: raw(e.eb) }));
    await settle();
    expect(p.a.closeError?.reason).toBe('leios-fetch:agency');

    const q = await handshakenPair();
    const c2 = new LeiosFetchClient();
    q.a.register(c2);
    q.ta.tap = () => {}; // the request is lost
    const r = c2.requestBlock(e.point);
    r.catch(() => {});
    await settle();
    q.clock.advance(9_999);
    expect(q.a.closed).toBe(false);
    q.clock.advance(1);
    expect(q.a.closeError?.reason).toBe('leios-fetch:timeout');
  });
});
