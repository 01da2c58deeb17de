import { blake2b } from '@noble/hashes/blake2.js';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { ascii, toHex } from '../bytes/index';
import { blake2b224, blake2b256, blake2bBackend, nobleBlake2b, setBlake2bBackend } from './blake2b';

describe('blake2b (PROTOCOL.md §2.1)', () => {
  afterEach(() => {
    setBlake2bBackend(nobleBlake2b);
  });

  it('known digests of "" and "abc"', () => {
    expect(toHex(blake2b256(new Uint8Array()))).toBe('0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8');
    expect(toHex(blake2b256(ascii('abc')))).toBe('bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319');
    expect(toHex(blake2b224(new Uint8Array()))).toBe('836cc68931c2e4e3e838602eca1902591d216837bafddfe6f0c8cb07');
  });

  it('the active backend agrees with @noble/hashes on arbitrary inputs (incl. multi-block)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1000 }), (data) => {
        expect(blake2b256(data)).toEqual(blake2b(data, { dkLen: 32 }));
        expect(blake2b224(data)).toEqual(blake2b(data, { dkLen: 28 }));
      }),
      { numRuns: 100 },
    );
  });

  it('a plugged backend is used and can be replaced', () => {
    const calls: number[] = [];
    setBlake2bBackend({
      name: 'counting',
      digest: (d, n) => {
        calls.push(n);
        return nobleBlake2b.digest(d, n);
      },
    });
    expect(blake2bBackend().name).toBe('counting');
    blake2b256(new Uint8Array(3));
    blake2b224(new Uint8Array(3));
    expect(calls).toEqual([32, 28]);
    setBlake2bBackend(nobleBlake2b);
    expect(blake2bBackend().name).toBe('noble');
  });
});
