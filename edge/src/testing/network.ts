/**
 * The relay tests' network inside workerd (see ../../test/network.ts): its pools, keys and nonce,
 * the epoch pools documents served by the fixture storage node `default` (the hub's upstream),
 * leader-slot search with the real VRF (§3.5), and builders for real signed blocks, EBs, votes and
 * certificates.
 *
 * @module
 */
import { env } from 'cloudflare:workers';
import { blake2b224, blake2b256, CborWriter, compareBytes, fromHex, toHex } from '@leios/shared';
import { BLS_R, blsSign, isLeader, leaderThresholdConstant, vrfProve } from '@leios/shared/crypto';
import {
  buildRb,
  encodeCertificate,
  encodeEb,
  encodeEpochPools,
  encodeVote,
  type PoolInput,
  type RbBlock,
  signersBitfield,
} from '@leios/shared/protocol';
import type { PoolId } from '@leios/shared/types';
import { FixtureNode } from './index';

interface PoolJson {
  poolId: string;
  coldVk: string;
  stake: string;
  vrfVk: string;
  vrfPop: string;
  voteVk: string;
  votePop: string;
  coldSk: string;
  vrfSk: string | null;
  voteSk: string;
}

/** One pool with its secrets. */
export interface TestPool {
  readonly input: PoolInput;
  readonly coldSk: Uint8Array;
  readonly vrfSk: Uint8Array | null;
  readonly voteSk: Uint8Array;
  /** Seat index in the top-stake committee (§6.1). */
  readonly seat: number;
}

const SLOT_MS = Number((env as unknown as { SLOT_LENGTH_MS: string }).SLOT_LENGTH_MS);
const SYSTEM_START = Date.parse((env as unknown as { SYSTEM_START: string }).SYSTEM_START);
const EPOCH_LENGTH = Number((env as unknown as { EPOCH_LENGTH: string }).EPOCH_LENGTH);
/** f = 1/2 (vitest.config.ts PROTOCOL_PARAMS). */
const LEADER_C = leaderThresholdConstant({ num: 1n, den: 2n });

function load(): { pools: TestPool[]; nonce: Uint8Array; total: bigint } {
  const j = JSON.parse((env as unknown as { TEST_NETWORK: string }).TEST_NETWORK) as { nonce: string; pools: PoolJson[] };
  const inputs = j.pools.map((p) => ({
    p,
    input: {
      poolId: fromHex(p.poolId) as PoolId,
      coldVk: fromHex(p.coldVk),
      stake: BigInt(p.stake),
      vrfKey: { vk: fromHex(p.vrfVk), pop: fromHex(p.vrfPop) },
      voteKey: { vk: fromHex(p.voteVk), pop: fromHex(p.votePop) },
    } satisfies PoolInput,
  }));
  // §6.1 seat order: stake descending, ties by pool id ascending.
  const ranked = [...inputs].sort((a, b) => (a.input.stake === b.input.stake ? compareBytes(a.input.poolId, b.input.poolId) : a.input.stake > b.input.stake ? -1 : 1));
  const seatOf = new Map(ranked.map((x, i) => [x.p.poolId, i]));
  const pools = inputs.map(({ p, input }) => ({
    input,
    coldSk: fromHex(p.coldSk),
    vrfSk: p.vrfSk === null ? null : fromHex(p.vrfSk),
    voteSk: fromHex(p.voteSk),
    seat: seatOf.get(p.poolId)!,
  }));
  return { pools, nonce: fromHex(j.nonce), total: pools.reduce((s, p) => s + p.input.stake, 0n) };
}

/** The test network (parsed once). */
export const NET = load();
/** Pools by seat index. */
export const BY_SEAT: TestPool[] = [...NET.pools].sort((a, b) => a.seat - b.seat);
/** The three pools that lead (VRF keys known). */
export const LEADERS = NET.pools.filter((p) => p.vrfSk !== null);

export const slotNow = (): number => Math.floor((Date.now() - SYSTEM_START) / SLOT_MS);
export const slotStart = (slot: number): number => SYSTEM_START + slot * SLOT_MS;
export const epochOf = (slot: number): number => Math.floor(slot / EPOCH_LENGTH);

/** Program the hub's storage node with the pools of these epochs (same bytes from every test). */
export async function serveEpochs(epochs: readonly number[]): Promise<void> {
  const node = new FixtureNode('default');
  for (const e of epochs) {
    await node.reply(`/v1/epoch/${e}/pools`, { body: encodeEpochPools(e, NET.nonce, NET.pools.map((p) => p.input)), type: 'application/cbor' });
  }
}

/** Serve the epochs around now (a test may cross an epoch boundary). */
export function serveCurrentEpochs(): Promise<void> {
  const e = epochOf(slotNow());
  return serveEpochs(e > 0 ? [e - 1, e, e + 1] : [e, e + 1]);
}

/** A leader (pool and VRF proof) for `slot`, trying the three leading pools; null if none leads. */
export function leaderAt(slot: number, exclude: readonly TestPool[] = []): { pool: TestPool; vrfOutput: Uint8Array; vrfProof: Uint8Array } | null {
  for (const pool of LEADERS) {
    if (exclude.includes(pool)) continue;
    const r = vrfProve(pool.vrfSk!, NET.nonce, slot);
    if (isLeader(r.output, pool.input.stake, NET.total, LEADER_C)) return { pool, vrfOutput: r.output, vrfProof: r.proof };
  }
  return null;
}

