import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex } from '../../bytes/index';
import { CborWriter, encodeValue } from '../../cbor/index';
import { ProtocolViolation } from '../../errors/index';
import type { BlockNo, Hash32, Slot } from '../../types/index';
import { DEFAULT_LIMITS, type Point, raw, type Tip } from '../common/index';
import { decodesOrViolates, handshakenPair, mutate, sendRaw, settle } from '../testing/index';
import { point, rawItem, tip } from '../testing/arb/index';
import {
  type ChainSyncMessage,
  ChainSyncClient,
  ChainSyncServer,
  type ChainUpdate,
  decodeChainSync,
  encodeChainSync,
} from './index';

const decode = (b: Uint8Array) => decodeChainSync(b, DEFAULT_LIMITS);
const message: fc.Arbitrary<ChainSyncMessage> = fc.oneof(
  fc.constantFrom({ type: 'RequestNext' as const }, { type: 'AwaitReply' as const }, { type: 'Done' as const }),
  fc.record({ type: fc.constant('RollForward' as const), header: rawItem(1000), tip }),
  fc.record({ type: fc.constantFrom('RollBackward' as const, 'IntersectFound' as const), point, tip }),
  fc.record({ type: fc.constant('FindIntersect' as const), points: fc.array(point, { minLength: 1, maxLength: 64 }) }),
  fc.record({ type: fc.constant('IntersectNotFound' as const), tip }),
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

describe('chain-sync codec (§9)', () => {
  it('round-trips byte-exactly; the origin point is []', () => {
    fc.assert(
      fc.property(message, (m) => {
        const enc = encodeChainSync(m);
        expect(toHex(encodeChainSync(decode(enc)))).toBe(toHex(enc));
      }),
    );
    expect(toHex(encodeChainSync({ type: 'IntersectNotFound', tip: { point: null, blockNo: 0 as BlockNo } }))).toBe('8206828000');
  });

  it('limits: 65 intersect points, RollForward > 2,048 B, a header > MAX_HEADER, any message > 4,096 B', () => {
    const pts = new CborWriter().array(2).uint(4).array(65);
    for (let i = 0; i < 65; i++) pts.array(0);
    expect(violation(() => decode(pts.finish())).reason).toBe('chain-sync:limit');
    const hdr = encodeValue(new Uint8Array(1_101));
    const rf = new CborWriter().array(3).uint(2).raw(hdr).array(2).array(0).uint(0).finish();
    expect(violation(() => decode(rf)).reason).toBe('chain-sync:limit');
    const bigRf = new CborWriter().array(3).uint(2).raw(encodeValue([new Uint8Array(1000), new Uint8Array(1000), new Uint8Array(90)])).array(2).array(0).uint(0).finish();
    expect(violation(() => decode(bigRf)).reason).toBe('chain-sync:limit');
    expect(violation(() => decode(Uint8Array.of(0x82, 0x03, 0x81, 0x01))).reason).toBe('chain-sync:malformed'); // point [slot]
  });

  it('fuzz: random and mutated bytes raise only ProtocolViolation', () => {
    fc.assert(
      fc.property(message, fc.uint8Array({ maxLength: 64 }), fc.nat(), (m, noise, seed) => {
        decodesOrViolates(decode, noise);
        decodesOrViolates(decode, mutate(encodeChainSync(m), seed));
      }),
    );
  });
});

const h = (n: number) => new Uint8Array(32).fill(n) as Hash32;
const tipAt = (n: number): Tip => ({ point: { slot: (n * 10) as Slot, hash: h(n) }, blockNo: n as BlockNo });

describe('chain-sync drivers', () => {
  it('find an intersection, roll forward at once and after AwaitReply', async () => {
    const { a, b } = await handshakenPair();
    const chain = [1, 2, 3].map((n) => raw(encodeValue([n, 'header'])));
    let cursor = 0;
    let release: ((u: ChainUpdate) => void) | undefined;
    b.register(
      new ChainSyncServer({
        findIntersect: (points: readonly Point[]) =>
          points.some((p) => p === null) ? { found: true, point: null, tip: tipAt(3) } : { found: false, tip: tipAt(3) },
        next: () => {
          if (cursor < chain.length) return { type: 'RollForward', header: chain[cursor++]!, tip: tipAt(3) };
          return new Promise<ChainUpdate>((r) => {
            release = r;
          });
        },
      }),
    );
    let awaited = 0;
    const client = new ChainSyncClient({ onAwait: () => awaited++ });
    a.register(client);
    expect(await client.findIntersect([{ slot: 5 as Slot, hash: h(9) }])).toEqual({ found: false, tip: tipAt(3) });
    expect((await client.findIntersect([{ slot: 5 as Slot, hash: h(9) }, null])).found).toBe(true);
    const got: string[] = [];
    for (let i = 0; i < 3; i++) {
      const u = await client.requestNext();
      if (u.type === 'RollForward') got.push(toHex(u.header.bytes));
    }
    expect(got).toEqual(chain.map((c) => toHex(c.bytes)));
    const at = client.requestNext();
    await settle();
    expect(awaited).toBe(1);
    expect(client.state).toBe('StMustReply');
    release!({ type: 'RollBackward', point: tipAt(2).point, tip: tipAt(2) });
    expect(await at).toEqual({ type: 'RollBackward', point: tipAt(2).point, tip: tipAt(2) });
    expect(client.state).toBe('StIdle');
    expect(a.closed || b.closed).toBe(false);
  });

  it('one request at a time; an unsolicited RollForward is chain-sync:agency', async () => {
    const { a, tb } = await handshakenPair();
    const client = new ChainSyncClient();
    a.register(client);
    sendRaw(tb, 2, 1, encodeChainSync({ type: 'RollForward', header: raw(encodeValue(1)), tip: tipAt(1) }));
    await settle();
    expect([a.closeError?.code, a.closeError?.reason]).toEqual([1008, 'chain-sync:agency']);
  });

  it('StCanAwait times out after 10 s, StMustReply never', async () => {
    const p = await handshakenPair();
    p.ta.tap = () => {};
    const c = new ChainSyncClient();
    p.a.register(c);
    c.requestNext().catch(() => {});
    await settle();
    p.clock.advance(10_000);
    expect(p.a.closeError?.reason).toBe('chain-sync:timeout');

    const q = await handshakenPair();
    q.ta.tap = () => {};
    const c2 = new ChainSyncClient();
    q.a.register(c2);
    c2.requestNext().catch(() => {});
    await settle();
    sendRaw(q.tb, 2, 1, encodeChainSync({ type: 'AwaitReply' }));
    await settle();
    q.clock.advance(100 * 3_600_000);
    expect(q.a.closed).toBe(false);
  });
});
