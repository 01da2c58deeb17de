/**
 * Transaction codec of ledger mode `utxo` (PROTOCOL.md §5.1) and of ledger mode `opaque` (§5.6).
 *
 * Primer: a tx is `[body, witnesses]`. Two identities hang off its bytes (§2.1): the *reference
 * hash* `H256(full tx bytes)` names a tx on the wire (EB keys, tx-submission ids), and the *tx id*
 * `H256(body bytes)` names it in the ledger (output references, what witnesses sign). Both are
 * taken over the exact bytes received (§1.3): the decoder records the span of the body inside the
 * tx and hashes that span; nothing is ever re-encoded to hash. Two txs with one body and different
 * witnesses therefore share a tx id and differ in reference hash (§16 case 4).
 *
 * Decoding is strict (canonical CBOR only, §1.2) and bounded before anything is allocated: the
 * whole tx is at most MAX_TX_SIZE bytes, and every count is checked against the bytes that are
 * left, using the smallest possible encoding of one element. An oversized tx is reported as the
 * ledger rule `tx-too-large` ({@link TxInvalidError}), never as a decode error, because §12 makes it
 * a 422 `tx-invalid` whatever its content; every other failure is a {@link DecodeError}.
 *
 * Amounts, the fee and `ttl_slot` are uint64 and kept as bigints. An input index must be a safe
 * integer (a tx has fewer than 2^14 outputs, so a larger index could never name an output).
 *
 * @module
 */
import { bytesEqual } from '../bytes/index';
import { CborReader, CborWriter } from '../cbor/index';
import { blake2b256 } from '../crypto/blake2b';
import { ed25519KeyFromSeed, ed25519Sign } from '../crypto/ed25519';
import { DecodeError, TxInvalidError, ValidationError } from '../errors/index';
import type { ProtocolParams } from '../protocol/params/index';
import type { Address, Hash32, Lovelace, PoolId } from '../types/index';
import { attachTxRefKeys } from './key';

/** MAX_TX_SIZE of §5.2 / §15: the largest tx in bytes. */
export const MAX_TX_SIZE = 16_384;
/** Min-fee constant `a` of §5.2. */
export const MIN_FEE_A = 155_381;
/** Min-fee per-byte coefficient `b` of §5.2. */
export const MIN_FEE_B = 44;

/** The parameters the ledger rules read (a subset of {@link ProtocolParams}). */
export type LedgerParams = Pick<ProtocolParams, 'maxTxSize' | 'minFeeA' | 'minFeeB'>;

/** §15 defaults of the ledger parameters. */
export const DEFAULT_LEDGER_PARAMS: LedgerParams = Object.freeze({
  maxTxSize: MAX_TX_SIZE,
  minFeeA: MIN_FEE_A,
  minFeeB: MIN_FEE_B,
});

/** An output reference `[txid, index]`: a tx input, or the key of a UTxO entry. */
export interface OutRef {
  readonly txId: Hash32;
  readonly index: number;
}

/** A tx output `[address, amount]`. */
export interface TxOutput {
  readonly address: Address;
  readonly amount: Lovelace;
}

/** A BLS vote key with its proof of possession (§2.3, §3.3a). */
export interface VoteKey {
  /** 96-byte compressed G2 public key. */
  readonly vk: Uint8Array;
  /** 48-byte PoP `sk·H_POP(vk)`. */
  readonly pop: Uint8Array;
}

/** A vote-key registration `[pool_id, [bls_vk, pop]]` (§3.3a). */
export interface KeyReg {
  readonly poolId: PoolId;
  readonly voteKey: VoteKey;
}

/** A witness `[vk, sig]`: Ed25519 over the 32-byte tx id. */
export interface Witness {
  readonly vk: Uint8Array;
  readonly sig: Uint8Array;
}

/** The decoded fields of a tx body. `keyRegs` is empty when the optional field is absent. */
export interface TxBody {
  readonly inputs: readonly OutRef[];
  readonly outputs: readonly TxOutput[];
  readonly fee: Lovelace;
  readonly ttlSlot: bigint;
  readonly keyRegs: readonly KeyReg[];
}

