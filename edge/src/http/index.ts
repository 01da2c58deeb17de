/**
 * What every route shares: the Hono environment type, the per-request dependencies (parsed
 * config, upstream, hub stub), path-parameter parsing and the 405 handler.
 *
 * Primer: routes never read `c.env` directly; they call {@link deps}, which parses the bindings
 * once per isolate (cached per env object) so a misconfiguration fails the first request loudly
 * and every later one cheaply.
 *
 * @module
 */
import { fromHex, type Hash32 } from '@leios/shared';
import type { Context, Handler } from 'hono';
import { type EdgeConfig, type Env, parseConfig } from '../config/index';
import { EdgeError } from '../errors/index';
import type { RelayHub } from '../hub/index';
import { HttpUpstream, type Upstream } from '../upstream/index';

/** The Hono environment of the edge app. */
export interface AppEnv {
  Bindings: Env;
}

/** What a route needs besides the request. */
export interface Deps {
  config: EdgeConfig;
  upstream: Upstream;
  hub: () => DurableObjectStub<RelayHub>;
}

const cache = new WeakMap<Env, Deps>();

/**
 * The dependencies for this request's bindings.
 *
 * @example
 * ```ts
 * const { upstream, config } = deps(c);
 * ```
 */
export function deps(c: Context<AppEnv>): Deps {
  const env = c.env;
  let d = cache.get(env);
  if (d === undefined) {
    const config = parseConfig(env);
    d = {
      config,
      upstream: new HttpUpstream(config.upstreamUrls, config.upstreamTimeoutMs),
      hub: () => env.RELAY_HUB.getByName(config.relayName),
    };
    cache.set(env, d);
  }
  return d;
}

/**
 * A `{hash}` path segment: exactly 64 lowercase hex characters (§12), else 400 `bad-hash`.
 *
 * @example
 * ```ts
 * const hash = parseHashParam(c.req.param('hash'));
 * ```
 */
export function parseHashParam(s: string | undefined): Hash32 {
  if (s === undefined || !/^[0-9a-f]{64}$/.test(s)) {
    throw new EdgeError({ kind: 'bad-hash', detail: 'the path hash must be 64 lowercase hex characters' });
  }
  return fromHex(s) as Hash32;
}

/**
 * A handler answering 405 `method-not-allowed` with the `Allow` list; registered with `all()`
 * after a route's real methods so it catches every other method on a known path (§12: 405 wins
 * over every other problem, so it runs before any other check of the request).
 *
 * @example
 * ```ts
 * app.get('/v1/tip', tip).all('/v1/tip', methodNotAllowed(['GET', 'HEAD']));
 * ```
 */
export function methodNotAllowed(allow: readonly string[]): Handler<AppEnv> {
  return (c) => {
    throw new EdgeError({ kind: 'method-not-allowed', detail: `${c.req.method} is not allowed here`, allow });
  };
}

export const GET_ONLY = ['GET', 'HEAD'] as const;
export const POST_ONLY = ['POST'] as const;
