/**
 * Ranking block codecs (PROTOCOL.md §4.1–§4.2): `rb_header`, `rb_body`, `rb_block`.
 *
 * Primer: a header is an 11-element array whose last element is an Ed25519 signature over
 * `8A || (received bytes of the first ten elements)`, i.e. over the CBOR array of the first ten
 * fields. Since the first ten elements are a contiguous span of the received header, the signed
 * bytes are that span behind a new one-byte head: nothing is ever re-encoded (§1.3), so a header
 * that arrived canonical verifies exactly as it was signed. The same holds for hashes: the RB hash
 * is `H256` of the received header bytes, the body hash `H256` of the received body bytes, and each
 * tx inside a body is kept as its own byte span (its semantic decoding belongs to the ledger).
 *
 * Header rules (§4.1, §10.4) and body rules (§4.2) live in `./validate`.
 *
 * @module
 */
import { blake2b224, blake2b256 } from '../../crypto/blake2b';
import { type CborReader, CborWriter, decodeStrict } from '../../cbor/index';
import { BLS_SIG_LENGTH } from '../../crypto/bls/index';
import { ed25519KeyFromSeed, ed25519Sign } from '../../crypto/ed25519';
import { DecodeError, ValidationError } from '../../errors/index';
import type { BlockNo, Hash32, PoolId, Slot } from '../../types/index';
import { type Certificate, readCertificate } from '../certificate/index';
import { MAINNET_PARAMS, type ProtocolParams } from '../params/index';

/** The caps RB decoding enforces (§4.1, §4.2, §15), and the committee mode fixing the certificate shape. */
export type RbLimits = Pick<ProtocolParams, 'maxHeaderSize' | 'maxRbBodySize' | 'maxTxSize' | 'committeeMode'>;

/** §15 values (identical on mainnet and devnet), top-stake certificates. */
export const DEFAULT_RB_LIMITS: RbLimits = Object.freeze({
  maxHeaderSize: MAINNET_PARAMS.maxHeaderSize,
  maxRbBodySize: MAINNET_PARAMS.maxRbBodySize,
  maxTxSize: MAINNET_PARAMS.maxTxSize,
  committeeMode: MAINNET_PARAMS.committeeMode,
});

/** `eb_announcement = [eb_hash, eb_size]`. */
export interface EbAnnouncement {
  readonly ebHash: Hash32;
  readonly ebSize: number;
}

/** The ten signed fields of a header (everything but the signature). */
export interface RbHeaderFields {
  readonly blockNumber: BlockNo | number;
  readonly slot: Slot | number;
  /** null iff blockNumber = 1 */
  readonly prevHash: Uint8Array | null;
  readonly issuerPoolId: Uint8Array;
  readonly issuerColdVk: Uint8Array;
  readonly vrfOutput: Uint8Array;
  readonly vrfProof: Uint8Array;
  readonly bodyHash: Uint8Array;
  readonly bodySize: number;
  readonly certifiedEb: boolean;
  readonly ebAnnouncement: { ebHash: Uint8Array; ebSize: number } | null;
}

const EB_SIZE_MAX = 0xffff_ffff;

/**
 * A decoded RB header. All byte fields are views into {@link RbHeader.bytes}, the exact received
 * header bytes; {@link RbHeader.hash} is the RB hash `H256(bytes)`.
 *
 * @example
 * ```ts
 * const h = decodeRbHeader(bytes);
 * ed25519Verify(h.signature, h.signedBytes(), h.issuerColdVk);
 * ```
 */
export class RbHeader implements RbHeaderFields {
  /** RB hash = `H256(bytes)` (§2.1). */
  readonly hash: Hash32;

  /** @internal use {@link decodeRbHeader} / {@link readRbHeader} / {@link buildRbHeader} */
  constructor(
    readonly bytes: Uint8Array,
    /** Offset in `bytes` of the signature item (the end of the ten signed fields). */
    private readonly signatureStart: number,
    readonly blockNumber: BlockNo,
    readonly slot: Slot,
    readonly prevHash: Hash32 | null,
    readonly issuerPoolId: PoolId,
    readonly issuerColdVk: Uint8Array,
    readonly vrfOutput: Hash32,
    readonly vrfProof: Uint8Array,
    readonly bodyHash: Hash32,
    readonly bodySize: number,
    readonly certifiedEb: boolean,
    readonly ebAnnouncement: EbAnnouncement | null,
    readonly signature: Uint8Array,
  ) {
    this.hash = blake2b256(bytes);
  }

