import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex } from '../../bytes/index';
import { CborWriter, encodeValue } from '../../cbor/index';
import { blake2b256 } from '../../crypto/blake2b';
import { ProtocolViolation } from '../../errors/index';
import type { Hash32 } from '../../types/index';
import { DEFAULT_LIMITS, raw } from '../common/index';
import { decodesOrViolates, handshakenPair, mutate, sendRaw, settle } from '../testing/index';
import { hash32, rawItem } from '../testing/arb/index';
import {
  decodeTxSubmission,
  encodeTxSubmission,
  type TxIdAndSize,
  TxSubmissionClient,
  type TxSubmissionMessage,
  TxSubmissionServer,
} from './index';

const decode = (b: Uint8Array) => decodeTxSubmission(b, DEFAULT_LIMITS);
const message: fc.Arbitrary<TxSubmissionMessage> = fc.oneof(
  fc.record({
    type: fc.constant('RequestTxIds' as const),
    blocking: fc.boolean(),
    ack: fc.nat({ max: 0xffff }),
    req: fc.nat({ max: 0xffff }),
  }),
  fc
    .array(fc.record({ id: hash32, size: fc.nat({ max: 0xffffffff }) }), { maxLength: 128 })
    .map((ids) => ({ type: 'ReplyTxIds' as const, ids })),
  fc.array(hash32, { minLength: 1, maxLength: 64 }).map((ids) => ({ type: 'RequestTxs' as const, ids })),
  fc.array(rawItem(300), { maxLength: 64 }).map((txs) => ({ type: 'ReplyTxs' as const, txs })),
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

describe('tx-submission codec (§9)', () => {
  it('round-trips byte-exactly', () => {
    fc.assert(
      fc.property(message, (m) => {
        const enc = encodeTxSubmission(m);
        expect(toHex(encodeTxSubmission(decode(enc)))).toBe(toHex(enc));
      }),
    );
  });

  it('limits: 65 ids per RequestTxs, 65 txs per ReplyTxs, 129 ids per ReplyTxIds', () => {
    const ids = new CborWriter().array(2).uint(2).array(65);
    for (let i = 0; i < 65; i++) ids.bytes(new Uint8Array(32));
    expect(violation(() => decode(ids.finish())).reason).toBe('tx-submission:limit');
    const txs = new CborWriter().array(2).uint(3).array(65);
    for (let i = 0; i < 65; i++) txs.uint(i);
    expect(violation(() => decode(txs.finish())).reason).toBe('tx-submission:limit');
    const rids = new CborWriter().array(2).uint(1).array(129);
    for (let i = 0; i < 129; i++) rids.array(2).bytes(new Uint8Array(32)).uint(1);
    expect(violation(() => decode(rids.finish())).reason).toBe('tx-submission:limit');
  });

  it('fuzz: random and mutated bytes raise only ProtocolViolation', () => {
    fc.assert(
      fc.property(message, fc.uint8Array({ maxLength: 64 }), fc.nat(), (m, noise, seed) => {
        decodesOrViolates(decode, noise);
        decodesOrViolates(decode, mutate(encodeTxSubmission(m), seed));
      }),
    );
  });
});

function mempool(n: number) {
  const txs = Array.from({ length: n }, (_, i) => encodeValue([i, new Uint8Array(100 + i)]));
  const ids: TxIdAndSize[] = txs.map((t) => ({ id: blake2b256(t), size: t.length }));
  let next = 0;
  return {
    handlers: {
      txIds: async (_blocking: boolean, req: number) => {
        const out = ids.slice(next, next + req);
        next += out.length;
        return out;
      },
      txs: async (want: readonly Hash32[]) =>
        want.flatMap((id) => {
          const i = ids.findIndex((x) => toHex(x.id) === toHex(id));
          return i >= 0 && i % 5 !== 4 ? [txs[i]!] : []; // every fifth tx is "gone"
        }),
    },
  };
}

describe('tx-submission drivers', () => {
  it('pull ids and txs within the 128-id window; unavailable txs are omitted', async () => {
    const { a, b } = await handshakenPair();
    const mp = mempool(200);
    b.register(new TxSubmissionServer(mp.handlers));
    const c = new TxSubmissionClient();
    a.register(c);
    const first = await c.requestTxIds(true, 0, 100);
    expect(first.length).toBe(100);
    await expect(c.requestTxIds(false, 0, 29)).rejects.toThrow(/window/);
    const more = await c.requestTxIds(false, 50, 78);
    expect(more.length).toBe(78);
    expect(c.unacknowledged.length).toBe(128);
    const want = c.unacknowledged.slice(0, 10).map((x) => x.id);
    const txs = await c.requestTxs(want);
    expect(txs.length).toBe(8); // indices 54 and 59 are unavailable
    expect(txs.map((t) => toHex(blake2b256(t.bytes)))).toEqual(
      want.map(toHex).filter((_, i) => (50 + i) % 5 !== 4),
    );
    const empty = await c.requestTxIds(false, 128, 128);
    expect(empty.length).toBe(200 - 178);
  });

  it('server: an ack beyond the announced ids, a request beyond the window, an unannounced RequestTxs', async () => {
    for (const [msgs, reason] of [
      [[{ type: 'RequestTxIds', blocking: false, ack: 1, req: 1 }], 'tx-submission:limit'],
      [[{ type: 'RequestTxIds', blocking: false, ack: 0, req: 129 }], 'tx-submission:limit'],
      [[{ type: 'RequestTxs', ids: [new Uint8Array(32) as Hash32] }], 'tx-submission:unheld'],
      [[{ type: 'ReplyTxs', txs: [] }], 'tx-submission:agency'],
    ] as Array<[TxSubmissionMessage[], string]>) {
      const p = await handshakenPair();
      p.b.register(new TxSubmissionServer(mempool(10).handlers));
      for (const m of msgs) sendRaw(p.ta, 4, 0, encodeTxSubmission(m));
      await settle();
      expect(p.b.closeError?.reason, JSON.stringify(msgs[0]?.type)).toBe(reason);
    }
  });

  it('client: more ids than requested, an empty blocking reply, a tx that was not requested', async () => {
    const other = encodeValue('not requested');
    const cases: Array<[(c: TxSubmissionClient) => Promise<unknown>, TxSubmissionMessage[], string]> = [
      [(c) => c.requestTxIds(false, 0, 1), [{ type: 'ReplyTxIds', ids: [{ id: blake2b256(other), size: 3 }, { id: blake2b256(other), size: 3 }] }], 'tx-submission:limit'],
      [(c) => c.requestTxIds(true, 0, 1), [{ type: 'ReplyTxIds', ids: [] }], 'tx-submission:agency'],
    ];
    for (const [call, replies, reason] of cases) {
      const p = await handshakenPair();
      p.ta.tap = () => {};
      const c = new TxSubmissionClient();
      p.a.register(c);
      const r = call(c);
      r.catch(() => {});
      await settle();
      for (const m of replies) sendRaw(p.tb, 4, 1, encodeTxSubmission(m));
      await settle();
      expect(p.a.closeError?.reason).toBe(reason);
    }
    // A tx outside the request.
    const p = await handshakenPair();
    p.ta.tap = () => {};
    const c = new TxSubmissionClient();
    p.a.register(c);
    const tx = encodeValue('tx');
    const ids = c.requestTxIds(false, 0, 1);
    await settle();
    sendRaw(p.tb, 4, 1, encodeTxSubmission({ type: 'ReplyTxIds', ids: [{ id: blake2b256(tx), size: tx.length }] }));
    await ids;
    const got = c.requestTxs([blake2b256(tx)]);
    got.catch(() => {});
    await settle();
    sendRaw(p.tb, 4, 1, encodeTxSubmission({ type: 'ReplyTxs', txs: [raw(other)] }));
    await settle();
    expect(p.a.closeError?.reason).toBe('tx-submission:malformed');
  });

  it('non-blocking StTxIds times out after 10 s; blocking waits', async () => {
    const p = await handshakenPair();
    p.ta.tap = () => {};
    const c = new TxSubmissionClient();
    p.a.register(c);
    c.requestTxIds(true, 0, 5).catch(() => {});
    await settle();
    p.clock.advance(3_600_000);
    expect(p.a.closed).toBe(false);
    const q = await handshakenPair();
    q.ta.tap = () => {};
    const c2 = new TxSubmissionClient();
    q.a.register(c2);
    c2.requestTxIds(false, 0, 5).catch(() => {});
    await settle();
    q.clock.advance(10_000);
    expect(q.a.closeError?.reason).toBe('tx-submission:timeout');
  });
});
