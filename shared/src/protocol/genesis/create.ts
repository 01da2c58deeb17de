/**
 * Genesis generator for devnets and tests: derives every pool's keys from a seed, writes the §3.1
 * JSON and returns it with the secret keys. The output goes through {@link parseGenesis}, so a
 * generated file is always one a node accepts.
 *
 * Keys are derived with domain separation, `H256("LEIOS-GEN-<ROLE>" || seed)`: the cold key is the
 * Ed25519 seed itself, VRF and vote keys come from BLS `KeyGen` of their derived 32 bytes, each
 * with its PoP (§2.3). The same seed always gives the same pool, so devnet nodes can re-derive
 * their keys from a seed in their config instead of storing secret files.
 *
 * @module
 */
import { ascii, concatBytes, toHex, u64be } from '../../bytes/index';
import { blake2b224, blake2b256 } from '../../crypto/blake2b';
import { blsKeyGen, popProve } from '../../crypto/bls/index';
import { ed25519KeyFromSeed } from '../../crypto/ed25519';
import { ValidationError } from '../../errors/index';
import type { Address, Hash32, PoolId } from '../../types/index';
import { DEVNET_PARAMS, formatRational, LEIOS_PARAM_KEYS, type ProtocolParams } from '../params/index';
import { type Genesis, parseGenesis } from './index';

/** Seed material: bytes, or a string taken as its UTF-8 bytes (e.g. `"pool-1"`). */
export type Seed = Uint8Array | string;

/** One pool to create. */
export interface PoolSpec {
  readonly stake: bigint | number | string;
  readonly seed: Seed;
  /** Register a vote key (default true); false writes `voteKey: null` (a keyless seat, §6.1). */
  readonly voteKey?: boolean;
}

/** The secrets of one generated pool. */
export interface PoolSecrets {
  readonly poolId: PoolId;
  /** Ed25519 seed (32 bytes) of the cold key: signs RB headers. */
  readonly coldSecretKey: Uint8Array;
  readonly coldVk: Uint8Array;
  /** BLS VRF secret key: leader election (§3.5). */
  readonly vrfSecretKey: Uint8Array;
  readonly vrfPublicKey: Uint8Array;
  /** BLS vote secret key (null when created without a vote key). */
  readonly voteSecretKey: Uint8Array | null;
  readonly votePublicKey: Uint8Array | null;
}

/** One funded address to create (its Ed25519 owner key derives from `seed`). */
export interface FundSpec {
  readonly seed: Seed;
  readonly amount: bigint | number | string;
  /** Number of separate outputs of `amount` each (default 1). */
  readonly outputs?: number;
}

/** The secrets of one funded address. */
export interface FundSecrets {
  readonly address: Address;
  /** Ed25519 seed of the owner key (witnesses sign with it, §5.1). */
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
  /** The genesis outputs it owns, as (txId, index). */
  readonly outputs: ReadonlyArray<{ txId: Hash32; index: number; amount: bigint }>;
}

/** Options of {@link createGenesis}. */
export interface CreateGenesisOptions {
  readonly pools: readonly PoolSpec[];
  /** Default: now, rounded down to the second. */
  readonly systemStart?: Date | number | string;
  /** Default 2026 (§15 devnet). */
  readonly networkMagic?: number;
  /** Overrides of the devnet parameters (§15). */
  readonly params?: Partial<ProtocolParams>;
  /** η_0; default `H256("LEIOS-GEN-NONCE" || u64be(networkMagic))`. */
  readonly initialNonce?: Uint8Array;
  /** Funded addresses (ledger mode utxo). */
  readonly funds?: readonly FundSpec[];
  /** Replacement pool lists from given epochs (§3.1 `stakeSchedule`). */
  readonly stakeSchedule?: ReadonlyArray<{ fromEpoch: number; pools: readonly PoolSpec[] }>;
}

/** What {@link createGenesis} returns. */
export interface CreatedGenesis {
  /** The JSON text (the file to distribute). */
  readonly text: string;
  /** Its UTF-8 bytes; `genesis.hash = H256(bytes)`. */
  readonly bytes: Uint8Array;
  readonly genesis: Genesis;
  /** Secrets of the genesis pools, in input order. */
  readonly pools: readonly PoolSecrets[];
  /** Secrets of the `stakeSchedule` pools, per entry, in input order. */
  readonly schedulePools: ReadonlyArray<readonly PoolSecrets[]>;
  readonly funds: readonly FundSecrets[];
}

const utf8 = new TextEncoder();

function seedBytes(seed: Seed): Uint8Array {
  return typeof seed === 'string' ? utf8.encode(seed) : seed;
}

function derive(role: string, seed: Seed): Uint8Array {
  return blake2b256(concatBytes(ascii(`LEIOS-GEN-${role}`), seedBytes(seed)));
}

/**
 * The keys of a pool from its seed (deterministic; see the module primer).
 *
 * @example
 * ```ts
 * const { poolId, coldSecretKey, vrfSecretKey, voteSecretKey } = derivePoolKeys('pool-1');
 * ```
 */
export function derivePoolKeys(seed: Seed, withVoteKey = true): PoolSecrets & { vrfPop: Uint8Array; votePop: Uint8Array | null } {
  const cold = ed25519KeyFromSeed(derive('COLD', seed));
  const vrf = blsKeyGen(derive('VRF', seed));
  const vote = withVoteKey ? blsKeyGen(derive('VOTE', seed)) : null;
  return {
    poolId: blake2b224(cold.publicKey) as PoolId,
    coldSecretKey: cold.secretKey,
    coldVk: cold.publicKey,
    vrfSecretKey: vrf.secretKey,
    vrfPublicKey: vrf.publicKey,
    vrfPop: popProve(vrf.secretKey),
    voteSecretKey: vote?.secretKey ?? null,
    votePublicKey: vote?.publicKey ?? null,
    votePop: vote ? popProve(vote.secretKey) : null,
  };
}

