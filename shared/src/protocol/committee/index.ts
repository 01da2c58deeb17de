/**
 * Top-stake voting committee of an epoch (PROTOCOL.md §6.1, §3.3).
 *
 * Primer: at each epoch boundary the pools of the stake snapshot with stake > 0 are sorted by
 * stake (descending, ties by pool id ascending bytewise) and the first `N = min(N_c, count)`
 * get seats; seat index = rank = `voter_id` = certificate bitfield position, seat weight = pool
 * stake. A seat is *keyless* (keeps its weight, never signs) when the pool has no vote key, the
 * key does not decode, or its PoP fails. PoPs are verified once here, in one random-scalar batch,
 * so certificate checks later know keyless seats without any pairing (§16 case 18). Vote keys are
 * decoded once and kept in the committee, so a certificate check only sums cached points.
 * Quorum compares against τ times the TOTAL active stake S of all pools, in BigInt.
 *
 * @module
 */
import { compareBytes, toHex } from '../../bytes/index';
import {
  DecodedKeyCache,
  type G2Point,
  type KeyWithPop,
  type PopCache,
  type RandomBytes,
  verifyPops,
} from '../../crypto/bls/index';
import { CryptoError, ValidationError } from '../../errors/index';
import type { PoolId, SeatIndex } from '../../types/index';
import type { Rational } from '../params/index';

/**
 * One pool of a stake snapshot (§3.3 `pool`); genesis pool lists decode into this.
 *
 * @example
 * ```ts
 * const pool: PoolInput = { poolId, coldVk, stake: 1_000_000n, vrfKey: { vk, pop }, voteKey: null };
 * ```
 */
export interface PoolInput {
  /** `H224(coldVk)` (checked by whoever parses the snapshot). */
  readonly poolId: PoolId;
  /** 32-byte Ed25519 cold verification key. */
  readonly coldVk: Uint8Array;
  /** Stake, exact. */
  readonly stake: bigint;
  /** BLS VRF key and its PoP (a failing PoP means the pool never leads, §3.3). */
  readonly vrfKey: KeyWithPop;
  /** BLS vote key and its PoP; null (or a failing PoP) makes the pool's seat keyless (§6.1). */
  readonly voteKey: KeyWithPop | null;
}

/** Why a seat cannot sign. */
export type KeylessReason = 'no-key' | 'bad-key' | 'bad-pop';

/** One committee seat. */
export interface CommitteeSeat {
  readonly seat: SeatIndex;
  readonly poolId: PoolId;
  /** Seat weight = pool stake. */
  readonly stake: bigint;
  /** The decoded registered vote key; null for a keyless seat. */
  readonly voteKey: G2Point | null;
  /** The vote key bytes when registered (null for a keyless seat). */
  readonly voteKeyBytes: Uint8Array | null;
  /** Set for keyless seats. */
  readonly keyless: KeylessReason | null;
}

/** Inputs of {@link buildTopStakeCommittee} besides the pools. */
export interface CommitteeParams {
  /** N_c, the target committee size (1..65536: seat indices are `uint .lt 65536`, §6.2). */
  readonly committeeSize: number;
  /** τ, the quorum fraction of total active stake. */
  readonly quorum: Rational;
}

/** Caches shared across epochs (a key's decoding and PoP verdict never change). */
export interface CommitteeBuildOptions {
  readonly keyCache?: DecodedKeyCache;
  readonly popCache?: PopCache;
  /** Randomness for the PoP batch (defaults to Web Crypto). */
  readonly random?: RandomBytes;
}

/**
 * A top-stake committee with decoded keys and exact quorum arithmetic. Immutable.
 *
 * @example
 * ```ts
 * const c = buildTopStakeCommittee(pools, { committeeSize: 900, quorum: { num: 3n, den: 4n } });
 * c.meetsQuorum(signedStake) // τ_den·signed >= τ_num·S
 * ```
 */
export class Committee {
  /** N: number of seats. */
  readonly size: number;
  /** Bytes of the certificate signer bitfield, `ceil(N/8)` (§6.5). */
  readonly signersLength: number;
  private readonly byPool: Map<string, SeatIndex>;