/**
 * A decoded `utxo`-mode tx together with its received bytes and both identities.
 * `bytes` and `bodyBytes` (and the byte fields) are views into the decoded input: copy them
 * (`.slice()`) to keep a tx beyond the lifetime of a large enclosing message.
 */
export interface Tx {
  /** The full tx bytes as received. */
  readonly bytes: Uint8Array;
  /** The span of the body inside {@link bytes}. */
  readonly bodyBytes: Uint8Array;
  /** Tx id `H256(body bytes)`: ledger identity, signed by witnesses. */
  readonly id: Hash32;
  /** Reference hash `H256(tx bytes)`: EB key, tx-submission id. */
  readonly hash: Hash32;
  readonly body: TxBody;
  readonly witnesses: readonly Witness[];
}

/** The `keyRegs` of every decoded tx without registrations. */
const NO_KEY_REGS: readonly KeyReg[] = Object.freeze([]);

/** Smallest encodings of one element, used to bound counts by the bytes left (§11). */
const MIN_INPUT = 1 + 34 + 1; // [h32, uint]
const MIN_OUTPUT = 1 + 30 + 1; // [h28, uint]
const MIN_WITNESS = 1 + 34 + 66; // [vk32, sig64]
const MIN_KEY_REG = 1 + 30 + 1 + 98 + 50; // [h28, [vk96, pop48]]

function boundCount(r: CborReader, path: string, n: number, minItem: number): void {
  if (n * minItem > r.remaining) {
    throw new DecodeError(path, 'truncated', `${n} element(s) need at least ${n * minItem} bytes, ${r.remaining} left`, r.pos);
  }
}

function tooLarge(size: number, max: number): TxInvalidError {
  return new TxInvalidError('tx-too-large', `tx of ${size} bytes > MAX_TX_SIZE ${max}`);
}

/** Parse the structure of one tx from `r` (which must end where the tx may end at the latest). */
function parseTx(r: CborReader, path: string): { body: TxBody; witnesses: Witness[]; bodyStart: number; bodyEnd: number } {
  r.readArray(path, { len: 2 });
  const bodyStart = r.pos;
  const bp = `${path}.body`;
  const fields = r.readArray(bp, { min: 4, max: 5 });

  const nIn = r.readArray(`${bp}.inputs`, { min: 1 });
  boundCount(r, `${bp}.inputs`, nIn, MIN_INPUT);
  const inputs: OutRef[] = [];
  for (let i = 0; i < nIn; i++) {
    const p = `${bp}.inputs[${i}]`;
    r.readArray(p, { len: 2 });
    const txId = r.readBytes(`${p}.txid`, { len: 32 }) as Hash32;
    const index = r.readUint(`${p}.index`);
    inputs.push({ txId, index });
  }

  const nOut = r.readArray(`${bp}.outputs`, { min: 1 });
  boundCount(r, `${bp}.outputs`, nOut, MIN_OUTPUT);
  const outputs: TxOutput[] = [];
  for (let i = 0; i < nOut; i++) {
    const p = `${bp}.outputs[${i}]`;
    r.readArray(p, { len: 2 });
    const address = r.readBytes(`${p}.address`, { len: 28 }) as Address;
    const amount = r.readUint64(`${p}.amount`) as Lovelace;
    outputs.push({ address, amount });
  }

  const fee = r.readUint64(`${bp}.fee`) as Lovelace;
  const ttlSlot = r.readUint64(`${bp}.ttl_slot`);

  // most txs carry none: they share one frozen empty list (one allocation less per decoded tx,
  // and a ledger pass asking every tx for its registrations reads one hot object)
  let keyRegs: readonly KeyReg[] = NO_KEY_REGS;
  if (fields === 5) {
    const regs: KeyReg[] = [];
    keyRegs = regs;
    const kp = `${bp}.key_regs`;
    const nReg = r.readArray(kp, { min: 1 });
    boundCount(r, kp, nReg, MIN_KEY_REG);
    for (let i = 0; i < nReg; i++) {
      const p = `${kp}[${i}]`;
      r.readArray(p, { len: 2 });
      const poolId = r.readBytes(`${p}.pool_id`, { len: 28 }) as PoolId;
      r.readArray(`${p}.vote_key`, { len: 2 });
      const vk = r.readBytes(`${p}.vote_key.vk`, { len: 96 });
      const pop = r.readBytes(`${p}.vote_key.pop`, { len: 48 });
      regs.push({ poolId, voteKey: { vk, pop } });
    }
  }
  const bodyEnd = r.pos;

  const wp = `${path}.witnesses`;
  const nW = r.readArray(wp);
  boundCount(r, wp, nW, MIN_WITNESS);
  const witnesses: Witness[] = [];
  for (let i = 0; i < nW; i++) {
    const p = `${wp}[${i}]`;
    r.readArray(p, { len: 2 });
    const vk = r.readBytes(`${p}.vk`, { len: 32 });
    const sig = r.readBytes(`${p}.sig`, { len: 64 });
    witnesses.push({ vk, sig });
  }
  return { body: { inputs, outputs, fee, ttlSlot, keyRegs }, witnesses, bodyStart, bodyEnd };
}

