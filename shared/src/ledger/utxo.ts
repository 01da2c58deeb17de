/**
 * UTxO views: the abstract read interface the ledger rules run against, an in-memory set with
 * exact undo and an incremental state hash, and an overlay for pending (mempool / block-local)
 * changes.
 *
 * Primer: the rules of §5.2 only ever ask "which output sits at (txid, index)?", so they take a
 * {@link UtxoView}; the storage node backs it with its database, tests and the bench with
 * {@link MemoryUtxo}, and the mempool and block application stack an {@link OverlayUtxo} on top
 * (pending outputs visible, pending spends hidden) so nothing below is touched until a change is
 * committed. A change is a {@link UtxoDelta}: the entries consumed (with their outputs, which is
 * exactly the undo data) and the entries produced. Undoing a delta restores the previous set
 * exactly, entry for entry.
 *
 * State hash (what two nodes compare): an additive multiset hash. Each entry is digested as
 * `H256("LEIOS-UTXO" || txid || u64be(index) || address || u64be(amount))` (86 bytes, one Blake2b
 * block); the accumulator is the sum of the digests of the entries present, as 256-bit big-endian
 * integers mod 2^256; the published value is `H256("LEIOS-UTXO-SET" || acc || u64be(count))`.
 * It is order-independent (two nodes reaching one set by different paths agree) and incremental:
 * applying or undoing a delta costs one digest per changed entry, never a pass over ~100k
 * entries. Digests are computed lazily when the hash is asked for (typically once per block), so
 * applying txs does no hashing at all. It is a consistency fingerprint, not a commitment: an
 * unkeyed additive hash admits generalised-birthday (Wagner) collisions for an attacker who can
 * choose many entries, so nothing in consensus may depend on it. {@link utxoSetHash} computes the
 * same value from scratch.
 *
 * @module
 */
import { ascii, bytesEqual, concatBytes, fromHex, u64be } from '../bytes/index';
import { blake2b256 } from '../crypto/blake2b';
import type { Hash32 } from '../types/index';
import type { OutRef, TxOutput } from './tx';

/** Read access to a UTxO set: the output at `(txId, index)`, or `undefined` if absent / spent. */
export interface UtxoView {
  get(txId: Hash32, index: number): TxOutput | undefined;
}

/** One UTxO entry: where it is and what it holds. */
export interface UtxoEntry {
  readonly ref: OutRef;
  readonly output: TxOutput;
}

/** A change to a UTxO set: entries removed (undo data) and entries added, applied in that order. */
export interface UtxoDelta {
  readonly consumed: readonly UtxoEntry[];
  readonly produced: readonly UtxoEntry[];
}

/** Two hex char codes per byte value, for building keys without intermediate strings. */
const HEX_CODES: Uint16Array = (() => {
  const t = new Uint16Array(256);
  const cs = '0123456789abcdef';
  for (let i = 0; i < 256; i++) t[i] = (cs.charCodeAt(i >> 4) << 8) | cs.charCodeAt(i & 15);
  return t;
})();

/**
 * The map key of an output reference: `<txid hex>#<index>`. Built as one flat string (keys are
 * made and hashed several times per tx, so this is on the hot path of block application).
 *
 * @example
 * ```ts
 * utxoKey(txId, 0) // 'ab12…#0'
 * ```
 */
export function utxoKey(txId: Uint8Array, index: number): string {
  const codes = new Array<number>(2 * txId.length);
  for (let i = 0; i < txId.length; i++) {
    const v = HEX_CODES[txId[i]!]!;
    codes[2 * i] = v >> 8;
    codes[2 * i + 1] = v & 0xff;
  }
  return `${String.fromCharCode.apply(null, codes)}#${index}`;
}

/** A view that can also be read by {@link utxoKey} (saves recomputing keys in stacked views). */
export interface KeyedUtxoView extends UtxoView {
  getByKey(key: string): TxOutput | undefined;
}

function isKeyed(v: UtxoView): v is KeyedUtxoView {
  return typeof (v as Partial<KeyedUtxoView>).getByKey === 'function';
}

