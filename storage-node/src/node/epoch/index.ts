/**
 * Epoch state: the stake snapshot, committee and leader-election inputs of each epoch
 * (PROTOCOL.md §3.3, §3.3a, §3.5, §6.1), and the nonce evolution re-exported from ./nonce.
 *
 * Primer: there is no delegation; an epoch's pool list is the genesis list, or the latest
 * `stakeSchedule` entry whose `fromEpoch` has been reached. Vote keys can be registered or
 * rotated by tx (§3.3a): a registration in a block of epoch e replaces the pool's vote key in the
 * snapshots of epoch e+2 onward, the latest one per pool winning. Registrations therefore come
 * from the selected chain, so this state records them per block number and forgets those above
 * a rollback point; committees are cached per epoch and dropped when a rollback removes a
 * registration that fed them.
 *
 * The committee itself (seat order, keyless seats, PoP checks, quorum arithmetic) is
 * shared/src/protocol/committee; the exact leader threshold is shared/src/crypto (§3.5).
 *
 * @module
 */
import { toHex } from '@leios/shared/bytes';
import {
  DecodedKeyCache,
  type G2Point,
  isLeader,
  type KeyWithPop,
  leaderThresholdConstant,
  PopCache,
  vrfProve,
  verifyPops,
} from '@leios/shared/crypto';
import {
  buildTopStakeCommittee,
  type Committee,
  type PoolInput,
  type ProtocolParams,
  type Rational,
} from '@leios/shared/protocol';
import type { PoolId } from '@leios/shared/types';

export * from './nonce';

/** One `stakeSchedule` entry (§3.1): replaces the pool list from `fromEpoch` on. */
export interface StakeScheduleEntry {
  readonly fromEpoch: number;
  readonly pools: readonly PoolInput[];
}

/** A vote-key registration found in a block of the selected chain (§3.3a). */
export interface KeyRegistration {
  /** Block number of the block that carried it (for rollback). */
  readonly blockNo: number;
  /** Epoch of that block's slot; effective from `epoch + 2`. */
  readonly epoch: number;
  readonly poolId: PoolId;
  readonly voteKey: KeyWithPop;
}

/** What a leader check needs about a pool in one epoch. */
export interface LeaderPool {
  readonly pool: PoolInput;
  readonly stake: bigint;
  readonly totalStake: bigint;
  /** The decoded VRF key; null when it does not decode or its PoP fails (never leads, §3.3). */
  readonly vrfKey: G2Point | null;
}

interface Snapshot {
  readonly pools: readonly PoolInput[];
  readonly byId: Map<string, LeaderPool>;
  readonly totalStake: bigint;
}

/**
 * Per-epoch snapshots and committees.
 *
 * @example
 * ```ts
 * const epochs = new EpochState({ pools: genesis.pools, stakeSchedule: genesis.stakeSchedule, params });
 * const committee = epochs.committee(3);
 * const me = epochs.leaderPool(3, myPoolId);
 * ```
 */
export class EpochState {
  /** §3.5 step 1 constant, computed once per network. */
  readonly leaderConstant: Rational;
  private readonly schedule: StakeScheduleEntry[];
  private regs: KeyRegistration[] = [];
  private readonly committees = new Map<number, Committee>();
  private readonly snapshots = new Map<number, Snapshot>();
  private readonly keyCache = new DecodedKeyCache(8192);
  private readonly popCache = new PopCache();

  constructor(
    private readonly opts: {
      readonly pools: readonly PoolInput[];
      readonly stakeSchedule?: readonly StakeScheduleEntry[];
      readonly params: Pick<ProtocolParams, 'committeeSize' | 'quorum' | 'activeSlotCoeff'>;
    },
  ) {
    this.leaderConstant = leaderThresholdConstant(opts.params.activeSlotCoeff);
    this.schedule = [...(opts.stakeSchedule ?? [])].sort((a, b) => a.fromEpoch - b.fromEpoch);
  }

  /** The pool list in force at `epoch`, with the vote keys registered for it (§3.3, §3.3a). */
  pools(epoch: number): readonly PoolInput[] {
    return this.snapshot(epoch).pools;
  }

  /** The committee of `epoch` (§6.1), built once and cached. */
  committee(epoch: number): Committee {
    let c = this.committees.get(epoch);
    if (!c) {
      c = buildTopStakeCommittee(this.pools(epoch), this.opts.params, { keyCache: this.keyCache, popCache: this.popCache });
      this.committees.set(epoch, c);
    }
    return c;
  }

