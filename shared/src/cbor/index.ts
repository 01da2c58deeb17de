/**
 * Strict, canonical CBOR (RFC 8949) for the Leios wire formats.
 *
 * Primer: PROTOCOL.md §1.2 allows exactly one encoding of every value: definite lengths, the
 * shortest head for every integer / length / count, no tags, no floats, only the simple values
 * false / true / null, no duplicate map keys and nothing after the top-level item (the LeiosFetch
 * tx bitmap of §10.3 is the one place an indefinite-length map is accepted). General-purpose
 * decoders (cbor-x and friends) accept all of that and return plain objects, so they can neither
 * reject malleable encodings nor tell us where an item sat in its message. This module is a small
 * cursor-style reader instead: the codec for each structure walks its own shape with
 * {@link CborReader}, states a cap for every length before anything is allocated, and can take the
 * exact byte span of any item (§1.3: hashed and re-served objects keep their received bytes).
 *
 * Failures are {@link DecodeError}s carrying the dotted path of the field and the byte offset.
 *
 * @module
 */
import { DecodeError, type DecodeReason } from '../errors/index';

/** CBOR major types. */
export const Major = {
  Uint: 0,
  NegInt: 1,
  Bytes: 2,
  Text: 3,
  Array: 4,
  Map: 5,
  Tag: 6,
  Simple: 7,
} as const;

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
/** Nesting bound for generic skipping: no Leios structure is deeper than this. */
export const MAX_DEPTH = 32;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
const utf8enc = new TextEncoder();

interface Head {
  major: number;
  /** value of the head: the integer, the length or the count; -1 for indefinite / break */
  value: number | bigint;
  start: number;
}

/** Options for length-carrying reads. `len` demands an exact length; `min`/`max` bound it. */
export interface LenOpts {
  len?: number;
  min?: number;
  max?: number;
}

/**
 * A cursor over one CBOR input that enforces the canonical rules while reading.
 *
 * @example
 * ```ts
 * const r = new CborReader(bytes);
 * r.readArray('vote', { len: 3 });
 * const rbHash = r.readBytes('vote.rb_hash', { len: 32 });
 * const voter = r.readUint('vote.voter_id', 65535);
 * const sig = r.readBytes('vote.signature', { len: 48 });
 * r.done('vote');
 * ```
 */
