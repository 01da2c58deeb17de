/**
 * The read path shared by the immutable content routes (`GET /v1/eb/{hash}`, `GET /v1/rb/{hash}`):
 * Cache API, then the RelayHub's in-memory content, then the storage nodes.
 *
 * Primer: whatever the source, bytes are checked against the path hash before they are cached or
 * served (../verify), so a storage node that returns the wrong bytes is skipped like one that is
 * down, and the next one is asked.
 *
 * @module
 */
import { toHex } from '@leios/shared';
import { cacheKey, IMMUTABLE, ifNoneMatchHits, immutableCbor, lookup, type Source, store } from '../cache/index';
import { EdgeError } from '../errors/index';
import type { Deps } from '../http/index';
import { anyNotFound, describeFailures } from '../upstream/index';
import type { CheckResult } from '../verify/index';

/** What differs between content kinds. */
export interface ContentKind {
  /** Path prefix, e.g. `/v1/eb/`. */
  prefix: string;
  /** Human name for problem details. */
  noun: string;
  maxBytes: number;
  check(bytes: Uint8Array, hash: Uint8Array): CheckResult;
  fromHub(d: Deps, hashHex: string): Promise<Uint8Array | null>;
  /** Whether to send `ETag: "<hash>"` and answer a matching `If-None-Match` with 304. */
  etag: boolean;
}

/**
 * The verified bytes named by `hash`, from the cache, the hub or a storage node (in that order),
 * with where they came from. Throws 404 `not-found` when no storage node knows them and 503
 * `upstream-unavailable` when none answered usefully. Bytes fetched from a hub or storage node are
 * put in the cache here (after their check), so every later request is a cache hit.
 *
 * @example
 * ```ts
 * const { bytes } = await loadContent(deps(c), EB_KIND, hash, c.req.url);
 * ```
 */
export async function loadContent(d: Deps, kind: ContentKind, hash: Uint8Array, requestUrl: string): Promise<{ response: Response; source: Source }> {
  const hex = toHex(hash);
  const key = cacheKey(requestUrl, `${kind.prefix}${hex}`);
  const hit = await lookup(key);
  if (hit !== undefined) return { response: hit, source: 'cache' };

  const keep = async (bytes: Uint8Array, source: Source) => ({ response: await store(key, immutableCbor(bytes, kind.etag ? hex : undefined), source), source });

  const held = await kind.fromHub(d, hex);
  if (held !== null && kind.check(held, hash) === null) return keep(held, 'hub');

  const out = await d.upstream.request({ method: 'GET', path: `${kind.prefix}${hex}`, maxBytes: kind.maxBytes }, (r) => {
    if (r.status !== 200) return { ok: false, detail: `status ${r.status}` };
    const bad = kind.check(r.body, hash);
    return bad === null ? { ok: true, value: r.body } : { ok: false, detail: bad };
  });
  if (out.ok) return keep(out.value, 'upstream');
  if (anyNotFound(out.failures)) throw new EdgeError({ kind: 'not-found', detail: `unknown ${kind.noun} ${hex}` });
  throw new EdgeError({ kind: 'upstream-unavailable', detail: `no storage node served ${kind.noun} ${hex}: ${describeFailures(out.failures)}` });
}

/**
 * Serve the content named by `hash` for `req` (a GET or HEAD).
 *
 * @example
 * ```ts
 * return serveContent(deps(c), EB_KIND, hash, c.req.raw);
 * ```
 */
export async function serveContent(d: Deps, kind: ContentKind, hash: Uint8Array, req: Request): Promise<Response> {
  const hex = toHex(hash);
  // The hash is the content: a client that names it in If-None-Match already has these bytes.
  if (kind.etag && ifNoneMatchHits(req.headers.get('if-none-match') ?? undefined, hex)) {
    return new Response(null, { status: 304, headers: { etag: `"${hex}"`, 'cache-control': IMMUTABLE } });
  }
  return (await loadContent(d, kind, hash, req.url)).response;
}
