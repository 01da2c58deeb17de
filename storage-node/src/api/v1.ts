/**
 * The §12 read and submit routes of the storage node (`/v1/...`), which edge relays use as their
 * upstream.
 *
 * Primer: each handler checks its request in the §12 precedence order — 405 (registered as a
 * catch-all after the real methods, so it wins over everything), 415 (media type, before any
 * byte is read), 413 (body limit, enforced while reading), 400 (path hash, CBOR shape, bitmap
 * rules), 404 (unknown object), 422 (ledger verdict) — so when several things are wrong the
 * client gets the first of that list. Bytes come from the backend's stores and are served exactly
 * as stored (§1.3); immutable content carries `ETag: "<hash>"` and a one-year immutable
 * `Cache-Control` so the edge's Cache API and browsers can keep it.
 *
 * @module
 */
import { CborReader, CborWriter, DecodeError, fromHex, type Hash32, toHex } from '@leios/shared';
import { decodeTxBitmap, indicesFromBitmap } from '@leios/shared/wire';
import { type Context, Hono } from 'hono';
import type { NodeMetrics } from '../obs/index';
import type { NodeApiBackend } from './backend';
import { readCborBody } from './body';
import { ApiError, txInvalidProblem } from './problem';

/** Request body limits of §12, in bytes, the vote count cap and MAX_REPLY_TXS (§10.3, §15). */
export interface V1Limits {
  txBody: number;
  votesBody: number;
  maxVotes: number;
  bitmapBody: number;
  maxReplyTxs: number;
}

/** §12 limits: `POST /v1/tx` 65,536 B; `POST /v1/votes` 131,072 B or 1,024 votes; bitmap 16,384 B; 4,096 txs per reply. */
export const V1_LIMITS: V1Limits = Object.freeze({
  txBody: 65_536,
  votesBody: 131_072,
  maxVotes: 1024,
  bitmapBody: 16_384,
  maxReplyTxs: 4096,
});

/** `Cache-Control` of content addressed by its hash (§12). */
export const IMMUTABLE = 'public, max-age=31536000, immutable';

const GET = ['GET', 'HEAD'] as const;
const POST = ['POST'] as const;

function methodNotAllowed(allow: readonly string[]) {
  return (c: Context): never => {
    throw new ApiError({ kind: 'method-not-allowed', detail: `${c.req.method} is not allowed on ${c.req.path}`, allow });
  };
}

/**
 * A `{hash}` path segment: exactly 64 lowercase hex characters (§12), else 400 `bad-hash`.
 *
 * @example
 * ```ts
 * parseHashParam('ab'.repeat(32)) // Hash32
 * ```
 */
export function parseHashParam(s: string | undefined): Hash32 {
  if (s === undefined || !/^[0-9a-f]{64}$/.test(s)) {
    throw new ApiError({ kind: 'bad-hash', detail: 'the path hash must be 64 lowercase hex characters' });
  }
  return fromHex(s) as Hash32;
}

function cbor(c: Context, bytes: Uint8Array, status: 200 = 200, headers: Record<string, string> = {}): Response {
  // Copy into a fresh ArrayBuffer-backed view: stored bytes may be a view into a larger buffer.
  return c.body(bytes.slice(), status, { 'content-type': 'application/cbor', ...headers });
}

