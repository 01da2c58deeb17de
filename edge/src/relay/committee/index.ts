/**
 * Building an epoch's top-stake committee (PROTOCOL.md §6.1) without blocking the RelayHub.
 *
 * Primer: `buildTopStakeCommittee` (shared/src/protocol/committee) decodes every seated vote key
 * (a G2 decode with its subgroup check) and verifies every PoP (a hash to G1 and a Miller loop
 * each) in one synchronous call: about 10 ms per seat here, 9–26 s for 900 seats. Inside the
 * RelayHub Durable Object that is one event-loop turn in which no WebSocket message, keep-alive or
 * session timer runs, so peers time out. The shared builder takes a {@link DecodedKeyCache} and a
 * {@link PopCache} and skips every key and PoP they already know, so the expensive part can be done
 * beforehand, a few keys per turn: {@link buildCommitteeInSlices} decodes the seated keys and
 * verifies their PoPs (with the shared `verifyPops`, one random-scalar batch per slice — as sound
 * as one batch over all, §2.3) a slice at a time, yielding to the event loop between slices, and
 * then calls the shared builder, which now only ranks the pools and reads the caches. The seats,
 * keys and keyless verdicts are therefore exactly the shared builder's; the ranking below only
 * chooses which keys to warm (a key it misses would be decoded by the final call, costing time,
 * never correctness).
 *
 * Slice size: {@link DEFAULT_KEYS_PER_SLICE} keys (~50 ms on the 2-core bench machine), adapted
 * to the measured cost per key where the clock advances during a turn (local workerd, Node), aiming
 * at {@link TARGET_SLICE_MS}. On Cloudflare the clock stands still while code runs, so the measured
 * cost is 0 and the default size stays.
 *
 * @module
 */
import { compareBytes } from '@leios/shared';
import { DecodedKeyCache, PopCache, verifyPops } from '@leios/shared/crypto';
import { CryptoError } from '@leios/shared/errors';
import { buildTopStakeCommittee, type Committee, type CommitteeParams, type PoolInput } from '@leios/shared/protocol';

/** Keys decoded and PoP-checked per event-loop turn when the turn's cost cannot be measured. */
export const DEFAULT_KEYS_PER_SLICE = 4;
/** What a slice aims at where its cost can be measured (the hub's turns stay well under ~100 ms). */
export const TARGET_SLICE_MS = 40;
/** Upper bound on keys per slice, whatever the measurement says. */
export const MAX_KEYS_PER_SLICE = 32;

/** What one build did (for logs, tests and the bench). */
export interface CommitteeBuildStats {
  /** Seated keys that were not in the caches yet (decoded and PoP-checked in slices). */
  keys: number;
  slices: number;
  /** Longest synchronous slice, measured (0 where the clock stands still during a turn). */
  maxSliceMs: number;
  /** The final shared build (ranking and cache reads), measured likewise. */
  finalMs: number;
}

/** Options of {@link buildCommitteeInSlices}. */
export interface SliceOptions {
  keysPerSlice?: number;
  targetSliceMs?: number;
  /** Give the event loop a turn (default: a 0 ms timer, so queued messages and timers run). */
  yieldTurn?: () => Promise<void>;
  now?: () => number;
  onStats?: (s: CommitteeBuildStats) => void;
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * Build the §6.1 committee of `pools` a slice at a time; the result equals
 * `buildTopStakeCommittee(pools, params, caches)`. The caches are filled as a side effect.
 *
 * @example
 * ```ts
 * const caches = { keyCache: new DecodedKeyCache(4096), popCache: new PopCache(8192) };
 * const committee = await buildCommitteeInSlices(pools, { committeeSize: 900, quorum }, caches);
 * ```
 */
export async function buildCommitteeInSlices(
  pools: readonly PoolInput[],
  params: CommitteeParams,
  caches: { keyCache: DecodedKeyCache; popCache: PopCache },
  opts: SliceOptions = {},
): Promise<Committee> {
  const now = opts.now ?? (() => performance.now());
  const yieldTurn = opts.yieldTurn ?? nextTurn;
  const target = opts.targetSliceMs ?? TARGET_SLICE_MS;
  const stats: CommitteeBuildStats = { keys: 0, slices: 0, maxSliceMs: 0, finalMs: 0 };
  // The keys to warm: those of the seats the shared builder will give (see the primer).
  const seated = pools
    .filter((p) => p.stake > 0n)
    .sort((a, b) => (a.stake === b.stake ? compareBytes(a.poolId, b.poolId) : a.stake > b.stake ? -1 : 1))
    .slice(0, Math.max(0, params.committeeSize));
  const todo = seated.flatMap((p) => (p.voteKey !== null && caches.popCache.get(p.voteKey) === undefined ? [p.voteKey] : []));
  stats.keys = todo.length;
  const fixed = opts.keysPerSlice !== undefined ? Math.max(1, Math.min(MAX_KEYS_PER_SLICE, opts.keysPerSlice)) : undefined;
  // Adaptive: one key first (it also pays for lazy curve precomputations), then sized by its cost.
  let perSlice = fixed ?? 1;
  for (let i = 0; i < todo.length; ) {
    await yieldTurn();
    const slice = todo.slice(i, i + perSlice);
    const t0 = now();
    // Decoding here too (not only inside verifyPops) caches bad keys, which verifyPops skips.
    for (const k of slice) {
      try {
        caches.keyCache.get(k.vk, 'pool.vote_key.vk');
      } catch (e) {
        // A key that does not decode is cached as such; its seat is keyless (`bad-key`, §6.1).
        if (!(e instanceof CryptoError)) throw e;
      }
    }
    verifyPops(slice, { cache: caches.popCache, keyCache: caches.keyCache });
    const ms = now() - t0;
    i += slice.length;
    stats.slices++;
    stats.maxSliceMs = Math.max(stats.maxSliceMs, ms);
    if (fixed === undefined) {
      perSlice = ms > 0 ? Math.max(1, Math.min(MAX_KEYS_PER_SLICE, Math.floor((target * slice.length) / ms))) : DEFAULT_KEYS_PER_SLICE;
    }
  }
  await yieldTurn();
  const t1 = now();
  const committee = buildTopStakeCommittee(pools, params, caches);
  stats.finalMs = now() - t1;
  opts.onStats?.(stats);
  return committee;
}

/**
 * Caches big enough to hold one committee's keys and verdicts between its slices and its final
 * build (an evicted entry would be redone synchronously by the final call).
 *
 * @example
 * ```ts
 * const caches = committeeCaches(900);
 * ```
 */
export function committeeCaches(committeeSize: number): { keyCache: DecodedKeyCache; popCache: PopCache } {
  return { keyCache: new DecodedKeyCache(Math.max(4_096, committeeSize + 1_024)), popCache: new PopCache(Math.max(8_192, 2 * committeeSize + 1_024)) };
}
