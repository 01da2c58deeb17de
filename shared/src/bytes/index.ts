/**
 * Byte helpers used everywhere (no Node `Buffer`: this package runs in workerd).
 *
 * @module
 */

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * Lowercase hex of bytes.
 *
 * @example
 * ```ts
 * toHex(new Uint8Array([0xab, 1])) // 'ab01'
 * ```
 */
export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i]!];
  return s;
}

/**
 * Parse hex (upper or lower case, even length). Throws `RangeError` on bad input; boundary
 * parsers wrap it in a typed error.
 *
 * @example
 * ```ts
 * fromHex('ab01') // Uint8Array [0xab, 0x01]
 * ```
 */
export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0) throw new RangeError('hex: odd length');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    const b = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
    if (Number.isNaN(b) || !/^[0-9a-fA-F]{2}$/.test(hex.slice(2 * i, 2 * i + 2))) {
      throw new RangeError(`hex: bad digit at ${2 * i}`);
    }
    out[i] = b;
  }
  return out;
}

/** Whether `s` is exactly `2n` lowercase hex characters. */
export function isLowerHex(s: string, byteLength?: number): boolean {
  if (byteLength !== undefined && s.length !== 2 * byteLength) return false;
  return s.length % 2 === 0 && /^[0-9a-f]*$/.test(s);
}

/**
 * Concatenate byte arrays.
 *
 * @example
 * ```ts
 * concatBytes(new Uint8Array([1]), new Uint8Array([2])) // [1, 2]
 * ```
 */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Constant-length byte equality (not constant-time; use for public data only). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Bytewise lexicographic comparison (shorter prefix first), as used for pool-id tie breaks. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** `u64be(x)` of PROTOCOL.md §1.1. */
export function u64be(x: bigint | number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(x));
  return out;
}

/** Big-endian unsigned integer value of bytes. */
export function bytesToBigInt(b: Uint8Array): bigint {
  let x = 0n;
  for (let i = 0; i < b.length; i++) x = (x << 8n) | BigInt(b[i]!);
  return x;
}

/** ASCII bytes of a string (protocol constants such as `"LEIOS-VRF"`). */
export function ascii(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0x7f;
  return out;
}
