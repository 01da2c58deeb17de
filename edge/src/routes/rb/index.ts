/**
 * `GET /v1/rb/{hash}`: a ranking block (`rb_block = [header, body]`) by its header hash
 * (PROTOCOL.md §4.2, §12).
 *
 * Primer: like EBs, blocks are immutable once named, so they are served from the Cache API; the
 * check before caching covers the header hash and the body's hash and size from that header.
 *
 * @module
 */
import { Hono } from 'hono';
import { LIMITS } from '../../config/index';
import { type AppEnv, deps, GET_ONLY, methodNotAllowed, parseHashParam } from '../../http/index';
import { checkRbBlock } from '../../verify/index';
import { type ContentKind, serveContent } from '../content';

/** How RB blocks are found and checked. */
export const RB_KIND: ContentKind = {
  prefix: '/v1/rb/',
  noun: 'RB',
  maxBytes: LIMITS.maxRbBlock,
  check: checkRbBlock,
  fromHub: (d, hex) => d.hub().getRb(hex),
  etag: true,
};

/**
 * The RB routes, mounted at `/v1/rb`.
 *
 * @example
 * ```ts
 * app.route('/v1/rb', rbRoutes);
 * ```
 */
export const rbRoutes = new Hono<AppEnv>()
  .get('/:hash', (c) => serveContent(deps(c), RB_KIND, parseHashParam(c.req.param('hash')), c.req.raw))
  .all('/:hash', methodNotAllowed(GET_ONLY));
