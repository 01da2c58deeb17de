/**
 * `POST /v1/eb/{hash}/txs`: the txs of an EB selected by a §10.3 tx bitmap (PROTOCOL.md §12).
 *
 * Primer: §12 order of checks: 415 unless `application/cbor`, 413 above 16,384 bytes, 400
 * `bad-hash`, 400 `malformed-cbor` / `bad-bitmap` for a bitmap that breaks §10.3 on its own
 * (shared/src/wire/leios-fetch decodes it), 404 `not-found` for an EB neither the relay nor its
 * storage nodes hold, 400 `bad-bitmap` for indices beyond the EB or a selection above
 * MAX_REPLY_BYTES of stated sizes, then the storage nodes are asked with the exact bitmap bytes.
 * Their reply `[* tx]` is only passed on (and cached, by EB hash and bitmap) if every tx hashes to
 * its reference and has its stated size (§4.3, §10.2); a storage node without the txs answers 404
 * `txs-unavailable`, which is passed on.
 *
 * The EB itself comes through the same verified read path as `GET /v1/eb/{hash}` (so it is cached
 * too), and is decoded with the strict shared EB codec.
 *
 * @module
 */
import { blake2b256, CborReader, DecodeError, toHex } from '@leios/shared';
import { checkClosureTx, decodeEb, type EbView } from '@leios/shared/protocol';
import { bitmapCount, checkBitmapForEb, DEFAULT_LIMITS, decodeTxBitmap, indicesFromBitmap, type TxBitmap } from '@leios/shared/wire';
import type { Context } from 'hono';
import { readCborRequest } from '../../body/index';
import { cacheKey, IMMUTABLE, lookup, store } from '../../cache/index';
import { LIMITS } from '../../config/index';
import { EdgeError, type EdgeProblem } from '../../errors/index';
import { type AppEnv, deps, parseHashParam } from '../../http/index';
import { describeFailures, type Verdict } from '../../upstream/index';
import { loadContent } from '../content';
import { EB_KIND } from './kind';

/** Reasons of a bitmap DecodeError that are §10.3 rule breaches rather than bad CBOR. */
const BITMAP_RULES = new Set(['limit', 'key-order', 'value']);

/**
 * Decode a request bitmap: 400 `bad-bitmap` for a §10.3 breach (more than 1,024 entries or
 * MAX_REPLY_TXS selected, keys not ascending, a zero word, empty), 400 `malformed-cbor` otherwise.
 *
 * @example
 * ```ts
 * const bitmap = parseBitmap(body);
 * ```
 */
export function parseBitmap(body: Uint8Array): TxBitmap {
  try {
    return decodeTxBitmap(body, DEFAULT_LIMITS.maxReplyTxs);
  } catch (e) {
    if (e instanceof DecodeError) {
      throw new EdgeError({ kind: BITMAP_RULES.has(e.reason) ? 'bad-bitmap' : 'malformed-cbor', detail: `tx bitmap: ${e.message}` });
    }
    throw e;
  }
}

/** Check a storage node's `[* tx]` reply against the EB references the bitmap selects. */
function judgeTxs(eb: EbView, selected: readonly number[]): (r: { status: number; body: Uint8Array; headers: Headers }) => Verdict<Uint8Array | EdgeProblem> {
  return (r) => {
    if (r.status === 404) {
      // A storage node that has the EB but not every selected tx says so; pass that on.
      const json = (() => {
        try {
          return JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(r.body)) as { type?: unknown; detail?: unknown };
        } catch {
          return undefined;
        }
      })();
      if (json?.type === 'urn:leios:problem:txs-unavailable') {
        return { ok: true, value: { kind: 'txs-unavailable', detail: typeof json.detail === 'string' ? json.detail.slice(0, 1024) : '' } };
      }
      return { ok: false, detail: 'status 404' };
    }
    if (r.status !== 200) return { ok: false, detail: `status ${r.status}` };
    try {
      const rd = new CborReader(r.body);
      rd.readArray('txs', { len: selected.length });
      for (let i = 0; i < selected.length; i++) {
        const idx = selected[i]!;
        const tx = rd.readRaw(`txs[${i}]`, LIMITS.maxTxSize);
        const check = checkClosureTx({ hash: eb.hashAt(idx), size: eb.sizeAt(idx) }, tx);
        if (check !== 'ok') return { ok: false, detail: `tx ${idx}: ${check}` };
      }
      rd.done('txs');
    } catch (e) {
      if (e instanceof DecodeError) return { ok: false, detail: `reply: ${e.message}` };
      throw e;
    }
    return { ok: true, value: r.body };
  };
}

/**
 * The handler of `POST /v1/eb/{hash}/txs`.
 *
 * @example
 * ```ts
 * app.post('/v1/eb/:hash/txs', ebTxs);
 * ```
 */
export async function ebTxs(c: Context<AppEnv>): Promise<Response> {
  const d = deps(c);
  const body = await readCborRequest(c.req.raw, LIMITS.ebTxsBody);
  const hash = parseHashParam(c.req.param('hash'));
  const bitmap = parseBitmap(body);
  const hex = toHex(hash);

  // Internal cache by (EB hash, exact bitmap bytes): the reply is as immutable as the EB.
  const key = cacheKey(c.req.url, `/v1/eb/${hex}/txs/${toHex(blake2b256(bitmap.bytes))}`);
  const hit = await lookup(key);
  if (hit !== undefined) return hit;

  const { response } = await loadContent(d, EB_KIND, hash, c.req.url);
  let eb: EbView;
  try {
    eb = decodeEb(new Uint8Array(await response.arrayBuffer()));
  } catch (e) {
    if (e instanceof DecodeError) throw new EdgeError({ kind: 'not-found', detail: `EB ${hex} is not a valid EB (${e.message})` });
    throw e;
  }
  try {
    checkBitmapForEb(bitmap, Array.from(eb.sizes), DEFAULT_LIMITS);
  } catch (e) {
    throw new EdgeError({ kind: 'bad-bitmap', detail: e instanceof Error ? e.message : String(e) });
  }
  const selected = indicesFromBitmap(bitmap);
  if (selected.length !== bitmapCount(bitmap)) throw new Error('bitmap index count mismatch');

  const out = await d.upstream.request(
    { method: 'POST', path: `/v1/eb/${hex}/txs`, body: bitmap.bytes, contentType: 'application/cbor', maxBytes: LIMITS.maxEbTxsReply },
    judgeTxs(eb, selected),
  );
  if (!out.ok) {
    if (out.failures.some((f) => f.status === 404)) {
      throw new EdgeError({ kind: 'txs-unavailable', detail: `no storage node holds the selected txs of EB ${hex}` });
    }
    throw new EdgeError({ kind: 'upstream-unavailable', detail: `no storage node served txs of EB ${hex}: ${describeFailures(out.failures)}` });
  }
  if (!(out.value instanceof Uint8Array)) throw new EdgeError(out.value);
  const res = new Response(out.value, { status: 200, headers: { 'content-type': 'application/cbor', 'cache-control': IMMUTABLE } });
  return store(key, res, 'upstream');
}