  constructor(
    readonly seats: readonly CommitteeSeat[],
    /** S: total active stake of ALL pools of the snapshot, not only the committee. */
    readonly totalStake: bigint,
    readonly quorum: Rational,
  ) {
    this.size = seats.length;
    this.signersLength = Math.ceil(seats.length / 8);
    this.byPool = new Map(seats.map((s) => [toHex(s.poolId), s.seat]));
  }

  /** The seat at index `i`, or undefined if `i >= N`. @example `c.seat(0)?.poolId` */
  seat(i: number): CommitteeSeat | undefined {
    return this.seats[i];
  }

  /** The seat a pool holds, if any. @example `c.seatOfPool(myPoolId)` */
  seatOfPool(poolId: PoolId | Uint8Array): SeatIndex | undefined {
    return this.byPool.get(toHex(poolId));
  }

  /** Whether seat `i` exists and can sign (§6.3: votes from unknown or keyless seats are rejected). */
  canSign(i: number): boolean {
    const s = this.seats[i];
    return s !== undefined && s.voteKey !== null;
  }

  /** Sum of every keyed seat's vote key, computed on first use (see {@link Committee.aggregateKey}). */
  private keyedTotal: { sum: G2Point; keyed: number } | undefined;

  /**
   * The aggregate vote key of `seats` (§6.5 step 4): `Σ pk_i`. Every seat must be keyed (the
   * caller has checked step 2). A certificate is signed by at least τ of the stake, usually most
   * seats, so when more than half the keyed seats sign this is computed as the committee's total
   * key (summed once per committee) minus the non-signers' keys: 225 G2 additions instead of 675 at
   * N_c = 900, τ = 3/4. Both ways give the same point.
   *
   * @example
   * ```ts
   * pairingCheck(sig, hashToG1(voteMessage(rbHash)), committee.aggregateKey(seats))
   * ```
   */
  aggregateKey(seats: readonly number[]): G2Point {
    const keyOf = (i: number): G2Point => {
      const k = this.seats[i]?.voteKey;
      if (k === null || k === undefined) throw new RangeError(`seat ${i} has no vote key`);
      return k;
    };
    if (seats.length === 0) throw new RangeError('no seats to aggregate');
    if (this.keyedTotal === undefined) {
      let sum: G2Point | undefined;
      let keyed = 0;
      for (const s of this.seats) {
        if (s.voteKey === null) continue;
        sum = sum === undefined ? s.voteKey : sum.add(s.voteKey);
        keyed++;
      }
      if (sum === undefined) throw new RangeError('the committee has no keyed seat');
      this.keyedTotal = { sum, keyed };
    }
    if (2 * seats.length <= this.keyedTotal.keyed) {
      let agg = keyOf(seats[0]!);
      for (let k = 1; k < seats.length; k++) agg = agg.add(keyOf(seats[k]!));
      return agg;
    }
    const signing = new Uint8Array(this.size);
    for (const i of seats) {
      keyOf(i);
      signing[i] = 1;
    }
    let agg = this.keyedTotal.sum;
    for (let i = 0; i < this.size; i++) {
      const k = this.seats[i]!.voteKey;
      if (k !== null && signing[i] === 0) agg = agg.subtract(k);
    }
    return agg;
  }

  /** `τ_den · weight >= τ_num · S` (§6.5 step 3), exact. @example `c.meetsQuorum(750n)` */
  meetsQuorum(weight: bigint): boolean {
    return this.quorum.den * weight >= this.quorum.num * this.totalStake;
  }

  /** The least stake that meets quorum: `ceil(τ_num · S / τ_den)`. @example `c.quorumStake()` */
  quorumStake(): bigint {
    const n = this.quorum.num * this.totalStake;
    return (n + this.quorum.den - 1n) / this.quorum.den;
  }
}

const MAX_SEATS = 65536;

/**
 * Check a snapshot and a quorum and rank the pools as both committee modes do (§6.1, §6.7 step
 * 1): stake descending, ties by pool id ascending (bytewise). Returns the total active stake S
 * and every pool, ranked (zero-stake pools last). Throws {@link ValidationError} for a negative
 * stake, a duplicate pool id or a malformed quorum.
 *
 * @example
 * ```ts
 * const { total, ranked } = rankSnapshot(snapshot.pools, { num: 3n, den: 4n });
 * ```
 */
