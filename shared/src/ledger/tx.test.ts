import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesEqual, concatBytes, fromHex, toHex } from '../bytes/index';
import { CborReader, CborWriter, encodeValue } from '../cbor/index';
import { blake2b256 } from '../crypto/blake2b';
import { DecodeError, TxInvalidError, ValidationError } from '../errors/index';
import type { Hash32, PoolId } from '../types/index';
import { walletFor } from './gen';
import {
  buildPayment,
  buildTx,
  decodeOpaqueTx,
  decodeTx,
  encodeOpaqueTx,
  encodeTx,
  encodeTxBody,
  type KeyReg,
  MAX_TX_SIZE,
  minFee,
  readOpaqueTx,
  readTx,
  type TxBodyInput,
  type Witness,
} from './tx';

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });

const keyRegArb: fc.Arbitrary<KeyReg> = fc
  .record({ poolId: bytes(28), vk: bytes(96), pop: bytes(48) })
  .map(({ poolId, vk, pop }) => ({ poolId: poolId as PoolId, voteKey: { vk, pop } }));

const bodyArb: fc.Arbitrary<TxBodyInput> = fc.record({
  inputs: fc.array(
    fc.record({ txId: bytes(32).map((b) => b as Hash32), index: fc.oneof(fc.nat(30), fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER)) }),
    { minLength: 1, maxLength: 5 },
  ),
  outputs: fc.array(fc.record({ address: bytes(28), amount: u64 }), { minLength: 1, maxLength: 5 }),
  fee: u64,
  ttlSlot: u64,
  keyRegs: fc.array(keyRegArb, { maxLength: 2 }),
});
const witnessArb: fc.Arbitrary<Witness> = fc.record({ vk: bytes(32), sig: bytes(64) });

const reasonOf = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    if (e instanceof DecodeError) return `decode:${e.reason}`;
    if (e instanceof TxInvalidError) return `tx:${e.rule}`;
    throw e;
  }
  return 'ok';
};

const alice = walletFor('alice');
const bob = walletFor('bob');
const someTxId = blake2b256(new Uint8Array([1])) as Hash32;

