/**
 * Bounded body reading for the relay (PROTOCOL.md §12; DESIGN.md §5 "bounded everything").
 *
 * Primer: the bounded reader and the `application/cbor` check are shared with the storage
 * node's API (`@leios/shared/http`); this module binds them to the relay's {@link EdgeError}, so
 * a route's 415 / 413 is the relay's own error like every other failure it reports.
 *
 * @module
 */
import { readCborRequest as readCbor } from '@leios/shared/http';
import { EdgeError } from '../errors/index';

export { BodyTooLarge, isCbor, readBounded } from '@leios/shared/http';

/**
 * The request body of a CBOR POST route, in §12 precedence: 415 unless `application/cbor`, then
 * 413 above `limit` (enforced while reading), both as {@link EdgeError}. An empty body is
 * returned as an empty array (the route's decoder then reports it as malformed CBOR, 400).
 *
 * @example
 * ```ts
 * const txBytes = await readCborRequest(c.req.raw, LIMITS.txBody);
 * ```
 */
export function readCborRequest(req: Request, limit: number): Promise<Uint8Array> {
  return readCbor(req, limit, (p) => new EdgeError(p));
}
