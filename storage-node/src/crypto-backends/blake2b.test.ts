/**
 * The hash-wasm Blake2b backend must give noble's digests on every input (PROTOCOL.md §2.1: every
 * identifier is a Blake2b digest; a differing digest forks the node off the network).
 */
import { nobleBlake2b } from '@leios/shared/crypto';
import { CryptoError } from '@leios/shared/errors';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Blake2bBackend } from '@leios/shared/crypto';
import { createHashWasmBlake2b, HASH_WASM_BACKEND_NAME } from './blake2b';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

let wasm: Blake2bBackend;
beforeAll(async () => {
  wasm = await createHashWasmBlake2b();
});

describe('hash-wasm Blake2b backend', () => {
  it('reports its name', () => {
    expect(wasm.name).toBe(HASH_WASM_BACKEND_NAME);
  });

  it('matches the RFC 7693 / known empty-input digests', () => {
    expect(hex(wasm.digest(new Uint8Array(0), 32))).toBe('0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8');
    expect(hex(wasm.digest(new Uint8Array(0), 28))).toBe('836cc68931c2e4e3e838602eca1902591d216837bafddfe6f0c8cb07');
    // "abc", 32-byte output
    expect(hex(wasm.digest(new TextEncoder().encode('abc'), 32))).toBe(hex(nobleBlake2b.digest(new TextEncoder().encode('abc'), 32)));
  });

  it('equals noble on random inputs of 0..70,000 bytes, both output sizes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 70_000, size: 'max' }), fc.constantFrom(28 as const, 32 as const), (data, outLen) => {
        const got = wasm.digest(data, outLen);
        expect(got.length).toBe(outLen);
        expect(hex(got)).toBe(hex(nobleBlake2b.digest(data, outLen)));
      }),
      { numRuns: 150 },
    );
  });

  it('equals noble on every length around the 128-byte block and 16 KiB chunk boundaries', () => {
    const lengths = new Set<number>();
    for (let n = 0; n <= 260; n++) lengths.add(n);
    for (const edge of [16_384, 32_768, 65_536]) for (let d = -130; d <= 130; d += 1) lengths.add(edge + d);
    const src = new Uint8Array(66_000);
    for (let i = 0; i < src.length; i++) src[i] = (i * 251 + 17) & 0xff;
    for (const n of lengths) {
      const data = src.subarray(0, n);
      expect(hex(wasm.digest(data, 32)), `len ${n}`).toBe(hex(nobleBlake2b.digest(data, 32)));
      expect(hex(wasm.digest(data, 28)), `len ${n}`).toBe(hex(nobleBlake2b.digest(data, 28)));
    }
  });

  it('hashes offset views and Buffers by their own bytes only', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 2000 }), fc.nat(), fc.nat(), (buf, a, b) => {
        const start = a % buf.length;
        const end = start + (b % (buf.length - start + 1));
        const view = buf.subarray(start, end);
        const want = hex(nobleBlake2b.digest(view.slice(), 32));
        expect(hex(wasm.digest(view, 32))).toBe(want);
        expect(hex(wasm.digest(Buffer.from(view), 32))).toBe(want);
      }),
      { numRuns: 200 },
    );
  });

  it('returns fresh arrays: a later digest does not overwrite an earlier result', () => {
    const first = wasm.digest(new Uint8Array([1, 2, 3]), 32);
    const snapshot = hex(first);
    wasm.digest(new Uint8Array(5000).fill(9), 32);
    wasm.digest(new Uint8Array([4]), 28);
    expect(hex(first)).toBe(snapshot);
    expect(first.buffer.byteLength).toBe(32); // not a view of the WASM memory
  });

  it('interleaves the two output sizes without mixing state', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.uint8Array({ maxLength: 400 }), fc.constantFrom(28 as const, 32 as const)), { maxLength: 20 }), (ops) => {
        const got = ops.map(([d, n]) => hex(wasm.digest(d, n)));
        expect(got).toEqual(ops.map(([d, n]) => hex(nobleBlake2b.digest(d, n))));
      }),
      { numRuns: 100 },
    );
  });

  it('refuses an output length other than 28 or 32', () => {
    expect(() => wasm.digest(new Uint8Array(1), 64 as 32)).toThrow(CryptoError);
  });
});
