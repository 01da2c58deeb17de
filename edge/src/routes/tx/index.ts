/**
 * `POST /v1/tx`: submit one transaction (PROTOCOL.md §5.1, §5.6, §12).
 *
 * Primer: the edge checks what it can without ledger state, in §12 precedence: 415 unless
 * `application/cbor`, 413 above 65,536 bytes (while reading), 400 `malformed-cbor` unless the body
 * is one canonical CBOR item of the ledger mode's tx shape (`[body, witnesses]` in `utxo`, a byte
 * string in `opaque`), 422 `tx-too-large` above MAX_TX_SIZE. Then a storage node validates and
 * admits it; its 202 `{"txId","txHash"}` is passed on once `txHash` is checked to be `H256` of the
 * exact bytes sent (§2.1), and its problem (e.g. 422 `tx-invalid` with `rule`) is passed on as is.
 *
 * @module
 */
import { blake2b256, CborReader, DecodeError, toHex } from '@leios/shared';
import { Hono } from 'hono';
import { readCborRequest } from '../../body/index';
import { type LedgerMode, LIMITS } from '../../config/index';
import { EdgeError } from '../../errors/index';
import { type AppEnv, deps, methodNotAllowed, POST_ONLY } from '../../http/index';
import { describeFailures } from '../../upstream/index';
import { judgeForwarded, unwrapForwarded } from '../upstream-json';

/** The §12 202 body. */
export interface TxAccepted {
  txId: string;
  txHash: string;
}

/**
 * Check that `bytes` are one canonical CBOR item of the tx shape for `mode`; `null` when good.
 *
 * @example
 * ```ts
 * checkTxShape(bytes, 'utxo') // null, or why not
 * ```
 */
export function checkTxShape(bytes: Uint8Array, mode: LedgerMode): string | null {
  try {
    const r = new CborReader(bytes);
    if (mode === 'opaque') {
      r.readBytes('tx', { min: 1 });
    } else {
      r.readArray('tx', { len: 2 });
      // tx_body = [inputs, outputs, fee, ttl_slot, ? key_regs] (§5.1); the ledger checks the fields.
      const fields = r.readArray('tx.body', { min: 4, max: 5 });
      for (let i = 0; i < fields; i++) r.skip(`tx.body[${i}]`);
      if (r.peekMajor('tx.witnesses') !== 4) r.fail('tx.witnesses', 'type', 'expected an array');
      r.skip('tx.witnesses');
    }
    r.done('tx');
    return null;
  } catch (e) {
    if (e instanceof DecodeError) return e.message;
    throw e;
  }
}

const isHex64 = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);

/**
 * The tx route, mounted at `/v1/tx`.
 *
 * @example
 * ```ts
 * app.route('/v1/tx', txRoutes);
 * ```
 */
export const txRoutes = new Hono<AppEnv>()
  .post('/', async (c) => {
    const d = deps(c);
    const bytes = await readCborRequest(c.req.raw, LIMITS.txBody);
    const bad = checkTxShape(bytes, d.config.ledgerMode);
    if (bad !== null) throw new EdgeError({ kind: 'malformed-cbor', detail: `not one ${d.config.ledgerMode} tx: ${bad}` });
    if (bytes.length > LIMITS.maxTxSize) {
      throw new EdgeError({ kind: 'tx-invalid', rule: 'tx-too-large', detail: `tx of ${bytes.length} bytes above MAX_TX_SIZE ${LIMITS.maxTxSize}` });
    }
    const txHash = toHex(blake2b256(bytes));
    const out = await d.upstream.request(
      { method: 'POST', path: '/v1/tx', body: bytes, contentType: 'application/cbor', maxBytes: LIMITS.maxJsonReply },
      judgeForwarded<TxAccepted>(202, (json) => {
        const o = json as Partial<TxAccepted> | undefined;
        // The storage node must name the very bytes we sent.
        if (o === undefined || o === null || !isHex64(o.txId) || o.txHash !== txHash) return undefined;
        return { txId: o.txId, txHash: o.txHash };
      }),
    );
    if (!out.ok) throw new EdgeError({ kind: 'upstream-unavailable', detail: `no storage node took the tx: ${describeFailures(out.failures)}` });
    return c.json(unwrapForwarded(out.value), 202, { 'cache-control': 'no-store' });
  })
  .all('/', methodNotAllowed(POST_ONLY));
