import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex } from '../../bytes/index';
import { CborWriter, encodeValue } from '../../cbor/index';
import { ProtocolViolation } from '../../errors/index';
import type { Hash32, Slot } from '../../types/index';
import { DEFAULT_LIMITS, type Point, raw } from '../common/index';
import { encodeSegment, splitMessage } from '../mux/index';
import { decodesOrViolates, handshakenPair, mutate, sendRaw, settle } from '../testing/index';
import { point, rawItem } from '../testing/arb/index';
import { BlockFetchClient, type BlockFetchMessage, BlockFetchServer, decodeBlockFetch, encodeBlockFetch } from './index';

const decode = (b: Uint8Array) => decodeBlockFetch(b, DEFAULT_LIMITS);
const message: fc.Arbitrary<BlockFetchMessage> = fc.oneof(
  fc.record({ type: fc.constant('RequestRange' as const), from: point, to: point }),
  fc.constantFrom(
    { type: 'ClientDone' as const },
    { type: 'StartBatch' as const },
    { type: 'NoBlocks' as const },
    { type: 'BatchDone' as const },
  ),
  rawItem(3000).map((block) => ({ type: 'Block' as const, block })),
);

describe('block-fetch codec (§9)', () => {
  it('round-trips byte-exactly', () => {
    fc.assert(
      fc.property(message, (m) => {
        const enc = encodeBlockFetch(m);
        expect(toHex(encodeBlockFetch(decode(enc)))).toBe(toHex(enc));
      }),
    );
  });

  it('caps a Block at S_RB + 8,192 B', () => {
    const ok = new CborWriter().array(2).uint(4).raw(encodeValue(new Uint8Array(90_000))).finish();
    expect(decode(ok).type).toBe('Block');
    const big = new CborWriter().array(2).uint(4).raw(encodeValue(new Uint8Array(DEFAULT_LIMITS.maxRbBodySize + 8_192))).finish();
    let v: unknown;
    try {
      decode(big);
    } catch (e) {
      v = e;
    }
    expect(v instanceof ProtocolViolation && v.reason).toBe('block-fetch:limit');
  });

  it('fuzz: random and mutated bytes raise only ProtocolViolation', () => {
    fc.assert(
      fc.property(message, fc.uint8Array({ maxLength: 64 }), fc.nat(), (m, noise, seed) => {
        decodesOrViolates(decode, noise);
        decodesOrViolates(decode, mutate(encodeBlockFetch(m), seed));
      }),
    );
  });
});

const pt = (s: number): Point => ({ slot: s as Slot, hash: new Uint8Array(32).fill(s) as Hash32 });
const block = (s: number) => encodeValue([s, new Uint8Array(2_000 + s)]);

describe('block-fetch drivers', () => {
  it('stream ranges; 4 pipelined requests answered in order; NoBlocks', async () => {
    const { a, b } = await handshakenPair();
    b.register(
      new BlockFetchServer({
        range: async (from, to) => {
          if (!from || !to) return null;
          const out: Uint8Array[] = [];
          for (let s = from.slot; s <= to.slot; s++) out.push(block(s));
          // Out-of-order completion: the later the range, the faster the store.
          await new Promise((r) => setTimeout(r, 20 - from.slot));
          return out;
        },
      }),
    );
    const client = new BlockFetchClient();
    a.register(client);
    const seen: number[] = [];
    const reqs = [
      client.requestRange(pt(1), pt(3), (blk) => seen.push(blk.bytes.length)),
      client.requestRange(pt(4), pt(4)),
      client.requestRange(null, null),
      client.requestRange(pt(5), pt(9)),
    ];
    expect(client.canRequest).toBe(false);
    const [r1, r2, r3, r4] = await Promise.all(reqs);
    expect(r1!.map((x) => toHex(x.bytes))).toEqual([1, 2, 3].map((s) => toHex(block(s))));
    expect(r2!.length).toBe(1);
    expect(r3).toBeNull();
    expect(r4!.length).toBe(5);
    expect(seen.length).toBe(3);
  });

  it('a 5th pipelined range is block-fetch:limit; more than 100 blocks in a batch is block-fetch:limit', async () => {
    const p = await handshakenPair();
    p.b.register(new BlockFetchServer({ range: () => new Promise(() => {}) }));
    const req = encodeBlockFetch({ type: 'RequestRange', from: pt(1), to: pt(2) });
    for (let i = 0; i < 4; i++) sendRaw(p.ta, 3, 0, req);
    await settle();
    expect(p.b.closed).toBe(false);
    sendRaw(p.ta, 3, 0, req);
    await settle();
    expect(p.b.closeError?.reason).toBe('block-fetch:limit');

    const q = await handshakenPair();
    q.ta.tap = () => {};
    const c = new BlockFetchClient();
    q.a.register(c);
    const r = c.requestRange(pt(1), pt(200));
    r.catch(() => {});
    await settle();
    sendRaw(q.tb, 3, 1, encodeBlockFetch({ type: 'StartBatch' }));
    for (let i = 0; i < 101; i++) sendRaw(q.tb, 3, 1, encodeBlockFetch({ type: 'Block', block: raw(encodeValue(i)) }));
    await settle();
    expect(q.a.closeError?.reason).toBe('block-fetch:limit');
    await expect(r).rejects.toThrow();
  });

  it('StStreaming times out after 60 s of inactivity, restarted by each arriving segment', async () => {
    const q = await handshakenPair();
    q.ta.tap = () => {};
    const c = new BlockFetchClient();
    q.a.register(c);
    c.requestRange(pt(1), pt(2)).catch(() => {});
    await settle();
    sendRaw(q.tb, 3, 1, encodeBlockFetch({ type: 'StartBatch' }));
    await settle();
    for (let i = 0; i < 5; i++) {
      q.clock.advance(50_000);
      sendRaw(q.tb, 3, 1, encodeBlockFetch({ type: 'Block', block: raw(encodeValue(i)) }));
      await settle();
    }
    // One 30 kB Block whose three segments arrive 50 s apart: each segment restarts the timer.
    const big = encodeBlockFetch({ type: 'Block', block: raw(encodeValue(new Uint8Array(30_000))) });
    for (const seg of splitMessage(3, 1, big, 0)) {
      q.clock.advance(50_000);
      q.tb.send(encodeSegment(seg));
      await settle();
    }
    expect(q.a.closed).toBe(false);
    q.clock.advance(60_000);
    expect(q.a.closeError?.reason).toBe('block-fetch:timeout');
  });
});