const ENTRY_TAG = ascii('LEIOS-UTXO');
const SET_TAG = ascii('LEIOS-UTXO-SET');

/**
 * The 32-byte digest of one entry for the state hash (see the module primer).
 *
 * @example
 * ```ts
 * const d = utxoEntryDigest({ ref: { txId, index: 0 }, output: { address, amount } });
 * ```
 */
export function utxoEntryDigest(e: UtxoEntry): Uint8Array {
  const buf = new Uint8Array(86);
  const v = new DataView(buf.buffer);
  buf.set(ENTRY_TAG, 0);
  buf.set(e.ref.txId, 10);
  v.setBigUint64(42, BigInt(e.ref.index));
  buf.set(e.output.address, 50);
  v.setBigUint64(78, e.output.amount);
  return blake2b256(buf);
}

function sameOutput(a: TxOutput, b: TxOutput): boolean {
  return a.amount === b.amount && bytesEqual(a.address, b.address);
}

/** A 256-bit accumulator mod 2^256, eight big-endian 32-bit limbs. */
class Sum256 {
  readonly limbs = new Uint32Array(8);

  /** `acc += d` (or `acc -= d` when `negate`), d read as a 32-byte big-endian integer. */
  add(d: Uint8Array, negate: boolean): void {
    // Subtraction is addition of the two's complement: ~d + 1.
    let carry = negate ? 1 : 0;
    for (let i = 7; i >= 0; i--) {
      const o = 4 * i;
      let w = ((d[o]! << 24) | (d[o + 1]! << 16) | (d[o + 2]! << 8) | d[o + 3]!) >>> 0;
      if (negate) w = ~w >>> 0;
      const s = this.limbs[i]! + w + carry;
      this.limbs[i] = s >>> 0;
      carry = s > 0xffffffff ? 1 : 0;
    }
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(32);
    const v = new DataView(out.buffer);
    for (let i = 0; i < 8; i++) v.setUint32(4 * i, this.limbs[i]!);
    return out;
  }

  copyFrom(o: Sum256): void {
    this.limbs.set(o.limbs);
  }
}

/** Most pending state-hash updates a {@link MemoryUtxo} keeps before folding them in. */
const MAX_PENDING = 1 << 16;

function finishSetHash(acc: Sum256, count: number): Hash32 {
  return blake2b256(concatBytes(SET_TAG, acc.bytes(), u64be(count)));
}

/**
 * The state hash of a set of entries computed from scratch (equal to {@link MemoryUtxo.stateHash}
 * of a set holding exactly these entries, in any order).
 *
 * @example
 * ```ts
 * utxoSetHash(genesisEntries)
 * ```
 */
export function utxoSetHash(entries: Iterable<UtxoEntry>): Hash32 {
  const acc = new Sum256();
  let n = 0;
  for (const e of entries) {
    acc.add(utxoEntryDigest(e), false);
    n++;
  }
  return finishSetHash(acc, n);
}

/**
 * An in-memory UTxO set (Map keyed by {@link utxoKey}) with apply / exact undo of deltas and an
 * incremental, lazily-computed state hash.
 *
 * @example
 * ```ts
 * const utxo = MemoryUtxo.fromEntries(genesisEntries);
 * const delta = applyBlock(utxo, block);
 * utxo.apply(delta);
 * const h = utxo.stateHash();
 * utxo.undo(delta); // rollback
 * ```
 */
export class MemoryUtxo implements KeyedUtxoView {
  private readonly map = new Map<string, UtxoEntry>();
  private readonly acc = new Sum256();
  /**
   * Entries added (+) / removed (−) since the accumulator was last brought up to date. Bounded:
   * past {@link MAX_PENDING} the digests are folded in eagerly, so a caller that never asks for
   * the hash does not accumulate memory.
   */
  private pending: Array<{ entry: UtxoEntry; remove: boolean }> = [];

  /** A set holding `entries` (e.g. the genesis `initialUtxo`); throws on a repeated reference. */
  static fromEntries(entries: Iterable<UtxoEntry>): MemoryUtxo {
    const u = new MemoryUtxo();
    u.apply({ consumed: [], produced: [...entries] });
    return u;
  }