  /**
   * The bytes the cold key signs: `8A ||` the received bytes of the first ten elements (§4.1),
   * taken from the span, never re-encoded.
   */
  signedBytes(): Uint8Array {
    const n = this.signatureStart; // header byte 0 is the 0x8B head; fields are bytes[1..n)
    const out = new Uint8Array(n);
    out[0] = 0x8a;
    out.set(this.bytes.subarray(1, n), 1);
    return out;
  }
}

/** The bytes from `start` to the cursor; the input array itself when that is all of it. */
function span(r: CborReader, start: number): Uint8Array {
  return start === 0 && r.pos === r.bytes.length ? r.bytes : r.bytes.subarray(start, r.pos);
}

/**
 * Read one header at the reader's position (inside an `rb_block`, a chain-sync RollForward or a
 * BlockAnnouncement), checking it is canonical and at most `maxHeaderSize` bytes.
 *
 * @example
 * ```ts
 * const header = readRbHeader(r, 'roll_forward.header');
 * ```
 */
export function readRbHeader(r: CborReader, path = 'rb_header', maxHeaderSize = DEFAULT_RB_LIMITS.maxHeaderSize): RbHeader {
  const start = r.pos;
  // 0x8B: the one-byte head of an 11-element array. Any other byte is a wrong shape or non-canonical.
  r.readArray(path, { len: 11 });
  if (r.pos - start !== 1) throw new DecodeError(path, 'non-canonical', 'array head not minimal', start);
  const blockNumber = r.readUint(`${path}.block_number`) as BlockNo;
  const slot = r.readUint(`${path}.slot`) as Slot;
  const prevHash = r.peekNull() ? r.readNull(`${path}.prev_hash`) : (r.readBytes(`${path}.prev_hash`, { len: 32 }) as Hash32);
  const issuerPoolId = r.readBytes(`${path}.issuer_pool_id`, { len: 28 }) as PoolId;
  const issuerColdVk = r.readBytes(`${path}.issuer_cold_vk`, { len: 32 });
  r.readArray(`${path}.leader_vrf`, { len: 2 });
  const vrfOutput = r.readBytes(`${path}.leader_vrf.output`, { len: 32 }) as Hash32;
  const vrfProof = r.readBytes(`${path}.leader_vrf.proof`, { len: BLS_SIG_LENGTH });
  const bodyHash = r.readBytes(`${path}.body_hash`, { len: 32 }) as Hash32;
  const bodySize = r.readUint(`${path}.body_size`);
  const certifiedEb = r.readBool(`${path}.certified_eb`);
  let ebAnnouncement: EbAnnouncement | null = null;
  if (r.peekNull()) r.readNull(`${path}.eb_announcement`);
  else {
    r.readArray(`${path}.eb_announcement`, { len: 2 });
    const ebHash = r.readBytes(`${path}.eb_announcement.eb_hash`, { len: 32 }) as Hash32;
    const ebSize = r.readUint(`${path}.eb_announcement.eb_size`, EB_SIZE_MAX);
    ebAnnouncement = { ebHash, ebSize };
  }
  const sigStart = r.pos - start;
  const signature = r.readBytes(`${path}.signature`, { len: 64 });
  const len = r.pos - start;
  if (len > maxHeaderSize) throw new DecodeError(path, 'limit', `header of ${len} bytes > MAX_HEADER ${maxHeaderSize}`, start);
  return new RbHeader(
    span(r, start),
    sigStart,
    blockNumber,
    slot,
    prevHash,
    issuerPoolId,
    issuerColdVk,
    vrfOutput,
    vrfProof,
    bodyHash,
    bodySize,
    certifiedEb,
    ebAnnouncement,
    signature,
  );
}

/**
 * Decode a standalone header (e.g. a BlockAnnouncement payload): size cap first, then canonical
 * decoding with nothing trailing. Throws {@link DecodeError}.
 *
 * @example
 * ```ts
 * const h = decodeRbHeader(bytes); // h.bytes is bytes, h.hash = H256(bytes)
 * ```
 */
export function decodeRbHeader(bytes: Uint8Array, maxHeaderSize = DEFAULT_RB_LIMITS.maxHeaderSize): RbHeader {
  if (bytes.length > maxHeaderSize) {
    throw new DecodeError('rb_header', 'limit', `header of ${bytes.length} bytes > MAX_HEADER ${maxHeaderSize}`, 0);
  }
  return decodeStrict(bytes, 'rb_header', (r) => readRbHeader(r, 'rb_header', maxHeaderSize));
}

// ---------------------------------------------------------------------------------------------
// Body

/**
 * A decoded RB body. `txs` are the exact byte spans of each tx item (views into `bytes`), in
 * order; their semantic decoding is the ledger's. `certificate` is the certificate's byte span;
 * in top-stake mode it is also decoded (`topStakeCertificate`, §6.5).
 */
