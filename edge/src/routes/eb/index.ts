/**
 * `GET /v1/eb/{hash}`: an endorser block's exact bytes (PROTOCOL.md §12, §16 check 34).
 *
 * Primer: immutable and hash-addressed, so served from the Cache API when possible, with
 * `ETag: "<hash>"` and a one-year immutable Cache-Control; a conditional request whose
 * `If-None-Match` names the hash is answered 304 without any lookup, since the hash is the content.
 *
 * @module
 */
import { Hono } from 'hono';
import { LIMITS } from '../../config/index';
import { type AppEnv, deps, GET_ONLY, methodNotAllowed, parseHashParam } from '../../http/index';
import { checkEb } from '../../verify/index';
import { type ContentKind, serveContent } from '../content';

/** How EBs are found and checked. */
export const EB_KIND: ContentKind = {
  prefix: '/v1/eb/',
  noun: 'EB',
  maxBytes: LIMITS.maxEbSize,
  check: checkEb,
  fromHub: (d, hex) => d.hub().getEb(hex),
  etag: true,
};

/**
 * The EB routes, mounted at `/v1/eb`.
 *
 * @example
 * ```ts
 * app.route('/v1/eb', ebRoutes);
 * ```
 */
export const ebRoutes = new Hono<AppEnv>()
  .get('/:hash', (c) => serveContent(deps(c), EB_KIND, parseHashParam(c.req.param('hash')), c.req.raw))
  .all('/:hash', methodNotAllowed(GET_ONLY));
