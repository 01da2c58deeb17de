/**
 * `GET /v1/eb/{hash}`: an endorser block's exact bytes, and `POST /v1/eb/{hash}/txs`: txs of it
 * by bitmap (./txs) (PROTOCOL.md §12, §16 check 34).
 *
 * Primer: EBs are immutable and hash-addressed, so served from the Cache API when possible, with
 * `ETag: "<hash>"` and a one-year immutable Cache-Control; a conditional request whose
 * `If-None-Match` names the hash is answered 304 without any lookup, since the hash is the content.
 *
 * @module
 */
import { Hono } from 'hono';
import { type AppEnv, deps, GET_ONLY, methodNotAllowed, parseHashParam, POST_ONLY } from '../../http/index';
import { rateLimit } from '../../ratelimit/index';
import { serveContent } from '../content';
import { EB_KIND } from './kind';
import { ebTxs } from './txs';

export { EB_KIND } from './kind';

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
  .all('/:hash', methodNotAllowed(GET_ONLY))
  .post('/:hash/txs', rateLimit('POST_LIMITER'), ebTxs)
  .all('/:hash/txs', methodNotAllowed(POST_ONLY));
