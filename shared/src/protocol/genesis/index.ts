/**
 * Genesis (PROTOCOL.md §3.1), per-epoch pool snapshots (§3.3) and the epoch nonce (§3.4).
 *
 * Primer: a network is its genesis file, identified by `genesis_hash = H256(file bytes)` over the
 * bytes exactly as distributed, so {@link parseGenesis} takes bytes, never an object, and nothing
 * here re-serialises it. Parsing is strict (unknown and duplicate keys, upper-case hex, numbers
 * where decimal strings are required are all errors) and every error is a {@link ValidationError}
 * naming the JSON path of the offending key, because an operator must be able to fix the file from
 * the message alone: a node refuses to start on a bad genesis.
 *
 * The stake of every epoch comes from genesis (no delegation): the pool list, replaced from given
 * epochs by `stakeSchedule` entries, with vote keys overridden by §3.3a registrations.
 *
 * @module
 */
import { ascii, concatBytes, isLowerHex, fromHex, toHex, u64be } from '../../bytes/index';
import { blake2b224, blake2b256 } from '../../crypto/blake2b';
import { bytesEqual } from '../../bytes/index';
import { ValidationError } from '../../errors/index';
import {
  type Address,
  type Epoch,
  type Hash32,
  type Lovelace,
  parseLovelace,
  type PoolId,
  type Slot,
} from '../../types/index';
import type { PoolInput } from '../committee/index';
import {
  type CommitteeMode,
  LEIOS_PARAM_KEYS,
  type LedgerMode,
  PARAM_PATHS,
  type ProtocolParams,
  parseRational,
  stabilityWindow,
  validateProtocolParams,
} from '../params/index';
import type { SlotClock } from '../timing/index';
import { parseStrictJson } from './json';

export { parseStrictJson } from './json';

/** One initial UTxO entry (§3.1 `initialUtxo`). */
export interface GenesisUtxo {
  readonly txId: Hash32;
  readonly index: number;
  readonly address: Address;
  readonly amount: Lovelace;
}

/** A `stakeSchedule` entry: from `fromEpoch` on, this pool list replaces the previous one. */
export interface StakeScheduleEntry {
  readonly fromEpoch: Epoch;
  readonly pools: readonly PoolInput[];
}

/** A parsed, validated genesis. */
export interface Genesis {
  /** The file bytes exactly as read. */
  readonly bytes: Uint8Array;
  /** `genesis_hash = H256(bytes)`. */
  readonly hash: Hash32;
  /** RFC 3339 text, as in the file. */
  readonly systemStart: string;
  /** `systemStart` in ms since the Unix epoch. */
  readonly systemStartMs: number;
  readonly networkMagic: number;
  /** All consensus parameters, validated (§15). */
  readonly params: ProtocolParams;
  /** η_0. */
  readonly initialNonce: Hash32;
  readonly pools: readonly PoolInput[];
  /** Ascending by `fromEpoch`. Empty when the file has none. */
  readonly stakeSchedule: readonly StakeScheduleEntry[];
  readonly initialUtxo: readonly GenesisUtxo[];
}

/** The genesis top-level keys (§3.1); `stakeSchedule` is the only optional one. */
const TOP_KEYS = [
  'systemStart',
  'networkMagic',
  'slotLengthMs',
  'epochLength',
  'securityParam',
  'activeSlotCoeff',
  'committeeMode',
  'ledgerMode',
  'initialNonce',
  'protocolParams',
  'pools',
  'stakeSchedule',
  'initialUtxo',
] as const;
const OPTIONAL_TOP = new Set<string>(['stakeSchedule']);
const POOL_KEYS = ['poolId', 'coldVk', 'stake', 'vrfKey', 'voteKey'] as const;
const KEY_KEYS = ['vk', 'pop'] as const;
const SCHEDULE_KEYS = ['fromEpoch', 'pools'] as const;
const UTXO_KEYS = ['txId', 'index', 'address', 'amount'] as const;

/** Largest pool list accepted (committee seats are 16-bit; pool lists far larger make no network). */
export const MAX_GENESIS_POOLS = 65_536;
/** Largest initial UTxO accepted. */
export const MAX_GENESIS_UTXO = 1_000_000;

const SYSTEM_START_RE = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$/;

