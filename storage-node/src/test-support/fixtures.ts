/**
 * Test fixtures: blocks, EBs, txs and votes with consistent hashes and sizes.
 *
 * The stores treat header, EB, tx and vote bytes as opaque received bytes and take decoded fields
 * from their caller, so fixtures are random bytes whose hashes and sizes are computed the way
 * PROTOCOL.md §2.1 defines them (H256 of the exact bytes). Used by the unit tests, the crash test
 * writer and the benchmarks.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { BlockNo, Hash32, PoolId, Slot } from '@leios/shared/types';
import { blake2b256 } from '@leios/shared/crypto';
import type { RbBlockInput } from '../stores/chain-db/index';
import type { EbRef } from '../stores/eb-store/index';

/** A block extending `parent` (null = first block), with random header/body bytes. */
export function makeBlock(
  parent: { readonly hash: Hash32; readonly slot: number; readonly blockNo: number } | null,
  opts: {
    slotGap?: number;
    eb?: { hash: Hash32; size: number } | null;
    certifiedEb?: boolean;
    issuer?: PoolId;
    bodySize?: number;
  } = {},
): RbBlockInput & { hash: Hash32 } {
  const body = new Uint8Array(randomBytes(opts.bodySize ?? 64));
  const bytes = new Uint8Array(randomBytes(120));
  const header = {
    bytes,
    slot: ((parent?.slot ?? 0) + (opts.slotGap ?? 1)) as Slot,
    blockNo: ((parent?.blockNo ?? 0) + 1) as BlockNo,
    prevHash: parent?.hash ?? null,
    issuer: opts.issuer ?? (new Uint8Array(28).fill(7) as PoolId),
    bodyHash: blake2b256(body),
    bodySize: body.length,
    certifiedEb: opts.certifiedEb ?? false,
    ebAnnouncement: opts.eb ?? null,
  };
  return { header, body, hash: blake2b256(bytes) };
}

/** `n` random txs of about `size` bytes each (size varies ±50% unless `exact`). */
export function makeTxs(n: number, size = 300, exact = false): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const len = exact ? size : Math.max(1, Math.round(size * (0.5 + Math.random())));
    out.push(new Uint8Array(randomBytes(len)));
  }
  return out;
}

/** References (hash, size) of txs, in order. */
export function refsOf(txs: readonly Uint8Array[]): EbRef[] {
  return txs.map((t) => ({ hash: blake2b256(t), size: t.length }));
}

/**
 * EB bytes for references: a stand-in for the §4.3 CBOR map (the store never decodes EB bytes,
 * it only hashes and size-checks them), so any unique bytes of a plausible length do.
 */
export function makeEbBytes(refs: readonly EbRef[]): Uint8Array {
  const out = new Uint8Array(3 + refs.length * 39);
  out.set(randomBytes(3), 0);
  refs.forEach((r, i) => {
    out.set(r.hash, 3 + i * 39);
  });
  return out;
}

/** A vote's bytes: `[rb_hash, voter_id, signature]` stand-in (the store keeps bytes opaque). */
export function makeVote(rbHash: Hash32, seat: number): { rbHash: Hash32; seat: number; signature: Uint8Array; bytes: Uint8Array } {
  const signature = new Uint8Array(randomBytes(48));
  const bytes = new Uint8Array(87);
  bytes.set(rbHash, 3);
  bytes.set(signature, 39);
  bytes[37] = seat & 0xff;
  return { rbHash, seat, signature, bytes };
}
