/**
 * A real HTTP server on loopback standing in for storage nodes in the edge's worker tests.
 *
 * Primer: the edge under test (in workerd) fetches from this server exactly as it fetches from a
 * storage node: real sockets, real status codes, real bytes, real delays. Tests program it over
 * its own HTTP admin API (`/__fixture/…`) from inside workerd, so every byte the edge sees was
 * produced by the test that checks it. Several independent "storage nodes" live side by side
 * under `/n/<name>/`: each test points the edge's `UPSTREAM_URLS` at its own names, so test files
 * running in parallel never share state.
 *
 * Admin API (all JSON unless stated):
 * - `PUT /__fixture/route?node=&method=&path=&status=&type=&delayMs=&retryAfter=` with the raw
 *   response body: program one reply.
 * - `PUT /__fixture/flood?node=&path=`: that path answers 200 with an endless chunked body.
 * - `GET /__fixture/hits?node=&method=&path=` → `{ "hits": n, "lastBodyHex": "…" | null }`.
 *
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

interface Route {
  status: number;
  type: string | null;
  body: Uint8Array;
  delayMs: number;
  retryAfter: string | null;
  flood: boolean;
}

interface Seen {
  hits: number;
  lastBody: Uint8Array | null;
}

const MAX_ADMIN_BODY = 8 * 1024 * 1024;

async function readAll(req: IncomingMessage, limit: number): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    const b = c as Buffer;
    n += b.length;
    if (n > limit) throw new Error(`fixture: body above ${limit}`);
    chunks.push(b);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

function key(node: string, method: string, path: string): string {
  return `${node} ${method.toUpperCase()} ${path}`;
}

/**
 * Start the fixture server on 127.0.0.1 (random port).
 *
 * @example
 * ```ts
 * const f = await startFixtureUpstream();
 * console.log(f.origin); // http://127.0.0.1:41234
 * await f.close();
 * ```
 */
export async function startFixtureUpstream(): Promise<{ origin: string; close: () => Promise<void> }> {
  const routes = new Map<string, Route>();
  const seen = new Map<string, Seen>();
  const open = new Set<ServerResponse>();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://fixture');
    const q = url.searchParams;
    if (url.pathname === '/__fixture/route' && req.method === 'PUT') {
      const body = await readAll(req, MAX_ADMIN_BODY);
      routes.set(key(q.get('node') ?? '', q.get('method') ?? 'GET', q.get('path') ?? ''), {
        status: Number(q.get('status') ?? '200'),
        type: q.get('type'),
        body,
        delayMs: Number(q.get('delayMs') ?? '0'),
        retryAfter: q.get('retryAfter'),
        flood: false,
      });
      res.writeHead(204).end();
      return;
    }
    if (url.pathname === '/__fixture/flood' && req.method === 'PUT') {
      routes.set(key(q.get('node') ?? '', 'GET', q.get('path') ?? ''), {
        status: 200,
        type: 'application/cbor',
        body: new Uint8Array(0),
        delayMs: 0,
        retryAfter: null,
        flood: true,
      });
      res.writeHead(204).end();
      return;
    }
    if (url.pathname === '/__fixture/hits' && req.method === 'GET') {
      const s = seen.get(key(q.get('node') ?? '', q.get('method') ?? 'GET', q.get('path') ?? ''));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ hits: s?.hits ?? 0, lastBodyHex: s?.lastBody ? Buffer.from(s.lastBody).toString('hex') : null }));
      return;
    }
    const m = /^\/n\/([A-Za-z0-9._-]+)(\/.*)$/.exec(url.pathname);
    if (m === null) {
      res.writeHead(404).end();
      return;
    }
    const [, node, path] = m as unknown as [string, string, string];
    const k = key(node, req.method ?? 'GET', path);
    const body = req.method === 'POST' ? await readAll(req, MAX_ADMIN_BODY) : null;
    const s = seen.get(k) ?? { hits: 0, lastBody: null };
    s.hits++;
    s.lastBody = body;
    seen.set(k, s);
    const route = routes.get(k);
    if (route === undefined) {
      res.writeHead(404, { 'content-type': 'application/problem+json' });
      res.end(JSON.stringify({ type: 'urn:leios:problem:not-found', title: 'Not found', status: 404, detail: `fixture: nothing at ${path}` }));
      return;
    }
    if (route.delayMs > 0) await new Promise((r) => setTimeout(r, route.delayMs));
    if (route.flood) {
      res.writeHead(200, { 'content-type': 'application/cbor' });
      open.add(res);
      const chunk = Buffer.alloc(64 * 1024, 0x41);
      // Bounded by the client going away, and by a hard cap so a broken test cannot spin forever.
      let sent = 0;
      const pump = (): void => {
        while (!res.destroyed && sent < 256 * 1024 * 1024) {
          sent += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
        open.delete(res);
      };
      res.on('close', () => open.delete(res));
      pump();
      return;
    }
    const headers: Record<string, string> = {};
    if (route.type !== null) headers['content-type'] = route.type;
    if (route.retryAfter !== null) headers['retry-after'] = route.retryAfter;
    res.writeHead(route.status, headers);
    res.end(Buffer.from(route.body));
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(e));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('fixture: no port');
  return {
    origin: `http://127.0.0.1:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const r of open) r.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
