/**
 * The node's view of RB headers, bodies, blocks and votes (PROTOCOL.md §4.1, §4.2, §6.2).
 *
 * Primer: the node decodes each received header once into a {@link HeaderInfo} that keeps the
 * exact bytes (the RB hash is `H256(bytes)`, §1.3) and the span the signature covers (`8A ||` the
 * received bytes of the first ten fields, §4.1), and builds its own blocks with the same shapes.
 *
 * TODO(lead): move to shared when shared/src/protocol/{rb,vote} land — this is a minimal codec
 * written here as a last resort because they were not there when the node needed them; the node
 * only uses the functions below, so switching is local to this file.
 *
 * @module
 */
import { concatBytes } from '@leios/shared/bytes';
import { type CborReader, CborWriter, decodeStrict } from '@leios/shared/cbor';
import { blake2b224, blake2b256, ed25519KeyFromSeed, ed25519Sign, ed25519Verify } from '@leios/shared/crypto';
import { DecodeError } from '@leios/shared/errors';
import { type Certificate, readCertificate } from '@leios/shared/protocol';
import type { BlockNo, Hash32, PoolId, Slot } from '@leios/shared/types';
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

function readHeader(r: CborReader, path: string): Omit<HeaderInfo, 'bytes' | 'signedBytes' | 'hash'> & { fieldsEnd: number; start: number } {
  const start = r.pos;
  r.readArray(path, { len: 11 });
  const blockNo = r.readUint(`${path}.block_number`) as BlockNo;
  const slot = r.readUint(`${path}.slot`) as Slot;
  let prevHash: Hash32 | null = null;
  if (r.peekNull()) r.readNull(`${path}.prev_hash`);
  else prevHash = r.readBytes(`${path}.prev_hash`, { len: 32 }) as Hash32;
  const issuer = r.readBytes(`${path}.issuer_pool_id`, { len: 28 }) as PoolId;
  const issuerColdVk = r.readBytes(`${path}.issuer_cold_vk`, { len: 32 });
  r.readArray(`${path}.leader_vrf`, { len: 2 });
  const vrfOutput = r.readBytes(`${path}.leader_vrf.output`, { len: 32 });
  const vrfProof = r.readBytes(`${path}.leader_vrf.proof`, { len: 48 });
  const bodyHash = r.readBytes(`${path}.body_hash`, { len: 32 }) as Hash32;
  const bodySize = r.readUint(`${path}.body_size`, 0xffffffff);
  const certifiedEb = r.readBool(`${path}.certified_eb`);
  let ebAnnouncement: HeaderInfo['ebAnnouncement'] = null;
  if (r.peekNull()) r.readNull(`${path}.eb_announcement`);
  else {
    r.readArray(`${path}.eb_announcement`, { len: 2 });
    const hash = r.readBytes(`${path}.eb_announcement.eb_hash`, { len: 32 }) as Hash32;
    const size = r.readUint(`${path}.eb_announcement.eb_size`, 0xffffffff);
    ebAnnouncement = { hash, size };
  }
  const fieldsEnd = r.pos;
  const signature = r.readBytes(`${path}.signature`, { len: 64 });
  if ((prevHash === null) !== (blockNo === 1)) {
    throw new DecodeError(`${path}.prev_hash`, 'value', 'prev_hash must be null iff block_number = 1', start);
  }
  return {
    start,
    fieldsEnd,
    blockNo,
    slot,
    prevHash,
    issuer,
    issuerColdVk,
    vrfOutput,
    vrfProof,
    bodyHash,
    bodySize,
    certifiedEb,
    ebAnnouncement,
    signature,
  };
}