type Obj = Record<string, unknown>;

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/** `v` is a plain object with exactly the given keys (optional ones may be absent). */
function object(v: unknown, path: string, keys: readonly string[], optional: ReadonlySet<string> = new Set()): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ValidationError(path || 'genesis', 'expected an object');
  const o = v as Obj;
  for (const k of Object.keys(o)) if (!keys.includes(k)) throw new ValidationError(join(path, k), 'unknown key');
  for (const k of keys) if (!(k in o) && !optional.has(k)) throw new ValidationError(join(path, k), 'missing key');
  return o;
}

function array(v: unknown, path: string, max: number): unknown[] {
  if (!Array.isArray(v)) throw new ValidationError(path, 'expected an array');
  if (v.length > max) throw new ValidationError(path, `more than ${max} entries`);
  return v;
}

function integer(v: unknown, path: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new ValidationError(path, 'expected an integer');
  if (v < min || v > max) throw new ValidationError(path, `must be in [${min}, ${max}], got ${v}`);
  return v;
}

function hex(v: unknown, path: string, n: number): Uint8Array {
  if (typeof v !== 'string' || !isLowerHex(v, n)) throw new ValidationError(path, `expected ${2 * n} lowercase hex characters`);
  return fromHex(v);
}

function decimal(v: unknown, path: string): Lovelace {
  // Only `stake` and `amount` are decimal strings (§3.1): a JSON number here is an error.
  if (typeof v !== 'string') throw new ValidationError(path, 'expected a decimal string');
  return parseLovelace(v, path);
}

function keyWithPop(v: unknown, path: string): { vk: Uint8Array; pop: Uint8Array } {
  const o = object(v, path, KEY_KEYS);
  return { vk: hex(o.vk, `${path}.vk`, 96), pop: hex(o.pop, `${path}.pop`, 48) };
}

function poolList(v: unknown, path: string): PoolInput[] {
  const list = array(v, path, MAX_GENESIS_POOLS);
  if (list.length === 0) throw new ValidationError(path, 'at least one pool is required');
  const seen = new Set<string>();
  let total = 0n;
  const out = list.map((p, i) => {
    const at = `${path}[${i}]`;
    const o = object(p, at, POOL_KEYS);
    const poolId = hex(o.poolId, `${at}.poolId`, 28) as PoolId;
    const coldVk = hex(o.coldVk, `${at}.coldVk`, 32);
    if (!bytesEqual(poolId, blake2b224(coldVk))) throw new ValidationError(`${at}.poolId`, 'must equal H224(coldVk)');
    const id = toHex(poolId);
    if (seen.has(id)) throw new ValidationError(`${at}.poolId`, 'duplicate pool');
    seen.add(id);
    const stake = decimal(o.stake, `${at}.stake`);
    total += stake;
    const vrfKey = keyWithPop(o.vrfKey, `${at}.vrfKey`);
    const voteKey = o.voteKey === null ? null : keyWithPop(o.voteKey, `${at}.voteKey`);
    return { poolId, coldVk, stake, vrfKey, voteKey } satisfies PoolInput;
  });
  // §3.3: σ = stake/S; with S = 0 nobody can ever lead.
  if (total === 0n) throw new ValidationError(path, 'total stake must be positive');
  return out;
}

/**
 * Parse and validate a genesis file from its exact bytes (§3.1). Throws {@link ValidationError}
 * naming the JSON path of the first offending key (`protocolParams.quorum`, `pools[2].poolId`,
 * `initialUtxo[0].amount`, …).
 *
 * @example
 * ```ts
 * const genesis = parseGenesis(await readFile('genesis.json'));
 * genesis.hash // H256 of the file bytes
 * ```
 */