/**
 * What the decoders return: a {@link Tx} built by a constructor rather than as an object literal,
 * so the UTxO keys attached in it (key.ts `attachTxRefKeys`, a non-enumerable property) sit inside
 * the object. Added to a literal, they went to a separate property store: one more memory round
 * trip per tx for the no-validate commit, which reads them for every tx of a closure decoded a
 * while ago (bench/node.ts ledgerLevels, same-process A/B: 8-10% of the no-validate time). It adds
 * no field: equality with a plain object of the same fields holds under `toEqual`, and a spread
 * copy is a plain {@link Tx}.
 */
class DecodedTx implements Tx {
  readonly bytes: Uint8Array;
  readonly bodyBytes: Uint8Array;
  readonly id: Hash32;
  readonly hash: Hash32;
  readonly body: TxBody;
  readonly witnesses: readonly Witness[];

  constructor(bytes: Uint8Array, bodyBytes: Uint8Array, body: TxBody, witnesses: readonly Witness[]) {
    this.bytes = bytes;
    this.bodyBytes = bodyBytes;
    this.id = blake2b256(bodyBytes);
    this.hash = blake2b256(bytes);
    this.body = body;
    this.witnesses = witnesses;
    // the compact UTxO keys of its inputs and outputs, once (key.ts): every ledger level reuses them
    attachTxRefKeys(this);
  }
}

function makeTx(all: Uint8Array, start: number, parsed: ReturnType<typeof parseTx>, end: number): Tx {
  return new DecodedTx(all.subarray(start, end), all.subarray(parsed.bodyStart, parsed.bodyEnd), parsed.body, parsed.witnesses);
}

/** Options of the tx decoders. */
export interface DecodeTxOptions {
  /** MAX_TX_SIZE (default 16,384). */
  readonly maxTxSize?: number;
}

/**
 * Decode one standalone tx (a `POST /v1/tx` body, a tx-submission reply element's bytes).
 * Throws {@link TxInvalidError} `tx-too-large` when `bytes` exceeds MAX_TX_SIZE (checked first,
 * before parsing), otherwise {@link DecodeError} for anything not the canonical `tx` shape.
 *
 * @example
 * ```ts
 * const tx = decodeTx(body);
 * reply({ txId: toHex(tx.id), txHash: toHex(tx.hash) });
 * ```
 */
export function decodeTx(bytes: Uint8Array, opts: DecodeTxOptions = {}): Tx {
  const max = opts.maxTxSize ?? MAX_TX_SIZE;
  if (bytes.length > max) throw tooLarge(bytes.length, max);
  const r = new CborReader(bytes);
  const parsed = parseTx(r, 'tx');
  r.done('tx');
  return makeTx(bytes, 0, parsed, bytes.length);
}

/**
 * Read one tx embedded in an enclosing message (an RB body's `txs`, a BlockTxs reply), keeping
 * its exact span. The item is first skipped generically (canonical, bounded depth) so an
 * oversized tx is reported as `tx-too-large`; then its span is parsed strictly.
 *
 * @example
 * ```ts
 * const n = r.readArray('rb_body.txs');
 * for (let i = 0; i < n; i++) txs.push(readTx(r, `rb_body.txs[${i}]`));
 * ```
 */