function headerInfo(all: Uint8Array, h: ReturnType<typeof readHeader>, end: number): HeaderInfo {
  const bytes = all.subarray(h.start, end);
  const { start, fieldsEnd, ...rest } = h;
  return {
    ...rest,
    bytes,
    hash: blake2b256(bytes),
    // the 11-element array head is one byte (0x8B); the signed array of ten is 0x8A
    signedBytes: concatBytes(new Uint8Array([0x8a]), all.subarray(start + 1, fieldsEnd)),
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
  if (bytes.length > maxHeaderSize) throw new DecodeError('rb_header', 'limit', `${bytes.length} bytes > MAX_HEADER ${maxHeaderSize}`, 0);
  return decodeStrict(bytes, 'rb_header', (r) => headerInfo(bytes, readHeader(r, 'rb_header'), r.pos));
}

/** Whether the header's cold-key signature verifies and the issuer id is `H224(cold vk)` (§4.1). */
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
  const w = new CborWriter(512).array(10);
  w.uint(f.blockNo).uint(f.slot);
  if (f.prevHash) w.bytes(f.prevHash);
  else w.null();
  w.bytes(blake2b224(f.issuerColdVk)).bytes(f.issuerColdVk);
  w.array(2).bytes(f.vrfOutput).bytes(f.vrfProof);
  w.bytes(f.bodyHash).uint(f.bodySize).bool(f.certifiedEb);
  if (f.ebAnnouncement) w.array(2).bytes(f.ebAnnouncement.hash).uint(f.ebAnnouncement.size);
  else w.null();
  const signed = w.finish();
  const kp = ed25519KeyFromSeed(coldSeed);
  const sig = ed25519Sign(kp.secretKey, signed);
  // [ten fields..., signature]: same field bytes, array head 0x8B instead of 0x8A
  return concatBytes(new Uint8Array([0x8b]), signed.subarray(1), new CborWriter(80).bytes(sig).finish());
}

/** A decoded RB body: tx spans (exact bytes) and the certificate, if any. */
export interface BodyInfo<Tx> {
  readonly txs: Tx[];
  readonly certificate: Certificate | null;
}

/**
 * Decode a body `[txs, certificate / null]`; `readTx` decodes one tx at the reader (keeping its
 * span). Throws DecodeError (or the tx decoder's errors).
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
  const w = new CborWriter(64 + txs.reduce((s, t) => s + t.length, 0)).array(2).array(txs.length);
  for (const t of txs) w.raw(t);
  if (certificate) w.raw(certificate);
  else w.null();
  return w.finish();
}

/** Split `rb_block = [header, body]` into the exact spans. */
export function splitBlock(bytes: Uint8Array, maxHeaderSize: number, maxBodySize: number): { header: Uint8Array; body: Uint8Array } {
  return decodeStrict(bytes, 'rb_block', (r) => {
    r.readArray('rb_block', { len: 2 });
    const header = r.readRaw('rb_block.header', maxHeaderSize);
    const body = r.readRaw('rb_block.body', maxBodySize + 16);
    return { header, body };
  });
}

/** `rb_block = [header, body]` from exact bytes. */
export function encodeBlock(header: Uint8Array, body: Uint8Array): Uint8Array {
  return new CborWriter(header.length + body.length + 4).array(2).raw(header).raw(body).finish();
}

/** Decode `vote = [rb_hash, voter_id, signature]` (§6.2). */
export function decodeVote(bytes: Uint8Array): DecodedVote {
  if (bytes.length > 256) throw new DecodeError('vote', 'limit', `${bytes.length} bytes`, 0);
  return decodeStrict(bytes, 'vote', (r) => {
    r.readArray('vote', { len: 3 });
    const rbHash = r.readBytes('vote.announcing_rb_hash', { len: 32 }) as Hash32;
    const seat = r.readUint('vote.voter_id', 65535);
    const signature = r.readBytes('vote.signature', { len: 48 });
    return { rbHash, seat, signature, bytes };
  });
}

/** Encode a vote. */
export function encodeVote(rbHash: Uint8Array, seat: number, signature: Uint8Array): Uint8Array {
  return new CborWriter(96).array(3).bytes(rbHash).uint(seat).bytes(signature).finish();
}
