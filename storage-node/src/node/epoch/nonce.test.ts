import { ascii, concatBytes, u64be } from '@leios/shared/bytes';
import { blake2b256 } from '@leios/shared/crypto';
import type { Hash32 } from '@leios/shared/types';
import { describe, expect, it } from 'vitest';
import { childNonceState, genesisNonceState, nonceFixed, rollToEpoch } from './nonce';

const p = { epochLength: 10, stabilityWindow: 4 };
const eta0 = new Uint8Array(32).fill(7) as Hash32;
const out = (i: number) => new Uint8Array(32).fill(i);

describe('epoch nonce (§3.4)', () => {
  it('absorbs VRF outputs before the stability window and derives the next η from them', () => {
    let s = genesisNonceState(eta0);
    // slots 1, 3, 5 contribute (slot mod 10 < 6); slots 6 and 9 do not
    for (const slot of [1, 3, 5, 6, 9]) s = childNonceState(s, slot, out(slot), p);
    let a: Uint8Array = eta0;
    for (const slot of [1, 3, 5]) a = blake2b256(concatBytes(a, out(slot)));
    expect(s.acc).toEqual(a);
    expect(s.eta).toEqual(eta0);
    const next = childNonceState(s, 12, out(12), p);
    const eta1 = blake2b256(concatBytes(ascii('LEIOS-NONCE'), a, u64be(1)));
    expect(next.epoch).toBe(1);
    expect(next.eta).toEqual(eta1);
    expect(next.acc).toEqual(blake2b256(concatBytes(eta1, out(12))));
  });

  it('rolls over empty epochs with a = η_e', () => {
    const s = rollToEpoch(genesisNonceState(eta0), 2);
    const eta1 = blake2b256(concatBytes(ascii('LEIOS-NONCE'), eta0, u64be(1)));
    const eta2 = blake2b256(concatBytes(ascii('LEIOS-NONCE'), eta1, u64be(2)));
    expect(s.eta).toEqual(eta2);
    expect(() => rollToEpoch(s, 1)).toThrow();
  });

  it('makes forks diverge only through their own blocks', () => {
    const g = genesisNonceState(eta0);
    const a = childNonceState(g, 2, out(1), p);
    const b = childNonceState(g, 2, out(2), p);
    expect(a.acc).not.toEqual(b.acc);
    expect(rollToEpoch(a, 1).eta).not.toEqual(rollToEpoch(b, 1).eta);
    // a block inside the stability window changes nothing
    expect(childNonceState(g, 8, out(1), p)).toEqual(g);
  });

  it('reports when the next epoch nonce is fixed', () => {
    const g = genesisNonceState(eta0);
    expect(nonceFixed(g, 0, 0, p)).toBe(true);
    expect(nonceFixed(g, 5, 1, p)).toBe(false);
    expect(nonceFixed(g, 6, 1, p)).toBe(true);
    expect(nonceFixed(g, 9, 2, p)).toBe(false);
  });
});