export function parseGenesis(bytes: Uint8Array): Genesis {
  const doc = object(parseStrictJson(bytes), '', TOP_KEYS, OPTIONAL_TOP);

  if (typeof doc.systemStart !== 'string' || !SYSTEM_START_RE.test(doc.systemStart)) {
    throw new ValidationError('systemStart', 'expected RFC 3339 UTC with milliseconds, e.g. "2026-11-24T00:00:00.000Z"');
  }
  const systemStartMs = Date.parse(doc.systemStart);
  if (!Number.isFinite(systemStartMs) || new Date(systemStartMs).toISOString() !== doc.systemStart) {
    throw new ValidationError('systemStart', 'not a valid date');
  }
  const networkMagic = integer(doc.networkMagic, 'networkMagic', 0, 0xffff_ffff);

  const pp = object(doc.protocolParams, 'protocolParams', LEIOS_PARAM_KEYS);
  const mode = (v: unknown, path: string): string => {
    if (typeof v !== 'string') throw new ValidationError(path, 'expected a string');
    return v;
  };
  const raw: Record<string, unknown> = {
    slotLengthMs: doc.slotLengthMs,
    epochLength: doc.epochLength,
    securityParam: doc.securityParam,
    activeSlotCoeff: parseRational(doc.activeSlotCoeff, PARAM_PATHS.activeSlotCoeff),
    committeeMode: mode(doc.committeeMode, 'committeeMode') as CommitteeMode,
    ledgerMode: mode(doc.ledgerMode, 'ledgerMode') as LedgerMode,
  };
  for (const k of LEIOS_PARAM_KEYS) raw[k] = k === 'quorum' ? parseRational(pp.quorum, PARAM_PATHS.quorum) : pp[k];
  const params = Object.freeze(validateProtocolParams(raw as unknown as ProtocolParams));

  const initialNonce = hex(doc.initialNonce, 'initialNonce', 32) as Hash32;
  const pools = poolList(doc.pools, 'pools');

  const stakeSchedule: StakeScheduleEntry[] = [];
  if (doc.stakeSchedule !== undefined) {
    const list = array(doc.stakeSchedule, 'stakeSchedule', 100_000);
    let last = 0;
    list.forEach((e, i) => {
      const at = `stakeSchedule[${i}]`;
      const o = object(e, at, SCHEDULE_KEYS);
      const fromEpoch = integer(o.fromEpoch, `${at}.fromEpoch`, 1, Number.MAX_SAFE_INTEGER);
      if (fromEpoch <= last) throw new ValidationError(`${at}.fromEpoch`, 'entries must have strictly ascending fromEpoch');
      last = fromEpoch;
      stakeSchedule.push({ fromEpoch: fromEpoch as Epoch, pools: poolList(o.pools, `${at}.pools`) });
    });
  }

  const utxoSeen = new Set<string>();
  const initialUtxo = array(doc.initialUtxo, 'initialUtxo', MAX_GENESIS_UTXO).map((u, i): GenesisUtxo => {
    const at = `initialUtxo[${i}]`;
    const o = object(u, at, UTXO_KEYS);
    const txId = hex(o.txId, `${at}.txId`, 32) as Hash32;
    const index = integer(o.index, `${at}.index`, 0, Number.MAX_SAFE_INTEGER);
    const address = hex(o.address, `${at}.address`, 28) as Address;
    const amount = decimal(o.amount, `${at}.amount`);
    // §5.2: every output amount is >= 1
    if (amount < 1n) throw new ValidationError(`${at}.amount`, 'must be at least 1');
    const key = `${toHex(txId)}#${index}`;
    if (utxoSeen.has(key)) throw new ValidationError(`${at}`, `duplicate output ${key}`);
    utxoSeen.add(key);
    return { txId, index, address, amount };
  });

  return Object.freeze({
    bytes,
    hash: blake2b256(bytes),
    systemStart: doc.systemStart,
    systemStartMs,
    networkMagic,
    params,
    initialNonce,
    pools,
    stakeSchedule,
    initialUtxo,
  });
}

/**
 * The slot clock of a genesis (§3.2).
 *
 * @example
 * ```ts
 * slotAtMs(genesisClock(g), Date.now())
 * ```
 */
export function genesisClock(g: Pick<Genesis, 'systemStartMs' | 'params'>): SlotClock {
  return { systemStartMs: g.systemStartMs, slotLengthMs: g.params.slotLengthMs };
}

// ---------------------------------------------------------------------------------------------
// Stake per epoch (§3.3, §3.3a)

/** A vote-key registration in force for an epoch (§3.3a): pool id → new vote key. */
export type VoteKeyOverrides = ReadonlyMap<string, { vk: Uint8Array; pop: Uint8Array }>;

/**
 * The pool list in force in epoch `e` (§3.3): the genesis list, replaced by the last
 * `stakeSchedule` entry with `fromEpoch <= e`; then §3.3a registrations (keyed by pool id hex)
 * override the vote key of pools present in that list. Pure.
 *
 * @example
 * ```ts
 * const pools = poolsForEpoch(genesis, epochOfSlot(slot, genesis.params.epochLength));
 * ```
 */
export function poolsForEpoch(
  g: Pick<Genesis, 'pools' | 'stakeSchedule'>,
  epoch: Epoch | number,
  voteKeyOverrides?: VoteKeyOverrides,
): readonly PoolInput[] {
  let list = g.pools;
  for (const e of g.stakeSchedule) if (e.fromEpoch <= epoch) list = e.pools;
  if (voteKeyOverrides === undefined || voteKeyOverrides.size === 0) return list;
  return list.map((p) => {
    const k = voteKeyOverrides.get(toHex(p.poolId));
    return k === undefined ? p : { ...p, voteKey: k };
  });
}