/** The first leader slot in `[from, to]`. */
export function findLeaderSlot(from: number, to: number): { slot: number; pool: TestPool; vrfOutput: Uint8Array; vrfProof: Uint8Array } {
  for (let s = from; s <= to; s++) {
    const l = leaderAt(s);
    if (l) return { slot: s, ...l };
  }
  throw new Error(`no leader slot in [${from}, ${to}]`);
}

/** Wait until `slot` is acceptable (not in the future, §4.1: slot <= slot(now + MAX_SKEW)). */
export async function waitForSlot(slot: number): Promise<void> {
  const at = slotStart(slot) - 800;
  const d = at - Date.now();
  if (d > 0) await new Promise((r) => setTimeout(r, d));
}

/**
 * Poll `pred` every `stepMs` until it holds; throws after `ms` (every wait in a test is bounded).
 *
 * @example
 * ```ts
 * await until(async () => (await hub().tip())?.blockNo === 2);
 * ```
 */
export async function until(pred: () => boolean | Promise<boolean>, ms = 15_000, stepMs = 50): Promise<void> {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** Wait until wall-clock time `ms`. */
export async function waitUntil(ms: number): Promise<void> {
  const d = ms - Date.now();
  if (d > 0) await new Promise((r) => setTimeout(r, d));
}

/** Random bytes. */
function rnd(n: number): Uint8Array {
  const b = new Uint8Array(n);
  crypto.getRandomValues(b);
  return b;
}

/** Opaque-looking tx stand-ins for EB closures (the relay checks hash and size only). */
export function closureTxs(n: number, size = 200): Uint8Array[] {
  return Array.from({ length: n }, () => new CborWriter().bytes(rnd(size - 3)).finish());
}

/** An EB over these txs (§4.3) with its hash. */
export function ebOf(txs: readonly Uint8Array[]): { bytes: Uint8Array; hash: Uint8Array } {
  const bytes = encodeEb(txs.map((t) => ({ hash: blake2b256(t), size: t.length })));
  return { bytes, hash: blake2b256(bytes) };
}

/** A large EB of `count` references to random (never served) txs: for flood tests. */
export function bigEb(count: number): { bytes: Uint8Array; hash: Uint8Array } {
  const bytes = encodeEb(Array.from({ length: count }, () => ({ hash: rnd(32), size: 300 })));
  return { bytes, hash: blake2b256(bytes) };
}

/** A signed block by the leader of `slot`. */
export function blockAt(args: {
  slot: number;
  leader: { pool: TestPool; vrfOutput: Uint8Array; vrfProof: Uint8Array };
  blockNumber: number;
  prevHash: Uint8Array | null;
  eb?: { hash: Uint8Array; bytes: Uint8Array } | null;
  txs?: Uint8Array[];
  certificate?: Uint8Array | null;
}): RbBlock {
  return buildRb(
    {
      blockNumber: args.blockNumber,
      slot: args.slot,
      prevHash: args.prevHash,
      vrfOutput: args.leader.vrfOutput,
      vrfProof: args.leader.vrfProof,
      ebAnnouncement: args.eb ? { ebHash: args.eb.hash, ebSize: args.eb.bytes.length } : null,
      txs: args.txs ?? [],
      certificate: args.certificate ?? null,
    },
    args.leader.pool.coldSk,
  );
}

/** A §6.2 vote by `seat` for `rbHash` (a wrong key when `forge`). */
export function voteBy(seat: number, rbHash: Uint8Array, forge = false): Uint8Array {
  const sk = forge ? BY_SEAT[(seat + 1) % BY_SEAT.length]!.voteSk : BY_SEAT[seat]!.voteSk;
  return encodeVote({ rbHash, voterId: seat, signature: blsSign(sk, vote58(rbHash)) });
}

function vote58(h: Uint8Array): Uint8Array {
  const m = new Uint8Array(34);
  m[0] = 0x58;
  m[1] = 0x20;
  m.set(h, 2);
  return m;
}

/**
 * A certificate (§6.5) by `seats` over `message` (default: the vote message of `rbHash`), signed
 * with the sum of the seats' secret keys: the aggregate of their signatures.
 */
export function certificateBy(seats: readonly number[], rbHash: Uint8Array, message?: Uint8Array): Uint8Array {
  let sk = 0n;
  for (const s of seats) {
    let x = 0n;
    for (const b of BY_SEAT[s]!.voteSk) x = (x << 8n) | BigInt(b);
    sk = (sk + x) % BLS_R;
  }
  const skBytes = new Uint8Array(32);
  for (let i = 31, v = sk; i >= 0; i--, v >>= 8n) skBytes[i] = Number(v & 0xffn);
  const sig = blsSign(skBytes, message ?? vote58(rbHash));
  return encodeCertificate(signersBitfield(seats, BY_SEAT.length), sig);
}

/** The seats of the two 1,200-stake pools plus `smalls` stake-1 seats (τ·S = 3,000 needs 600). */
export function quorumSeats(smalls: number): number[] {
  return [0, 1, ...Array.from({ length: smalls }, (_, i) => 3 + i)];
}

export { blake2b224, toHex };
