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
import { ascii, bytesEqual, concatBytes, toHex, u64be } from '../bytes/index';
import { blake2b256 } from '../crypto/blake2b';
import type { Hash32 } from '../types/index';
import { APPLY_KEYED, COMMIT_NO_VALIDATE, hexKey, keysFor, parseRefKey, refKey, refKeyOfHex, rememberKeys, txRefKeys } from './key';
import type { OutRef, Tx, TxOutput } from './tx';

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

/**
 * The map key of an output reference: `<txid hex>#<index>`. A readable, stable key for callers'
 * own maps; the ledger's sets key their maps by a more compact internal key (module key.ts), so
 * this is off their hot path.
 *
 * @example
 * ```ts
 * utxoKey(txId, 0) // 'ab12…#0'
 * ```
 */
export function utxoKey(txId: Uint8Array, index: number): string {
  return hexKey(txId, index);
}

/** A view that can also be read by {@link utxoKey} (saves recomputing keys in stacked views). */
export interface KeyedUtxoView extends UtxoView {
  getByKey(key: string): TxOutput | undefined;
}

/**
 * A view that can be read by the ledger's compact internal key (what {@link MemoryUtxo} and
 * {@link OverlayUtxo} implement, so stacked views compute a key once per lookup).
 */
export interface RefKeyedUtxoView extends UtxoView {
  getByRefKey(key: string): TxOutput | undefined;
}

