/**
 * `GET /v1/ws`: open a peer session (PROTOCOL.md §8.1).
 *
 * Primer: the Worker only checks that this is a WebSocket upgrade offering the `leios-mux.1`
 * subprotocol (426 `upgrade-required` / 400 `bad-subprotocol` otherwise) and hands the request to
 * the relay's RelayHub, which accepts the socket and runs the session (../../hub).
 *
 * @module
 */
import { Hono } from 'hono';
import { EdgeError } from '../../errors/index';
import { type AppEnv, deps, GET_ONLY, methodNotAllowed } from '../../http/index';
import { SUBPROTOCOL } from '../../hub/index';
import { rateLimit } from '../../ratelimit/index';

/**
 * Whether a `Sec-WebSocket-Protocol` request header offers `leios-mux.1`.
 *
 * @example
 * ```ts
 * offersSubprotocol('chat, leios-mux.1') // true
 * ```
 */
export function offersSubprotocol(header: string | undefined): boolean {
  return header?.split(',').some((p) => p.trim() === SUBPROTOCOL) ?? false;
}

/**
 * The WebSocket route, mounted at `/v1/ws`.
 *
 * @example
 * ```ts
 * app.route('/v1/ws', wsRoutes);
 * ```
 */
export const wsRoutes = new Hono<AppEnv>()
  .get('/', rateLimit('WS_LIMITER'), (c) => {
    if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') {
      throw new EdgeError({ kind: 'upgrade-required', detail: 'GET /v1/ws needs a WebSocket upgrade' });
    }
    if (!offersSubprotocol(c.req.header('sec-websocket-protocol'))) {
      throw new EdgeError({ kind: 'bad-subprotocol', detail: `the WebSocket must offer subprotocol ${SUBPROTOCOL}` });
    }
    return deps(c).hub().fetch(c.req.raw);
  })
  .all('/', methodNotAllowed(GET_ONLY));
