/**
 * The edge relay's single error union and its HTTP mapping (PROTOCOL.md §12, RFC 9457).
 *
 * Primer: every failure a route reports is an {@link EdgeError} carrying one {@link EdgeProblem}.
 * The problem's `kind` is stable: it becomes `type: urn:leios:problem:<kind>` in an
 * `application/problem+json` body served with `Cache-Control: no-store`, so clients (and the
 * storage nodes' own API, which answers with the same kinds) can switch on it. The HTTP status is
 * a function of the kind alone ({@link PROBLEM_STATUS}); when several failures apply to one
 * request the route checks them in the §12 order 405, 415, 413, 400, 404, 422 so the first one
 * found is the one that wins ({@link STATUS_PRECEDENCE}).
 *
 * Three kinds are this edge's additions for the WebSocket endpoint and the epoch path, which the
 * §12 table does not cover: `upgrade-required` (426, `GET /v1/ws` without a WebSocket upgrade),
 * `bad-subprotocol` (400, upgrade without the `leios-mux.1` subprotocol of §8.1) and `bad-epoch`
 * (400, `{e}` in `/v1/epoch/{e}/pools` is not a decimal epoch number).
 *
 * @module
 */

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
export type TxInvalidRule = (typeof TX_INVALID_RULES)[number];

/**
 * One problem the edge can report. `detail` is free text for humans; everything a client may act
 * on is in the kind and the typed extension members.
 */
export type EdgeProblem =
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
  | { kind: 'tx-invalid'; detail: string; rule: TxInvalidRule }
  | { kind: 'rate-limited'; detail: string; retryAfterS: number }
  | { kind: 'internal'; detail: string }
  | { kind: 'upstream-unavailable'; detail: string }
  | { kind: 'mempool-full'; detail: string; retryAfterS: number };

export type ProblemKind = EdgeProblem['kind'];

/** HTTP status of each kind (§12 table). */
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

/** Short human title of each kind (RFC 9457 `title`: same for every occurrence of the kind). */
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

/** Whether a string is one of the problem kinds. */
export function isProblemKind(s: string): s is ProblemKind {
  return Object.hasOwn(PROBLEM_STATUS, s);
}

/**
 * The one error class of the edge: throw it anywhere below a route; the app's error handler turns
 * it into the problem response.
 *
 * @example
 * ```ts
 * throw new EdgeError({ kind: 'bad-hash', detail: 'expected 64 lowercase hex characters' });
 * ```
 */
export class EdgeError extends Error {
  constructor(readonly problem: EdgeProblem) {
    super(`${problem.kind}: ${problem.detail}`);
    this.name = 'EdgeError';
  }

  get status(): number {
    return PROBLEM_STATUS[this.problem.kind];
  }
}

/**
 * Of several problems found for one request, the one to report (§12 precedence).
 *
 * @example
 * ```ts
 * mostPrecedent([badHash, tooLarge]) // tooLarge (413 beats 400)
 * ```
 */
export function mostPrecedent(problems: readonly EdgeProblem[]): EdgeProblem | undefined {
  const rank = (p: EdgeProblem): number => {
    const i = STATUS_PRECEDENCE.indexOf(PROBLEM_STATUS[p.kind]);
    return i === -1 ? STATUS_PRECEDENCE.length : i;
  };
  let best: EdgeProblem | undefined;
  for (const p of problems) if (best === undefined || rank(p) < rank(best)) best = p;
  return best;
}

/** The RFC 9457 body of a problem. */
export function problemBody(p: EdgeProblem, instance?: string): Record<string, unknown> {
  const body: Record<string, unknown> = {
    type: `urn:leios:problem:${p.kind}`,
    title: PROBLEM_TITLE[p.kind],
    status: PROBLEM_STATUS[p.kind],
    detail: p.detail,
  };
  if (instance !== undefined) body.instance = instance;
  if (p.kind === 'tx-invalid') body.rule = p.rule;
  if (p.kind === 'too-large') body.limit = p.limit;
  if (p.kind === 'method-not-allowed') body.allow = p.allow;
  return body;
}

/**
 * The HTTP response for a problem: `application/problem+json`, `Cache-Control: no-store`, plus
 * `Allow` (405) or `Retry-After` (429, 503 mempool-full) where the kind calls for it.
 *
 * @example
 * ```ts
 * return problemResponse({ kind: 'not-found', detail: 'unknown EB' }, '/v1/eb/00…');
 * ```
 */
export function problemResponse(p: EdgeProblem, instance?: string): Response {
  const headers = new Headers({
    'content-type': 'application/problem+json',
    'cache-control': 'no-store',
  });
  if (p.kind === 'method-not-allowed') headers.set('allow', p.allow.join(', '));
  if (p.kind === 'rate-limited' || p.kind === 'mempool-full') headers.set('retry-after', String(p.retryAfterS));
  return new Response(JSON.stringify(problemBody(p, instance)), { status: PROBLEM_STATUS[p.kind], headers });
}

/**
 * Rebuild a problem from a storage node's problem+json body (the storage nodes answer §12 with
 * the same kinds), so an upstream verdict such as 422 `tx-invalid` reaches the client unchanged.
 * Returns `undefined` when the body is not a well-formed problem of a known kind with the status
 * that kind must have.
 */
export function problemFromJson(status: number, json: unknown, retryAfter?: string | null): EdgeProblem | undefined {
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
