/**
 * The HTTP surface both tiers share (PROTOCOL.md §12, RFC 9457): the problem catalogue, the
 * problem+json responses, and bounded reading of request and upstream bodies.
 *
 * Primer: the storage nodes' API and the edge relays answer §12 with the same problem kinds, and
 * a relay passes a storage node's verdict (e.g. 422 `tx-invalid`) to its client unchanged only if
 * it is a well-formed §12 problem. Keeping one catalogue here makes that agreement a type, not a
 * convention two files must keep in step. Every failure is a {@link Problem} whose `kind` is
 * stable: it becomes `type: urn:leios:problem:<kind>` in an `application/problem+json` body
 * served with `Cache-Control: no-store`; the HTTP status is a function of the kind alone
 * ({@link PROBLEM_STATUS}); when several failures apply to one request the §12 order 405, 415,
 * 413, 400, 404, 422 decides ({@link mostPrecedent}).
 *
 * Kinds beyond the §12 table: `bad-epoch` (400, `{e}` of `/v1/epoch/{e}/pools` is not a decimal
 * epoch), and three of the relay's own: `upgrade-required` (426, `GET /v1/ws` without a
 * WebSocket upgrade), `bad-subprotocol` (400, upgrade without the `leios-mux.1` subprotocol of
 * §8.1) and `upstream-unavailable` (503, no storage node answered).
 *
 * Bodies: `await request.arrayBuffer()` buffers whatever a client (or a misbehaving upstream)
 * sends. {@link readBounded} refuses an over-long `Content-Length` before reading and, for
 * chunked or lying senders, counts bytes while streaming and cancels the stream the moment the
 * limit is passed, so at most `limit` bytes plus one chunk are ever held (DESIGN.md §5).
 *
 * Each package keeps its own error class (its one error union) and hands a factory to the helpers
 * that throw; this module has no Node-only API and runs in workerd.
 *
 * @module
 */
import type { TxRule } from '../errors/index';

/** Rules of a `tx-invalid` problem (§12, extension member `rule`). */
export const TX_INVALID_RULES = [
  'input-missing',
  'duplicate-input',
  'witness-missing',
  'bad-signature',
  'value-not-conserved',
  'fee-too-small',
  'expired',
  'tx-too-large',
  'bad-pop',
] as const;
/** One §12 `tx-invalid` rule. */
export type TxInvalidRule = (typeof TX_INVALID_RULES)[number];

/**
 * The §12 rule a ledger rule is reported under. The ledger names a few checks more finely than
 * §12's list; each belongs to one §5.2 rule of the list: an output below 1 breaks the value rule,
 * a repeated witness key the signature rule, a registration for a pool outside genesis the
 * key-registration (`bad-pop`) rule, and a tx already on the chain has spent inputs.
 *
 * @example
 * ```ts
 * problemRule('duplicate-witness') // 'bad-signature'
 * ```
 */
export function problemRule(rule: TxRule): TxInvalidRule {
  switch (rule) {
    case 'output-too-small':
      return 'value-not-conserved';
    case 'duplicate-witness':
      return 'bad-signature';
    case 'unknown-pool':
      return 'bad-pop';
    case 'already-applied':
      return 'input-missing';
    default:
      return rule;
  }
}

/**
 * One problem either tier can report. `detail` is free text for humans; everything a client may
 * act on is in the kind and the typed extension members. A `tx-invalid` may carry the ledger's
 * finer rule name (`ledgerRule`) when §12 reports it under a broader one.
 */
export type Problem =
  | { kind: 'method-not-allowed'; detail: string; allow: readonly string[] }
  | { kind: 'unsupported-media-type'; detail: string }
  | { kind: 'too-large'; detail: string; limit: number }
  | { kind: 'bad-hash'; detail: string }
  | { kind: 'malformed-cbor'; detail: string }
  | { kind: 'bad-bitmap'; detail: string }
  | { kind: 'bad-epoch'; detail: string }
  | { kind: 'bad-subprotocol'; detail: string }
  | { kind: 'not-found'; detail: string }
  | { kind: 'txs-unavailable'; detail: string }
  | { kind: 'upgrade-required'; detail: string }
  | { kind: 'tx-invalid'; detail: string; rule: TxInvalidRule; ledgerRule?: TxRule }
  | { kind: 'rate-limited'; detail: string; retryAfterS: number }
  | { kind: 'internal'; detail: string }
  | { kind: 'upstream-unavailable'; detail: string }
  | { kind: 'mempool-full'; detail: string; retryAfterS: number };

/** A problem kind. */
export type ProblemKind = Problem['kind'];

