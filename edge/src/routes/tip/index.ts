/**
 * `GET /v1/tip`: the chain tip (PROTOCOL.md §12).
 *
 * Primer: when the RelayHub holds validated headers, the tip is its best header (the head of the
 * chain it serves by chain-sync). Otherwise the relay has no chain of its own and the tip is the
 * first storage node's answer,
 * checked for shape (`{"slot","blockNumber","hash","epoch"}`, or the empty-chain form with nulls)
 * and re-serialised from the checked fields only, so nothing else a storage node put in it leaks
 * through. `public, max-age=1`: tips move every slot.
 *
 * @module
 */
import { Hono } from 'hono';
import { LIMITS } from '../../config/index';
import { EdgeError } from '../../errors/index';
import { type AppEnv, deps, GET_ONLY, methodNotAllowed } from '../../http/index';
import { describeFailures, type Verdict } from '../../upstream/index';

/** The §12 tip body. */
export interface Tip {
  slot: number | null;
  blockNumber: number;
  hash: string | null;
  epoch: number;
}

const isUint = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * Check a storage node's tip JSON.
 *
 * @example
 * ```ts
 * parseTip({ slot: 10, blockNumber: 3, hash: 'ab'.repeat(32), epoch: 0 })
 * ```
 */
export function parseTip(json: unknown): Tip | undefined {
  if (typeof json !== 'object' || json === null) return undefined;
  const o = json as Record<string, unknown>;
  if (!isUint(o.blockNumber) || !isUint(o.epoch)) return undefined;
  if (o.slot === null && o.hash === null && o.blockNumber === 0 && o.epoch === 0) {
    return { slot: null, blockNumber: 0, hash: null, epoch: 0 };
  }
  if (!isUint(o.slot) || typeof o.hash !== 'string' || !/^[0-9a-f]{64}$/.test(o.hash) || o.blockNumber < 1) return undefined;
  return { slot: o.slot, blockNumber: o.blockNumber, hash: o.hash, epoch: o.epoch };
}

function judgeTip(r: { status: number; body: Uint8Array }): Verdict<Tip> {
  if (r.status !== 200) return { ok: false, detail: `status ${r.status}` };
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(r.body));
  } catch {
    return { ok: false, detail: 'tip is not JSON' };
  }
  const tip = parseTip(json);
  return tip === undefined ? { ok: false, detail: 'tip JSON of the wrong shape' } : { ok: true, value: tip };
}

/**
 * The tip route, mounted at `/v1/tip`.
 *
 * @example
 * ```ts
 * app.route('/v1/tip', tipRoutes);
 * ```
 */
export const tipRoutes = new Hono<AppEnv>()
  .get('/', async (c) => {
    const held = await deps(c).hub().tip();
    if (held !== null) return c.json(held satisfies Tip, 200, { 'cache-control': 'public, max-age=1', 'x-leios-source': 'hub' });
    const out = await deps(c).upstream.request({ method: 'GET', path: '/v1/tip', maxBytes: LIMITS.maxJsonReply }, judgeTip);
    if (!out.ok) throw new EdgeError({ kind: 'upstream-unavailable', detail: `no storage node served the tip: ${describeFailures(out.failures)}` });
    return c.json(out.value, 200, { 'cache-control': 'public, max-age=1' });
  })
  .all('/', methodNotAllowed(GET_ONLY));