export function readTx(r: CborReader, path: string, opts: DecodeTxOptions = {}): Tx {
  const max = opts.maxTxSize ?? MAX_TX_SIZE;
  const start = r.pos;
  r.skip(path);
  const end = r.pos;
  if (end - start > max) throw tooLarge(end - start, max);
  // A reader over the same buffer that stops at the tx's end: offsets in errors stay absolute.
  const sub = new CborReader(r.bytes.subarray(0, end), start);
  const parsed = parseTx(sub, path);
  sub.done(path);
  return makeTx(r.bytes, start, parsed, end);
}

// ---------------------------------------------------------------------------------------------
// Encoding and building (generators, tests, wallets)

/** The fields of a tx body to encode. Amounts may be plain bigints. */
export interface TxBodyInput {
  readonly inputs: readonly OutRef[];
  readonly outputs: readonly { readonly address: Uint8Array; readonly amount: bigint }[];
  readonly fee: bigint;
  readonly ttlSlot: bigint | number;
  readonly keyRegs?: readonly KeyReg[];
}

function need(field: string, b: Uint8Array, n: number): void {
  if (!(b instanceof Uint8Array) || b.length !== n) throw new ValidationError(field, `expected ${n} bytes`);
}

function uint64(field: string, v: bigint | number): bigint {
  const x = BigInt(v);
  if (x < 0n || x >= 1n << 64n) throw new ValidationError(field, 'expected a uint64');
  return x;
}

/**
 * Canonical encoding of a tx body (§5.1). The optional `key_regs` field is emitted only when
 * non-empty (`[+ key_reg]`). Throws {@link ValidationError} for wrong field lengths or ranges.
 *
 * @example
 * ```ts
 * const body = encodeTxBody({ inputs: [{ txId, index: 0 }], outputs: [{ address, amount: 10n }], fee: 200_000n, ttlSlot: 100 });
 * ```
 */
export function encodeTxBody(b: TxBodyInput): Uint8Array {
  if (b.inputs.length === 0) throw new ValidationError('tx.body.inputs', 'at least one input');
  if (b.outputs.length === 0) throw new ValidationError('tx.body.outputs', 'at least one output');
  const regs = b.keyRegs ?? [];
  const w = new CborWriter(64 + 40 * b.inputs.length + 45 * b.outputs.length + 190 * regs.length);
  w.array(regs.length > 0 ? 5 : 4);
  w.array(b.inputs.length);
  for (const [i, inp] of b.inputs.entries()) {
    need(`tx.body.inputs[${i}].txid`, inp.txId, 32);
    if (!Number.isSafeInteger(inp.index) || inp.index < 0) throw new ValidationError(`tx.body.inputs[${i}].index`, 'expected a safe uint');
    w.array(2).bytes(inp.txId).uint(inp.index);
  }
  w.array(b.outputs.length);
  for (const [i, out] of b.outputs.entries()) {
    need(`tx.body.outputs[${i}].address`, out.address, 28);
    w.array(2).bytes(out.address).uint(uint64(`tx.body.outputs[${i}].amount`, out.amount));
  }
  w.uint(uint64('tx.body.fee', b.fee));
  w.uint(uint64('tx.body.ttl_slot', b.ttlSlot));
  if (regs.length > 0) {
    w.array(regs.length);
    for (const [i, reg] of regs.entries()) {
      need(`tx.body.key_regs[${i}].pool_id`, reg.poolId, 28);
      need(`tx.body.key_regs[${i}].vote_key.vk`, reg.voteKey.vk, 96);
      need(`tx.body.key_regs[${i}].vote_key.pop`, reg.voteKey.pop, 48);
      w.array(2).bytes(reg.poolId).array(2).bytes(reg.voteKey.vk).bytes(reg.voteKey.pop);
    }
  }
  return w.finish();
}

/**
 * Encode `[body, witnesses]` around already-encoded body bytes (copied verbatim, §1.3).
 *
 * @example
 * ```ts
 * const txBytes = encodeTx(bodyBytes, [{ vk, sig }]);
 * ```
 */
