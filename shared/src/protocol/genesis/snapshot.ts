/**
 * The pool snapshot of one epoch (PROTOCOL.md §3.3): its pools, total active stake S and nonce η_e,
 * with the pools' leader VRF keys decoded and PoP-checked once, lazily, so header validation
 * (§4.1) costs one key decode and one PoP pairing per pool per process rather than per header.
 * Also the CBOR form `[e, η_e, [* pool]]` served by `GET /v1/epoch/{e}/pools` (§12).
 *
 * @module
 */
import { toHex } from '../../bytes/index';
import { CborWriter, decodeStrict } from '../../cbor/index';
import { BLS_PK_LENGTH, BLS_SIG_LENGTH, type DecodedKeyCache, decodePublicKey, type G2Point, type PopCache, popVerify } from '../../crypto/index';
import { CryptoError, DecodeError } from '../../errors/index';
import type { Epoch, Hash32, PoolId } from '../../types/index';
import type { PoolInput } from '../committee/index';

/** Caches shared across snapshots (a key's decoding and PoP verdict never change). */
export interface SnapshotCaches {
  readonly keyCache?: DecodedKeyCache;
  readonly popCache?: PopCache;
}

/**
 * Pools, S and η of one epoch, with lazily verified leader VRF keys.
 *
 * @example
 * ```ts
 * const snap = new PoolSnapshot(epoch, eta, poolsForEpoch(genesis, epoch));
 * snap.pool(header.issuerPoolId)?.stake
 * ```
 */
export class PoolSnapshot {
  /** S: total active stake. */
  readonly totalStake: bigint;
  private readonly byId: Map<string, PoolInput>;
  private readonly vrfKeys = new Map<string, G2Point | null>();

  constructor(
    readonly epoch: Epoch,
    /** η_e */
    readonly nonce: Hash32,
    readonly pools: readonly PoolInput[],
    private readonly caches: SnapshotCaches = {},
  ) {
    let s = 0n;
    this.byId = new Map();
    for (const p of pools) {
      s += p.stake;
      this.byId.set(toHex(p.poolId), p);
    }
    this.totalStake = s;
  }

  /** The pool with this id, if it is in the snapshot. */
  pool(poolId: PoolId | Uint8Array): PoolInput | undefined {
    return this.byId.get(toHex(poolId));
  }

  /**
   * The pool's decoded VRF key if it is registered (decodes and its PoP verifies), else null: such a
   * pool never leads (§3.3). Null for an unknown pool too.
   */
  leaderVrfKey(poolId: PoolId | Uint8Array): G2Point | null {
    const id = toHex(poolId);
    const cached = this.vrfKeys.get(id);
    if (cached !== undefined) return cached;
    const p = this.byId.get(id);
    if (p === undefined) return null;
    let key: G2Point | null = null;
    try {
      const pk = this.caches.keyCache ? this.caches.keyCache.get(p.vrfKey.vk, 'vrf_key.vk') : decodePublicKey(p.vrfKey.vk, 'vrf_key.vk');
      let ok = this.caches.popCache?.get(p.vrfKey);
      if (ok === undefined) {
        ok = popVerify(p.vrfKey.vk, p.vrfKey.pop);
        this.caches.popCache?.set(p.vrfKey, ok);
      }
      key = ok ? pk : null;
    } catch (e) {
      if (!(e instanceof CryptoError)) throw e;
    }
    this.vrfKeys.set(id, key);
    return key;
  }
}

// ---------------------------------------------------------------------------------------------
// CBOR `[e, η_e, [* pool]]` (§12), pool = [pool_id, cold_vk, stake, vrf_key, vote_key / null] (§3.3)

/** Largest pool list in an epoch pools document. */
export const MAX_SNAPSHOT_POOLS = 65_536;

/**
 * Encode `[e, η_e, [* pool]]`.
 *
 * @example
 * ```ts
 * const body = encodeEpochPools(snap.epoch, snap.nonce, snap.pools); // GET /v1/epoch/{e}/pools
 * ```
 */
export function encodeEpochPools(epoch: number, nonce: Uint8Array, pools: readonly PoolInput[]): Uint8Array {
  const w = new CborWriter(64 + pools.length * 420);
  w.array(3).uint(epoch).bytes(nonce).array(pools.length);
  for (const p of pools) {
    w.array(5).bytes(p.poolId).bytes(p.coldVk).uint(p.stake);
    w.array(2).bytes(p.vrfKey.vk).bytes(p.vrfKey.pop);
    if (p.voteKey === null) w.null();
    else w.array(2).bytes(p.voteKey.vk).bytes(p.voteKey.pop);
  }
  return w.finish();
}

/**
 * Decode `[e, η_e, [* pool]]` strictly. Pool ids are NOT checked against `H224(cold_vk)` here;
 * callers that did not produce the document themselves check that (genesis parsing does).
 * Throws {@link DecodeError}.
 *
 * @example
 * ```ts
 * const { epoch, nonce, pools } = decodeEpochPools(bytes);
 * ```
 */
export function decodeEpochPools(bytes: Uint8Array): { epoch: Epoch; nonce: Hash32; pools: PoolInput[] } {
  return decodeStrict(bytes, 'epoch_pools', (r) => {
    r.readArray('epoch_pools', { len: 3 });
    const epoch = r.readUint('epoch_pools.epoch') as Epoch;
    const nonce = r.readBytes('epoch_pools.nonce', { len: 32 }).slice() as Hash32;
    const n = r.readArray('epoch_pools.pools', { max: MAX_SNAPSHOT_POOLS });
    const pools: PoolInput[] = [];
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) {
      const at = `epoch_pools.pools[${i}]`;
      r.readArray(at, { len: 5 });
      const poolId = r.readBytes(`${at}.pool_id`, { len: 28 }).slice() as PoolId;
      const id = toHex(poolId);
      if (seen.has(id)) throw new DecodeError(`${at}.pool_id`, 'value', 'duplicate pool', r.pos);
      seen.add(id);
      const coldVk = r.readBytes(`${at}.cold_vk`, { len: 32 }).slice();
      const stake = r.readUint64(`${at}.stake`);
      r.readArray(`${at}.vrf_key`, { len: 2 });
      const vrfKey = {
        vk: r.readBytes(`${at}.vrf_key.vk`, { len: BLS_PK_LENGTH }).slice(),
        pop: r.readBytes(`${at}.vrf_key.pop`, { len: BLS_SIG_LENGTH }).slice(),
      };
      let voteKey: PoolInput['voteKey'] = null;
      if (r.peekNull()) r.readNull(`${at}.vote_key`);
      else {
        r.readArray(`${at}.vote_key`, { len: 2 });
        voteKey = {
          vk: r.readBytes(`${at}.vote_key.vk`, { len: BLS_PK_LENGTH }).slice(),
          pop: r.readBytes(`${at}.vote_key.pop`, { len: BLS_SIG_LENGTH }).slice(),
        };
      }
      pools.push({ poolId, coldVk, stake, vrfKey, voteKey });
    }
    return { epoch, nonce, pools };
  });
}
