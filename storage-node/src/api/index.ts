/**
 * The storage node's HTTP API: one Hono app serving the §12 routes (`/v1/...`, the edge relays'
 * upstream), Prometheus metrics (`/metrics`), the dashboard (`/`) and its JSON and SSE feeds
 * (`/api/status`, `/api/events`, `/api/trace`), and a liveness probe (`/healthz`).
 *
 * Primer: the app is built per node instance from a {@link NodeApiBackend} (what the node
 * knows), its {@link NodeMetrics} registry and its {@link TraceWriter}, so several nodes can run
 * in one process, each on its own port ({@link DEFAULT_API_PORT} for a single node). Every error
 * leaves as an RFC 9457 problem (`application/problem+json`, `type: urn:leios:problem:<kind>`,
 * `Cache-Control: no-store`); anything unexpected is logged and answered 500 `internal` without
 * leaking internals. {@link serveApi} binds it with @hono/node-server.
 *
 * @module
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import type { Logger } from 'pino';
import { DASHBOARD_CSP, dashboardHtml } from '../dashboard/index';
import type { NodeMetrics, TraceWriter } from '../obs/index';
import type { NodeApiBackend } from './backend';
import { EVENT_STREAM_LIMITS, type EventStreamLimits, eventStream } from './events';
import { ApiError, problemResponse } from './problem';
import { type V1Limits, v1Routes } from './v1';

export * from './backend';
export { isCbor, readCborBody } from './body';
export { EVENT_STREAM_LIMITS, type EventStreamLimits, eventStream } from './events';
export * from './problem';
export { StatusSeries, type StatusSeriesOptions } from './series';
export { IMMUTABLE, parseHashParam, V1_LIMITS, type V1Deps, type V1Limits, v1Routes } from './v1';

/** Default port of a single node's API (metrics, dashboard, §12 routes). */
export const DEFAULT_API_PORT = 12798;

/** What {@link createApiApp} needs. */
export interface ApiOptions {
  backend: NodeApiBackend;
  metrics: NodeMetrics;
  trace: TraceWriter;
  /** Unexpected errors (500s) are logged here. */
  logger?: Logger;
  limits?: Partial<V1Limits>;
  events?: Partial<EventStreamLimits>;
}

/**
 * The API app of one node.
 *
 * @example
 * ```ts
 * const app = createApiApp({ backend, metrics, trace, logger });
 * const server = await serveApi(app, { port: 12798 });
 * ```
 */
export function createApiApp(opts: ApiOptions): Hono {
  const { backend, metrics, trace, logger } = opts;
  const app = new Hono();

  app.onError((err, c) => {
    if (err instanceof ApiError) return problemResponse(err.problem, c.req.path);
    const e = err instanceof Error ? err : new Error(String(err));
    if (logger !== undefined) logger.error({ err: e, method: c.req.method, path: c.req.path }, 'API request failed');
    else queueMicrotask(() => {
      // Without a logger, surface it as an uncaught error rather than losing it.
      throw e;
    });
    return problemResponse({ kind: 'internal', detail: 'the storage node failed to handle this request' }, c.req.path);
  });
  app.notFound((c) => problemResponse({ kind: 'not-found', detail: `no route ${c.req.path}` }, c.req.path));

  app.route('/v1', v1Routes({ backend, metrics, ...(opts.limits !== undefined ? { limits: opts.limits } : {}) }));

  const getOnly = (path: string): void => {
    app.all(path, (c) => {
      throw new ApiError({ kind: 'method-not-allowed', detail: `${c.req.method} is not allowed on ${c.req.path}`, allow: ['GET', 'HEAD'] });
    });
  };

  app.get('/metrics', async (c) => {
    const text = await metrics.text();
    return c.body(text, 200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' });
  });
  getOnly('/metrics');

  app.get('/healthz', (c) => {
    c.header('cache-control', 'no-store');
    return c.json({ ok: true });
  });
  getOnly('/healthz');

  app.get('/api/status', async (c) => {
    const status = await backend.status();
    c.header('cache-control', 'no-store');
    return c.json(status);
  });
  getOnly('/api/status');

  app.get('/api/trace', (c) => {
    // Recent events from the ring as one JSON document (tests, scripts; the dashboard uses SSE).
    const raw = c.req.query('limit') ?? '';
    const limit = /^[0-9]{1,6}$/.test(raw) ? Number(raw) : 200;
    c.header('cache-control', 'no-store');
    return c.json({ events: trace.recent(limit) });
  });
  getOnly('/api/trace');

  app.get('/api/events', eventStream(trace, { ...EVENT_STREAM_LIMITS, ...opts.events }));
  getOnly('/api/events');

  app.get('/', (c) => {
    c.header('content-security-policy', DASHBOARD_CSP);
    c.header('cache-control', 'no-cache');
    c.header('x-content-type-options', 'nosniff');
    return c.html(dashboardHtml());
  });
  getOnly('/');

  return app;
}

/** A running API server. */
export interface ApiServer {
  /** The bound port (useful with port 0). */
  port: number;
  /** Stop accepting connections, end open ones (SSE streams included) and resolve when closed. */
  close(): Promise<void>;
}

/**
 * Serve `app` on `hostname:port` (defaults 127.0.0.1:12798); resolves once listening.
 *
 * @example
 * ```ts
 * const server = await serveApi(app, { port: 0 });
 * console.log(`dashboard on http://127.0.0.1:${server.port}/`);
 * await server.close();
 * ```
 */
export function serveApi(app: Hono, opts: { port?: number; hostname?: string } = {}): Promise<ApiServer> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, port: opts.port ?? DEFAULT_API_PORT, hostname: opts.hostname ?? '127.0.0.1' }, (info: AddressInfo) => {
      server.off('error', reject);
      resolve({
        port: info.port,
        close: () =>
          new Promise<void>((res, rej) => {
            server.close((err) => (err ? rej(err) : res()));
            // Long-lived SSE responses would otherwise keep close() waiting forever.
            if ('closeAllConnections' in server) server.closeAllConnections();
          }),
      });
    });
    server.once('error', reject);
  });
}