export function encodeTx(bodyBytes: Uint8Array, witnesses: readonly Witness[]): Uint8Array {
  const w = new CborWriter(bodyBytes.length + 4 + 102 * witnesses.length);
  w.array(2).raw(bodyBytes).array(witnesses.length);
  for (const [i, wit] of witnesses.entries()) {
    need(`tx.witnesses[${i}].vk`, wit.vk, 32);
    need(`tx.witnesses[${i}].sig`, wit.sig, 64);
    w.array(2).bytes(wit.vk).bytes(wit.sig);
  }
  return w.finish();
}

/** Options of {@link buildTx}. */
export interface BuildTxOptions extends TxBodyInput {
  /** Ed25519 seeds (32 bytes each); one witness per key, in this order. */
  readonly signers: readonly Uint8Array[];
  /** Decoder limit for the result (default MAX_TX_SIZE); raise it to build oversized test txs. */
  readonly maxTxSize?: number;
}

/**
 * Encode a body, sign its tx id with every signer, and return the decoded tx (so a built tx went
 * through exactly the same decoder as a received one).
 *
 * @example
 * ```ts
 * const tx = buildTx({ inputs, outputs, fee: 200_000n, ttlSlot: 1000, signers: [ownerSeed] });
 * ```
 */
export function buildTx(opts: BuildTxOptions): Tx {
  const bodyBytes = encodeTxBody(opts);
  const txId = blake2b256(bodyBytes);
  const witnesses = opts.signers.map((seed) => ({
    vk: ed25519KeyFromSeed(seed).publicKey,
    sig: ed25519Sign(seed, txId),
  }));
  return decodeTx(encodeTx(bodyBytes, witnesses), { maxTxSize: opts.maxTxSize ?? MAX_TX_SIZE });
}

/**
 * The minimum fee `a + b·size` of §5.2 for a tx of `size` bytes.
 *
 * @example
 * ```ts
 * minFee(300) // 155_381n + 44n * 300n
 * ```
 */
export function minFee(size: number, params: LedgerParams = DEFAULT_LEDGER_PARAMS): bigint {
  return BigInt(params.minFeeA) + BigInt(params.minFeeB) * BigInt(size);
}

/** Options of {@link buildPayment}. */
export interface PaymentOptions {
  /** Inputs with the amounts they hold (the builder needs them to balance). */
  readonly inputs: readonly (OutRef & { readonly amount: bigint })[];
  readonly outputs: readonly { readonly address: Uint8Array; readonly amount: bigint }[];
  /** Receives `Σ in − Σ out − fee`; omitted when that is 0. */
  readonly changeAddress: Uint8Array;
  readonly ttlSlot: bigint | number;
  readonly signers: readonly Uint8Array[];
  readonly keyRegs?: readonly KeyReg[];
  readonly params?: LedgerParams;
}

/**
 * Build a balanced, signed tx paying the minimum fee for its own size (the size does not depend
 * on signature values, so it is measured with placeholder signatures and iterated to a fixpoint,
 * since the fee and change amounts change their own encoding lengths). Throws
 * {@link ValidationError} when the inputs cannot cover outputs plus fee.
 *
 * @example
 * ```ts
 * const tx = buildPayment({ inputs: [{ txId, index: 0, amount: 10_000_000n }], outputs: [{ address: bob, amount: 1_000_000n }],
 *   changeAddress: alice, ttlSlot: 500, signers: [aliceSeed] });
 * ```
 */
