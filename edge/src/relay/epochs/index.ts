/**
 * Per-epoch stake data for the relay's stateless checks: the pool snapshot (§3.3, header checks of
 * §4.1 / §10.4) and the top-stake committee (§6.1, vote checks of §6.3 and certificates of §6.5).
 *
 * Primer: the relay holds no chain state, so it learns each epoch's pools and nonce from its
 * storage nodes' `GET /v1/epoch/{e}/pools` (§12) through a loader (the hub's: Cache API, then
 * upstream). The document is decoded once, every pool id is checked against `H224(cold_vk)` (the
 * relay did not produce it), and the committee — whose build decodes every seated vote key and
 * verifies their PoPs, ~10 s of CPU for 900 seats — is built in slices of a few keys per event-loop
 * turn (../committee), started by the first header, vote or certificate of the epoch, or ahead of
 * time for the next epoch, and kept. One build runs at a time (they share the caches). Keys and
 * PoP verdicts are cached across epochs, so an epoch with the same pools costs almost nothing.
 *
 * Bounds: `maxEpochs` epochs (least recently used evicted); one load in flight per epoch; an
 * epoch the storage nodes do not know yet (404, nonce not fixed) is remembered as missing for
 * `missingTtlMs` so a flood of headers from the future costs one request.
 *
 * @module
 */
import { blake2b224, bytesEqual, DecodeError } from '@leios/shared';
import type { DecodedKeyCache, PopCache } from '@leios/shared/crypto';
import { buildTopStakeCommittee, type Committee, decodeEpochPools, type PoolInput, PoolSnapshot, type ProtocolParams } from '@leios/shared/protocol';
import { buildCommitteeInSlices, type CommitteeBuildStats, committeeCaches } from '../committee/index';

/** One epoch's data. */
export interface EpochData {
  readonly epoch: number;
  readonly snapshot: PoolSnapshot;
  /** The committee once its build has finished; undefined before (see {@link EpochData.committee}). */
  readonly built: Committee | undefined;
  /**
   * The committee: starts its build on the first call (in slices, off the hot path) and resolves
   * when it is done; the same promise afterwards. Rejects with a ValidationError for pools the
   * shared builder refuses (a bad document stays bad: the rejection is kept too).
   */
  committee(): Promise<Committee>;
}

/** How an epoch's committee gets built: synchronously (tests of small networks) or in slices. */
export type CommitteeBuilder = (pools: readonly PoolInput[]) => Promise<Committee>;

/** Loads the `[e, η_e, [* pool]]` bytes of epoch e; null when not available (yet). */
export type EpochLoader = (epoch: number) => Promise<Uint8Array | null>;

/** Why an epoch document was refused. */
export class EpochDataError extends Error {
  constructor(
    readonly epoch: number,
    detail: string,
  ) {
    super(`epoch ${epoch} pools: ${detail}`);
    this.name = 'EpochDataError';
  }
}

/**
 * Decode and check an epoch pools document (pool ids against cold keys, the epoch number).
 *
 * @example
 * ```ts
 * const data = epochDataFrom(bytes, 7, params, caches);
 * ```
 */
export function epochDataFrom(
  bytes: Uint8Array,
  epoch: number,
  params: Pick<ProtocolParams, 'committeeSize' | 'quorum'>,
  caches: { keyCache: DecodedKeyCache; popCache: PopCache },
  build: CommitteeBuilder = async (pools) => buildTopStakeCommittee(pools, params, caches),
): EpochData {
  let doc: ReturnType<typeof decodeEpochPools>;
  try {
    doc = decodeEpochPools(bytes);
  } catch (e) {
    if (e instanceof DecodeError) throw new EpochDataError(epoch, e.message);
    throw e;
  }
  if (doc.epoch !== epoch) throw new EpochDataError(epoch, `document is for epoch ${doc.epoch}`);
  for (const p of doc.pools) {
    if (!bytesEqual(p.poolId, blake2b224(p.coldVk))) throw new EpochDataError(epoch, 'a pool id is not H224(cold_vk)');
  }
  const snapshot = new PoolSnapshot(doc.epoch, doc.nonce, doc.pools, caches);
  let built: Committee | undefined;
  let building: Promise<Committee> | undefined;
  return {
    epoch,
    snapshot,
    get built() {
      return built;
    },
    committee: () => {
      building ??= build(doc.pools).then((c) => {
        built = c;
        return c;
      });
      return building;
    },
  };
}

/**
 * The bounded epoch cache.
 *
 * @example
 * ```ts
 * const epochs = new EpochCache((e) => loadPools(e), params);
 * const data = await epochs.get(epochOfSlot(h.slot, params.epochLength)); // null: unknown yet
 * ```
 */
export class EpochCache {
  private readonly held = new Map<number, EpochData>();
  private readonly loading = new Map<number, Promise<EpochData | null>>();
  private readonly missing = new Map<number, number>();
  private readonly caches: { keyCache: DecodedKeyCache; popCache: PopCache };
  /** The build in progress (or the last one): builds run one after the other. */
  private buildQueue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly loader: EpochLoader,
    private readonly params: Pick<ProtocolParams, 'committeeSize' | 'quorum'>,
    private readonly opts: {
      maxEpochs?: number;
      missingTtlMs?: number;
      now?: () => number;
      /** Keys per slice of a committee build (default: adaptive, ../committee). */
      keysPerSlice?: number;
      onBuild?: (epoch: number, stats: CommitteeBuildStats) => void;
    } = {},
  ) {
    this.caches = committeeCaches(params.committeeSize);
  }

  /** The epoch's data if already held. */
  peek(epoch: number): EpochData | undefined {
    return this.held.get(epoch);
  }

  /** The epoch's data, loading it once; null when the storage nodes do not have it (yet). */
  get(epoch: number): Promise<EpochData | null> {
    const h = this.held.get(epoch);
    if (h !== undefined) {
      this.held.delete(epoch);
      this.held.set(epoch, h);
      return Promise.resolve(h);
    }
    const now = (this.opts.now ?? Date.now)();
    const until = this.missing.get(epoch);
    if (until !== undefined && until > now) return Promise.resolve(null);
    let p = this.loading.get(epoch);
    if (p === undefined) {
      p = this.load(epoch).finally(() => this.loading.delete(epoch));
      this.loading.set(epoch, p);
    }
    return p;
  }

  private async load(epoch: number): Promise<EpochData | null> {
    const bytes = await this.loader(epoch);
    if (bytes === null) {
      this.missing.set(epoch, (this.opts.now ?? Date.now)() + (this.opts.missingTtlMs ?? 10_000));
      if (this.missing.size > 64) this.missing.delete(this.missing.keys().next().value as number);
      return null;
    }
    const data = epochDataFrom(bytes, epoch, this.params, this.caches, (pools) => this.queueBuild(epoch, pools));
    this.held.set(epoch, data);
    while (this.held.size > (this.opts.maxEpochs ?? 4)) this.held.delete(this.held.keys().next().value as number);
    return data;
  }

  private queueBuild(epoch: number, pools: readonly PoolInput[]): Promise<Committee> {
    const run = () =>
      buildCommitteeInSlices(pools, this.params, this.caches, {
        ...(this.opts.keysPerSlice !== undefined ? { keysPerSlice: this.opts.keysPerSlice } : {}),
        onStats: (s) => this.opts.onBuild?.(epoch, s),
      });
    const p = this.buildQueue.then(run, run);
    this.buildQueue = p.catch(() => undefined);
    return p;
  }
}