/** Whether `v` can be read by the compact internal key. */
export function isRefKeyed(v: UtxoView): v is RefKeyedUtxoView {
  return typeof (v as Partial<RefKeyedUtxoView>).getByRefKey === 'function';
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

/**
 * Why a no-validate commit failed (internal, see {@link MemoryUtxo}'s `COMMIT_NO_VALIDATE`): the
 * position of the tx in the list, the §12 rule and a detail. Nothing was changed.
 */
export interface NoValidateFailure {
  readonly at: number;
  readonly rule: 'input-missing' | 'already-applied';
  readonly detail: string;
}

/**
 * What a successful no-validate commit recorded (internal): the net delta (keys remembered), and
 * every entry each tx spent and created in application order, `spent` input by input and `made`
 * output by output, from which state.ts builds the per-tx deltas when (if ever) they are read.
 */
export interface NoValidateCommit {
  readonly delta: UtxoDelta;
  readonly spent: readonly UtxoEntry[];
  readonly made: readonly UtxoEntry[];
}

/** Stamps of {@link MadeEntry}s: one per no-validate commit, never reused. */
let commitStamp = 0;

/**
 * A UTxO entry created by a no-validate commit: it is its own {@link OutRef} (one object per
 * output instead of two), carries its map key (so the commit keeps no parallel key list) and the
 * stamp of the commit that made it, so the commit tells outputs it created from entries of the
 * set without a block-local map. The stamp is reset to 0 when the same commit spends the output
 * again (then it is in neither net list).
 */
class MadeEntry implements UtxoEntry, OutRef {
  constructor(
    readonly txId: Hash32,
    readonly index: number,
    readonly output: TxOutput,
    readonly key: string,
    public stamp: number,
  ) {}

  get ref(): OutRef {
    return this;
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
  return UtxoSetHasher.of(entries).stateHash();
}

/**
 * An in-memory UTxO set with apply / exact undo of deltas and an incremental, lazily-computed
 * state hash. Keyed internally by the compact key of key.ts; {@link getByKey} still accepts
 * {@link utxoKey} keys.
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
export class MemoryUtxo implements KeyedUtxoView, RefKeyedUtxoView {
  private map = new Map<string, UtxoEntry>();
  private readonly acc = new Sum256();
  /**
   * Entries added / removed since the accumulator was last brought up to date (the sum is
   * commutative, so the order of folding does not matter), kept as the delta lists themselves
   * (one push per delta, not per entry: the lists are immutable once made). Bounded: past
   * {@link MAX_PENDING} entries the digests are folded in eagerly, so a caller that never asks
   * for the hash does not accumulate memory.
   */
  private pendingAdd: (readonly UtxoEntry[])[] = [];
  private pendingRemove: (readonly UtxoEntry[])[] = [];
  /** Number of entries in {@link pendingAdd} and {@link pendingRemove}. */
  private pendingCount = 0;

  /** A set holding `entries` (e.g. the genesis `initialUtxo`); throws on a repeated reference. */
  static fromEntries(entries: Iterable<UtxoEntry>): MemoryUtxo {
    const u = new MemoryUtxo();
    u.apply({ consumed: [], produced: [...entries] });
    return u;
  }

  /**
   * Replace the whole content by `entries` (e.g. a set loaded from a database), keeping this
   * object, so views stacked on it stay valid. Throws on a repeated reference and then changes
   * nothing.
   */
  reset(entries: Iterable<UtxoEntry>): void {
    const fresh = MemoryUtxo.fromEntries(entries);
    fresh.stateHash();
    this.map = fresh.map;
    this.acc.copyFrom(fresh.acc);
    this.pendingAdd = [];
    this.pendingRemove = [];
    this.pendingCount = 0;
  }

  get(txId: Hash32, index: number): TxOutput | undefined {
    return this.map.get(refKey(txId, index))?.output;
  }

  getByKey(key: string): TxOutput | undefined {
    const k = refKeyOfHex(key);
    return k === undefined ? undefined : this.map.get(k)?.output;
  }

  getByRefKey(key: string): TxOutput | undefined {
    return this.map.get(key)?.output;
  }

  /** Number of entries. */
  get size(): number {
    return this.map.size;
  }

  /** All entries (in the order they were last added). */
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
   * since a delta computed against this state always fits) and changes nothing if a consumed
   * entry is absent, different or repeated, or a produced reference is already present or
   * repeated.
   */
  apply(delta: UtxoDelta): void {
    const { ck, pk } = keysFor(delta);
    const { consumed, produced } = delta;
    const map = this.map;
    // Change as we check, and put everything back on failure: no per-call sets, and a repeated
    // key fails naturally (its first occurrence already removed / added it).
    const was = new Array<UtxoEntry>(ck.length);
    let i = 0;
    let j = 0;
    let err: string | undefined;
    for (; i < ck.length; i++) {
      const k = ck[i]!;
      const e = consumed[i]!;
      const cur = map.get(k);
      if (cur === undefined || (cur.output !== e.output && !sameOutput(cur.output, e.output))) {
        err = `consumed entry ${hexKey(e.ref.txId, e.ref.index)} is not present`;
        break;
      }
      was[i] = cur;
      map.delete(k);
    }
    if (err === undefined) {
      for (; j < pk.length; j++) {
        const k = pk[j]!;
        if (map.has(k)) {
          const r = produced[j]!.ref;
          err = `produced entry ${hexKey(r.txId, r.index)} already present or repeated`;
          break;
        }
        map.set(k, produced[j]!);
      }
    }
    if (err !== undefined) {
      while (j-- > 0) map.delete(pk[j]!);
      while (i-- > 0) map.set(ck[i]!, was[i]!);
      throw new Error(`MemoryUtxo.apply: ${err}`);
    }
    // copies: the caller owns the delta's arrays
    this.pend(produced.slice(), consumed.slice());
  }

  /**
   * Apply txs in order at the no-validate level (PROTOCOL.md §5.3: UTxO update only) straight
   * onto this set, and return the net delta (the undo data, keys remembered) with the entries
   * each tx spent and created; or, if an input is missing (absent, or spent earlier in the list
   * or the tx) or an output reference already exists, change nothing and return the failure.
   * Internal: state.ts `commitBlock` is the entry point.
   *
   * Why a separate path: block application at the other levels checks every tx against an
   * overlay and then commits the overlay's net change, two rounds of Map operations per entry.
   * With nothing to check but presence, the set itself can play the overlay: per input one
   * lookup and one delete, per output one presence test and one insert, under the keys the
   * decoder attached to the tx (key.ts `txRefKeys`); the commit stamp on each created entry tells
   * outputs created in this block (net delta) apart without a block-local map. Nothing is
   * allocated per tx: one entry per output, and the flat `spent` / `made` lists instead of
   * per-tx deltas (state.ts builds those only if asked). A failure puts back exactly what was
   * changed.
   */
  [COMMIT_NO_VALIDATE](txs: readonly Tx[]): NoValidateCommit | NoValidateFailure {
    const map = this.map;
    const stamp = ++commitStamp;
    // every entry spent and every output created here, in order (`stamp` tells which outputs are
    // still unspent at the end)
    const spent: UtxoEntry[] = [];
    const made: MadeEntry[] = [];
    // entries of the set spent by these txs (net consumed), with their keys
    const ck: string[] = [];
    const consumed: UtxoEntry[] = [];
    let failure: NoValidateFailure | undefined;
    perTx: for (let t = 0; t < txs.length; t++) {
      const tx = txs[t]!;
      // keys the decoder already built (key.ts): no string is made here; inputs first, then outputs
      const keys = txRefKeys(tx);
      const body = tx.body;
      const nIn = body.inputs.length;
      for (let i = 0; i < nIn; i++) {
        const k = keys[i]!;
        const e = map.get(k);
        if (e === undefined) {
          const inp = body.inputs[i]!;
          failure = { at: t, rule: 'input-missing', detail: `tx ${toHex(tx.id)}: input ${hexKey(inp.txId, inp.index)} not in the UTxO set` };
          break perTx;
        }
        map.delete(k);
        if ((e as Partial<MadeEntry>).stamp === stamp) (e as MadeEntry).stamp = 0;
        else {
          ck.push(k);
          consumed.push(e);
        }
        spent.push(e);
      }
      const id = tx.id;
      const outputs = body.outputs;
      for (let j = 0; j < outputs.length; j++) {
        const k = keys[nIn + j]!;
        // an existing reference would be overwritten and lost on undo (see rules.ts)
        if (map.has(k)) {
          failure = { at: t, rule: 'already-applied', detail: `tx ${toHex(id)}: output ${j} already exists` };
          break perTx;
        }
        const e = new MadeEntry(id, j, outputs[j]!, k, stamp);
        map.set(k, e);
        made.push(e);
      }
    }
    // net produced: the outputs created here and not spent again
    const pk: string[] = [];
    const produced: MadeEntry[] = [];
    for (const e of made) {
      if (e.stamp !== stamp) continue;
      pk.push(e.key);
      produced.push(e);
    }
    if (failure !== undefined) {
      // outputs of this call still present go; spent entries of the set come back (a reference
      // can be in both lists only if an output re-created a spent one: delete first, then restore)
      for (const k of pk) map.delete(k);
      for (let i = 0; i < ck.length; i++) map.set(ck[i]!, consumed[i]!);
      return failure;
    }
    const delta: UtxoDelta = { consumed, produced };
    rememberKeys(delta, ck, pk);
    this.pend(produced, consumed);
    return { delta, spent, made };
  }

  /**
   * Undo a delta applied last (or one whose effects are still intact): remove `produced`, restore
   * `consumed`. Atomic like {@link apply}.
   */
  undo(delta: UtxoDelta): void {
    const { ck, pk } = keysFor(delta);
    const { consumed, produced } = delta;
    const map = this.map;
    const was = new Array<UtxoEntry>(pk.length);
    let j = pk.length;
    let i = ck.length;
    let err: string | undefined;
    while (j > 0) {
      const k = pk[j - 1]!;
      const e = produced[j - 1]!;
      const cur = map.get(k);
      if (cur === undefined || (cur.output !== e.output && !sameOutput(cur.output, e.output))) {
        err = `produced entry ${hexKey(e.ref.txId, e.ref.index)} is not present`;
        break;
      }
      j--;
      was[j] = cur;
      map.delete(k);
    }
    if (err === undefined) {
      while (i > 0) {
        const k = ck[i - 1]!;
        if (map.has(k)) {
          const r = consumed[i - 1]!.ref;
          err = `consumed entry ${hexKey(r.txId, r.index)} is present`;
          break;
        }
        i--;
        map.set(k, consumed[i]!);
      }
    }
    if (err !== undefined) {
      for (; i < ck.length; i++) map.delete(ck[i]!);
      for (; j < pk.length; j++) map.set(pk[j]!, was[j]!);
      throw new Error(`MemoryUtxo.undo: ${err}`);
    }
    this.pend(consumed.slice(), was);
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
    for (const es of this.pendingAdd) for (const e of es) this.acc.add(utxoEntryDigest(e), false);
    for (const es of this.pendingRemove) for (const e of es) this.acc.add(utxoEntryDigest(e), true);
    this.pendingAdd = [];
    this.pendingRemove = [];
    this.pendingCount = 0;
  }

  /** Note entries added and removed for the state hash (lists not changed afterwards). */
  private pend(added: readonly UtxoEntry[], removed: readonly UtxoEntry[]): void {
    if (added.length > 0) this.pendingAdd.push(added);
    if (removed.length > 0) this.pendingRemove.push(removed);
    this.pendingCount += added.length + removed.length;
    if (this.pendingCount > MAX_PENDING) this.fold();
  }

  /** An independent copy (entries are immutable and shared). */
  clone(): MemoryUtxo {
    this.stateHash();
    const c = new MemoryUtxo();
    for (const [k, e] of this.map) c.map.set(k, e);
    c.acc.copyFrom(this.acc);
    return c;
  }

  /**
   * A {@link UtxoSetHasher} of this set as it is now (no entry is digested again), to follow a
   * copy of it elsewhere by its deltas, e.g. the state a database holds.
   */
  hasher(): UtxoSetHasher {
    this.stateHash();
    return hasherFromSum(this.acc, this.map.size);
  }
}