  get(txId: Hash32, index: number): TxOutput | undefined {
    return this.map.get(utxoKey(txId, index))?.output;
  }

  getByKey(key: string): TxOutput | undefined {
    return this.map.get(key)?.output;
  }

  /** Number of entries. */
  get size(): number {
    return this.map.size;
  }

  /** All entries in insertion order. */
  entries(): IterableIterator<UtxoEntry> {
    return this.map.values();
  }

  /** Σ amount over all entries. */
  totalValue(): bigint {
    let s = 0n;
    for (const e of this.map.values()) s += e.output.amount;
    return s;
  }

  /**
   * Apply a delta: remove `consumed`, then add `produced`. Atomic: throws (an invariant `Error`,
   * since a delta computed against this state always fits) before changing anything if a consumed
   * entry is absent or different, or a produced reference is already present.
   */
  apply(delta: UtxoDelta): void {
    const ck = delta.consumed.map((e) => utxoKey(e.ref.txId, e.ref.index));
    const pk = delta.produced.map((e) => utxoKey(e.ref.txId, e.ref.index));
    const gone = new Set<string>();
    for (let i = 0; i < ck.length; i++) {
      const k = ck[i]!;
      const e = delta.consumed[i]!;
      const cur = this.map.get(k);
      if (!cur || gone.has(k) || (cur.output !== e.output && !sameOutput(cur.output, e.output))) {
        throw new Error(`MemoryUtxo.apply: consumed entry ${k} is not present`);
      }
      gone.add(k);
    }
    const added = new Set<string>();
    for (const k of pk) {
      if ((this.map.has(k) && !gone.has(k)) || added.has(k)) throw new Error(`MemoryUtxo.apply: produced entry ${k} already present or repeated`);
      added.add(k);
    }
    for (let i = 0; i < ck.length; i++) {
      this.map.delete(ck[i]!);
      this.pending.push({ entry: delta.consumed[i]!, remove: true });
    }
    for (let i = 0; i < pk.length; i++) {
      const e = delta.produced[i]!;
      this.map.set(pk[i]!, e);
      this.pending.push({ entry: e, remove: false });
    }
    this.bound();
  }

  /**
   * Undo a delta applied last (or one whose effects are still intact): remove `produced`, restore
   * `consumed`. Atomic like {@link apply}.
   */
  undo(delta: UtxoDelta): void {
    const ck = delta.consumed.map((e) => utxoKey(e.ref.txId, e.ref.index));
    const pk = delta.produced.map((e) => utxoKey(e.ref.txId, e.ref.index));
    const back = new Set<string>();
    for (const k of pk) {
      if (!this.map.has(k) || back.has(k)) throw new Error(`MemoryUtxo.undo: produced entry ${k} is not present`);
      back.add(k);
    }
    for (const k of ck) {
      if (this.map.has(k) && !back.has(k)) throw new Error(`MemoryUtxo.undo: consumed entry ${k} is present`);
    }
    for (let i = pk.length - 1; i >= 0; i--) {
      this.map.delete(pk[i]!);
      this.pending.push({ entry: delta.produced[i]!, remove: true });
    }
    for (let i = ck.length - 1; i >= 0; i--) {
      const e = delta.consumed[i]!;
      this.map.set(ck[i]!, e);
      this.pending.push({ entry: e, remove: false });
    }
    this.bound();
  }

  /**
   * The ledger state hash (module primer). Costs one Blake2b per entry changed since the last
   * call, plus one.
   */
  stateHash(): Hash32 {
    this.fold();
    return finishSetHash(this.acc, this.map.size);
  }

  private fold(): void {
    for (const p of this.pending) this.acc.add(utxoEntryDigest(p.entry), p.remove);
    this.pending = [];
  }

  private bound(): void {
    if (this.pending.length > MAX_PENDING) this.fold();
  }

  /** An independent copy (entries are immutable and shared). */
  clone(): MemoryUtxo {
    this.stateHash();
    const c = new MemoryUtxo();
    for (const [k, e] of this.map) c.map.set(k, e);
    c.acc.copyFrom(this.acc);
    return c;
  }
}

