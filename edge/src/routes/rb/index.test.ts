import { describe, expect, it } from 'vitest';
import { FixtureNode, makeRbBlock, problemOf, relay } from '../../testing/index';

const CBOR = 'application/cbor';

describe('GET /v1/rb/{hash}', () => {
  it('serves a block named by its header hash, then from the cache', async () => {
    const node = new FixtureNode();
    const rb = makeRbBlock();
    await node.reply(`/v1/rb/${rb.hex}`, { body: rb.bytes, type: CBOR });
    const first = await relay([node], `/v1/rb/${rb.hex}`);
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe(CBOR);
    expect(first.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(new Uint8Array(await first.arrayBuffer())).toEqual(rb.bytes);
    const second = await relay([node], `/v1/rb/${rb.hex}`);
    expect(second.headers.get('x-leios-source')).toBe('cache');
    expect(new Uint8Array(await second.arrayBuffer())).toEqual(rb.bytes);
    expect((await node.seen(`/v1/rb/${rb.hex}`)).hits).toBe(1);
  });

  it('refuses a genuine header paired with a substituted body', async () => {
    const node = new FixtureNode();
    const rb = makeRbBlock({ tamperBody: true });
    await node.reply(`/v1/rb/${rb.hex}`, { body: rb.bytes, type: CBOR });
    const res = await relay([node], `/v1/rb/${rb.hex}`);
    expect(res.status).toBe(503);
    expect((await problemOf(res)).detail).toContain('body');
  });

  it('refuses bytes that are not an rb_block', async () => {
    const node = new FixtureNode();
    const rb = makeRbBlock();
    await node.reply(`/v1/rb/${rb.hex}`, { body: new Uint8Array([0x82, 0x01]), type: CBOR });
    const res = await relay([node], `/v1/rb/${rb.hex}`);
    expect(res.status).toBe(503);
    expect((await problemOf(res)).detail).toContain('not an rb_block');
  });

  it('answers 404 not-found for an unknown block, 400 bad-hash for a bad path, 405 for POST', async () => {
    const node = new FixtureNode();
    const unknown = await relay([node], `/v1/rb/${makeRbBlock().hex}`);
    expect(unknown.status).toBe(404);
    expect((await problemOf(unknown)).type).toBe('urn:leios:problem:not-found');
    const bad = await relay([node], '/v1/rb/xyz');
    expect(bad.status).toBe(400);
    expect((await problemOf(bad)).type).toBe('urn:leios:problem:bad-hash');
    const post = await relay([node], `/v1/rb/${makeRbBlock().hex}`, { method: 'POST' });
    expect(post.status).toBe(405);
  });
});