/** A {@link UtxoSetHasher} from an accumulator (set by the class's static block; module-internal). */
let hasherFromSum: (acc: Sum256, count: number) => UtxoSetHasher;

/**
 * The state hash of a UTxO set that is not held in memory, kept up to date from the deltas
 * applied to it (the same value as {@link MemoryUtxo.stateHash} of a set holding the same
 * entries): one digest per changed entry.
 *
 * @example
 * ```ts
 * const h = utxo.hasher();          // the set as written to the database
 * h.apply(delta);                   // the delta written next
 * await store.write(..., h.stateHash());
 * ```
 */
export class UtxoSetHasher {
  private readonly acc = new Sum256();
  private n = 0;

  /** A hasher of the set holding exactly `entries`. */
  static of(entries: Iterable<UtxoEntry>): UtxoSetHasher {
    const h = new UtxoSetHasher();
    for (const e of entries) {
      h.acc.add(utxoEntryDigest(e), false);
      h.n++;
    }
    return h;
  }

  static {
    hasherFromSum = (acc, count) => {
      const h = new UtxoSetHasher();
      h.acc.copyFrom(acc);
      h.n = count;
      return h;
    };
  }

  /** Number of entries. */
  get size(): number {
    return this.n;
  }

  /** Follow a delta applied to the set (remove `consumed`, add `produced`); nothing is checked. */
  apply(delta: UtxoDelta): void {
    for (const e of delta.consumed) this.acc.add(utxoEntryDigest(e), true);
    for (const e of delta.produced) this.acc.add(utxoEntryDigest(e), false);
    this.n += delta.produced.length - delta.consumed.length;
  }

