/**
 * The relay's use of the Cache API (`caches.default`) for immutable, hash-addressed content.
 *
 * Primer: EBs and RBs never change once named by their hash, so a relay that has verified one
 * can serve it from its data centre's cache for a year (§12: `public, max-age=31536000,
 * immutable`). Keys are GET requests for the canonical path on the request's own origin (no
 * query, no client headers), so every client asking for one hash hits one entry. Only verified
 * bytes are ever put (callers check with ../verify first). Each response says where it came from
 * in `X-Leios-Source` (`cache`, `hub` or `upstream`) for operators and tests.
 *
 * @module
 */

export const IMMUTABLE = 'public, max-age=31536000, immutable';

export type Source = 'cache' | 'hub' | 'upstream';

/**
 * The cache key for `path` on the origin of `requestUrl`.
 *
 * @example
 * ```ts
 * cacheKey(c.req.url, `/v1/eb/${hex}`)
 * ```
 */
export function cacheKey(requestUrl: string, path: string): Request {
  return new Request(new URL(path, requestUrl).toString(), { method: 'GET' });
}

/** A cached response, marked as served from the cache; undefined on a miss. */
export async function lookup(key: Request): Promise<Response | undefined> {
  const hit = await caches.default.match(key);
  if (hit === undefined) return undefined;
  const res = new Response(hit.body, hit);
  res.headers.set('x-leios-source', 'cache');
  return res;
}

/**
 * Put a response in the cache (awaited, so a following request sees it) and return the response
 * to send, marked with its source.
 *
 * @example
 * ```ts
 * return store(key, immutableCbor(bytes, hex), 'upstream');
 * ```
 */
export async function store(key: Request, res: Response, source: Source): Promise<Response> {
  await caches.default.put(key, res.clone());
  res.headers.set('x-leios-source', source);
  return res;
}

/**
 * An immutable CBOR response for hash-addressed bytes; `etag` sets `ETag: "<hash>"`.
 *
 * @example
 * ```ts
 * immutableCbor(ebBytes, hashHex)
 * ```
 */
export function immutableCbor(bytes: Uint8Array, etag?: string): Response {
  const headers = new Headers({ 'content-type': 'application/cbor', 'cache-control': IMMUTABLE });
  if (etag !== undefined) headers.set('etag', `"${etag}"`);
  return new Response(bytes, { status: 200, headers });
}

/** Whether an `If-None-Match` value matches the strong ETag `"<hash>"` (or is `*`). */
export function ifNoneMatchHits(ifNoneMatch: string | undefined, hashHex: string): boolean {
  if (ifNoneMatch === undefined) return false;
  return ifNoneMatch.split(',').some((t) => {
    const tag = t.trim().replace(/^W\//, '');
    return tag === '*' || tag === `"${hashHex}"`;
  });
}
