/**
 * RFC 9457 problems of the storage node's HTTP API (PROTOCOL.md §12).
 *
 * Primer: edge relays forward `POST /v1/tx` and `POST /v1/votes` to storage nodes and pass a
 * storage node's problem on to their client unchanged, but only if it is a well-formed §12
 * problem: `type: urn:leios:problem:<kind>` with the status that kind must have and, for
 * `tx-invalid`, one of the §12 `rule` values. So every error here is an {@link ApiError} carrying
 * one {@link ApiProblem} whose status is a function of its kind alone ({@link PROBLEM_STATUS}),
 * and {@link problemResponse} is the only place that turns one into a response (with
 * `Content-Type: application/problem+json`, `Cache-Control: no-store`, and `Allow` /
 * `Retry-After` where the kind calls for them). Kind names and titles match the edge's.
 *
 * @module
 */
import type { TxRule } from '@leios/shared';

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
 * The §12 rule a ledger rule is reported under. The ledger (shared/src/ledger) names a few checks
 * more finely than §12's list; each belongs to one §5.2 rule of the list: an output below 1 breaks
 * the value rule, a repeated witness key the signature rule, a registration for a pool outside
 * genesis the key-registration (`bad-pop`) rule, and a tx already on the chain has spent inputs.
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
 * One problem the API can answer with. `detail` is for humans; what a client may act on is the
 * kind and the typed extension members.
 */
export type ApiProblem =
  | { kind: 'method-not-allowed'; detail: string; allow: readonly string[] }
  | { kind: 'unsupported-media-type'; detail: string }
  | { kind: 'too-large'; detail: string; limit: number }
  | { kind: 'bad-hash'; detail: string }
  | { kind: 'malformed-cbor'; detail: string }
  | { kind: 'bad-bitmap'; detail: string }
  | { kind: 'bad-epoch'; detail: string }
  | { kind: 'not-found'; detail: string }
  | { kind: 'txs-unavailable'; detail: string }
  | { kind: 'tx-invalid'; detail: string; rule: TxRule }
  | { kind: 'rate-limited'; detail: string; retryAfterS: number }
  | { kind: 'internal'; detail: string }
  | { kind: 'mempool-full'; detail: string; retryAfterS: number };

/** A problem kind. */
export type ProblemKind = ApiProblem['kind'];

/** HTTP status of each kind (§12 table). `bad-epoch` is a 400 for a `{e}` that is not a decimal epoch. */
export const PROBLEM_STATUS: { readonly [K in ProblemKind]: number } = {
  'method-not-allowed': 405,
  'unsupported-media-type': 415,
  'too-large': 413,
  'bad-hash': 400,
  'malformed-cbor': 400,
  'bad-bitmap': 400,
  'bad-epoch': 400,
  'not-found': 404,
  'txs-unavailable': 404,
  'tx-invalid': 422,
  'rate-limited': 429,
  internal: 500,
  'mempool-full': 503,
};

/** RFC 9457 `title`: the same for every occurrence of a kind (and the same text as the edge's). */
export const PROBLEM_TITLE: { readonly [K in ProblemKind]: string } = {
  'method-not-allowed': 'Method not allowed',
  'unsupported-media-type': 'Unsupported media type',
  'too-large': 'Request body too large',
  'bad-hash': 'Malformed hash',
  'malformed-cbor': 'Malformed CBOR',
  'bad-bitmap': 'Malformed tx bitmap',
  'bad-epoch': 'Malformed epoch number',
  'not-found': 'Not found',
  'txs-unavailable': 'Transactions unavailable',
  'tx-invalid': 'Transaction invalid',
  'rate-limited': 'Rate limited',
  internal: 'Internal error',
  'mempool-full': 'Mempool full',
};

/**
 * Thrown by route code; the app's error handler answers with {@link problemResponse}.
 *
 * @example
 * ```ts
 * throw new ApiError({ kind: 'not-found', detail: `no EB ${hex}` });
 * ```
 */
export class ApiError extends Error {
  constructor(readonly problem: ApiProblem) {
    super(`${problem.kind}: ${problem.detail}`);
    this.name = 'ApiError';
  }
  /** The HTTP status of the problem's kind. */
  get status(): number {
    return PROBLEM_STATUS[this.problem.kind];
  }
}

/**
 * The JSON body of a problem (RFC 9457 members plus the kind's extension members).
 *
 * @example
 * ```ts
 * problemBody({ kind: 'tx-invalid', rule: 'expired', detail: 'ttl 3 < slot 9' }).type // 'urn:leios:problem:tx-invalid'
 * ```
 */
export function problemBody(p: ApiProblem, instance?: string): Record<string, unknown> {
  const body: Record<string, unknown> = {
    type: `urn:leios:problem:${p.kind}`,
    title: PROBLEM_TITLE[p.kind],
    status: PROBLEM_STATUS[p.kind],
    detail: p.detail,
  };
  if (instance !== undefined) body.instance = instance;
  switch (p.kind) {
    case 'tx-invalid': {
      body.rule = problemRule(p.rule);
      // Keep the ledger's finer name when §12 reports it under a broader rule.
      if (body.rule !== p.rule) body.ledgerRule = p.rule;
      break;
    }
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
 * The response for a problem: `application/problem+json`, `Cache-Control: no-store`, plus `Allow`
 * (405) or `Retry-After` (429, 503 `mempool-full`).
 *
 * @example
 * ```ts
 * return problemResponse({ kind: 'bad-hash', detail: 'expected 64 lowercase hex characters' }, '/v1/eb/xyz');
 * ```
 */
export function problemResponse(p: ApiProblem, instance?: string): Response {
  const headers = new Headers({ 'content-type': 'application/problem+json', 'cache-control': 'no-store' });
  if (p.kind === 'method-not-allowed') headers.set('allow', p.allow.join(', '));
  if (p.kind === 'rate-limited' || p.kind === 'mempool-full') headers.set('retry-after', String(Math.max(1, Math.ceil(p.retryAfterS))));
  return new Response(JSON.stringify(problemBody(p, instance)), { status: PROBLEM_STATUS[p.kind], headers });
}
