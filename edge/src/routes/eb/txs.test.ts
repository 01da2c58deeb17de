import { blake2b256, CborWriter, toHex } from '@leios/shared';
import { encodeEb } from '@leios/shared/protocol';
import { bitmapFromIndices } from '@leios/shared/wire';
import { describe, expect, it } from 'vitest';
import { FixtureNode, freshOrigin, problemOf, randomBytes, relay } from '../../testing/index';

const CBOR = 'application/cbor';

/** An EB over `n` opaque-shaped txs (CBOR byte strings), with the txs themselves. */
function ebWithTxs(n: number) {
  const txs = Array.from({ length: n }, (_, i) => new CborWriter().bytes(randomBytes(40 + i)).finish());
  const bytes = encodeEb(txs.map((t) => ({ hash: blake2b256(t), size: t.length })));
  return { txs, bytes, hex: toHex(blake2b256(bytes)) };
}

function txsReply(txs: Uint8Array[]): Uint8Array {
  const w = new CborWriter().array(txs.length);
  for (const t of txs) w.raw(t);
  return w.finish();
}

const post = (body: Uint8Array, type = CBOR): RequestInit => ({ method: 'POST', body, headers: { 'content-type': type } });

async function storageNodeWith(eb: ReturnType<typeof ebWithTxs>, selected: number[]): Promise<FixtureNode> {
  const node = new FixtureNode();
  await node.reply(`/v1/eb/${eb.hex}`, { body: eb.bytes, type: CBOR });
  await node.reply(`/v1/eb/${eb.hex}/txs`, { method: 'POST', body: txsReply(selected.map((i) => eb.txs[i]!)), type: CBOR });
  return node;
}

describe('POST /v1/eb/{hash}/txs', () => {
  it('returns the selected txs after checking them against the EB, then serves the same request from the cache', async () => {
    const eb = ebWithTxs(70);
    const selected = [0, 2, 69];
    const node = await storageNodeWith(eb, selected);
    const bitmap = bitmapFromIndices(selected);
    const o = freshOrigin();
    const res = await relay([node], `${o}/v1/eb/${eb.hex}/txs`, post(bitmap.bytes));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(CBOR);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(txsReply(selected.map((i) => eb.txs[i]!)));
    // The storage node got the exact bitmap bytes (indefinite-length, as sent).
    expect((await node.seen(`/v1/eb/${eb.hex}/txs`, 'POST')).lastBodyHex).toBe(toHex(bitmap.bytes));

    const again = await relay([node], `${o}/v1/eb/${eb.hex}/txs`, post(bitmap.bytes));
    expect(again.status).toBe(200);
    expect(again.headers.get('x-leios-source')).toBe('cache');
    expect((await node.seen(`/v1/eb/${eb.hex}/txs`, 'POST')).hits).toBe(1);
    expect((await node.seen(`/v1/eb/${eb.hex}`)).hits).toBe(1);
  });

  it('accepts a definite-length bitmap ({1: 1} selects tx 127)', async () => {
    const eb = ebWithTxs(128);
    const node = await storageNodeWith(eb, [127]);
    const res = await relay([node], `/v1/eb/${eb.hex}/txs`, post(new Uint8Array([0xa1, 0x01, 0x01])));
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(txsReply([eb.txs[127]!]));
  });

  it('skips a storage node that serves a wrong tx, and answers 503 when none serves the right ones', async () => {
    const eb = ebWithTxs(3);
    const liar = new FixtureNode();
    await liar.reply(`/v1/eb/${eb.hex}`, { body: eb.bytes, type: CBOR });
    await liar.reply(`/v1/eb/${eb.hex}/txs`, { method: 'POST', body: txsReply([eb.txs[1]!]), type: CBOR });
    const res = await relay([liar], `/v1/eb/${eb.hex}/txs`, post(bitmapFromIndices([0]).bytes));
    expect(res.status).toBe(503);
    expect((await problemOf(res)).detail).toContain('hash-mismatch');

    const honest = await storageNodeWith(eb, [0]);
    const ok = await relay([liar, honest], `/v1/eb/${eb.hex}/txs`, post(bitmapFromIndices([0]).bytes));
    expect(ok.status).toBe(200);
  });

  it('answers 400 bad-bitmap for an index beyond the EB, without asking for txs', async () => {
    const eb = ebWithTxs(5);
    const node = await storageNodeWith(eb, [0]);
    const res = await relay([node], `/v1/eb/${eb.hex}/txs`, post(bitmapFromIndices([5]).bytes));
    expect(res.status).toBe(400);
    expect((await problemOf(res)).type).toBe('urn:leios:problem:bad-bitmap');
    expect((await node.seen(`/v1/eb/${eb.hex}/txs`, 'POST')).hits).toBe(0);
  });

  it.each([
    ['an empty map', [0xa0], 'bad-bitmap'],
    ['descending keys', [0xa2, 0x01, 0x01, 0x00, 0x01], 'bad-bitmap'],
    ['a zero word', [0xa1, 0x00, 0x00], 'bad-bitmap'],
    ['a non-minimal key head', [0xa1, 0x18, 0x01, 0x01], 'malformed-cbor'],
    ['an array', [0x81, 0x00], 'malformed-cbor'],
    ['trailing bytes', [0xa1, 0x00, 0x01, 0x00], 'malformed-cbor'],
  ])('answers 400 for %s', async (_what, bytes, kind) => {
    const node = new FixtureNode();
    const res = await relay([node], `/v1/eb/${'ab'.repeat(32)}/txs`, post(new Uint8Array(bytes)));
    expect(res.status).toBe(400);
    expect((await problemOf(res)).type).toBe(`urn:leios:problem:${kind}`);
  });

  it('answers 404 not-found for an unknown EB and passes on txs-unavailable', async () => {
    const eb = ebWithTxs(2);
    const none = new FixtureNode();
    const unknown = await relay([none], `/v1/eb/${eb.hex}/txs`, post(bitmapFromIndices([0]).bytes));
    expect(unknown.status).toBe(404);
    expect((await problemOf(unknown)).type).toBe('urn:leios:problem:not-found');

    const partial = new FixtureNode();
    await partial.reply(`/v1/eb/${eb.hex}`, { body: eb.bytes, type: CBOR });
    const problem = { type: 'urn:leios:problem:txs-unavailable', title: 'Transactions unavailable', status: 404, detail: 'tx 1 not held' };
    await partial.reply(`/v1/eb/${eb.hex}/txs`, { method: 'POST', status: 404, type: 'application/problem+json', body: JSON.stringify(problem) });
    const res = await relay([partial], `/v1/eb/${eb.hex}/txs`, post(bitmapFromIndices([1]).bytes));
    expect(res.status).toBe(404);
    const p = await problemOf(res);
    expect(p.type).toBe('urn:leios:problem:txs-unavailable');
    expect(p.detail).toBe('tx 1 not held');
  });

  it('applies §12 precedence: 405, then 415, then 413, then 400', async () => {
    const big = new Uint8Array(16_385);
    const get = await relay([], '/v1/eb/zz/txs', { method: 'GET' });
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    expect((await relay([], '/v1/eb/zz/txs', post(big, 'application/json'))).status).toBe(415);
    expect((await relay([], '/v1/eb/zz/txs', post(big))).status).toBe(413);
    const bad = await relay([], '/v1/eb/zz/txs', post(bitmapFromIndices([0]).bytes));
    expect(bad.status).toBe(400);
    expect((await problemOf(bad)).type).toBe('urn:leios:problem:bad-hash');
  });
});