/**
 * The owner key and address of a funded seed (address = `H224(vk)`, §2.1).
 *
 * @example
 * ```ts
 * const { address, secretKey } = deriveFundKey('alice');
 * ```
 */
export function deriveFundKey(seed: Seed): { address: Address; secretKey: Uint8Array; publicKey: Uint8Array } {
  const k = ed25519KeyFromSeed(derive('FUND', seed));
  return { address: blake2b224(k.publicKey) as Address, secretKey: k.secretKey, publicKey: k.publicKey };
}

function stakeString(v: bigint | number | string, field: string): string {
  const b = typeof v === 'string' ? v : BigInt(v).toString();
  if (!/^(0|[1-9][0-9]*)$/.test(b)) throw new ValidationError(field, 'expected a non-negative integer');
  return b;
}

function poolJson(specs: readonly PoolSpec[], path: string): { json: unknown[]; secrets: PoolSecrets[] } {
  const secrets: PoolSecrets[] = [];
  const json = specs.map((s, i) => {
    const k = derivePoolKeys(s.seed, s.voteKey !== false);
    const { vrfPop, votePop, ...sec } = k;
    secrets.push(sec);
    return {
      poolId: toHex(k.poolId),
      coldVk: toHex(k.coldVk),
      stake: stakeString(s.stake, `${path}[${i}].stake`),
      vrfKey: { vk: toHex(k.vrfPublicKey), pop: toHex(vrfPop) },
      voteKey: k.votePublicKey && votePop ? { vk: toHex(k.votePublicKey), pop: toHex(votePop) } : null,
    };
  });
  return { json, secrets };
}

function isoMs(v: Date | number | string | undefined): string {
  if (typeof v === 'string') return v;
  const ms = v === undefined ? Math.floor(Date.now() / 1000) * 1000 : typeof v === 'number' ? v : v.getTime();
  return new Date(ms).toISOString();
}

/**
 * Create a genesis: derive pool (and fund) keys from seeds, write the §3.1 JSON (devnet parameters
 * unless overridden), validate it with {@link parseGenesis}, and return text, bytes, the parsed
 * genesis and all secrets.
 *
 * @example
 * ```ts
 * const { text, genesis, pools } = createGenesis({
 *   pools: [{ stake: 1_000_000n, seed: 'pool-a' }, { stake: 500_000n, seed: 'pool-b' }],
 *   systemStart: Date.now(),
 *   funds: [{ seed: 'alice', amount: 10_000_000_000n, outputs: 4 }],
 * });
 * ```
 */
export function createGenesis(opts: CreateGenesisOptions): CreatedGenesis {
  const p: ProtocolParams = { ...DEVNET_PARAMS, ...opts.params };
  const networkMagic = opts.networkMagic ?? 2026;
  const nonce = opts.initialNonce ?? blake2b256(concatBytes(ascii('LEIOS-GEN-NONCE'), u64be(networkMagic)));
  const pools = poolJson(opts.pools, 'pools');
  const schedule = (opts.stakeSchedule ?? []).map((e, i) => ({ fromEpoch: e.fromEpoch, ...poolJson(e.pools, `stakeSchedule[${i}].pools`) }));

  const funds: FundSecrets[] = [];
  const utxo: unknown[] = [];
  (opts.funds ?? []).forEach((f, i) => {
    const k = deriveFundKey(f.seed);
    // one pseudo transaction per fund entry, its outputs indexed 0..n-1
    const txId = blake2b256(concatBytes(ascii('LEIOS-GEN-UTXO'), u64be(i), k.address)) as Hash32;
    const amount = stakeString(f.amount, `funds[${i}].amount`);
    const outs: Array<{ txId: Hash32; index: number; amount: bigint }> = [];
    for (let j = 0; j < (f.outputs ?? 1); j++) {
      utxo.push({ txId: toHex(txId), index: j, address: toHex(k.address), amount });
      outs.push({ txId, index: j, amount: BigInt(amount) });
    }
    funds.push({ ...k, outputs: outs });
  });

  const protocolParams: Record<string, unknown> = {};
  for (const key of LEIOS_PARAM_KEYS) protocolParams[key] = key === 'quorum' ? formatRational(p.quorum) : p[key];
  const doc: Record<string, unknown> = {
    systemStart: isoMs(opts.systemStart),
    networkMagic,
    slotLengthMs: p.slotLengthMs,
    epochLength: p.epochLength,
    securityParam: p.securityParam,
    activeSlotCoeff: formatRational(p.activeSlotCoeff),
    committeeMode: p.committeeMode,
    ledgerMode: p.ledgerMode,
    initialNonce: toHex(nonce),
    protocolParams,
    pools: pools.json,
  };
  if (schedule.length > 0) doc.stakeSchedule = schedule.map((e) => ({ fromEpoch: e.fromEpoch, pools: e.json }));
  doc.initialUtxo = utxo;

  const text = `${JSON.stringify(doc, null, 2)}\n`;
  const bytes = utf8.encode(text);
  const genesis = parseGenesis(bytes);
  return { text, bytes, genesis, pools: pools.secrets, schedulePools: schedule.map((e) => e.secrets), funds };
}
