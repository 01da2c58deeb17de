import { CborWriter, toHex } from '@leios/shared';
import { describe, expect, it } from 'vitest';
import { FixtureNode, problemOf, randomBytes, relay } from '../../testing/index';
import { parseVotesResult } from './index';

const CBOR = 'application/cbor';

function votes(n: number): Uint8Array {
  const rb = randomBytes(32);
  const w = new CborWriter().array(n);
  for (let i = 0; i < n; i++) w.array(3).bytes(rb).uint(i).bytes(randomBytes(48));
  return w.finish();
}

const post = (body: Uint8Array): RequestInit => ({ method: 'POST', body, headers: { 'content-type': CBOR } });

describe('POST /v1/votes', () => {
  it('forwards the batch and passes on the storage node verdict', async () => {
    const node = new FixtureNode();
    const body = votes(3);
    const verdict = { accepted: 1, duplicates: 0, buffered: 1, rejected: [{ index: 2, type: 'bad-signature' }] };
    await node.reply('/v1/votes', { method: 'POST', type: 'application/json', body: JSON.stringify(verdict) });
    const res = await relay([node], '/v1/votes', post(body));
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.json()).toEqual(verdict);
    expect((await node.seen('/v1/votes', 'POST')).lastBodyHex).toBe(toHex(body));
  });

  it('answers 413 for 1,025 votes (within the byte limit) and for a body above 131,072 bytes', async () => {
    const node = new FixtureNode();
    const many = votes(1_025);
    expect(many.length).toBeLessThan(131_072);
    const res = await relay([node], '/v1/votes', post(many));
    expect(res.status).toBe(413);
    expect((await problemOf(res)).type).toBe('urn:leios:problem:too-large');
    const huge = await relay([node], '/v1/votes', post(new Uint8Array(131_073)));
    expect(huge.status).toBe(413);
    expect((await node.seen('/v1/votes', 'POST')).hits).toBe(0);
  });

  it('accepts exactly 1,024 votes', async () => {
    const node = new FixtureNode();
    const verdict = { accepted: 1_024, duplicates: 0, buffered: 0, rejected: [] };
    await node.reply('/v1/votes', { method: 'POST', type: 'application/json', body: JSON.stringify(verdict) });
    const res = await relay([node], '/v1/votes', post(votes(1_024)));
    expect(res.status).toBe(200);
  });

  it('answers 400 malformed-cbor for an empty batch, a non-array, a malformed vote or trailing bytes', async () => {
    const node = new FixtureNode();
    const cases = [
      new CborWriter().array(0).finish(),
      new CborWriter().uint(3).finish(),
      new CborWriter().array(1).uint(3).finish(),
      new CborWriter().array(1).array(3).bytes(randomBytes(32)).uint(70_000).bytes(randomBytes(48)).finish(), // voter_id ≥ 65536
      new CborWriter().array(1).array(3).bytes(randomBytes(32)).uint(1).bytes(randomBytes(47)).finish(), // short signature
      new Uint8Array([...votes(1), 0x01]),
    ];
    for (const body of cases) {
      const res = await relay([node], '/v1/votes', post(body));
      expect(res.status).toBe(400);
      expect((await problemOf(res)).type).toBe('urn:leios:problem:malformed-cbor');
    }
  });

  it('answers 415 for JSON bodies and 405 for GET', async () => {
    const res = await relay([], '/v1/votes', { method: 'POST', body: '[]', headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(415);
    expect((await relay([], '/v1/votes')).status).toBe(405);
  });

  it('skips a storage node whose verdict does not add up', async () => {
    const bad = new FixtureNode();
    await bad.reply('/v1/votes', { method: 'POST', type: 'application/json', body: JSON.stringify({ accepted: 5, duplicates: 0, buffered: 0, rejected: [] }) });
    const res = await relay([bad], '/v1/votes', post(votes(2)));
    expect(res.status).toBe(503);
  });

  it('checks verdict shape', () => {
    expect(parseVotesResult({ accepted: 0, duplicates: 0, buffered: 0, rejected: [{ index: 0, type: 'conflict' }] }, 1)).toBeDefined();
    expect(parseVotesResult({ accepted: 0, duplicates: 0, buffered: 0, rejected: [{ index: 1, type: 'conflict' }] }, 1)).toBeUndefined();
    expect(parseVotesResult({ accepted: 0, duplicates: 0, buffered: 0, rejected: [{ index: 0, type: 'nope' }] }, 1)).toBeUndefined();
  });
});
