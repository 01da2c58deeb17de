/**
 * Bounded reading of CBOR request bodies (PROTOCOL.md §12; DESIGN.md §5 "bounded everything").
 *
 * Primer: the bounded reader and the `application/cbor` check are shared with the relays
 * (`@leios/shared/http`: media type first, since 415 precedes 413 in §12; an over-long
 * `Content-Length` refused before reading; otherwise bytes counted while streaming and the
 * stream cancelled as soon as the limit is passed). This module binds them to {@link ApiError}.
 *
 * @module
 */
import { readCborRequest } from '@leios/shared/http';
import { ApiError } from './problem';

export { isCbor } from '@leios/shared/http';

/**
 * The body of a CBOR POST, in §12 order: 415 `unsupported-media-type` unless `application/cbor`,
 * then 413 `too-large` above `limit` (enforced while reading), as {@link ApiError}. An empty body
 * is returned as an empty array; the route's decoder reports it as malformed CBOR (400).
 *
 * @example
 * ```ts
 * const bytes = await readCborBody(c.req.raw, 65_536);
 * ```
 */
export function readCborBody(req: Request, limit: number): Promise<Uint8Array> {
  return readCborRequest(req, limit, (p) => new ApiError(p));
}