export class RbBody {
  private _hash: Hash32 | undefined;
  constructor(
    readonly bytes: Uint8Array,
    readonly txs: readonly Uint8Array[],
    readonly certificate: Uint8Array | null,
    readonly topStakeCertificate: Certificate | null,
  ) {}
  /** `H256(bytes)`, the header's `body_hash` when valid (computed once). */
  get hash(): Hash32 {
    this._hash ??= blake2b256(this.bytes);
    return this._hash;
  }
  /** A CertRB carries a certificate (and must carry no txs, §4.2). */
  get isCertRb(): boolean {
    return this.certificate !== null;
  }
}

/**
 * Read one body at the reader's position: `[txs: [* tx], certificate / null]`, at most
 * `maxRbBodySize` bytes, each tx a canonical CBOR item of at most `maxTxSize` bytes.
 *
 * @example
 * ```ts
 * const body = readRbBody(r, 'rb_block.body', params);
 * ```
 */
export function readRbBody(r: CborReader, path = 'rb_body', limits: RbLimits = DEFAULT_RB_LIMITS): RbBody {
  const start = r.pos;
  // Walking is bounded by the enclosing input, which every caller caps first (a standalone body
  // at S_RB, a block at 1 + MAX_HEADER + S_RB, wire messages by §11); the span is checked after.
  r.readArray(path, { len: 2 });
  const n = r.readArray(`${path}.txs`, { max: limits.maxRbBodySize });
  const txs: Uint8Array[] = [];
  for (let i = 0; i < n; i++) txs.push(r.readRaw(`${path}.txs[${i}]`, limits.maxTxSize));
  let certificate: Uint8Array | null = null;
  let topStake: Certificate | null = null;
  if (r.peekNull()) r.readNull(`${path}.certificate`);
  else if (limits.committeeMode === 'top-stake') {
    topStake = readCertificate(r, `${path}.certificate`);
    certificate = topStake.bytes;
  } else {
    certificate = r.readRaw(`${path}.certificate`);
  }
  const len = r.pos - start;
  if (len > limits.maxRbBodySize) throw new DecodeError(path, 'limit', `body of ${len} bytes > S_RB ${limits.maxRbBodySize}`, start);
  return new RbBody(span(r, start), txs, certificate, topStake);
}

/**
 * Decode a standalone body (size cap first). Throws {@link DecodeError}.
 *
 * @example
 * ```ts
 * const body = decodeRbBody(bytes, params);
 * ```
 */
export function decodeRbBody(bytes: Uint8Array, limits: RbLimits = DEFAULT_RB_LIMITS): RbBody {
  if (bytes.length > limits.maxRbBodySize) {
    throw new DecodeError('rb_body', 'limit', `body of ${bytes.length} bytes > S_RB ${limits.maxRbBodySize}`, 0);
  }
  return decodeStrict(bytes, 'rb_body', (r) => readRbBody(r, 'rb_body', limits));
}

// ---------------------------------------------------------------------------------------------
// Block

/** `rb_block = [header, body]` with the exact bytes of the block, header and body. */
export interface RbBlock {
  readonly bytes: Uint8Array;
  readonly header: RbHeader;
  readonly body: RbBody;
}

/** Largest block: `82` + MAX_HEADER + S_RB. */
export function maxBlockSize(limits: RbLimits): number {
  return 1 + limits.maxHeaderSize + limits.maxRbBodySize;
}

/**
 * Decode an `rb_block` (block-fetch Block, `GET /v1/rb`): total size cap first, then header and body
 * with their own caps. Throws {@link DecodeError}.
 *
 * @example
 * ```ts
 * const { header, body } = decodeRbBlock(bytes, params);
 * ```
 */
export function decodeRbBlock(bytes: Uint8Array, limits: RbLimits = DEFAULT_RB_LIMITS): RbBlock {
  if (bytes.length > maxBlockSize(limits)) {
    throw new DecodeError('rb_block', 'limit', `block of ${bytes.length} bytes > ${maxBlockSize(limits)}`, 0);
  }
  return decodeStrict(bytes, 'rb_block', (r) => {
    r.readArray('rb_block', { len: 2 });
    const header = readRbHeader(r, 'rb_block.header', limits.maxHeaderSize);
    const body = readRbBody(r, 'rb_block.body', limits);
    return { bytes, header, body };
  });
}

// ---------------------------------------------------------------------------------------------
// Encoders (producers)

/**
 * Encode a body from raw tx items (each an already-encoded canonical CBOR item, kept verbatim) and
 * an optional encoded certificate. The result is decoded back, so what a producer emits is exactly
 * what receivers accept. Throws {@link ValidationError} on `rb_body…`.
 *
 * @example
 * ```ts
 * const body = encodeRbBody({ txs: mempoolTxBytes, certificate: null });
 * ```
 */
