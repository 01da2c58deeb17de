/**
 * The node's view of RB headers, bodies, blocks and votes (PROTOCOL.md §4.1, §4.2, §6.2), over
 * the shared codecs in shared/src/protocol/{rb,vote}.
 *
 * Primer: the node decodes each received header once into a {@link HeaderInfo}: the shared
 * {@link RbHeader} fields under the names the block tree uses, with the exact bytes (the RB hash
 * is `H256(bytes)`, §1.3) and the span the signature covers (`8A ||` the received bytes of the
 * first ten fields, §4.1). Bodies keep each tx's exact span; the node's ledger decodes the txs in
 * its own ledger mode.
 *
 * @module
 */
import type { CborReader } from '@leios/shared/cbor';
import { decodeStrict } from '@leios/shared/cbor';
import { blake2b224, ed25519Verify } from '@leios/shared/crypto';
import { DecodeError } from '@leios/shared/errors';
import {
  buildRbHeader,
  type Certificate,
  decodeRbHeader,
  decodeVote as decodeSharedVote,
  encodeRbBody,
  encodeVote as encodeSharedVote,
  type RbHeader,
  readCertificate,
} from '@leios/shared/protocol';
import type { Hash32 } from '@leios/shared/types';
import type { TreeHeader } from './chain/index';
import type { DecodedVote } from './votes/index';

/** A decoded RB header with its exact bytes. */
export interface HeaderInfo extends TreeHeader {
  /** Exact received header bytes. */
  readonly bytes: Uint8Array;
  /** `8A ||` the received bytes of the first ten fields: what the cold key signed. */
  readonly signedBytes: Uint8Array;
  readonly issuerColdVk: Uint8Array;
  readonly vrfProof: Uint8Array;
  readonly bodyHash: Hash32;
  readonly bodySize: number;
  readonly certifiedEb: boolean;
  readonly ebAnnouncement: { readonly hash: Hash32; readonly size: number } | null;
  readonly signature: Uint8Array;
}

/** The fields a producer fills in. */
export interface HeaderFields {
  readonly blockNo: number;
  readonly slot: number;
  readonly prevHash: Hash32 | null;
  readonly issuerColdVk: Uint8Array;
  readonly vrfOutput: Uint8Array;
  readonly vrfProof: Uint8Array;
  readonly bodyHash: Hash32;
  readonly bodySize: number;
  readonly certifiedEb: boolean;
  readonly ebAnnouncement: { readonly hash: Uint8Array; readonly size: number } | null;
}

function toInfo(h: RbHeader): HeaderInfo {
  return {
    bytes: h.bytes,
    hash: h.hash,
    signedBytes: h.signedBytes(),
    blockNo: h.blockNumber,
    slot: h.slot,
    prevHash: h.prevHash,
    issuer: h.issuerPoolId,
    issuerColdVk: h.issuerColdVk,
    vrfOutput: h.vrfOutput,
    vrfProof: h.vrfProof,
    bodyHash: h.bodyHash,
    bodySize: h.bodySize,
    certifiedEb: h.certifiedEb,
    ebAnnouncement: h.ebAnnouncement ? { hash: h.ebAnnouncement.ebHash, size: h.ebAnnouncement.ebSize } : null,
    signature: h.signature,
  };
}

/**
 * Decode a standalone header (canonical, at most `maxHeaderSize` bytes). Throws DecodeError.
 *
 * @example
 * ```ts
 * const h = decodeHeader(bytes, params.maxHeaderSize);
 * ```
 */
export function decodeHeader(bytes: Uint8Array, maxHeaderSize: number): HeaderInfo {
  return toInfo(decodeRbHeader(bytes, maxHeaderSize));
}

/** Whether the issuer id is `H224(cold vk)` and the cold-key signature verifies (§4.1). */
export function headerSignatureOk(h: HeaderInfo): boolean {
  const id = blake2b224(h.issuerColdVk);
  if (id.length !== h.issuer.length || id.some((b, i) => b !== h.issuer[i])) return false;
  return ed25519Verify(h.signature, h.signedBytes, h.issuerColdVk);
}

