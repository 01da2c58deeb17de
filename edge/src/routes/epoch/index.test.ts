import { CborWriter } from '@leios/shared';
import { describe, expect, it } from 'vitest';
import { currentEpoch, parseConfig } from '../../config/index';
import { envWith, FixtureNode, freshOrigin, problemOf, randomBytes, relay } from '../../testing/index';
import { checkEpochPools } from './index';

const CBOR = 'application/cbor';

function poolsReply(epoch: number, pools = 2): Uint8Array {
  const w = new CborWriter().array(3).uint(epoch).bytes(randomBytes(32)).array(pools);
  for (let i = 0; i < pools; i++) {
    w.array(5).bytes(randomBytes(28)).bytes(randomBytes(32)).uint(1_000_000 + i);
    w.array(2).bytes(randomBytes(96)).bytes(randomBytes(48));
    w.null();
  }
  return w.finish();
}

describe('GET /v1/epoch/{e}/pools', () => {
  it('serves a past epoch as immutable and from the cache afterwards', async () => {
    const node = new FixtureNode();
    const o = freshOrigin();
    const now = currentEpoch(parseConfig(envWith([node])), Date.now());
    expect(now).toBeGreaterThan(0);
    const e = now - 1;
    const body = poolsReply(e);
    await node.reply(`/v1/epoch/${e}/pools`, { body, type: CBOR });
    const first = await relay([node], `${o}/v1/epoch/${e}/pools`);
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe(CBOR);
    expect(first.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(new Uint8Array(await first.arrayBuffer())).toEqual(body);
    const second = await relay([node], `${o}/v1/epoch/${e}/pools`);
    expect(second.headers.get('x-leios-source')).toBe('cache');
    expect(new Uint8Array(await second.arrayBuffer())).toEqual(body);
    expect((await node.seen(`/v1/epoch/${e}/pools`)).hits).toBe(1);
  });

  it('serves the current epoch with max-age=60', async () => {
    const node = new FixtureNode();
    const o = freshOrigin();
    // A far-future system start makes the wall-clock epoch 0, so epoch 0 is current here.
    const extra = { SYSTEM_START: '2999-01-01T00:00:00.000Z' };
    await node.reply('/v1/epoch/0/pools', { body: poolsReply(0), type: CBOR });
    const res = await relay([node], `${o}/v1/epoch/0/pools`, undefined, extra);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('public, max-age=60');
  });

  it('passes on 404 not-found for an epoch whose nonce is not fixed', async () => {
    const node = new FixtureNode();
    const o = freshOrigin();
    const res = await relay([node], `${o}/v1/epoch/999999/pools`);
    expect(res.status).toBe(404);
    expect((await problemOf(res)).type).toBe('urn:leios:problem:not-found');
  });

  it('refuses a reply for another epoch', async () => {
    const node = new FixtureNode();
    const o = freshOrigin();
    await node.reply('/v1/epoch/5/pools', { body: poolsReply(6), type: CBOR });
    const res = await relay([node], `${o}/v1/epoch/5/pools`);
    expect(res.status).toBe(503);
    expect((await problemOf(res)).detail).toContain('not 5');
  });

  it.each(['-1', '01', 'x', '1.5', '9999999999999999'])('answers 400 bad-epoch for %s', async (e) => {
    const res = await relay([], `/v1/epoch/${e}/pools`);
    expect(res.status).toBe(400);
    expect((await problemOf(res)).type).toBe('urn:leios:problem:bad-epoch');
  });

  it('checks the reply structure', () => {
    expect(checkEpochPools(poolsReply(3), 3)).toBeNull();
    expect(checkEpochPools(poolsReply(3, 0), 3)).toBeNull();
    const bad = poolsReply(3);
    expect(checkEpochPools(bad.subarray(0, bad.length - 1), 3)).toMatch(/malformed/);
    expect(checkEpochPools(new CborWriter().array(3).uint(3).bytes(randomBytes(31)).array(0).finish(), 3)).toMatch(/malformed/);
  });
});