/**
 * A view layering pending changes over a base view: outputs added here are visible, entries
 * spent here are hidden; the base is never written. Used by the mempool (pending txs over the
 * selected tip's state) and by block application (the txs of one block before commit).
 *
 * @example
 * ```ts
 * const pending = new OverlayUtxo(tipState);
 * pending.apply(validateAgainst(pending, tx, 'apply', slot));
 * ```
 */
export class OverlayUtxo implements KeyedUtxoView {
  private readonly added = new Map<string, UtxoEntry>();
  private readonly spent = new Map<string, UtxoEntry>();

  private readonly keyedBase: KeyedUtxoView | undefined;

  constructor(readonly base: UtxoView) {
    this.keyedBase = isKeyed(base) ? base : undefined;
  }

  get(txId: Hash32, index: number): TxOutput | undefined {
    const k = utxoKey(txId, index);
    const a = this.added.get(k);
    if (a) return a.output;
    if (this.spent.has(k)) return undefined;
    return this.keyedBase ? this.keyedBase.getByKey(k) : this.base.get(txId, index);
  }

  getByKey(key: string): TxOutput | undefined {
    const a = this.added.get(key);
    if (a) return a.output;
    if (this.spent.has(key)) return undefined;
    if (this.keyedBase) return this.keyedBase.getByKey(key);
    const i = key.lastIndexOf('#');
    return this.base.get(fromHex(key.slice(0, i)) as Hash32, Number(key.slice(i + 1)));
  }

  /**
   * Apply a delta on top (consumed entries must be visible, produced ones absent; checked
   * unless `checked` is false, for callers whose delta was just computed against this view).
   */
  apply(delta: UtxoDelta, checked = true): void {
    if (checked) {
      const gone = new Set<string>();
      for (const e of delta.consumed) {
        const k = utxoKey(e.ref.txId, e.ref.index);
        if (gone.has(k) || this.get(e.ref.txId, e.ref.index) === undefined) {
          throw new Error(`OverlayUtxo.apply: consumed entry ${k} is not visible`);
        }
        gone.add(k);
      }
      for (const e of delta.produced) {
        const k = utxoKey(e.ref.txId, e.ref.index);
        if (this.get(e.ref.txId, e.ref.index) !== undefined && !gone.has(k)) {
          throw new Error(`OverlayUtxo.apply: produced entry ${k} already visible`);
        }
      }
    }
    for (const e of delta.consumed) {
      const k = utxoKey(e.ref.txId, e.ref.index);
      if (!this.added.delete(k)) this.spent.set(k, e);
    }
    for (const e of delta.produced) this.added.set(utxoKey(e.ref.txId, e.ref.index), e);
  }

  /** Undo a delta applied on top of this overlay (the last one, or one still intact). */
  undo(delta: UtxoDelta): void {
    for (let i = delta.produced.length - 1; i >= 0; i--) {
      const e = delta.produced[i]!;
      const k = utxoKey(e.ref.txId, e.ref.index);
      if (!this.added.delete(k)) throw new Error(`OverlayUtxo.undo: produced entry ${k} is not pending`);
    }
    for (let i = delta.consumed.length - 1; i >= 0; i--) {
      const e = delta.consumed[i]!;
      const k = utxoKey(e.ref.txId, e.ref.index);
      if (!this.spent.delete(k)) this.added.set(k, e);
    }
  }

  /** Base entries spent by the pending changes (net), in spending order. */
  consumedFromBase(): UtxoEntry[] {
    return [...this.spent.values()];
  }

  /** Entries added by the pending changes and not spent again (net). */
  producedNet(): UtxoEntry[] {
    return [...this.added.values()];
  }

  /** The net pending change as one delta against the base. */
  netDelta(): UtxoDelta {
    return { consumed: this.consumedFromBase(), produced: this.producedNet() };
  }

  /** Drop all pending changes. */
  clear(): void {
    this.added.clear();
    this.spent.clear();
  }
}