/**
 * Encode and sign a header with the cold key seed.
 *
 * @example
 * ```ts
 * const bytes = encodeHeader(fields, coldSeed);
 * ```
 */
export function encodeHeader(f: HeaderFields, coldSeed: Uint8Array): Uint8Array {
  return buildRbHeader(
    {
      blockNumber: f.blockNo,
      slot: f.slot,
      prevHash: f.prevHash,
      vrfOutput: f.vrfOutput,
      vrfProof: f.vrfProof,
      bodyHash: f.bodyHash,
      bodySize: f.bodySize,
      certifiedEb: f.certifiedEb,
      ebAnnouncement: f.ebAnnouncement ? { ebHash: f.ebAnnouncement.hash, ebSize: f.ebAnnouncement.size } : null,
    },
    coldSeed,
    // the producer's own header is bounded by the format, not by a peer's MAX_HEADER
    Number.MAX_SAFE_INTEGER,
  ).bytes;
}

/** A decoded RB body: decoded txs (exact spans) and the certificate, if any. */
export interface BodyInfo<Tx> {
  readonly txs: Tx[];
  readonly certificate: Certificate | null;
}

/**
 * Decode a body `[txs, certificate / null]`; `readTx` decodes one tx at the reader in the node's
 * ledger mode (keeping its span). Throws DecodeError (or the tx decoder's TxInvalidError).
 */
export function decodeBody<Tx>(bytes: Uint8Array, readTx: (r: CborReader, path: string) => Tx): BodyInfo<Tx> {
  return decodeStrict(bytes, 'rb_body', (r) => {
    r.readArray('rb_body', { len: 2 });
    const n = r.readArray('rb_body.txs', { max: bytes.length });
    const txs: Tx[] = [];
    for (let i = 0; i < n; i++) txs.push(readTx(r, `rb_body.txs[${i}]`));
    let certificate: Certificate | null = null;
    if (r.peekNull()) r.readNull('rb_body.certificate');
    else certificate = readCertificate(r, 'rb_body.certificate');
    return { txs, certificate };
  });
}

/** Encode a body from exact tx bytes and certificate bytes. */
export function encodeBody(txs: readonly Uint8Array[], certificate: Uint8Array | null): Uint8Array {
  return encodeRbBody({ txs, certificate }, { maxHeaderSize: 0, maxRbBodySize: Number.MAX_SAFE_INTEGER, maxTxSize: Number.MAX_SAFE_INTEGER, committeeMode: 'top-stake' }).bytes;
}

/** Split `rb_block = [header, body]` into the exact spans. */
export function splitBlock(bytes: Uint8Array, maxHeaderSize: number, maxBodySize: number): { header: Uint8Array; body: Uint8Array } {
  if (bytes.length > 1 + maxHeaderSize + maxBodySize) {
    throw new DecodeError('rb_block', 'limit', `block of ${bytes.length} bytes > ${1 + maxHeaderSize + maxBodySize}`, 0);
  }
  return decodeStrict(bytes, 'rb_block', (r) => {
    r.readArray('rb_block', { len: 2 });
    const header = r.readRaw('rb_block.header', maxHeaderSize);
    const body = r.readRaw('rb_block.body', maxBodySize);
    return { header, body };
  });
}

/** `rb_block = [header, body]` from exact bytes. */
export function encodeBlock(header: Uint8Array, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + header.length + body.length);
  out[0] = 0x82;
  out.set(header, 1);
  out.set(body, 1 + header.length);
  return out;
}

/** Decode `vote = [rb_hash, voter_id, signature]` (§6.2). */
export function decodeVote(bytes: Uint8Array): DecodedVote {
  const v = decodeSharedVote(bytes);
  return { rbHash: v.rbHash, seat: v.voterId, signature: v.signature, bytes: v.bytes };
}

/** Encode a vote. */
export function encodeVote(rbHash: Uint8Array, seat: number, signature: Uint8Array): Uint8Array {
  return encodeSharedVote({ rbHash, voterId: seat, signature });
}
