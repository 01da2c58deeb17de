/**
 * Compact internal map keys for UTxO entries (not exported from the ledger index).
 *
 * Primer: every UTxO operation (lookup, spend, add, undo) is a Map operation keyed by an output
 * reference `(txid, index)`, and at the no-validate level (PROTOCOL.md §5.3) those Map operations
 * are almost all the work. The public {@link utxoKey} (`<64 hex>#<index>`) costs a 64-element
 * array, an `apply` and a concatenation per call, and a 66+-char string to hash; {@link refKey}
 * packs the 32 id bytes into 16 UTF-16 code units plus one unit for the index, in one
 * `String.fromCharCode` call (about 5x cheaper to build and hash). The key is injective:
 * - 32-byte ids: 16 units of id, then one unit `index` when `index < 0xffff`, else the unit
 *   `0xffff` followed by the decimal digits of the index (lengths 17 vs ≥ 18, and the 17th unit
 *   tells them apart);
 * - any other id length (never produced by the decoder; only a caller's malformed query) gets
 *   `"x" + utxoKey(...)`, at least 67 units long, longer than any 32-byte key (≤ 33 units).
 * Keys may contain lone surrogates; Map compares strings by code unit, so that is harmless.
 *
 * It also keeps, per delta object, the keys already computed for its entries
 * ({@link rememberKeys}), so committing a block delta to a {@link MemoryUtxo} (and undoing it on
 * rollback) does not rebuild keys the block application just built.
 *
 * And per decoded tx, the keys of its inputs and outputs ({@link txRefKeys}): the decoder builds
 * them once (tx.ts `makeTx`), next to the tx id it hashes anyway, and every level reuses them. A
 * tx is decoded once but looked up by the mempool, by block checks and, at no-validate, by the
 * commit itself, where building three keys per tx was about 40% of the whole cost (§5.3).
 *
 * @module
 */
import { fromHex } from '../bytes/index';
import type { Hash32 } from '../types/index';
import type { OutRef, Tx } from './tx';
import type { UtxoDelta, UtxoEntry } from './utxo';

const HEX_CODES: Uint16Array = (() => {
  const t = new Uint16Array(256);
  const cs = '0123456789abcdef';
  for (let i = 0; i < 256; i++) t[i] = (cs.charCodeAt(i >> 4) << 8) | cs.charCodeAt(i & 15);
  return t;
})();

/** The public `<txid hex>#<index>` key (see `utxoKey` in utxo.ts, which re-exports this). */
export function hexKey(txId: Uint8Array, index: number): string {
  const codes = new Array<number>(2 * txId.length);
  for (let i = 0; i < txId.length; i++) {
    const v = HEX_CODES[txId[i]!]!;
    codes[2 * i] = v >> 8;
    codes[2 * i + 1] = v & 0xff;
  }
  return `${String.fromCharCode.apply(null, codes)}#${index}`;
}

/**
 * The compact key of `(txId, index)` (module primer).
 *
 * @example
 * ```ts
 * map.get(refKey(inp.txId, inp.index));
 * ```
 */
export function refKey(t: Uint8Array, index: number): string {
  if (t.length !== 32) return `x${hexKey(t, index)}`;
  if (index < 0xffff) {
    return String.fromCharCode(
      (t[0]! << 8) | t[1]!,
      (t[2]! << 8) | t[3]!,
      (t[4]! << 8) | t[5]!,
      (t[6]! << 8) | t[7]!,
      (t[8]! << 8) | t[9]!,
      (t[10]! << 8) | t[11]!,
      (t[12]! << 8) | t[13]!,
      (t[14]! << 8) | t[15]!,
      (t[16]! << 8) | t[17]!,
      (t[18]! << 8) | t[19]!,
      (t[20]! << 8) | t[21]!,
      (t[22]! << 8) | t[23]!,
      (t[24]! << 8) | t[25]!,
      (t[26]! << 8) | t[27]!,
      (t[28]! << 8) | t[29]!,
      (t[30]! << 8) | t[31]!,
      index,
    );
  }
  return `${refKey(t, 0xfffe).slice(0, 16)}\uffff${index}`;
}

/** The output reference a {@link refKey} stands for (for views that can only be read by ref). */
export function parseRefKey(k: string): OutRef {
  if (k.charCodeAt(0) === 0x78 /* x */ && k.length > 33) {
    const i = k.lastIndexOf('#');
    return { txId: fromHex(k.slice(1, i)) as Hash32, index: Number(k.slice(i + 1)) };
  }
  const id = new Uint8Array(32);
  for (let i = 0; i < 16; i++) {
    const c = k.charCodeAt(i);
    id[2 * i] = c >> 8;
    id[2 * i + 1] = c & 0xff;
  }
  const u = k.charCodeAt(16);
  return { txId: id as Hash32, index: u === 0xffff ? Number(k.slice(17)) : u };
}

/**
 * The compact key of a public `<hex>#<index>` key, or `undefined` if it is not one (then no entry
 * can sit under it).
 */
