/**
 * `POST /v1/tx`: submit one transaction (PROTOCOL.md §5.1, §5.6, §12).
 *
 * Primer: the edge checks what it can without ledger state, in §12 precedence: 415 unless
 * `application/cbor`, 413 above 65,536 bytes (while reading), 400 `malformed-cbor` unless the body
 * is one canonical tx of the ledger mode (shared/src/ledger codecs), 422 `tx-too-large` above
 * MAX_TX_SIZE. Then a storage node validates and admits it; its 202 `{"txId","txHash"}` is passed
 * on once both ids are checked against the ones computed here from the exact bytes sent (§2.1),
 * and its problem (e.g. 422 `tx-invalid` with `rule`) is passed on as is. An admitted tx also
 * enters the RelayHub's recent-tx buffer, from which the relay's peers pull it (tx-submission).
 *
 * @module
 */
import { DecodeError, type Hash32, toHex } from '@leios/shared';
import { decodeOpaqueTx, decodeTx } from '@leios/shared/ledger';
import { Hono } from 'hono';
import { readCborRequest } from '../../body/index';
import { type LedgerMode, LIMITS } from '../../config/index';
import { EdgeError } from '../../errors/index';
import { type AppEnv, deps, methodNotAllowed, POST_ONLY } from '../../http/index';
import { rateLimit } from '../../ratelimit/index';
import { describeFailures } from '../../upstream/index';
import { judgeForwarded, unwrapForwarded } from '../upstream-json';

/** What a storage node may answer about a tx itself (passed on); anything else tries the next node. */
const TX_VERDICTS = ['tx-invalid', 'mempool-full', 'malformed-cbor', 'too-large'] as const;

/** The §12 202 body. */
export interface TxAccepted {
  txId: string;
  txHash: string;
}

/**
 * Decode `bytes` as one tx of ledger mode `mode` with the shared codecs (§5.1, §5.6), returning
 * its ids, or the problem: 400 `malformed-cbor` for anything that is not one canonical tx of that
 * shape, then 422 `tx-too-large` above MAX_TX_SIZE. The shape is checked with the size cap lifted
 * to the body limit first, so a body both oversized and malformed is a 400 (§12 precedence).
 *
 * @example
 * ```ts
 * const { id, hash } = decodeSubmittedTx(body, 'utxo');
 * ```
 */
export function decodeSubmittedTx(bytes: Uint8Array, mode: LedgerMode): { id: Hash32; hash: Hash32 } {
  let tx: { id: Hash32; hash: Hash32 };
  try {
    tx = mode === 'opaque' ? decodeOpaqueTx(bytes, { maxTxSize: LIMITS.txBody }) : decodeTx(bytes, { maxTxSize: LIMITS.txBody });
  } catch (e) {
    if (e instanceof DecodeError) throw new EdgeError({ kind: 'malformed-cbor', detail: `not one ${mode} tx: ${e.message}` });
    throw e;
  }
  if (bytes.length > LIMITS.maxTxSize) {
    throw new EdgeError({ kind: 'tx-invalid', rule: 'tx-too-large', detail: `tx of ${bytes.length} bytes above MAX_TX_SIZE ${LIMITS.maxTxSize}` });
  }
  return tx;
}

/**
 * The tx route, mounted at `/v1/tx`.
 *
 * @example
 * ```ts
 * app.route('/v1/tx', txRoutes);
 * ```
 */
export const txRoutes = new Hono<AppEnv>()
  .post('/', rateLimit('POST_LIMITER'), async (c) => {
    const d = deps(c);
    const bytes = await readCborRequest(c.req.raw, LIMITS.txBody);
    const tx = decodeSubmittedTx(bytes, d.config.ledgerMode);
    const txId = toHex(tx.id);
    const txHash = toHex(tx.hash);
    const out = await d.upstream.request(
      { method: 'POST', path: '/v1/tx', body: bytes, contentType: 'application/cbor', maxBytes: LIMITS.maxJsonReply },
      judgeForwarded<TxAccepted>(202, (json) => {
        const o = json as Partial<TxAccepted> | undefined;
        // The storage node must name the very tx we sent (§2.1 ids of the received bytes).
        if (o === undefined || o === null || o.txId !== txId || o.txHash !== txHash) return undefined;
        return { txId, txHash };
      }, TX_VERDICTS),
    );
    if (!out.ok) throw new EdgeError({ kind: 'upstream-unavailable', detail: `no storage node took the tx: ${describeFailures(out.failures)}` });
    const accepted = unwrapForwarded(out.value);
    // Admitted by a storage node: into the hub's recent-tx buffer, so peers pull it (tx-submission).
    await d.hub().submitTx(bytes);
    return c.json(accepted, 202, { 'cache-control': 'no-store' });
  })
  .all('/', methodNotAllowed(POST_ONLY));