export class CborReader {
  pos: number;
  private readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    start = 0,
  ) {
    this.pos = start;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Bytes left after the cursor. */
  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  /** Throw a DecodeError at the current position. */
  fail(path: string, reason: DecodeReason, detail: string, at = this.pos): never {
    throw new DecodeError(path, reason, detail, at);
  }

  /** Major type of the next item without consuming it. */
  peekMajor(path: string): number {
    if (this.pos >= this.bytes.length) this.fail(path, 'truncated', 'expected an item');
    return this.bytes[this.pos]! >> 5;
  }

  /** Whether the next byte is the `null` simple value (0xf6). */
  peekNull(): boolean {
    return this.bytes[this.pos] === 0xf6;
  }

  /** Whether the next byte is a break (0xff), ending an indefinite container. */
  atBreak(): boolean {
    return this.bytes[this.pos] === 0xff;
  }

  private need(path: string, n: number): void {
    if (this.bytes.length - this.pos < n) this.fail(path, 'truncated', `need ${n} more byte(s)`);
  }

  /** Read an item head, enforcing shortest-form encoding. Indefinite heads yield value -1. */
  private head(path: string, allowIndefinite = false): Head {
    const start = this.pos;
    this.need(path, 1);
    const b = this.bytes[this.pos++]!;
    const major = b >> 5;
    const ai = b & 0x1f;
    let value: number | bigint;
    if (ai < 24) value = ai;
    else if (ai === 24) {
      this.need(path, 1);
      value = this.bytes[this.pos++]!;
      if (value < 24 && major !== Major.Simple) this.fail(path, 'non-canonical', 'integer head not minimal', start);
    } else if (ai === 25) {
      this.need(path, 2);
      value = this.view.getUint16(this.pos);
      this.pos += 2;
      if (value < 0x100) this.fail(path, 'non-canonical', 'integer head not minimal', start);
    } else if (ai === 26) {
      this.need(path, 4);
      value = this.view.getUint32(this.pos);
      this.pos += 4;
      if (value < 0x10000) this.fail(path, 'non-canonical', 'integer head not minimal', start);
    } else if (ai === 27) {
      this.need(path, 8);
      const v = this.view.getBigUint64(this.pos);
      this.pos += 8;
      if (v < 0x100000000n) this.fail(path, 'non-canonical', 'integer head not minimal', start);
      value = v <= MAX_SAFE ? Number(v) : v;
    } else if (ai === 31) {
      if (major === Major.Uint || major === Major.NegInt || major === Major.Tag) {
        this.fail(path, 'non-canonical', 'reserved additional info 31', start);
      }
      if (!allowIndefinite) this.fail(path, 'indefinite', 'indefinite length not allowed', start);
      value = -1;
    } else {
      this.fail(path, 'non-canonical', `reserved additional info ${ai}`, start);
    }
    if (major === Major.Tag) this.fail(path, 'unsupported', 'tags are not allowed', start);
    if (major === Major.Simple && ai >= 24 && ai !== 31) {
      this.fail(path, 'unsupported', ai >= 25 ? 'floats are not allowed' : 'simple value not allowed', start);
    }
    return { major, value, start };
  }

  private expect(path: string, h: Head, major: number, what: string): void {
    if (h.major !== major) this.fail(path, 'type', `expected ${what}, found major type ${h.major}`, h.start);
  }

  /** A length/count head checked against `opts`, and against the bytes left (each item needs ≥ 1 byte). */
  private lengthHead(path: string, major: number, what: string, opts: LenOpts, perItem: number): number {
    const h = this.head(path);
    this.expect(path, h, major, what);
    const n = h.value;
    if (typeof n === 'bigint') this.fail(path, 'limit', `${what} length too large`, h.start);
    if (opts.len !== undefined && n !== opts.len) {
      this.fail(path, 'limit', `expected ${what} of length ${opts.len}, got ${n}`, h.start);
    }
    if (opts.max !== undefined && n > opts.max) this.fail(path, 'limit', `${what} length ${n} > ${opts.max}`, h.start);
    if (opts.min !== undefined && n < opts.min) this.fail(path, 'limit', `${what} length ${n} < ${opts.min}`, h.start);
    if (n * perItem > this.remaining) this.fail(path, 'truncated', `${what} of length ${n} exceeds input`, h.start);
    return n;
  }

  /**
   * An unsigned integer that fits `max` (default: the largest safe integer).
   *
   * @example
   * ```ts
   * const slot = r.readUint('rb_header.slot');
   * ```
   */
  readUint(path: string, max: number = Number.MAX_SAFE_INTEGER): number {
    const h = this.head(path);
    this.expect(path, h, Major.Uint, 'unsigned integer');
    if (typeof h.value === 'bigint' || h.value > max) this.fail(path, 'limit', `integer above ${max}`, h.start);
    return h.value;
  }

  /** An unsigned integer up to 2^64 − 1 as a bigint (amounts, stakes, bitmap words). @example `r.readUint64('amount')` */
  readUint64(path: string): bigint {
    const h = this.head(path);
    this.expect(path, h, Major.Uint, 'unsigned integer');
    return BigInt(h.value);
  }

  /**
   * A definite byte string, returned as a view into the input (no copy).
   *
   * @example
   * ```ts
   * const h = r.readBytes('eb_hash', { len: 32 });
   * ```
   */
  readBytes(path: string, opts: LenOpts = {}): Uint8Array {
    const n = this.lengthHead(path, Major.Bytes, 'byte string', opts, 1);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** A definite UTF-8 text string of at most `max` bytes. @example `r.readText('reason', 256)` */
  readText(path: string, max: number): string {
    const n = this.lengthHead(path, Major.Text, 'text string', { max }, 1);
    const start = this.pos;
    this.pos += n;
    try {
      return utf8.decode(this.bytes.subarray(start, start + n));
    } catch {
      return this.fail(path, 'value', 'invalid UTF-8', start);
    }
  }

  /** A definite array head; returns the element count. @example `r.readArray('vote', { len: 3 })` */
  readArray(path: string, opts: LenOpts = {}): number {
    return this.lengthHead(path, Major.Array, 'array', opts, 1);
  }

  /** A definite map head; returns the entry count. @example `r.readMap('eb', { min: 1, max: 16000 })` */
  readMap(path: string, opts: LenOpts = {}): number {
    return this.lengthHead(path, Major.Map, 'map', opts, 2);
  }

  /**
   * A map head that may be indefinite (only the §10.3 tx bitmap allows it): the entry count, or
   * `-1` for an indefinite map (then read entries until {@link atBreak} and call {@link readBreak}).
   */
  readMapMaybeIndefinite(path: string, opts: LenOpts = {}): number {
    const start = this.pos;
    this.need(path, 1);
    if (this.bytes[this.pos] === 0xbf) {
      this.pos++;
      return -1;
    }
    this.pos = start;
    return this.readMap(path, opts);
  }

  /** Consume a break byte (0xff). */
  readBreak(path: string): void {
    if (!this.atBreak()) this.fail(path, 'type', 'expected break');
    this.pos++;
  }

  /** `true` or `false`. @example `r.readBool('certified_eb')` */
  readBool(path: string): boolean {
    const b = this.bytes[this.pos];
    if (b === 0xf4 || b === 0xf5) {
      this.pos++;
      return b === 0xf5;
    }
    return this.fail(path, this.pos >= this.bytes.length ? 'truncated' : 'type', 'expected a boolean');
  }

  /** Consume `null`. */
  readNull(path: string): null {
    if (!this.peekNull()) this.fail(path, this.pos >= this.bytes.length ? 'truncated' : 'type', 'expected null');
    this.pos++;
    return null;
  }

  /**
   * Skip one complete item, checking that it is canonical, and return its exact bytes (a view).
   *
   * @example
   * ```ts
   * const headerBytes = r.readRaw('rb_block.header');
   * ```
   */
  readRaw(path: string, maxLen = Number.MAX_SAFE_INTEGER): Uint8Array {
    const start = this.pos;
    this.skip(path, 0);
    if (this.pos - start > maxLen) this.fail(path, 'limit', `item of ${this.pos - start} bytes > ${maxLen}`, start);
    return this.bytes.subarray(start, this.pos);
  }

  /** Skip one canonical item (any shape), bounded in depth; maps are checked for duplicate keys. */
  skip(path: string, depth = 0): void {
    if (depth > MAX_DEPTH) this.fail(path, 'limit', `nesting deeper than ${MAX_DEPTH}`);
    const h = this.head(path);
    const n = h.value;
    switch (h.major) {
      case Major.Uint:
      case Major.NegInt:
        return;
      case Major.Bytes:
      case Major.Text: {
        if (typeof n === 'bigint' || n > this.remaining) this.fail(path, 'truncated', 'string exceeds input', h.start);
        if (h.major === Major.Text) {
          try {
            utf8.decode(this.bytes.subarray(this.pos, this.pos + n));
          } catch {
            this.fail(path, 'value', 'invalid UTF-8', h.start);
          }
        }
        this.pos += n;
        return;
      }
      case Major.Array: {
        if (typeof n === 'bigint' || n > this.remaining) this.fail(path, 'truncated', 'array exceeds input', h.start);
        for (let i = 0; i < n; i++) this.skip(`${path}[${i}]`, depth + 1);
        return;
      }
      case Major.Map: {
        if (typeof n === 'bigint' || 2 * n > this.remaining) this.fail(path, 'truncated', 'map exceeds input', h.start);
        // Duplicate keys are found through a set of the keys' encoded bytes (as latin1 strings),
        // so a map of n entries costs O(n) — an EB of ~13k references is skipped this way when
        // it travels inside a LeiosFetch Block message.
        const keys = new Set<string>();
        for (let i = 0; i < n; i++) {
          const ks = this.pos;
          this.skip(`${path}{${i}}`, depth + 1);
          const key = latin1(this.bytes, ks, this.pos);
          if (keys.has(key)) this.fail(path, 'duplicate-key', 'duplicate map key', ks);
          keys.add(key);
          this.skip(`${path}{${i}}`, depth + 1);
        }
        return;
      }
      case Major.Simple:
        // head() already refused floats and simple values other than false/true/null/undefined;
        // undefined (0xf7) is not one of the three allowed (§1.2).
        if (n !== 20 && n !== 21 && n !== 22) this.fail(path, 'unsupported', `simple value ${String(n)} not allowed`, h.start);
        return;
      default:
        this.fail(path, 'unsupported', `major type ${h.major}`, h.start);
    }
  }

  /** Assert the input is fully consumed (§1.2: no bytes after the top-level item). */
  done(path: string): void {
    if (this.pos !== this.bytes.length) this.fail(path, 'trailing', `${this.bytes.length - this.pos} trailing byte(s)`);
  }
}

/** The bytes `[start, end)` as a latin1 string (one char per byte): an exact, cheap set key. */
function latin1(bytes: Uint8Array, start: number, end: number): string {
  let out = '';
  // Chunked so a long key never exceeds the engine's argument-count limit.
  for (let i = start; i < end; i += 4096) {
    out += String.fromCharCode.apply(null, bytes.subarray(i, Math.min(end, i + 4096)) as unknown as number[]);
  }
  return out;
}

/**
 * Run `fn` over a reader of `bytes` and require that it consumes every byte.
 *
 * @example
 * ```ts
 * const n = decodeStrict(bytes, 'n', (r) => r.readUint('n'));
 * ```
 */
export function decodeStrict<T>(bytes: Uint8Array, path: string, fn: (r: CborReader) => T): T {
  const r = new CborReader(bytes);
  const v = fn(r);
  r.done(path);
  return v;
}

/**
 * A growable canonical CBOR encoder. It only emits shortest heads and definite lengths (except
 * {@link CborWriter.indefiniteMap}, used for the §10.3 bitmap).
 *
 * @example
 * ```ts
 * const w = new CborWriter();
 * w.array(3).bytes(rbHash).uint(seat).bytes(sig);
 * const voteBytes = w.finish();
 * ```
 */
export class CborWriter {
  private buf: Uint8Array;
  private view: DataView;
  private len = 0;

  constructor(initial = 256) {
    this.buf = new Uint8Array(initial);
    this.view = new DataView(this.buf.buffer);
  }

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  private headOf(major: number, v: number | bigint): this {
    const m = major << 5;
    if (typeof v === 'number' && (!Number.isSafeInteger(v) || v < 0)) throw new RangeError(`cbor: bad head value ${v}`);
    if (typeof v === 'bigint' && (v < 0n || v >= 1n << 64n)) throw new RangeError(`cbor: bad head value ${v}`);
    const x = typeof v === 'bigint' && v <= MAX_SAFE ? Number(v) : v;
    if (typeof x === 'number' && x < 24) {
      this.ensure(1);
      this.buf[this.len++] = m | x;
    } else if (typeof x === 'number' && x < 0x100) {
      this.ensure(2);
      this.buf[this.len++] = m | 24;
      this.buf[this.len++] = x;
    } else if (typeof x === 'number' && x < 0x10000) {
      this.ensure(3);
      this.buf[this.len++] = m | 25;
      this.view.setUint16(this.len, x);
      this.len += 2;
    } else if (typeof x === 'number' && x < 0x100000000) {
      this.ensure(5);
      this.buf[this.len++] = m | 26;
      this.view.setUint32(this.len, x);
      this.len += 4;
    } else {
      this.ensure(9);
      this.buf[this.len++] = m | 27;
      this.view.setBigUint64(this.len, BigInt(x));
      this.len += 8;
    }
    return this;
  }

  /** Unsigned integer (number or bigint up to 2^64 − 1). */
  uint(v: number | bigint): this {
    return this.headOf(Major.Uint, v);
  }
  /** Byte string. */
  bytes(b: Uint8Array): this {
    this.headOf(Major.Bytes, b.length);
    return this.raw(b);
  }
  /** UTF-8 text string. */
  text(s: string): this {
    return this.bytes2(Major.Text, utf8enc.encode(s));
  }
  private bytes2(major: number, b: Uint8Array): this {
    this.headOf(major, b.length);
    return this.raw(b);
  }
  /** Array head with `n` elements to follow. */
  array(n: number): this {
    return this.headOf(Major.Array, n);
  }
  /** Map head with `n` entries to follow. */
  map(n: number): this {
    return this.headOf(Major.Map, n);
  }
  /** Indefinite-length map head (only for the §10.3 bitmap); close with {@link end}. */
  indefiniteMap(): this {
    this.ensure(1);
    this.buf[this.len++] = 0xbf;
    return this;
  }
  /** Break byte closing an indefinite container. */
  end(): this {
    this.ensure(1);
    this.buf[this.len++] = 0xff;
    return this;
  }
  bool(v: boolean): this {
    this.ensure(1);
    this.buf[this.len++] = v ? 0xf5 : 0xf4;
    return this;
  }
  null(): this {
    this.ensure(1);
    this.buf[this.len++] = 0xf6;
    return this;
  }
  /** Pre-encoded item bytes, copied verbatim (e.g. a stored header inside a block). */
  raw(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }
  /** Bytes written so far. */
  get length(): number {
    return this.len;
  }
  /** The encoding (a copy, sized exactly). */
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** A generic decoded CBOR value (tests, fuzzing, diagnostics). Maps keep their entry order. */
export type CborValue = number | bigint | Uint8Array | string | boolean | null | CborValue[] | CborMap;

/** A CBOR map as ordered entries (keys need not be strings). */
export class CborMap {
  constructor(readonly entries: Array<[CborValue, CborValue]>) {}
}

/**
 * Decode any canonical item into a {@link CborValue}, bounded in depth. Negative integers are
 * returned as negative numbers / bigints.
 *
 * @example
 * ```ts
 * decodeValue(new Uint8Array([0x82, 0x01, 0x02])) // [1, 2]
 * ```
 */
export function decodeValue(bytes: Uint8Array): CborValue {
  return decodeStrict(bytes, 'value', (r) => {
    // Validate the whole item once (canonical, duplicate keys, depth), then build the value.
    const start = r.pos;
    r.skip('value');
    const end = r.pos;
    const inner = new CborReader(bytes.subarray(start, end));
    return build(inner, 'value');
  });
}

function build(r: CborReader, path: string): CborValue {
  const major = r.peekMajor(path);
  switch (major) {
    case Major.Uint: {
      const v = r.readUint64(path);
      return v <= MAX_SAFE ? Number(v) : v;
    }
    case Major.NegInt: {
      // -1 - n; re-read via raw to get n.
      const raw = r.readRaw(path);
      const n = new CborReader(Uint8Array.of((raw[0]! & 0x1f) | (Major.Uint << 5), ...raw.subarray(1))).readUint64(path);
      const v = -1n - n;
      return v >= -MAX_SAFE ? Number(v) : v;
    }
    case Major.Bytes:
      return r.readBytes(path).slice();
    case Major.Text:
      return r.readText(path, Number.MAX_SAFE_INTEGER);
    case Major.Array: {
      const n = r.readArray(path);
      const out: CborValue[] = [];
      for (let i = 0; i < n; i++) out.push(build(r, `${path}[${i}]`));
      return out;
    }
    case Major.Map: {
      const n = r.readMap(path);
      const entries: Array<[CborValue, CborValue]> = [];
      for (let i = 0; i < n; i++) entries.push([build(r, path), build(r, `${path}{${i}}`)]);
      return new CborMap(entries);
    }
    default: {
      if (r.peekNull()) return r.readNull(path);
      return r.readBool(path);
    }
  }
}

/**
 * Canonical encoding of a {@link CborValue}.
 *
 * @example
 * ```ts
 * encodeValue([1, new Uint8Array([2])]) // 82 01 41 02
 * ```
 */
export function encodeValue(v: CborValue, w: CborWriter = new CborWriter()): Uint8Array {
  write(w, v);
  return w.finish();
}

function write(w: CborWriter, v: CborValue): void {
  if (v === null) w.null();
  else if (typeof v === 'boolean') w.bool(v);
  else if (typeof v === 'number' || typeof v === 'bigint') {
    const b = BigInt(v);
    if (b >= 0n) w.uint(b);
    else {
      // negative integers: major 1 with value -1 - v
      const tmp = new CborWriter(16).uint(-1n - b).finish();
      tmp[0] = (tmp[0]! & 0x1f) | (Major.NegInt << 5);
      w.raw(tmp);
    }
  } else if (typeof v === 'string') w.text(v);
  else if (v instanceof Uint8Array) w.bytes(v);
  else if (Array.isArray(v)) {
    w.array(v.length);
    for (const x of v) write(w, x);
  } else {
    w.map(v.entries.length);
    for (const [k, x] of v.entries) {
      write(w, k);
      write(w, x);
    }
  }
}