/** Total active stake S of a pool list (§3.3). @example `totalStake(pools)` */
export function totalStake(pools: readonly PoolInput[]): bigint {
  let s = 0n;
  for (const p of pools) s += p.stake;
  return s;
}

// ---------------------------------------------------------------------------------------------
// Epoch nonce (§3.4)

const NONCE_PREFIX = ascii('LEIOS-NONCE');

/**
 * Whether an RB at `slot` feeds the nonce of the next epoch: `slot mod E < E − W` with
 * `W = ceil(3k/f)` (§3.4).
 *
 * @example
 * ```ts
 * contributesToNonce(599, DEVNET_PARAMS) // true  (E = 1200, W = 600)
 * contributesToNonce(600, DEVNET_PARAMS) // false
 * ```
 */
export function contributesToNonce(
  slot: Slot | number,
  p: Pick<ProtocolParams, 'epochLength' | 'securityParam' | 'activeSlotCoeff'>,
): boolean {
  return slot % p.epochLength < p.epochLength - stabilityWindow(p);
}

/**
 * `η_{e+1} = H256("LEIOS-NONCE" || a || u64be(e+1))`, with `a` starting at η_e and folded
 * `a := H256(a || output)` over the leader VRF outputs of the RBs of epoch e before the stability
 * cutoff, in chain order (§3.4; select them with {@link contributesToNonce}). Pure.
 *
 * @example
 * ```ts
 * const eta1 = nextEpochNonce(genesis.initialNonce, 0, rbs.filter((b) => contributesToNonce(b.slot, p)).map((b) => b.vrfOutput));
 * ```
 */
export function nextEpochNonce(eta: Uint8Array, epoch: Epoch | number, vrfOutputs: Iterable<Uint8Array>): Hash32 {
  if (eta.length !== 32) throw new ValidationError('nonce', 'η must be 32 bytes');
  let a: Uint8Array = eta;
  for (const out of vrfOutputs) {
    if (out.length !== 32) throw new ValidationError('leader_vrf.output', 'expected 32 bytes');
    a = blake2b256(concatBytes(a, out));
  }
  return blake2b256(concatBytes(NONCE_PREFIX, a, u64be(epoch + 1)));
}

/**
 * Select and fold in one call: the RBs of epoch `e` (chain order) that contribute (§3.4).
 *
 * @example
 * ```ts
 * epochNonceFromBlocks(eta0, 0, chain.map((h) => ({ slot: h.slot, vrfOutput: h.vrfOutput })), params)
 * ```
 */
export function epochNonceFromBlocks(
  eta: Uint8Array,
  epoch: Epoch | number,
  blocks: Iterable<{ slot: number; vrfOutput: Uint8Array }>,
  p: Pick<ProtocolParams, 'epochLength' | 'securityParam' | 'activeSlotCoeff'>,
): Hash32 {
  const outs: Uint8Array[] = [];
  for (const b of blocks) {
    if (Math.floor(b.slot / p.epochLength) === epoch && contributesToNonce(b.slot, p)) outs.push(b.vrfOutput);
  }
  return nextEpochNonce(eta, epoch, outs);
}
export * from './snapshot';
export * from './create';

/**
 * Whether η_e is fixed given the selected tip's slot (§12, `GET /v1/epoch/{e}/pools`): for
 * `e <= epoch(tip)`, and for `e = epoch(tip) + 1` once the tip is at or past `start(e−1) + E − W`
 * (no later block can feed the nonce, §3.4). `tipSlot = null` is the empty chain (epoch 0).
 *
 * @example
 * ```ts
 * epochNonceFixed(1, 600, DEVNET_PARAMS) // true: E = 1200, W = 600
 * epochNonceFixed(1, 599, DEVNET_PARAMS) // false
 * ```
 */
export function epochNonceFixed(
  epoch: Epoch | number,
  tipSlot: Slot | number | null,
  p: Pick<ProtocolParams, 'epochLength' | 'securityParam' | 'activeSlotCoeff'>,
): boolean {
  const tipEpoch = tipSlot === null ? 0 : Math.floor(tipSlot / p.epochLength);
  if (epoch <= tipEpoch) return true;
  if (epoch > tipEpoch + 1 || tipSlot === null) return false;
  return tipSlot >= (epoch - 1) * p.epochLength + p.epochLength - stabilityWindow(p);
}