export function encodeRbBody(
  b: { txs: readonly Uint8Array[]; certificate: Uint8Array | null },
  limits: RbLimits = DEFAULT_RB_LIMITS,
): RbBody {
  const w = new CborWriter(1024);
  w.array(2).array(b.txs.length);
  for (const t of b.txs) w.raw(t);
  if (b.certificate === null) w.null();
  else w.raw(b.certificate);
  const bytes = w.finish();
  try {
    return decodeRbBody(bytes, limits);
  } catch (e) {
    if (e instanceof DecodeError) throw new ValidationError(e.path, e.detail);
    throw e;
  }
}

function writeFields(w: CborWriter, f: RbHeaderFields): void {
  w.uint(f.blockNumber).uint(f.slot);
  if (f.prevHash === null) w.null();
  else w.bytes(f.prevHash);
  w.bytes(f.issuerPoolId).bytes(f.issuerColdVk);
  w.array(2).bytes(f.vrfOutput).bytes(f.vrfProof);
  w.bytes(f.bodyHash).uint(f.bodySize).bool(f.certifiedEb);
  if (f.ebAnnouncement === null) w.null();
  else w.array(2).bytes(f.ebAnnouncement.ebHash).uint(f.ebAnnouncement.ebSize);
}

/** Header fields a producer supplies; the issuer's pool id and cold vk come from its cold key. */
export type RbHeaderInput = Omit<RbHeaderFields, 'issuerPoolId' | 'issuerColdVk'>;

/**
 * Build and sign a header (§4.1): encode the ten fields, sign `8A || fields` with the cold key
 * (the 32-byte Ed25519 seed), append the signature. Throws {@link ValidationError} for a field
 * the decoder would refuse.
 *
 * @example
 * ```ts
 * const header = buildRbHeader({ blockNumber: 1, slot: 42, prevHash: null, vrfOutput, vrfProof,
 *   bodyHash: body.hash, bodySize: body.bytes.length, certifiedEb: false, ebAnnouncement: null }, coldSk);
 * ```
 */
export function buildRbHeader(fields: RbHeaderInput, coldSecretKey: Uint8Array, maxHeaderSize = DEFAULT_RB_LIMITS.maxHeaderSize): RbHeader {
  const { publicKey } = ed25519KeyFromSeed(coldSecretKey);
  const full: RbHeaderFields = { ...fields, issuerColdVk: publicKey, issuerPoolId: blake2b224(publicKey) };
  const w = new CborWriter(512);
  w.array(10);
  writeFields(w, full);
  const signed = w.finish();
  const signature = ed25519Sign(coldSecretKey, signed);
  const out = new CborWriter(signed.length + 80);
  out.array(11).raw(signed.subarray(1)).bytes(signature);
  try {
    return decodeRbHeader(out.finish(), maxHeaderSize);
  } catch (e) {
    if (e instanceof DecodeError) throw new ValidationError(e.path, e.detail);
    throw e;
  }
}

/**
 * `rb_block` bytes from a header and a body, both kept verbatim.
 *
 * @example
 * ```ts
 * const block = encodeRbBlock(header, body); // block.bytes for block-fetch and GET /v1/rb
 * ```
 */
export function encodeRbBlock(header: RbHeader, body: RbBody): RbBlock {
  const bytes = new CborWriter(header.bytes.length + body.bytes.length + 1).array(2).raw(header.bytes).raw(body.bytes).finish();
  return { bytes, header, body };
}

/**
 * Produce a whole RB: body from txs / certificate, then the header with `body_hash`, `body_size`
 * and `certified_eb = (certificate != null)` filled in (§4.2), signed by the cold key.
 *
 * @example
 * ```ts
 * const rb = buildRb({ blockNumber: tip.blockNumber + 1, slot, prevHash: tip.hash, vrfOutput, vrfProof,
 *   ebAnnouncement: { ebHash: eb.hash, ebSize: eb.bytes.length }, txs, certificate: null }, coldSk);
 * ```
 */
export function buildRb(
  input: Omit<RbHeaderInput, 'bodyHash' | 'bodySize' | 'certifiedEb'> & { txs: readonly Uint8Array[]; certificate: Uint8Array | null },
  coldSecretKey: Uint8Array,
  limits: RbLimits = DEFAULT_RB_LIMITS,
): RbBlock {
  const { txs, certificate, ...rest } = input;
  const body = encodeRbBody({ txs, certificate }, limits);
  const header = buildRbHeader(
    { ...rest, bodyHash: body.hash, bodySize: body.bytes.length, certifiedEb: certificate !== null },
    coldSecretKey,
    limits.maxHeaderSize,
  );
  return encodeRbBlock(header, body);
}
export * from './validate';