/** HTTP status of each kind (§12 table, plus the kinds named in the primer). */
export const PROBLEM_STATUS: { readonly [K in ProblemKind]: number } = {
  'method-not-allowed': 405,
  'unsupported-media-type': 415,
  'too-large': 413,
  'bad-hash': 400,
  'malformed-cbor': 400,
  'bad-bitmap': 400,
  'bad-epoch': 400,
  'bad-subprotocol': 400,
  'not-found': 404,
  'txs-unavailable': 404,
  'upgrade-required': 426,
  'tx-invalid': 422,
  'rate-limited': 429,
  internal: 500,
  'upstream-unavailable': 503,
  'mempool-full': 503,
};

/** Short human title of each kind (RFC 9457 `title`: the same for every occurrence of the kind). */
export const PROBLEM_TITLE: { readonly [K in ProblemKind]: string } = {
  'method-not-allowed': 'Method not allowed',
  'unsupported-media-type': 'Unsupported media type',
  'too-large': 'Request body too large',
  'bad-hash': 'Malformed hash',
  'malformed-cbor': 'Malformed CBOR',
  'bad-bitmap': 'Malformed tx bitmap',
  'bad-epoch': 'Malformed epoch number',
  'bad-subprotocol': 'WebSocket subprotocol leios-mux.1 required',
  'not-found': 'Not found',
  'txs-unavailable': 'Transactions unavailable',
  'upgrade-required': 'WebSocket upgrade required',
  'tx-invalid': 'Transaction invalid',
  'rate-limited': 'Rate limited',
  internal: 'Internal error',
  'upstream-unavailable': 'Storage node unavailable',
  'mempool-full': 'Mempool full',
};

/**
 * When several problems apply to one request, the first status of this list wins (§12); statuses
 * not listed rank after those listed.
 */
export const STATUS_PRECEDENCE: readonly number[] = [405, 415, 413, 400, 404, 422];

/**
 * Whether a string is one of the problem kinds.
 *
 * @example
 * ```ts
 * isProblemKind('not-found') // true
 * ```
 */
export function isProblemKind(s: string): s is ProblemKind {
  return Object.hasOwn(PROBLEM_STATUS, s);
}

/**
 * Of several problems found for one request, the one to report (§12 precedence).
 *
 * @example
 * ```ts
 * mostPrecedent([badHash, tooLarge]) // tooLarge (413 beats 400)
 * ```
 */
export function mostPrecedent<P extends Problem>(problems: readonly P[]): P | undefined {
  const rank = (p: Problem): number => {
    const i = STATUS_PRECEDENCE.indexOf(PROBLEM_STATUS[p.kind]);
    return i === -1 ? STATUS_PRECEDENCE.length : i;
  };
  let best: P | undefined;
  for (const p of problems) if (best === undefined || rank(p) < rank(best)) best = p;
  return best;
}

/**
 * The RFC 9457 body of a problem (standard members plus the kind's extension members).
 *
 * @example
 * ```ts
 * problemBody({ kind: 'tx-invalid', rule: 'expired', detail: 'ttl 3 < slot 9' }).type // 'urn:leios:problem:tx-invalid'
 * ```
 */
export function problemBody(p: Problem, instance?: string): Record<string, unknown> {
  const body: Record<string, unknown> = {
    type: `urn:leios:problem:${p.kind}`,
    title: PROBLEM_TITLE[p.kind],
    status: PROBLEM_STATUS[p.kind],
    detail: p.detail,
  };
  if (instance !== undefined) body.instance = instance;
  switch (p.kind) {
    case 'tx-invalid':
      body.rule = p.rule;
      if (p.ledgerRule !== undefined && p.ledgerRule !== p.rule) body.ledgerRule = p.ledgerRule;
      break;
    case 'too-large':
      body.limit = p.limit;
      break;
    case 'method-not-allowed':
      body.allow = p.allow;
      break;
  }
  return body;
}

/**
 * The HTTP response for a problem: `application/problem+json`, `Cache-Control: no-store`, plus
 * `Allow` (405) or `Retry-After` in whole seconds (429, 503 `mempool-full`).
 *
 * @example
 * ```ts
 * return problemResponse({ kind: 'not-found', detail: 'unknown EB' }, '/v1/eb/00…');
 * ```
 */
export function problemResponse(p: Problem, instance?: string): Response {
  const headers = new Headers({ 'content-type': 'application/problem+json', 'cache-control': 'no-store' });
  if (p.kind === 'method-not-allowed') headers.set('allow', p.allow.join(', '));
  if (p.kind === 'rate-limited' || p.kind === 'mempool-full') headers.set('retry-after', String(Math.max(1, Math.ceil(p.retryAfterS))));
  return new Response(JSON.stringify(problemBody(p, instance)), { status: PROBLEM_STATUS[p.kind], headers });
}