export function buildPayment(opts: PaymentOptions): Tx {
  const params = opts.params ?? DEFAULT_LEDGER_PARAMS;
  const totalIn = opts.inputs.reduce((s, i) => s + i.amount, 0n);
  const totalOut = opts.outputs.reduce((s, o) => s + o.amount, 0n);
  const placeholder = opts.signers.map((seed) => ({ vk: ed25519KeyFromSeed(seed).publicKey, sig: new Uint8Array(64) }));
  const inputs = opts.inputs.map(({ txId, index }) => ({ txId, index }));
  let fee = 0n;
  for (let round = 0; round < 16; round++) {
    const change = totalIn - totalOut - fee;
    if (change < 0n) {
      throw new ValidationError('payment', `inputs ${totalIn} cannot cover outputs ${totalOut} + fee ${fee}`);
    }
    const outputs = change > 0n ? [...opts.outputs, { address: opts.changeAddress, amount: change }] : opts.outputs;
    const body = { inputs, outputs, fee, ttlSlot: opts.ttlSlot, keyRegs: opts.keyRegs ?? [] };
    const size = encodeTx(encodeTxBody(body), placeholder).length;
    const needFee = minFee(size, params);
    if (fee >= needFee) return buildTx({ ...body, signers: opts.signers, maxTxSize: params.maxTxSize });
    fee = needFee;
  }
  throw new Error('buildPayment: fee did not converge');
}

/**
 * Whether two decoded txs are the same bytes (a cheap identity check for tests and caches).
 *
 * @example
 * ```ts
 * sameTx(a, b) // true iff a.bytes equals b.bytes
 * ```
 */
export function sameTx(a: Tx, b: Tx): boolean {
  return bytesEqual(a.bytes, b.bytes);
}

// ---------------------------------------------------------------------------------------------
// Opaque mode (§5.6)

/** An opaque-mode tx: a CBOR byte string of 1..16,381 bytes; the tx id is the reference hash. */
export interface OpaqueTx {
  /** The whole CBOR item as received. */
  readonly bytes: Uint8Array;
  /** `H256(bytes)`. */
  readonly hash: Hash32;
  /** Equal to {@link hash} in opaque mode. */
  readonly id: Hash32;
  /** The byte string's content (a view). */
  readonly payload: Uint8Array;
}

/**
 * Decode a standalone opaque tx (`tx = bytes .size (1..16381)`). The whole item must fit
 * MAX_TX_SIZE (checked first: `tx-too-large`); an empty payload or any other shape is a
 * {@link DecodeError}.
 *
 * @example
 * ```ts
 * const tx = decodeOpaqueTx(new Uint8Array([0x41, 0x07])); // payload [7]
 * ```
 */
export function decodeOpaqueTx(bytes: Uint8Array, opts: DecodeTxOptions = {}): OpaqueTx {
  const max = opts.maxTxSize ?? MAX_TX_SIZE;
  if (bytes.length > max) throw tooLarge(bytes.length, max);
  const r = new CborReader(bytes);
  const payload = r.readBytes('tx', { min: 1 });
  r.done('tx');
  const hash = blake2b256(bytes);
  return { bytes, hash, id: hash, payload };
}

/**
 * Read one opaque tx embedded in an enclosing message, keeping its span.
 *
 * @example
 * ```ts
 * const tx = readOpaqueTx(r, 'rb_body.txs[0]');
 * ```
 */
export function readOpaqueTx(r: CborReader, path: string, opts: DecodeTxOptions = {}): OpaqueTx {
  const max = opts.maxTxSize ?? MAX_TX_SIZE;
  const start = r.pos;
  if (r.peekMajor(path) !== 2) {
    throw new DecodeError(path, 'type', 'expected a byte string', start);
  }
  r.skip(path);
  const end = r.pos;
  if (end - start > max) throw tooLarge(end - start, max);
  const sub = new CborReader(r.bytes.subarray(0, end), start);
  const payload = sub.readBytes(path, { min: 1 });
  const bytes = r.bytes.subarray(start, end);
  const hash = blake2b256(bytes);
  return { bytes, hash, id: hash, payload };
}

/**
 * Encode an opaque tx (a byte string of 1..MAX_TX_SIZE−3 bytes).
 *
 * @example
 * ```ts
 * encodeOpaqueTx(new Uint8Array([7])) // 41 07
 * ```
 */
export function encodeOpaqueTx(payload: Uint8Array, maxTxSize: number = MAX_TX_SIZE): Uint8Array {
  const out = new CborWriter(payload.length + 3).bytes(payload).finish();
  if (payload.length < 1) throw new ValidationError('tx', 'opaque payload must be at least 1 byte');
  if (out.length > maxTxSize) throw new ValidationError('tx', `opaque tx of ${out.length} bytes > ${maxTxSize}`);
  return out;
}