  /** A pool of the snapshot of `epoch` with its stake share and VRF key, or undefined. */
  leaderPool(epoch: number, poolId: Uint8Array): LeaderPool | undefined {
    return this.snapshot(epoch).byId.get(toHex(poolId));
  }

  /**
   * Whether a VRF output makes `poolId` leader in `epoch` (§3.5). False for unknown pools, zero
   * stake and pools whose VRF PoP fails.
   */
  isLeader(epoch: number, poolId: Uint8Array, vrfOutput: Uint8Array): boolean {
    const p = this.leaderPool(epoch, poolId);
    if (!p || p.vrfKey === null || p.totalStake === 0n) return false;
    return isLeader(vrfOutput, p.stake, p.totalStake, this.leaderConstant);
  }

  /**
   * Our own leader check for `slot`: evaluate the VRF with the pool's secret key and decide.
   * Returns the proof and output when leader.
   *
   * @example
   * ```ts
   * const win = epochs.checkLeader(epoch, eta, slot, poolId, vrfSecretKey);
   * if (win) produce(slot, win);
   * ```
   */
  checkLeader(
    epoch: number,
    eta: Uint8Array,
    slot: number,
    poolId: Uint8Array,
    vrfSecretKey: Uint8Array,
  ): { proof: Uint8Array; output: Uint8Array } | null {
    const p = this.leaderPool(epoch, poolId);
    if (!p || p.vrfKey === null || p.stake === 0n) return null;
    const r = vrfProve(vrfSecretKey, eta, slot);
    return isLeader(r.output, p.stake, p.totalStake, this.leaderConstant) ? r : null;
  }

  /** Record the registrations of an applied block. */
  addRegistrations(regs: readonly KeyRegistration[]): void {
    if (regs.length === 0) return;
    this.regs.push(...regs);
    const first = Math.min(...regs.map((r) => r.epoch + 2));
    this.invalidateFrom(first);
  }

  /** Forget registrations of blocks above `blockNo` (rollback). */
  rollbackTo(blockNo: number): void {
    const removed = this.regs.filter((r) => r.blockNo > blockNo);
    if (removed.length === 0) return;
    this.regs = this.regs.filter((r) => r.blockNo <= blockNo);
    this.invalidateFrom(Math.min(...removed.map((r) => r.epoch + 2)));
  }

  /** Registrations currently recorded (oldest first). */
  registrations(): readonly KeyRegistration[] {
    return this.regs;
  }

  private invalidateFrom(epoch: number): void {
    for (const e of [...this.committees.keys()]) if (e >= epoch) this.committees.delete(e);
    for (const e of [...this.snapshots.keys()]) if (e >= epoch) this.snapshots.delete(e);
  }

  private basePools(epoch: number): readonly PoolInput[] {
    let pools = this.opts.pools;
    for (const s of this.schedule) if (s.fromEpoch <= epoch) pools = s.pools;
    return pools;
  }

  private snapshot(epoch: number): Snapshot {
    const cached = this.snapshots.get(epoch);
    if (cached) return cached;
    const latest = new Map<string, KeyWithPop>();
    for (const r of this.regs) if (r.epoch + 2 <= epoch) latest.set(toHex(r.poolId), r.voteKey);
    const pools = this.basePools(epoch).map((p) => {
      const k = latest.get(toHex(p.poolId));
      return k ? { ...p, voteKey: k } : p;
    });
    let total = 0n;
    for (const p of pools) total += p.stake;
    const vrfOk = verifyPops(
      pools.map((p) => p.vrfKey),
      { cache: this.popCache, keyCache: this.keyCache },
    );
    const byId = new Map<string, LeaderPool>();
    pools.forEach((pool, i) => {
      let vrfKey: G2Point | null = null;
      if (vrfOk[i]) {
        try {
          vrfKey = this.keyCache.get(pool.vrfKey.vk, 'pool.vrf_key.vk');
        } catch {
          // verifyPops already judged the key; a key that does not decode never leads (§3.3)
          vrfKey = null;
        }
      }
      byId.set(toHex(pool.poolId), { pool, stake: pool.stake, totalStake: total, vrfKey });
    });
    const snap = { pools, byId, totalStake: total };
    this.snapshots.set(epoch, snap);
    // bound the cache: only a handful of epochs are ever in use at once
    if (this.snapshots.size > 8) {
      const oldest = Math.min(...this.snapshots.keys());
      this.snapshots.delete(oldest);
      this.committees.delete(oldest);
    }
    return snap;
  }
}
