/**
 * Test support for the edge's worker tests (runs inside workerd; never imported by the Worker).
 *
 * Primer: {@link FixtureNode} is one programmable storage node on the loopback fixture server
 * (../../test/fixture-upstream.ts); {@link relay} sends a request through the real Worker
 * handler with `UPSTREAM_URLS` pointed at chosen fixture nodes, so each test has storage nodes of
 * its own. The builders make real protocol bytes (canonical CBOR EBs, RB blocks whose header names
 * their body's hash and size) with the shared CBOR writer.
 *
 * @module
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { blake2b256, CborWriter, toHex } from '@leios/shared';
import type { Env } from '../config/index';
import worker from '../index';

const testEnv = env as unknown as Env & { FIXTURE_ORIGIN: string };

/** Origin of the loopback fixture server. */
export const FIXTURE_ORIGIN = testEnv.FIXTURE_ORIGIN;

/** One reply to program. */
export interface FixtureReply {
  method?: 'GET' | 'POST';
  status?: number;
  type?: string;
  body?: Uint8Array | string;
  delayMs?: number;
  retryAfter?: string;
}

/**
 * One fixture storage node.
 *
 * @example
 * ```ts
 * const node = new FixtureNode();
 * await node.reply('/v1/eb/' + hex, { body: ebBytes, type: 'application/cbor' });
 * ```
 */
export class FixtureNode {
  readonly name: string;
  constructor(name?: string) {
    this.name = name ?? `n${crypto.randomUUID().replaceAll('-', '')}`;
  }

  /** Base URL to put in UPSTREAM_URLS. */
  get url(): string {
    return `${FIXTURE_ORIGIN}/n/${this.name}`;
  }

  async reply(path: string, r: FixtureReply): Promise<void> {
    const q = new URLSearchParams({ node: this.name, method: r.method ?? 'GET', path, status: String(r.status ?? 200), delayMs: String(r.delayMs ?? 0) });
    if (r.type !== undefined) q.set('type', r.type);
    if (r.retryAfter !== undefined) q.set('retryAfter', r.retryAfter);
    const body = typeof r.body === 'string' ? new TextEncoder().encode(r.body) : (r.body ?? new Uint8Array(0));
    const res = await fetch(`${FIXTURE_ORIGIN}/__fixture/route?${q}`, { method: 'PUT', body });
    if (res.status !== 204) throw new Error(`fixture route: ${res.status}`);
  }

  /** Make `path` answer 200 with an endless body. */
  async flood(path: string): Promise<void> {
    const res = await fetch(`${FIXTURE_ORIGIN}/__fixture/flood?${new URLSearchParams({ node: this.name, path })}`, { method: 'PUT' });
    if (res.status !== 204) throw new Error(`fixture flood: ${res.status}`);
  }

  /** How often `path` was requested, and the last request body (hex) it got. */
  async seen(path: string, method: 'GET' | 'POST' = 'GET'): Promise<{ hits: number; lastBodyHex: string | null }> {
    const res = await fetch(`${FIXTURE_ORIGIN}/__fixture/hits?${new URLSearchParams({ node: this.name, method, path })}`);
    return (await res.json()) as { hits: number; lastBodyHex: string | null };
  }
}

/** Bindings of the test worker with `UPSTREAM_URLS` replaced. */
export function envWith(upstreams: readonly (FixtureNode | string)[], extra: Partial<Env> = {}): Env {
  return { ...testEnv, UPSTREAM_URLS: upstreams.map((u) => (typeof u === 'string' ? u : u.url)).join(','), ...extra };
}

/**
 * A fresh origin for one test: Cache API keys include the origin, so a test whose paths are not
 * unique (epochs, fixed routes) cannot see entries cached by other tests or earlier runs.
 *
 * @example
 * ```ts
 * const o = freshOrigin(); await relay([node], `${o}/v1/epoch/5/pools`);
 * ```
 */
export function freshOrigin(): string {
  return `https://r${crypto.randomUUID().slice(0, 8)}.relay.test`;
}

/**
 * Send a request through the Worker's fetch handler with the given storage nodes. `path` is a
 * path on `https://relay.test`, or an absolute `https://` URL.
 *
 * @example
 * ```ts
 * const res = await relay([node], '/v1/tip');
 * ```
 */
export async function relay(upstreams: readonly (FixtureNode | string)[], path: string, init?: RequestInit, extra: Partial<Env> = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const url = path.startsWith('https://') ? path : `https://relay.test${path}`;
  const req = new Request(url, init);
  // Each call is its own client address unless the test names one, so the per-IP rate limits
  // only bite in the tests about them.
  if (!req.headers.has('cf-connecting-ip')) req.headers.set('cf-connecting-ip', `client-${crypto.randomUUID()}`);
  const res = await worker.fetch(req, envWith(upstreams, extra), ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

/** A loopback URL on which nothing listens (port 9 discard is closed here), for "down" nodes. */
export const DEAD_UPSTREAM = 'http://127.0.0.1:9';

/** Random bytes. */
export function randomBytes(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let off = 0; off < n; off += 65_536) crypto.getRandomValues(b.subarray(off, Math.min(n, off + 65_536)));
  return b;
}

/**
 * A canonical EB (§4.3) over `count` random tx references, and its hash.
 *
 * @example
 * ```ts
 * const { bytes, hash, hex } = makeEb(3);
 * ```
 */
export function makeEb(count: number, txSize = 300): { bytes: Uint8Array; hash: Uint8Array; hex: string } {
  const w = new CborWriter().map(count);
  for (let i = 0; i < count; i++) w.bytes(randomBytes(32)).uint(txSize);
  const bytes = w.finish();
  const hash = blake2b256(bytes);
  return { bytes, hash, hex: toHex(hash) };
}

/**
 * An `rb_block` (§4.2) whose header carries the body's real hash and size; signature and VRF are
 * random bytes (the edge checks hashes, not signatures, for cached blocks). `tamperBody` swaps in
 * a different body after the header is built.
 */
export function makeRbBlock(opts: { slot?: number; tamperBody?: boolean } = {}): { bytes: Uint8Array; hash: Uint8Array; hex: string } {
  const body = new CborWriter().array(2).array(0).null().finish();
  const header = new CborWriter()
    .array(11)
    .uint(1)
    .uint(opts.slot ?? 7)
    .null()
    .bytes(randomBytes(28))
    .bytes(randomBytes(32))
    .array(2)
    .bytes(randomBytes(32))
    .bytes(randomBytes(48))
    .bytes(blake2b256(body))
    .uint(body.length)
    .bool(false)
    .null()
    .bytes(randomBytes(64))
    .finish();
  const served = opts.tamperBody ? new CborWriter().array(2).array(0).array(0).finish() : body;
  const bytes = new CborWriter().array(2).raw(header).raw(served).finish();
  const hash = blake2b256(header);
  return { bytes, hash, hex: toHex(hash) };
}

/** Parse a problem+json response body. */
export async function problemOf(res: Response): Promise<{ type: string; title: string; status: number; detail: string; [k: string]: unknown }> {
  return (await res.json()) as { type: string; title: string; status: number; detail: string };
}

/** The test relay's peer `peer-a` and its HMAC key (vitest.config.ts binds PEER_SECRETS). */
export const TEST_PEER = { peerId: 'peer-a', secret: new Uint8Array(32).fill(0x5e) } as const;
