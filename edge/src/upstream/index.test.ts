import { describe, expect, it } from 'vitest';
import { DEAD_UPSTREAM, FixtureNode } from '../testing/index';
import { anyNotFound, askOrder, describeFailures, HttpUpstream } from './index';

const take = (r: { status: number; body: Uint8Array }) => (r.status === 200 ? { ok: true as const, value: r.body } : { ok: false as const, detail: `status ${r.status}` });

describe('HttpUpstream', () => {
  it('asks storage nodes in order and stops at the first accepted reply', async () => {
    const a = new FixtureNode();
    const b = new FixtureNode();
    const c = new FixtureNode();
    await b.reply('/v1/x', { body: 'from-b' });
    await c.reply('/v1/x', { body: 'from-c' });
    const up = new HttpUpstream([DEAD_UPSTREAM, a.url, b.url, c.url], 2_000);
    const out = await up.request({ method: 'GET', path: '/v1/x', maxBytes: 100 }, take);
    expect(out.ok).toBe(true);
    if (!out.ok) return;
    expect(new TextDecoder().decode(out.value)).toBe('from-b');
    expect(out.origin).toBe(b.url);
    expect(out.failures.map((f) => f.reason)).toEqual(['unreachable', 'rejected']);
    expect(out.failures[1]?.status).toBe(404);
    expect((await c.seen('/v1/x')).hits).toBe(0);
  });

  it('reports timeouts, oversize replies and 404s as failures', async () => {
    const slow = new FixtureNode();
    const big = new FixtureNode();
    const none = new FixtureNode();
    await slow.reply('/v1/y', { body: 'late', delayMs: 1_000 });
    await big.reply('/v1/y', { body: new Uint8Array(101) });
    const up = new HttpUpstream([slow.url, big.url, none.url], 150);
    const out = await up.request({ method: 'GET', path: '/v1/y', maxBytes: 100 }, take);
    expect(out.ok).toBe(false);
    expect(out.failures.map((f) => f.reason)).toEqual(['timeout', 'too-large', 'rejected']);
    expect(anyNotFound(out.failures)).toBe(true);
    expect(describeFailures(out.failures)).toContain(slow.url);
  });

  it('sends POST bodies with their content type', async () => {
    const n = new FixtureNode();
    await n.reply('/v1/p', { method: 'POST', body: 'ok' });
    const up = new HttpUpstream([n.url], 2_000);
    const out = await up.request({ method: 'POST', path: '/v1/p', body: new Uint8Array([1, 2, 3]), contentType: 'application/cbor', maxBytes: 10 }, take);
    expect(out.ok).toBe(true);
    expect((await n.seen('/v1/p', 'POST')).lastBodyHex).toBe('010203');
  });

  it('with no storage nodes configured, fails with no attempts', async () => {
    const out = await new HttpUpstream([], 100).request({ method: 'GET', path: '/v1/z', maxBytes: 1 }, take);
    expect(out).toEqual({ ok: false, failures: [] });
    expect(describeFailures([])).toBe('no storage node configured');
  });

  it('asks a storage node that just timed out after the healthy ones', async () => {
    const slow = new FixtureNode();
    const ok = new FixtureNode();
    await slow.reply('/v1/w', { body: 'late', delayMs: 1_000 });
    await ok.reply('/v1/w', { body: 'ok' });
    const up = new HttpUpstream([slow.url, ok.url], 150);
    const first = await up.request({ method: 'GET', path: '/v1/w', maxBytes: 10 }, take);
    expect(first.ok && first.origin).toBe(ok.url);
    expect(askOrder([slow.url, ok.url], Date.now())).toEqual([ok.url, slow.url]);
    // The next request goes to the healthy node first and never asks the slow one.
    const second = await up.request({ method: 'GET', path: '/v1/w', maxBytes: 10 }, take);
    expect(second.ok && second.failures.length).toBe(0);
    expect((await slow.seen('/v1/w')).hits).toBe(1);
    // After the back-off the configured order holds again.
    expect(askOrder([slow.url, ok.url], Date.now() + 31_000)).toEqual([slow.url, ok.url]);
  });
});
