/**
 * The edge relay's Hono app: the §12 routes, their 404/405 handling and the one error handler
 * that turns every {@link EdgeError} into application/problem+json.
 *
 * @module
 */
import { Hono } from 'hono';
import { ConfigError } from './config/index';
import { EdgeError, problemResponse } from './errors/index';
import type { AppEnv } from './http/index';
import { ebRoutes } from './routes/eb/index';
import { epochRoutes } from './routes/epoch/index';
import { rbRoutes } from './routes/rb/index';
import { tipRoutes } from './routes/tip/index';
import { txRoutes } from './routes/tx/index';
import { votesRoutes } from './routes/votes/index';
import { wsRoutes } from './routes/ws/index';

/**
 * Build the app (one per isolate).
 *
 * @example
 * ```ts
 * export default { fetch: createApp().fetch };
 * ```
 */
export function createApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.route('/v1/eb', ebRoutes);
  app.route('/v1/rb', rbRoutes);
  app.route('/v1/tx', txRoutes);
  app.route('/v1/votes', votesRoutes);
  app.route('/v1/tip', tipRoutes);
  app.route('/v1/epoch', epochRoutes);
  app.route('/v1/ws', wsRoutes);
  app.notFound((c) => problemResponse({ kind: 'not-found', detail: `no route for ${c.req.path}` }, c.req.path));
  app.onError((err, c) => {
    if (err instanceof EdgeError) return problemResponse(err.problem, c.req.path);
    // Misconfiguration and bugs: log with context, answer a problem without internals.
    console.error(JSON.stringify({ at: 'edge', path: c.req.path, error: err instanceof ConfigError ? err.message : String(err.stack ?? err) }));
    return problemResponse({ kind: 'internal', detail: err instanceof ConfigError ? 'relay misconfigured' : 'internal error' }, c.req.path);
  });
  return app;
}