export function rankSnapshot(pools: readonly PoolInput[], quorum: Rational): { total: bigint; ranked: PoolInput[] } {
  if (quorum.den <= 0n || quorum.num < 0n) {
    throw new ValidationError('protocolParams.quorum', 'expected a non-negative rational with positive denominator');
  }
  let total = 0n;
  const seen = new Set<string>();
  for (const p of pools) {
    if (typeof p.stake !== 'bigint' || p.stake < 0n) throw new ValidationError('pools.stake', 'expected a bigint >= 0');
    const id = toHex(p.poolId);
    if (seen.has(id)) throw new ValidationError('pools.poolId', `duplicate pool id ${id}`);
    seen.add(id);
    total += p.stake;
  }
  const ranked = [...pools].sort((a, b) => (a.stake === b.stake ? compareBytes(a.poolId, b.poolId) : a.stake > b.stake ? -1 : 1));
  return { total, ranked };
}

/**
 * The registered vote keys of `pools` (§3.3a): PoPs verified in one random-scalar batch (cached
 * verdicts reused), each key decoded once. Returns, per index into `pools`, the decoded key or
 * why the pool has none — the same rule for both committee modes.
 *
 * @example
 * ```ts
 * const keyOf = registeredKeys(ranked, {});
 * const k = keyOf(0); // { pk, bytes } or 'no-key' | 'bad-key' | 'bad-pop'
 * ```
 */
export function registeredKeys(
  pools: readonly PoolInput[],
  opts: CommitteeBuildOptions,
): (i: number) => { pk: G2Point; bytes: Uint8Array } | KeylessReason {
  const withKey: number[] = [];
  const keys: KeyWithPop[] = [];
  pools.forEach((p, i) => {
    if (p.voteKey !== null) {
      withKey.push(i);
      keys.push(p.voteKey);
    }
  });
  // without a shared cache, a local one still makes each key decode once during the build
  const keyCache = opts.keyCache ?? new DecodedKeyCache(Math.max(1, keys.length));
  const popOk = verifyPops(keys, {
    keyCache,
    ...(opts.popCache ? { cache: opts.popCache } : {}),
    ...(opts.random ? { random: opts.random } : {}),
  });
  const verdict = new Map<number, boolean>();
  withKey.forEach((i, j) => {
    verdict.set(i, popOk[j]!);
  });
  return (i) => {
    const p = pools[i]!;
    if (p.voteKey === null) return 'no-key';
    let pk: G2Point;
    try {
      pk = keyCache.get(p.voteKey.vk, 'pool.vote_key.vk');
    } catch (e) {
      if (!(e instanceof CryptoError)) throw e;
      return 'bad-key';
    }
    return verdict.get(i) ? { pk, bytes: p.voteKey.vk } : 'bad-pop';
  };
}

/**
 * Build the §6.1 top-stake committee of a snapshot. Verifies the PoPs of seated pools' vote keys
 * (one random-scalar batch; cached verdicts are reused) and decodes their keys once.
 * Throws {@link ValidationError} for a bad committee size, a negative stake or a duplicate pool id.
 *
 * @example
 * ```ts
 * const committee = buildTopStakeCommittee(snapshot.pools, { committeeSize: 64, quorum: { num: 3n, den: 4n } });
 * committee.seat(0)?.stake // the largest stake
 * ```
 */
export function buildTopStakeCommittee(
  pools: readonly PoolInput[],
  params: CommitteeParams,
  opts: CommitteeBuildOptions = {},
): Committee {
  const nc = params.committeeSize;
  if (!Number.isSafeInteger(nc) || nc < 1 || nc > MAX_SEATS) {
    throw new ValidationError('protocolParams.committeeSize', `expected 1..${MAX_SEATS}, got ${nc}`);
  }
  const { total, ranked: all } = rankSnapshot(pools, params.quorum);
  const ranked = all.filter((p) => p.stake > 0n).slice(0, nc);

  const keyOf = registeredKeys(ranked, opts);
  const seats: CommitteeSeat[] = ranked.map((p, i) => {
    const seat = i as SeatIndex;
    const base = { seat, poolId: p.poolId, stake: p.stake };
    const k = keyOf(i);
    if (typeof k === 'string') return { ...base, voteKey: null, voteKeyBytes: null, keyless: k };
    return { ...base, voteKey: k.pk, voteKeyBytes: k.bytes, keyless: null };
  });
  return new Committee(seats, total, params.quorum);
}
