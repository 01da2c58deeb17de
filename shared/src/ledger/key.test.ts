import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Hash32, Lovelace } from '../types/index';
import { parseRefKey, refKey, refKeyOfHex, txRefKeys } from './key';
import { buildTx, decodeTx } from './tx';
import { walletFor } from './gen';
import { MemoryUtxo, OverlayUtxo, utxoKey } from './utxo';

const id = fc.uint8Array({ minLength: 32, maxLength: 32 });
const index = fc.oneof(fc.nat(0x1_0000 + 2), fc.constantFrom(0xfffe, 0xffff, 0x1_0000), fc.nat({ max: Number.MAX_SAFE_INTEGER }));

describe('compact UTxO keys', () => {
  it('are injective, parse back, and agree with the public hex key', () => {
    fc.assert(
      fc.property(id, index, id, index, (a, i, b, j) => {
        const same = utxoKey(a, i) === utxoKey(b, j);
        expect(refKey(a, i) === refKey(b, j)).toBe(same);
        expect(refKey(a, i) === refKey(a, j)).toBe(i === j);
        const r = parseRefKey(refKey(a, i));
        expect(utxoKey(r.txId, r.index)).toBe(utxoKey(a, i));
        expect(refKeyOfHex(utxoKey(a, i))).toBe(refKey(a, i));
      }),
      { numRuns: 500 },
    );
  });

  it('never collide across id lengths, and refuse malformed hex keys', () => {
    const short = new Uint8Array(31).fill(7);
    const keys = new Set([refKey(short, 0), refKey(new Uint8Array(32).fill(7), 0), refKey(new Uint8Array(33).fill(7), 0)]);
    expect(keys.size).toBe(3);
    expect(parseRefKey(refKey(short, 5))).toEqual({ txId: short, index: 5 });
    for (const bad of ['', 'ab', 'abc#1', 'zz#1', 'ab#01', 'ab#-1', 'ab#1.5', `ab#${2 ** 60}`]) expect(refKeyOfHex(bad)).toBeUndefined();
  });

  it('MemoryUtxo and OverlayUtxo find entries at any index, by ref and by public key', () => {
    const txId = new Uint8Array(32).fill(9) as Hash32;
    const address = new Uint8Array(28) as never;
    const idxs = [0, 1, 0xfffe, 0xffff, 0x1_0000, 2 ** 40];
    const u = MemoryUtxo.fromEntries(idxs.map((i) => ({ ref: { txId, index: i }, output: { address, amount: BigInt(i + 1) as Lovelace } })));
    const plain = new OverlayUtxo({ get: (t, i) => u.get(t, i) });
    for (const v of [u, new OverlayUtxo(u), plain]) {
      for (const i of idxs) {
        expect(v.get(txId, i)?.amount).toBe(BigInt(i + 1));
        expect(v.getByKey(utxoKey(txId, i))?.amount).toBe(BigInt(i + 1));
      }
      expect(v.get(txId, 2)).toBeUndefined();
      expect(v.getByKey('not a key')).toBeUndefined();
    }
  });

  it('of a decoded tx are attached once, match its inputs and outputs, and stay invisible', () => {
    const w = walletFor('key-test');
    fc.assert(
      fc.property(fc.array(fc.tuple(id, fc.nat(0x2_0000)), { minLength: 1, maxLength: 4 }), fc.integer({ min: 1, max: 4 }), (ins, nOut) => {
        const inputs = ins.map(([t, i]) => ({ txId: t as Hash32, index: i }));
        const outputs = Array.from({ length: nOut }, (_, j) => ({ address: w.address, amount: BigInt(j + 1) }));
        const tx = decodeTx(buildTx({ inputs, outputs, fee: 200_000n, ttlSlot: 10, signers: [w.seed] }).bytes);
        const k = txRefKeys(tx);
        expect(txRefKeys(tx)).toBe(k); // cached on the tx, not recomputed
        expect(k).toEqual([...inputs.map((r) => refKey(r.txId, r.index)), ...outputs.map((_, j) => refKey(tx.id, j))]);
        // a copy (spread) is not decoded: its keys are computed, equal, and equality ignores them
        const copy = { ...tx };
        expect(txRefKeys(copy)).not.toBe(k);
        expect(txRefKeys(copy)).toEqual(k);
        expect(copy).toEqual(tx);
        expect(Object.getOwnPropertySymbols(tx).every((k) => !Object.getOwnPropertyDescriptor(tx, k)!.enumerable)).toBe(true);
        expect(Object.keys(tx)).toEqual(['bytes', 'bodyBytes', 'id', 'hash', 'body', 'witnesses']);
      }),
      { numRuns: 100 },
    );
  });
});
