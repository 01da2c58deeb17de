/**
 * Per-IP rate limiting of the routes that cost the relay and its storage nodes work: the POST
 * routes and WebSocket upgrades (PROTOCOL.md §12: 429 `rate-limited` with `Retry-After`).
 *
 * Primer: Cloudflare's Workers rate-limiting binding keeps a counter per key in each location,
 * close to the client, without a round trip to a central store; it is deliberately approximate
 * (eventually consistent across machines of a location), which is what flood protection needs.
 * The key is the client address Cloudflare reports (`CF-Connecting-IP`). A binding that is not
 * configured means no limit (e.g. a private relay on its own network), so the limiter is opt-in
 * per environment in wrangler.jsonc (`ratelimits`), with the period also stated in
 * `*_PERIOD_S` vars because the binding cannot report it and `Retry-After` needs it.
 *
 * Authenticated peers are storage nodes and relays that reconnect rarely; the WebSocket limit is
 * there for anonymous connection floods, before any handshake work is spent. What an admitted
 * anonymous session may then do (sessions, messages and bytes per address) is counted exactly by
 * the RelayHub, which sees every session of the relay: ./anonymous.
 *
 * @module
 */
import type { MiddlewareHandler } from 'hono';
import { EdgeError } from '../errors/index';
import type { AppEnv } from '../http/index';

/** Which limiter a route uses. */
export type LimiterName = 'POST_LIMITER' | 'WS_LIMITER';

/** The client address used as the limiter key. */
export function clientKey(headers: Headers): string {
  return headers.get('cf-connecting-ip') ?? 'unknown';
}

/**
 * Middleware: 429 `rate-limited` (with `Retry-After` = the limiter's period) once the client's
 * address has used up its allowance on `name`.
 *
 * @example
 * ```ts
 * app.post('/v1/tx', rateLimit('POST_LIMITER'), handler);
 * ```
 */
export function rateLimit(name: LimiterName): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const limiter = c.env[name];
    if (limiter !== undefined) {
      const { success } = await limiter.limit({ key: clientKey(c.req.raw.headers) });
      if (!success) {
        const period = c.env[name === 'POST_LIMITER' ? 'POST_LIMIT_PERIOD_S' : 'WS_LIMIT_PERIOD_S'];
        const retryAfterS = period === '10' ? 10 : 60;
        throw new EdgeError({ kind: 'rate-limited', detail: `too many requests from this address; retry in ${retryAfterS} s`, retryAfterS });
      }
    }
    await next();
  };
}
