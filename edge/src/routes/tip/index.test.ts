import { describe, expect, it } from 'vitest';
import { DEAD_UPSTREAM, FixtureNode, problemOf, relay } from '../../testing/index';
import { parseTip } from './index';

const JSON_TYPE = 'application/json';

describe('GET /v1/tip', () => {
  it('passes on the storage node tip with public, max-age=1', async () => {
    const node = new FixtureNode();
    const tip = { slot: 1234, blockNumber: 56, hash: 'ab'.repeat(32), epoch: 1 };
    await node.reply('/v1/tip', { body: JSON.stringify({ ...tip, extra: 'dropped' }), type: JSON_TYPE });
    const res = await relay([node], '/v1/tip');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(res.headers.get('cache-control')).toBe('public, max-age=1');
    expect(await res.json()).toEqual(tip);
  });

  it('passes on the empty-chain tip', async () => {
    const node = new FixtureNode();
    const empty = { slot: null, blockNumber: 0, hash: null, epoch: 0 };
    await node.reply('/v1/tip', { body: JSON.stringify(empty), type: JSON_TYPE });
    expect(await (await relay([node], '/v1/tip')).json()).toEqual(empty);
  });

  it('skips a storage node with a malformed tip and asks the next', async () => {
    const bad = new FixtureNode();
    const good = new FixtureNode();
    await bad.reply('/v1/tip', { body: JSON.stringify({ slot: -1, blockNumber: 1, hash: 'zz', epoch: 0 }), type: JSON_TYPE });
    const tip = { slot: 9, blockNumber: 2, hash: 'cd'.repeat(32), epoch: 0 };
    await good.reply('/v1/tip', { body: JSON.stringify(tip), type: JSON_TYPE });
    expect(await (await relay([bad, good], '/v1/tip')).json()).toEqual(tip);
  });

  it('answers 503 upstream-unavailable when no storage node answers', async () => {
    const res = await relay([DEAD_UPSTREAM], '/v1/tip');
    expect(res.status).toBe(503);
    expect((await problemOf(res)).type).toBe('urn:leios:problem:upstream-unavailable');
  });

  it('answers 405 to POST', async () => {
    const res = await relay([], '/v1/tip', { method: 'POST' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD');
  });

  it('rejects tips of the wrong shape', () => {
    expect(parseTip({ slot: 1, blockNumber: 0, hash: 'ab'.repeat(32), epoch: 0 })).toBeUndefined();
    expect(parseTip({ slot: null, blockNumber: 3, hash: null, epoch: 0 })).toBeUndefined();
    expect(parseTip({ slot: 1.5, blockNumber: 1, hash: 'ab'.repeat(32), epoch: 0 })).toBeUndefined();
    expect(parseTip({ slot: 1, blockNumber: 1, hash: 'AB'.repeat(32), epoch: 0 })).toBeUndefined();
    expect(parseTip(null)).toBeUndefined();
  });
});
