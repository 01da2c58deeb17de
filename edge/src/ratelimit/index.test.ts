import { describe, expect, it } from 'vitest';
import { problemOf, relay } from '../testing/index';

/** The limits of the top-level wrangler.jsonc (the configuration the tests run). */
const POST_LIMIT = 120;
const WS_LIMIT = 30;

/**
 * The local limiter counts in fixed windows aligned to the wall clock; start a burst early in a
 * window so that it cannot straddle two (a test takes about a second).
 */
async function startOfWindow(periodMs = 60_000, needMs = 10_000): Promise<void> {
  const into = Date.now() % periodMs;
  if (into > periodMs - needMs) await new Promise((r) => setTimeout(r, periodMs - into + 20));
}

describe('per-IP rate limits', () => {
  it(`answers 429 rate-limited with Retry-After after ${POST_LIMIT} POSTs from one address, on every POST route, and not for others`, async () => {
    await startOfWindow();
    const ip = `client-${crypto.randomUUID()}`;
    // The three POST routes of §12 share one allowance per address.
    const routes = ['/v1/tx', '/v1/votes', `/v1/eb/${'ab'.repeat(32)}/txs`];
    // Rejected requests still count: the limiter runs before any body is read.
    const init = { method: 'POST', body: '{}', headers: { 'content-type': 'application/json', 'cf-connecting-ip': ip } };
    for (let i = 0; i < POST_LIMIT; i++) expect((await relay([], routes[i % 3]!, init)).status).toBe(415);
    for (const route of routes) {
      const limited = await relay([], route, init);
      expect(limited.status, route).toBe(429);
      expect(limited.headers.get('retry-after')).toBe('60');
      expect((await problemOf(limited)).type).toBe('urn:leios:problem:rate-limited');
    }
    // Another address is not affected; GETs are not limited.
    expect((await relay([], '/v1/tx', { ...init, headers: { ...init.headers, 'cf-connecting-ip': `client-${crypto.randomUUID()}` } })).status).toBe(415);
    expect((await relay([], '/v1/eb/zz', { headers: { 'cf-connecting-ip': ip } })).status).toBe(400);
  });

  it(`answers 429 after ${WS_LIMIT} WebSocket upgrade attempts from one address`, async () => {
    await startOfWindow();
    const ip = `client-${crypto.randomUUID()}`;
    for (let i = 0; i < WS_LIMIT; i++) expect((await relay([], '/v1/ws', { headers: { 'cf-connecting-ip': ip } })).status).toBe(426);
    const limited = await relay([], '/v1/ws', { headers: { 'cf-connecting-ip': ip } });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('60');
  });
});