/**
 * Rebuild a problem from a peer's problem+json body, so an upstream verdict such as 422
 * `tx-invalid` reaches the client unchanged. Returns `undefined` when the body is not a
 * well-formed problem of a known kind with the status that kind must have (the caller then
 * treats the answer as an upstream failure, not as a verdict).
 *
 * @example
 * ```ts
 * problemFromJson(res.status, await res.json(), res.headers.get('retry-after'));
 * ```
 */
export function problemFromJson(status: number, json: unknown, retryAfter?: string | null): Problem | undefined {
  if (typeof json !== 'object' || json === null) return undefined;
  const o = json as Record<string, unknown>;
  if (typeof o.type !== 'string' || !o.type.startsWith('urn:leios:problem:')) return undefined;
  const kind = o.type.slice('urn:leios:problem:'.length);
  if (!isProblemKind(kind) || PROBLEM_STATUS[kind] !== status) return undefined;
  const detail = typeof o.detail === 'string' ? o.detail.slice(0, 1024) : '';
  switch (kind) {
    case 'tx-invalid': {
      const rule = o.rule;
      if (typeof rule !== 'string' || !(TX_INVALID_RULES as readonly string[]).includes(rule)) return undefined;
      return { kind, detail, rule: rule as TxInvalidRule };
    }
    case 'too-large':
      return { kind, detail, limit: typeof o.limit === 'number' ? o.limit : 0 };
    case 'method-not-allowed':
      return { kind, detail, allow: [] };
    case 'rate-limited':
    case 'mempool-full':
      return { kind, detail, retryAfterS: parseRetryAfter(retryAfter) };
    default:
      return { kind, detail };
  }
}

/** Delay-seconds form of `Retry-After`, clamped to 1..3600 s (1 when absent or unparsable). */
function parseRetryAfter(v: string | null | undefined): number {
  if (v == null || !/^[0-9]{1,6}$/.test(v)) return 1;
  return Math.min(3600, Math.max(1, Number(v)));
}

// ---------------------------------------------------------------------------------------------
// Bounded bodies

/** Thrown by {@link readBounded} when a body exceeds its limit. */
export class BodyTooLarge extends Error {
  constructor(
    readonly limit: number,
    readonly seen: number,
  ) {
    super(`body above ${limit} bytes (${seen}+ seen)`);
    this.name = 'BodyTooLarge';
  }
}

/** Cancel what is left of a body nobody will read (a failed cancel means it was closed already). */
async function discard(body: ReadableStream<Uint8Array> | null): Promise<void> {
  if (body !== null && !body.locked) await body.cancel().catch(() => undefined);
}

/**
 * Read a body stream into one array, failing with {@link BodyTooLarge} past `limit` bytes.
 * `declaredLength` (a `Content-Length` value) lets an over-long body fail before any read.
 *
 * @example
 * ```ts
 * const bytes = await readBounded(res.body, 512_064, res.headers.get('content-length'));
 * ```
 */
export async function readBounded(body: ReadableStream<Uint8Array> | null, limit: number, declaredLength?: string | null): Promise<Uint8Array> {
  if (declaredLength != null && /^[0-9]+$/.test(declaredLength) && Number(declaredLength) > limit) {
    await discard(body);
    throw new BodyTooLarge(limit, Number(declaredLength));
  }
  if (body === null) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      throw new BodyTooLarge(limit, total);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.byteLength;
  }
  return out;
}

/**
 * Whether a `Content-Type` value is `application/cbor` (parameters allowed, case-insensitive).
 *
 * @example
 * ```ts
 * isCbor('application/cbor; charset=binary') // true
 * ```
 */
export function isCbor(contentType: string | null | undefined): boolean {
  if (contentType == null) return false;
  return contentType.split(';', 1)[0]!.trim().toLowerCase() === 'application/cbor';
}

/**
 * The body of a CBOR POST, in §12 precedence: 415 `unsupported-media-type` unless
 * `application/cbor`, then 413 `too-large` above `limit` (enforced while reading). An empty body
 * is returned as an empty array; the route's decoder reports it as malformed CBOR (400). Problems
 * are thrown as `toError(problem)`, the calling package's own error class.
 *
 * @example
 * ```ts
 * const bytes = await readCborRequest(c.req.raw, 65_536, (p) => new EdgeError(p));
 * ```
 */
export async function readCborRequest(req: Request, limit: number, toError: (p: Problem) => Error): Promise<Uint8Array> {
  const contentType = req.headers.get('content-type');
  if (!isCbor(contentType)) {
    await discard(req.body);
    throw toError({ kind: 'unsupported-media-type', detail: `request bodies must be application/cbor, got ${contentType ?? 'none'}` });
  }
  try {
    return await readBounded(req.body, limit, req.headers.get('content-length'));
  } catch (e) {
    if (e instanceof BodyTooLarge) throw toError({ kind: 'too-large', detail: `request body above ${limit} bytes`, limit });
    throw e;
  }
}
