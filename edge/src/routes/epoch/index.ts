/**
 * `GET /v1/epoch/{e}/pools`: `[e, η_e, [* pool]]`, what a stateless vote checker needs for an
 * epoch (PROTOCOL.md §3.3, §12).
 *
 * Primer: once an epoch is over its pool list and nonce can no longer change, so for
 * `e < epoch(slot(now))` the reply is immutable and cached for a year; for the current and next
 * epoch it is cached for 60 s. The storage node's bytes are served as received (§1.3) after a
 * structural check: canonical CBOR, the epoch number matching the path, a 32-byte nonce and a
 * list of 5-element pools.
 *
 * @module
 */
import { CborReader, DecodeError } from '@leios/shared';
import { Hono } from 'hono';
import { cacheKey, IMMUTABLE, lookup, store } from '../../cache/index';
import { currentEpoch, LIMITS } from '../../config/index';
import { EdgeError } from '../../errors/index';
import { type AppEnv, deps, GET_ONLY, methodNotAllowed } from '../../http/index';
import { anyNotFound, describeFailures } from '../../upstream/index';

/** Upper bound on pools in one reply (far above any committee; bounds the walk). */
const MAX_POOLS = 100_000;

/**
 * Check `[e, η_e, [* pool]]` bytes for epoch `e`; `null` when good, else why not.
 *
 * @example
 * ```ts
 * checkEpochPools(bytes, 3) // null
 * ```
 */
export function checkEpochPools(bytes: Uint8Array, epoch: number): string | null {
  try {
    const r = new CborReader(bytes);
    r.readArray('epoch_pools', { len: 3 });
    const e = r.readUint('epoch_pools.epoch');
    if (e !== epoch) return `reply is for epoch ${e}, not ${epoch}`;
    r.readBytes('epoch_pools.nonce', { len: 32 });
    const n = r.readArray('epoch_pools.pools', { max: MAX_POOLS });
    for (let i = 0; i < n; i++) {
      const p = new CborReader(r.readRaw(`epoch_pools.pools[${i}]`));
      p.readArray(`epoch_pools.pools[${i}]`, { len: 5 });
      p.readBytes(`epoch_pools.pools[${i}].pool_id`, { len: 28 });
    }
    r.done('epoch_pools');
    return null;
  } catch (e) {
    if (e instanceof DecodeError) return `malformed pools reply: ${e.message}`;
    throw e;
  }
}

/**
 * The epoch routes, mounted at `/v1/epoch`.
 *
 * @example
 * ```ts
 * app.route('/v1/epoch', epochRoutes);
 * ```
 */
export const epochRoutes = new Hono<AppEnv>()
  .get('/:e/pools', async (c) => {
    const raw = c.req.param('e');
    if (!/^(0|[1-9][0-9]{0,14})$/.test(raw)) {
      throw new EdgeError({ kind: 'bad-epoch', detail: 'the epoch must be a decimal number without leading zeros' });
    }
    const e = Number(raw);
    const d = deps(c);
    const key = cacheKey(c.req.url, `/v1/epoch/${e}/pools`);
    const hit = await lookup(key);
    if (hit !== undefined) return hit;
    const out = await d.upstream.request({ method: 'GET', path: `/v1/epoch/${e}/pools`, maxBytes: LIMITS.maxPoolsReply }, (r) => {
      if (r.status !== 200) return { ok: false, detail: `status ${r.status}` };
      const bad = checkEpochPools(r.body, e);
      return bad === null ? { ok: true, value: r.body } : { ok: false, detail: bad };
    });
    if (!out.ok) {
      if (anyNotFound(out.failures)) throw new EdgeError({ kind: 'not-found', detail: `the nonce of epoch ${e} is not fixed yet` });
      throw new EdgeError({ kind: 'upstream-unavailable', detail: `no storage node served epoch ${e}: ${describeFailures(out.failures)}` });
    }
    const past = e < currentEpoch(d.config, Date.now());
    const res = new Response(out.value, {
      status: 200,
      headers: { 'content-type': 'application/cbor', 'cache-control': past ? IMMUTABLE : 'public, max-age=60' },
    });
    return store(key, res, 'upstream');
  })
  .all('/:e/pools', methodNotAllowed(GET_ONLY));