  /** The state hash of the set. */
  stateHash(): Hash32 {
    return finishSetHash(this.acc, this.n);
  }

  /** An independent copy. */
  clone(): UtxoSetHasher {
    return hasherFromSum(this.acc, this.n);
  }
}

/**
 * One delta with the effect of `deltas` applied in order (each computed against the state the
 * previous ones left): entries consumed that an earlier delta produced, and outputs produced
 * that a later one consumed, cancel out. E.g. the blocks that became immutable since the last
 * write, as one change to the stored set. Keys of the parts are reused (module key.ts).
 *
 * @example
 * ```ts
 * const d = composeDeltas(blocks.map((b) => b.delta));
 * ```
 */
export function composeDeltas(deltas: readonly UtxoDelta[]): UtxoDelta {
  const consumed = new Map<string, UtxoEntry>();
  const produced = new Map<string, UtxoEntry>();
  for (const d of deltas) {
    const { ck, pk } = keysFor(d);
    for (let i = 0; i < ck.length; i++) {
      const k = ck[i]!;
      if (!produced.delete(k)) consumed.set(k, d.consumed[i]!);
    }
    for (let j = 0; j < pk.length; j++) produced.set(pk[j]!, d.produced[j]!);
  }
  const out: UtxoDelta = { consumed: [...consumed.values()], produced: [...produced.values()] };
  rememberKeys(out, [...consumed.keys()], [...produced.keys()]);
  return out;
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
export class OverlayUtxo implements KeyedUtxoView, RefKeyedUtxoView {
  private readonly added = new Map<string, UtxoEntry>();
  private readonly spent = new Map<string, UtxoEntry>();

  private readonly refBase: RefKeyedUtxoView | undefined;

  constructor(readonly base: UtxoView) {
    this.refBase = isRefKeyed(base) ? base : undefined;
  }

  get(txId: Hash32, index: number): TxOutput | undefined {
    const k = refKey(txId, index);
    const a = this.added.get(k);
    if (a !== undefined) return a.output;
    if (this.spent.has(k)) return undefined;
    return this.refBase !== undefined ? this.refBase.getByRefKey(k) : this.base.get(txId, index);
  }

  getByRefKey(key: string): TxOutput | undefined {
    const a = this.added.get(key);
    if (a !== undefined) return a.output;
    if (this.refBase !== undefined) {
      // base first: a fresh reference (every output a tx is about to create) then costs two
      // lookups, not three; `spent` only matters for entries the base has
      const b = this.refBase.getByRefKey(key);
      return b === undefined || this.spent.has(key) ? undefined : b;
    }
    if (this.spent.has(key)) return undefined;
    const r = parseRefKey(key);
    return this.base.get(r.txId, r.index);
  }

  getByKey(key: string): TxOutput | undefined {
    const k = refKeyOfHex(key);
    return k === undefined ? undefined : this.getByRefKey(k);
  }

  /**
   * Apply a delta on top (consumed entries must be visible, produced ones absent; checked
   * unless `checked` is false, for callers whose delta was just computed against this view).
   */
  apply(delta: UtxoDelta, checked = true): void {
    const { ck, pk } = keysFor(delta);
    if (checked) {
      const gone = new Set<string>();
      for (let i = 0; i < ck.length; i++) {
        const k = ck[i]!;
        if (gone.has(k) || this.getByRefKey(k) === undefined) {
          const r = delta.consumed[i]!.ref;
          throw new Error(`OverlayUtxo.apply: consumed entry ${hexKey(r.txId, r.index)} is not visible`);
        }
        gone.add(k);
      }
      for (let j = 0; j < pk.length; j++) {
        const k = pk[j]!;
        if (this.getByRefKey(k) !== undefined && !gone.has(k)) {
          const r = delta.produced[j]!.ref;
          throw new Error(`OverlayUtxo.apply: produced entry ${hexKey(r.txId, r.index)} already visible`);
        }
      }
    }
    this[APPLY_KEYED](delta, ck, pk);
  }

  /** Apply with keys the caller computed (module key.ts), unchecked. */
  [APPLY_KEYED](delta: UtxoDelta, ck: readonly string[], pk: readonly string[]): void {
    const { consumed, produced } = delta;
    for (let i = 0; i < ck.length; i++) {
      const k = ck[i]!;
      if (!this.added.delete(k)) this.spent.set(k, consumed[i]!);
    }
    for (let j = 0; j < pk.length; j++) this.added.set(pk[j]!, produced[j]!);
  }

  /** Undo a delta applied on top of this overlay (the last one, or one still intact). */
  undo(delta: UtxoDelta): void {
    const { ck, pk } = keysFor(delta);
    for (let j = pk.length - 1; j >= 0; j--) {
      if (!this.added.delete(pk[j]!)) {
        const r = delta.produced[j]!.ref;
        throw new Error(`OverlayUtxo.undo: produced entry ${hexKey(r.txId, r.index)} is not pending`);
      }
    }
    for (let i = ck.length - 1; i >= 0; i--) {
      const k = ck[i]!;
      if (!this.spent.delete(k)) this.added.set(k, delta.consumed[i]!);
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

  /**
   * The net pending change as one delta against the base (its keys are remembered, so
   * committing it to a {@link MemoryUtxo} does not recompute them).
   */
  netDelta(): UtxoDelta {
    const d = { consumed: Object.freeze(this.consumedFromBase()), produced: Object.freeze(this.producedNet()) };
    rememberKeys(d, [...this.spent.keys()], [...this.added.keys()]);
    return d;
  }

  /** Drop all pending changes. */
  clear(): void {
    this.added.clear();
    this.spent.clear();
  }
}