export function refKeyOfHex(key: string): string | undefined {
  const i = key.lastIndexOf('#');
  if (i < 0) return undefined;
  const hex = key.slice(0, i);
  const idx = key.slice(i + 1);
  if (hex.length % 2 !== 0 || !/^[0-9a-f]*$/.test(hex) || !/^(0|[1-9][0-9]*)$/.test(idx)) return undefined;
  const index = Number(idx);
  if (!Number.isSafeInteger(index)) return undefined;
  return refKey(fromHex(hex), index);
}

/** Keys remembered for a delta, valid while its lists are the very arrays they were made for. */
interface DeltaKeys {
  readonly consumed: readonly UtxoEntry[];
  readonly produced: readonly UtxoEntry[];
  readonly ck: readonly string[];
  readonly pk: readonly string[];
}

const deltaKeys = new WeakMap<UtxoDelta, DeltaKeys>();

/**
 * Remember the keys of a delta's entries (`ck[i]` is the key of `consumed[i]`, `pk[i]` of
 * `produced[i]`). The caller guarantees they match; they are used only while `delta.consumed`
 * and `delta.produced` are still the same array objects.
 */
export function rememberKeys(delta: UtxoDelta, ck: readonly string[], pk: readonly string[]): void {
  deltaKeys.set(delta, { consumed: delta.consumed, produced: delta.produced, ck, pk });
}

function keysOf(es: readonly UtxoEntry[]): string[] {
  const out = new Array<string>(es.length);
  for (let i = 0; i < es.length; i++) out[i] = refKey(es[i]!.ref.txId, es[i]!.ref.index);
  return out;
}

/** The keys of a delta's entries: remembered ones when still valid, otherwise computed. */
export function keysFor(delta: UtxoDelta): { ck: readonly string[]; pk: readonly string[] } {
  const k = deltaKeys.get(delta);
  if (k && k.consumed === delta.consumed && k.produced === delta.produced && k.ck.length === delta.consumed.length && k.pk.length === delta.produced.length) {
    return k;
  }
  return { ck: keysOf(delta.consumed), pk: keysOf(delta.produced) };
}

/**
 * The name of the overlay method that applies a delta whose keys the caller already computed
 * (`ck[i]` for `consumed[i]`, `pk[i]` for `produced[i]`), unchecked. A symbol, so it stays out
 * of the public API (the ledger index does not export this module).
 */
export const APPLY_KEYED: unique symbol = Symbol('OverlayUtxo.applyKeyed');

/**
 * The name of the {@link MemoryUtxo} method that applies txs at the no-validate level straight
 * onto the set (state.ts `commitBlock`), internal like {@link APPLY_KEYED}.
 */
export const COMMIT_NO_VALIDATE: unique symbol = Symbol('MemoryUtxo.commitNoValidate');

/**
 * The compact keys of a tx's entries in one flat list: `keys[i]` of `body.inputs[i]` for
 * `i < inputs.length`, then `keys[inputs.length + j]` of `(id, j)`. One array rather than an
 * object of two: the no-validate commit reads it for every tx, and on txs decoded a while ago
 * (cold in cache, as a certified closure is) each object on the way costs a memory round trip
 * (bench/node.ts ledgerLevels: about 5-10% of the no-validate time).
 */
export type TxRefKeys = readonly string[];

/**
 * Where a decoded tx keeps its {@link TxRefKeys}: a non-enumerable property, so it is invisible
 * to equality, spreading and serialisation (a spread copy simply computes its keys again).
 */
const TX_KEYS: unique symbol = Symbol('Tx.refKeys');

function computeTxRefKeys(tx: Pick<Tx, 'id' | 'body'>): TxRefKeys {
  const { inputs, outputs } = tx.body;
  const n = inputs.length;
  const keys = new Array<string>(n + outputs.length);
  for (let i = 0; i < n; i++) keys[i] = refKey(inputs[i]!.txId, inputs[i]!.index);
  for (let j = 0; j < outputs.length; j++) keys[n + j] = refKey(tx.id, j);
  return keys;
}

/**
 * Compute and attach the keys of a freshly made tx (the decoder calls it once per tx; the tx's
 * id and body must not change afterwards, which holds for the readonly {@link Tx}).
 */
export function attachTxRefKeys(tx: Tx): void {
  Object.defineProperty(tx, TX_KEYS, { value: computeTxRefKeys(tx) });
}

/**
 * The keys of a tx's inputs, then of its outputs ({@link TxRefKeys}): those the decoder
 * attached, or computed now for a tx object that did not come from the decoder (not cached then).
 *
 * @example
 * ```ts
 * const keys = txRefKeys(tx);
 * map.get(keys[0]!); // the first input
 * map.has(keys[tx.body.inputs.length]!); // output 0
 * ```
 */
export function txRefKeys(tx: Tx): TxRefKeys {
  return (tx as { [TX_KEYS]?: TxRefKeys })[TX_KEYS] ?? computeTxRefKeys(tx);
}
