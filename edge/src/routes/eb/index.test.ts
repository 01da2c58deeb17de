import { toHex } from '@leios/shared';
import { describe, expect, it } from 'vitest';
import { DEAD_UPSTREAM, FixtureNode, makeEb, problemOf, relay } from '../../testing/index';

const CBOR = 'application/cbor';

describe('GET /v1/eb/{hash}', () => {
  it('serves the exact bytes from a storage node, then from the cache without asking it again', async () => {
    const node = new FixtureNode();
    const eb = makeEb(5);
    await node.reply(`/v1/eb/${eb.hex}`, { body: eb.bytes, type: CBOR });

    const first = await relay([node], `/v1/eb/${eb.hex}`);
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe(CBOR);
    expect(first.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(first.headers.get('etag')).toBe(`"${eb.hex}"`);
    expect(first.headers.get('x-leios-source')).toBe('upstream');
    expect(new Uint8Array(await first.arrayBuffer())).toEqual(eb.bytes);

    const second = await relay([node], `/v1/eb/${eb.hex}`);
    expect(second.status).toBe(200);
    expect(second.headers.get('x-leios-source')).toBe('cache');
    expect(second.headers.get('etag')).toBe(`"${eb.hex}"`);
    expect(second.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(new Uint8Array(await second.arrayBuffer())).toEqual(eb.bytes);
    expect((await node.seen(`/v1/eb/${eb.hex}`)).hits).toBe(1);
  });

  it('answers 404 not-found as problem+json for an unknown EB', async () => {
    const node = new FixtureNode();
    const hex = toHex(makeEb(1).hash);
    const res = await relay([node], `/v1/eb/${hex}`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const p = await problemOf(res);
    expect(p.type).toBe('urn:leios:problem:not-found');
    expect(p.status).toBe(404);
    expect(p.title).toBe('Not found');
    expect(p.detail).toContain(hex);
  });

  it('never caches or serves bytes that do not hash to the path; the next storage node is asked', async () => {
    const liar = new FixtureNode();
    const honest = new FixtureNode();
    const eb = makeEb(3);
    const other = makeEb(3);
    await liar.reply(`/v1/eb/${eb.hex}`, { body: other.bytes, type: CBOR });
    await honest.reply(`/v1/eb/${eb.hex}`, { body: eb.bytes, type: CBOR });

    const res = await relay([liar, honest], `/v1/eb/${eb.hex}`);
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(eb.bytes);
    expect((await liar.seen(`/v1/eb/${eb.hex}`)).hits).toBe(1);
    expect((await honest.seen(`/v1/eb/${eb.hex}`)).hits).toBe(1);
  });

  it('answers 503 upstream-unavailable when the only storage node serves wrong bytes, and caches nothing', async () => {
    const liar = new FixtureNode();
    const eb = makeEb(2);
    await liar.reply(`/v1/eb/${eb.hex}`, { body: makeEb(2).bytes, type: CBOR });
    const res = await relay([liar], `/v1/eb/${eb.hex}`);
    expect(res.status).toBe(503);
    expect((await problemOf(res)).type).toBe('urn:leios:problem:upstream-unavailable');
    // A second request asks the storage node again: nothing was cached.
    await relay([liar], `/v1/eb/${eb.hex}`);
    expect((await liar.seen(`/v1/eb/${eb.hex}`)).hits).toBe(2);
  });

  it('fails over from a storage node that is down', async () => {
    const node = new FixtureNode();
    const eb = makeEb(4);
    await node.reply(`/v1/eb/${eb.hex}`, { body: eb.bytes, type: CBOR });
    const res = await relay([DEAD_UPSTREAM, node], `/v1/eb/${eb.hex}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-leios-source')).toBe('upstream');
  });

  it('answers 503 upstream-unavailable when no storage node answers', async () => {
    const eb = makeEb(1);
    const res = await relay([DEAD_UPSTREAM], `/v1/eb/${eb.hex}`);
    expect(res.status).toBe(503);
    const p = await problemOf(res);
    expect(p.type).toBe('urn:leios:problem:upstream-unavailable');
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('gives up on a storage node slower than UPSTREAM_TIMEOUT_MS', async () => {
    const slow = new FixtureNode();
    const eb = makeEb(1);
    await slow.reply(`/v1/eb/${eb.hex}`, { body: eb.bytes, type: CBOR, delayMs: 1_500 });
    const res = await relay([slow], `/v1/eb/${eb.hex}`, undefined, { UPSTREAM_TIMEOUT_MS: '200' });
    expect(res.status).toBe(503);
    expect((await problemOf(res)).detail).toContain('timeout');
  });

  it('stops reading a storage node reply above S_EB', async () => {
    const flood = new FixtureNode();
    const eb = makeEb(1);
    await flood.flood(`/v1/eb/${eb.hex}`);
    const res = await relay([flood], `/v1/eb/${eb.hex}`);
    expect(res.status).toBe(503);
    expect((await problemOf(res)).detail).toContain('too-large');
  });

  it('answers 304 to If-None-Match naming the hash, without any lookup', async () => {
    const node = new FixtureNode();
    const eb = makeEb(1);
    const res = await relay([node], `/v1/eb/${eb.hex}`, { headers: { 'if-none-match': `"${eb.hex}"` } });
    expect(res.status).toBe(304);
    expect(res.headers.get('etag')).toBe(`"${eb.hex}"`);
    expect((await node.seen(`/v1/eb/${eb.hex}`)).hits).toBe(0);
  });

  it.each([
    ['uppercase hex', 'AB'.repeat(32)],
    ['63 characters', 'a'.repeat(63)],
    ['65 characters', 'a'.repeat(65)],
    ['non-hex', 'g'.repeat(64)],
  ])('answers 400 bad-hash for %s', async (_what, h) => {
    const node = new FixtureNode();
    const res = await relay([node], `/v1/eb/${h}`);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect((await problemOf(res)).type).toBe('urn:leios:problem:bad-hash');
    expect((await node.seen(`/v1/eb/${h}`)).hits).toBe(0);
  });

  it('answers 405 with Allow for other methods, before looking at the hash', async () => {
    const res = await relay([], '/v1/eb/not-a-hash', { method: 'DELETE' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD');
    expect((await problemOf(res)).type).toBe('urn:leios:problem:method-not-allowed');
  });

  it('answers HEAD with the headers and no body', async () => {
    const node = new FixtureNode();
    const eb = makeEb(2);
    await node.reply(`/v1/eb/${eb.hex}`, { body: eb.bytes, type: CBOR });
    const res = await relay([node], `/v1/eb/${eb.hex}`, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe(`"${eb.hex}"`);
    expect((await res.arrayBuffer()).byteLength).toBe(0);
  });
});