describe('tx codec (§5.1)', () => {
  it('round-trips every body and witness list, byte for byte', () => {
    fc.assert(
      fc.property(bodyArb, fc.array(witnessArb, { maxLength: 4 }), (body, witnesses) => {
        const bodyBytes = encodeTxBody(body);
        const txBytes = encodeTx(bodyBytes, witnesses);
        const tx = decodeTx(txBytes, { maxTxSize: 1 << 20 });
        expect(tx.bytes).toEqual(txBytes);
        expect(tx.bodyBytes).toEqual(bodyBytes);
        expect(tx.id).toEqual(blake2b256(bodyBytes));
        expect(tx.hash).toEqual(blake2b256(txBytes));
        expect(tx.body.inputs).toEqual(body.inputs);
        expect(tx.body.outputs.map((o) => [o.address, o.amount])).toEqual(body.outputs.map((o) => [o.address, o.amount]));
        expect(tx.body.fee).toBe(body.fee);
        expect(tx.body.ttlSlot).toBe(BigInt(body.ttlSlot));
        expect(tx.body.keyRegs).toEqual(body.keyRegs);
        expect(tx.witnesses).toEqual(witnesses);
        // canonical: re-encoding the decoded fields gives the received bytes back
        expect(encodeTx(encodeTxBody(tx.body), tx.witnesses)).toEqual(txBytes);
      }),
      { numRuns: 200 },
    );
  });

  it('§16 case 4: one body, different witnesses → same tx id, different reference hashes', () => {
    const opts = {
      inputs: [{ txId: someTxId, index: 0 }],
      outputs: [{ address: bob.address, amount: 5n }],
      fee: 200_000n,
      ttlSlot: 10,
    };
    const a = buildTx({ ...opts, signers: [alice.seed] });
    const b = buildTx({ ...opts, signers: [bob.seed] });
    const c = buildTx({ ...opts, signers: [] });
    expect(toHex(a.id)).toBe(toHex(b.id));
    expect(toHex(a.id)).toBe(toHex(c.id));
    expect(toHex(a.hash)).not.toBe(toHex(b.hash));
    expect(toHex(a.hash)).not.toBe(toHex(c.hash));
    expect(toHex(a.id)).toBe(toHex(blake2b256(a.bodyBytes)));
    expect(toHex(a.hash)).toBe(toHex(blake2b256(a.bytes)));
  });

  it('hashes the body span as received inside the tx (no re-encoding)', () => {
    const tx = buildTx({
      inputs: [{ txId: someTxId, index: 3 }],
      outputs: [{ address: bob.address, amount: 7n }],
      fee: 1n,
      ttlSlot: 2,
      signers: [alice.seed],
    });
    // body span = tx bytes minus the outer head (1 byte) and the witness list
    const witnessBytes = encodeValue([[tx.witnesses[0]!.vk, tx.witnesses[0]!.sig]]);
    expect(tx.bodyBytes).toEqual(tx.bytes.subarray(1, tx.bytes.length - witnessBytes.length));
    expect(tx.bodyBytes.buffer).toBe(tx.bytes.buffer);
  });

  it('rejects a tx above MAX_TX_SIZE as tx-too-large before parsing anything', () => {
    expect(reasonOf(() => decodeTx(new Uint8Array(MAX_TX_SIZE + 1)))).toBe('tx:tx-too-large');
    expect(reasonOf(() => decodeTx(new Uint8Array(MAX_TX_SIZE)))).toBe('decode:type');
    expect(reasonOf(() => decodeTx(new Uint8Array(100), { maxTxSize: 99 }))).toBe('tx:tx-too-large');
  });

  it('rejects malformed shapes with a field path', () => {
    const ok = buildTx({
      inputs: [{ txId: someTxId, index: 0 }],
      outputs: [{ address: bob.address, amount: 5n }],
      fee: 9n,
      ttlSlot: 10,
      signers: [alice.seed],
    });
    const path = (f: () => unknown): string => {
      try {
        f();
      } catch (e) {
        if (e instanceof DecodeError) return e.path;
        throw e;
      }
      return 'ok';
    };
    const enc = (v: Parameters<typeof encodeValue>[0]) => encodeValue(v);
    const inp = [someTxId, 0];
    const out = [bob.address, 5];
    // empty inputs / outputs
    expect(path(() => decodeTx(enc([[[], [out], 1, 1], []])))).toBe('tx.body.inputs');
    expect(path(() => decodeTx(enc([[[inp], [], 1, 1], []])))).toBe('tx.body.outputs');
    // present-but-empty key_regs is not `? [+ key_reg]`
    expect(path(() => decodeTx(enc([[[inp], [out], 1, 1, []], []])))).toBe('tx.body.key_regs');
    // short hash, short address, negative amount, 3-element body, 6-element body
    expect(path(() => decodeTx(enc([[[[someTxId.subarray(1), 0]], [out], 1, 1], []])))).toBe('tx.body.inputs[0].txid');
    expect(path(() => decodeTx(enc([[[inp], [[bob.address.subarray(1), 5]], 1, 1], []])))).toBe('tx.body.outputs[0].address');
    expect(path(() => decodeTx(enc([[[inp], [[bob.address, -5]], 1, 1], []])))).toBe('tx.body.outputs[0].amount');
    expect(path(() => decodeTx(enc([[[inp], [out], 1], []])))).toBe('tx.body');
    expect(path(() => decodeTx(enc([[[inp], [out], 1, 1, [], 1], []])))).toBe('tx.body');
    // witness with a 65-byte signature; missing witness list; trailing byte
    expect(path(() => decodeTx(enc([[[inp], [out], 1, 1], [[alice.vk, new Uint8Array(65)]]])))).toBe('tx.witnesses[0].sig');
    expect(path(() => decodeTx(enc([[[inp], [out], 1, 1]])))).toBe('tx');
    expect(path(() => decodeTx(concatBytes(ok.bytes, new Uint8Array([0]))))).toBe('tx');
    // input index above 2^53 cannot name an output
    expect(path(() => decodeTx(enc([[[[someTxId, 2n ** 60n]], [out], 1, 1], []])))).toBe('tx.body.inputs[0].index');
    // non-minimal fee head (fee 9 as 0x18 0x09)
    const bad = new CborWriter()
      .array(2)
      .array(4)
      .raw(enc([inp]))
      .raw(enc([out]))
      .raw(new Uint8Array([0x18, 0x09]))
      .uint(1)
      .array(0)
      .finish();
    expect(ok.body.fee).toBe(9n);
    expect(reasonOf(() => decodeTx(bad))).toBe('decode:non-canonical');
  });

  it('bounds counts by the bytes left before allocating', () => {
    // an input count of 1,000 with 100 bytes left: refused at the count, not at element 3
    const w = new CborWriter().array(2).array(4).array(1000);
    const b = concatBytes(w.finish(), new Uint8Array(100));
    const err = (() => {
      try {
        decodeTx(b);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(DecodeError);
    expect((err as DecodeError).path).toBe('tx.body.inputs');
    expect((err as DecodeError).reason).toBe('truncated');
  });

  it('fuzz: random bytes up to MAX_TX_SIZE only ever raise DecodeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (b) => {
        const r = reasonOf(() => decodeTx(b));
        expect(r.startsWith('decode:')).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('fuzz: mutated valid txs either decode to the same bytes or raise DecodeError', () => {
    const base = buildTx({
      inputs: [
        { txId: someTxId, index: 0 },
        { txId: someTxId, index: 300 },
      ],
      outputs: [
        { address: bob.address, amount: 5n },
        { address: alice.address, amount: 1n << 40n },
      ],
      fee: 200_000n,
      ttlSlot: 70_000,
      keyRegs: [{ poolId: bob.address as Uint8Array as PoolId, voteKey: { vk: new Uint8Array(96).fill(1), pop: new Uint8Array(48).fill(2) } }],
      signers: [alice.seed, bob.seed],
    }).bytes;
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(base.length - 1), v: fc.integer({ min: 1, max: 255 }) }),
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat(base.length - 1), v: fc.nat(40) }),
      fc.record({ kind: fc.constant('ins' as const), at: fc.nat(base.length), v: fc.nat(255) }),
    );
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (ms) => {
        let b: Uint8Array = base.slice();
        for (const m of ms) {
          if (m.kind === 'flip') b[m.at % b.length] = b[m.at % b.length]! ^ m.v;
          else if (m.kind === 'cut') b = concatBytes(b.subarray(0, m.at), b.subarray(m.at + m.v + 1));
          else b = concatBytes(b.subarray(0, m.at), new Uint8Array([m.v]), b.subarray(m.at));
          if (b.length === 0) b = new Uint8Array([0]);
        }
        let tx: ReturnType<typeof decodeTx> | undefined;
        try {
          tx = decodeTx(b);
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
          return;
        }
        expect(encodeTx(encodeTxBody(tx.body), tx.witnesses)).toEqual(b);
      }),
      { numRuns: 3000 },
    );
  });

  it('readTx keeps the span of a tx embedded in a larger message, with absolute error offsets', () => {
    const t1 = buildTx({ inputs: [{ txId: someTxId, index: 0 }], outputs: [{ address: bob.address, amount: 5n }], fee: 1n, ttlSlot: 1, signers: [alice.seed] });
    const t2 = buildTx({ inputs: [{ txId: someTxId, index: 1 }], outputs: [{ address: bob.address, amount: 6n }], fee: 1n, ttlSlot: 1, signers: [] });
    const msg = new CborWriter().array(3).raw(t1.bytes).raw(t2.bytes).uint(7).finish();
    const r = new CborReader(msg);
    expect(r.readArray('m', { len: 3 })).toBe(3);
    const a = readTx(r, 'm[0]');
    const b = readTx(r, 'm[1]');
    expect(r.readUint('m[2]')).toBe(7);
    r.done('m');
    expect(a.bytes).toEqual(t1.bytes);
    expect(b.bytes).toEqual(t2.bytes);
    expect(toHex(a.id)).toBe(toHex(t1.id));
    expect(toHex(b.hash)).toBe(toHex(t2.hash));
    expect(a.bytes.buffer).toBe(msg.buffer);

    // a bad tx inside: the offset points into the enclosing message
    const broken = new CborWriter().array(2).raw(t1.bytes).array(2).array(3).finish();
    const r2 = new CborReader(broken);
    r2.readArray('m');
    readTx(r2, 'm[0]');
    try {
      readTx(r2, 'm[1]');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(DecodeError);
      expect((e as DecodeError).offset).toBeGreaterThan(t1.bytes.length);
    }

    // an oversized embedded tx is tx-too-large
    const r3 = new CborReader(new CborWriter().array(1).raw(t1.bytes).finish());
    r3.readArray('m');
    expect(reasonOf(() => readTx(r3, 'm[0]', { maxTxSize: t1.bytes.length - 1 }))).toBe('tx:tx-too-large');
  });

  it('buildPayment balances inputs against outputs plus the minimum fee for its own size', () => {
    fc.assert(
      fc.property(
        fc.array(fc.bigInt({ min: 1n, max: 1n << 50n }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.bigInt({ min: 1n, max: 1n << 30n }), { minLength: 1, maxLength: 4 }),
        (ins, outs) => {
          const inputs = ins.map((amount, i) => ({ txId: someTxId, index: i, amount: amount + 2_000_000n }));
          const outputs = outs.map((amount) => ({ address: bob.address, amount }));
          let tx: ReturnType<typeof buildPayment>;
          try {
            tx = buildPayment({ inputs, outputs, changeAddress: alice.address, ttlSlot: 5, signers: [alice.seed] });
          } catch (e) {
            // only when the inputs really cannot pay
            expect(e).toBeInstanceOf(ValidationError);
            const totalIn = inputs.reduce((s, x) => s + x.amount, 0n);
            const totalOut = outs.reduce((s, x) => s + x, 0n);
            expect(totalIn - totalOut).toBeLessThan(minFee(400));
            return;
          }
          const sumIn = inputs.reduce((s, x) => s + x.amount, 0n);
          const sumOut = tx.body.outputs.reduce((s, o) => s + o.amount, 0n);
          expect(sumIn).toBe(sumOut + tx.body.fee);
          expect(tx.body.fee >= minFee(tx.bytes.length)).toBe(true);
          // and not wastefully above it: change absorbs the rest (within one head-size step)
          expect(tx.body.fee - minFee(tx.bytes.length) <= 44n * 8n).toBe(true);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('encoders refuse wrong field lengths', () => {
    expect(() => encodeTxBody({ inputs: [], outputs: [{ address: bob.address, amount: 1n }], fee: 1n, ttlSlot: 1 })).toThrow();
    expect(() =>
      encodeTxBody({ inputs: [{ txId: someTxId.subarray(1) as Hash32, index: 0 }], outputs: [{ address: bob.address, amount: 1n }], fee: 1n, ttlSlot: 1 }),
    ).toThrow(/txid/);
    expect(() => encodeTx(new Uint8Array([0x80]), [{ vk: new Uint8Array(31), sig: new Uint8Array(64) }])).toThrow(/vk/);
    expect(() =>
      encodeTxBody({ inputs: [{ txId: someTxId, index: 0 }], outputs: [{ address: bob.address, amount: 1n << 64n }], fee: 1n, ttlSlot: 1 }),
    ).toThrow(/amount/);
  });
});

describe('opaque tx codec (§5.6)', () => {
  it('round-trips payloads of 1..16,381 bytes; the tx id is the reference hash', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 300 }), (p) => {
        const b = encodeOpaqueTx(p);
        const tx = decodeOpaqueTx(b);
        expect(tx.payload).toEqual(p);
        expect(tx.bytes).toEqual(b);
        expect(toHex(tx.id)).toBe(toHex(blake2b256(b)));
        expect(bytesEqual(tx.id, tx.hash)).toBe(true);
      }),
    );
    const max = decodeOpaqueTx(encodeOpaqueTx(new Uint8Array(16_381)));
    expect(max.bytes.length).toBe(MAX_TX_SIZE);
    expect(() => encodeOpaqueTx(new Uint8Array(16_382))).toThrow();
  });

  it('rejects empty, oversized, and non-bytes items', () => {
    expect(reasonOf(() => decodeOpaqueTx(fromHex('40')))).toBe('decode:limit');
    const big = new CborWriter().bytes(new Uint8Array(16_382)).finish();
    expect(big.length).toBe(MAX_TX_SIZE + 1);
    expect(reasonOf(() => decodeOpaqueTx(big))).toBe('tx:tx-too-large');
    expect(reasonOf(() => decodeOpaqueTx(fromHex('6161')))).toBe('decode:type');
    expect(reasonOf(() => decodeOpaqueTx(fromHex('410100')))).toBe('decode:trailing');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        const r = reasonOf(() => decodeOpaqueTx(b));
        expect(r === 'ok' || r.startsWith('decode:')).toBe(true);
      }),
    );
  });

  it('readOpaqueTx keeps the span inside a message', () => {
    const msg = new CborWriter().array(2).bytes(new Uint8Array([1, 2])).bytes(new Uint8Array([3])).finish();
    const r = new CborReader(msg);
    r.readArray('m');
    const a = readOpaqueTx(r, 'm[0]');
    const b = readOpaqueTx(r, 'm[1]');
    r.done('m');
    expect(a.bytes).toEqual(fromHex('420102'));
    expect(b.payload).toEqual(new Uint8Array([3]));
    const r2 = new CborReader(fromHex('8101'));
    r2.readArray('m');
    expect(reasonOf(() => readOpaqueTx(r2, 'm[0]'))).toBe('decode:type');
  });
});