/** Whether an `If-None-Match` header matches the strong ETag `"<hex>"`. */
function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  return ifNoneMatch
    .split(',')
    .map((t) => t.trim().replace(/^W\//, ''))
    .some((t) => t === '*' || t === etag);
}

/** Serve immutable bytes addressed by `hex`, answering a matching conditional request with 304. */
function immutable(c: Context, hex: string, bytes: Uint8Array): Response {
  const etag = `"${hex}"`;
  if (etagMatches(c.req.header('if-none-match'), etag)) {
    return c.body(null, 304, { etag, 'cache-control': IMMUTABLE });
  }
  return cbor(c, bytes, 200, { etag, 'cache-control': IMMUTABLE });
}

/** `[+ vote]` → the exact bytes of each vote, each checked against `[hash32, uint .lt 65536, bls_sig]`. */
function decodeVotes(bytes: Uint8Array, maxVotes: number): Uint8Array[] {
  const r = new CborReader(bytes);
  let n: number;
  try {
    // The count is known from the head: more than the cap is 413, which outranks any 400 (even a
    // body too short for the count it declares), so the cap is checked before anything else.
    n = r.readArray('votes', { max: maxVotes });
  } catch (e) {
    if (e instanceof DecodeError && e.reason === 'limit') {
      throw new ApiError({ kind: 'too-large', detail: `more than ${maxVotes} votes (${e.detail})`, limit: maxVotes });
    }
    if (e instanceof DecodeError) throw new ApiError({ kind: 'malformed-cbor', detail: e.message });
    throw e;
  }
  try {
    if (n === 0) throw new DecodeError('votes', 'limit', 'at least one vote is required', 0);
    const votes: Uint8Array[] = [];
    for (let i = 0; i < n; i++) {
      const path = `votes[${i}]`;
      const raw = r.readRaw(path);
      const v = new CborReader(raw);
      v.readArray(path, { len: 3 });
      v.readBytes(`${path}.announcing_rb_hash`, { len: 32 });
      v.readUint(`${path}.voter_id`, 65_535);
      v.readBytes(`${path}.signature`, { len: 48 });
      v.done(path);
      votes.push(raw);
    }
    r.done('votes');
    return votes;
  } catch (e) {
    if (e instanceof DecodeError) throw new ApiError({ kind: 'malformed-cbor', detail: e.message });
    throw e;
  }
}

/** One canonical CBOR item, nothing after it (the tx's shape for the ledger mode is the backend's check). */
function checkSingleItem(bytes: Uint8Array, path: string): void {
  try {
    const r = new CborReader(bytes);
    r.skip(path);
    r.done(path);
  } catch (e) {
    if (e instanceof DecodeError) throw new ApiError({ kind: 'malformed-cbor', detail: e.message });
    throw e;
  }
}

/** What the /v1 routes need. */
export interface V1Deps {
  backend: NodeApiBackend;
  metrics?: NodeMetrics;
  limits?: Partial<V1Limits>;
}

/**
 * The `/v1` routes of §12 (without `/v1/ws`, which is the relay tier's).
 *
 * @example
 * ```ts
 * app.route('/v1', v1Routes({ backend }));
 * ```
 */
export function v1Routes(deps: V1Deps): Hono {
  const { backend, metrics } = deps;
  const limits: V1Limits = { ...V1_LIMITS, ...deps.limits };
  const app = new Hono();

  app.get('/eb/:hash', async (c) => {
    const hash = parseHashParam(c.req.param('hash'));
    const bytes = await backend.getEbBytes(hash);
    if (bytes === null) throw new ApiError({ kind: 'not-found', detail: `no EB ${toHex(hash)}` });
    return immutable(c, toHex(hash), bytes);
  });
  app.all('/eb/:hash', methodNotAllowed(GET));

  app.post('/eb/:hash/txs', async (c) => {
    const body = await readCborBody(c.req.raw, limits.bitmapBody);
    const hash = parseHashParam(c.req.param('hash'));
    let indices: number[];
    try {
      indices = indicesFromBitmap(decodeTxBitmap(body, limits.maxReplyTxs));
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      // §10.3 rules (entry count, selection cap, key order, zero words, emptiness, key range) are
      // bad-bitmap; bytes that are not canonical CBOR of the bitmap's shape are malformed-cbor.
      const rule = e.reason === 'limit' || e.reason === 'key-order' || e.reason === 'value';
      throw new ApiError({ kind: rule ? 'bad-bitmap' : 'malformed-cbor', detail: `tx bitmap: ${e.message}` });
    }
    const out = await backend.getEbTxs(hash, { bitmap: body, indices });
    if (!out.ok) throw new ApiError({ kind: out.kind, detail: out.detail });
    if (out.txs.length !== indices.length) {
      throw new Error(`backend returned ${out.txs.length} txs for ${indices.length} selected indices`);
    }
    const w = new CborWriter(out.txs.reduce((a, t) => a + t.length, 16));
    w.array(out.txs.length);
    for (const tx of out.txs) w.raw(tx);
    return cbor(c, w.finish());
  });
  app.all('/eb/:hash/txs', methodNotAllowed(POST));

  app.get('/rb/:hash', async (c) => {
    const hash = parseHashParam(c.req.param('hash'));
    const bytes = await backend.getRbBlock(hash);
    if (bytes === null) throw new ApiError({ kind: 'not-found', detail: `no RB ${toHex(hash)}` });
    return immutable(c, toHex(hash), bytes);
  });
  app.all('/rb/:hash', methodNotAllowed(GET));

  app.get('/tip', async (c) => {
    const t = await backend.tip();
    c.header('cache-control', 'public, max-age=1');
    return c.json({ slot: t.slot, blockNumber: t.blockNumber, hash: t.hash === null ? null : toHex(t.hash), epoch: t.epoch });
  });
  app.all('/tip', methodNotAllowed(GET));

  app.get('/epoch/:e/pools', async (c) => {
    const raw = c.req.param('e');
    if (!/^(0|[1-9][0-9]{0,14})$/.test(raw)) {
      throw new ApiError({ kind: 'bad-epoch', detail: 'the epoch must be a decimal number without leading zeros' });
    }
    const e = Number(raw);
    const bytes = await backend.epochPools(e);
    if (bytes === null) throw new ApiError({ kind: 'not-found', detail: `the nonce of epoch ${e} is not fixed yet` });
    // A past epoch can no longer change; the current and next one may still (§12).
    const cache = e < backend.currentEpoch() ? IMMUTABLE : 'public, max-age=60';
    return cbor(c, bytes, 200, { 'cache-control': cache });
  });
  app.all('/epoch/:e/pools', methodNotAllowed(GET));

  app.post('/tx', async (c) => {
    const body = await readCborBody(c.req.raw, limits.txBody);
    checkSingleItem(body, 'tx');
    const out = await backend.submitTx(body);
    if (!out.ok) {
      if (out.kind === 'tx-invalid') throw new ApiError(txInvalidProblem(out.rule, out.detail));
      if (out.kind === 'mempool-full') throw new ApiError({ kind: 'mempool-full', retryAfterS: out.retryAfterS, detail: out.detail });
      throw new ApiError({ kind: 'malformed-cbor', detail: out.detail });
    }
    c.header('cache-control', 'no-store');
    return c.json({ txId: toHex(out.txId), txHash: toHex(out.txHash) }, 202);
  });
  app.all('/tx', methodNotAllowed(POST));

  app.post('/votes', async (c) => {
    const body = await readCborBody(c.req.raw, limits.votesBody);
    const votes = decodeVotes(body, limits.maxVotes);
    metrics?.inc('leios_votes_received_total', { source: 'http' }, votes.length);
    const out = await backend.submitVotes(votes);
    c.header('cache-control', 'no-store');
    return c.json({ accepted: out.accepted, duplicates: out.duplicates, buffered: out.buffered, rejected: out.rejected });
  });
  app.all('/votes', methodNotAllowed(POST));

  return app;
}
