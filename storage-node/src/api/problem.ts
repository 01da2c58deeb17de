/**
 * RFC 9457 problems of the storage node's HTTP API (PROTOCOL.md §12).
 *
 * Primer: edge relays forward `POST /v1/tx` and `POST /v1/votes` to storage nodes and pass a
 * storage node's problem on to their client unchanged, but only if it is a well-formed §12
 * problem. The catalogue (kinds, statuses, titles, bodies, responses, the mapping of the
 * ledger's finer rule names onto §12's) is therefore shared with the relays in
 * `@leios/shared/http`; this module adds the API's error class, {@link ApiError}, and re-exports
 * the catalogue for the routes. A `tx-invalid` problem is built with {@link txInvalidProblem},
 * which reports the §12 rule and keeps the ledger's own name as `ledgerRule`.
 *
 * @module
 */
import type { TxRule } from '@leios/shared';
import { PROBLEM_STATUS, type Problem, problemRule } from '@leios/shared/http';

export {
  PROBLEM_STATUS,
  PROBLEM_TITLE,
  type ProblemKind,
  problemBody,
  problemResponse,
  problemRule,
  TX_INVALID_RULES,
  type TxInvalidRule,
} from '@leios/shared/http';

/** One problem the API can answer with (the shared §12 catalogue). */
export type ApiProblem = Problem;

/**
 * The `tx-invalid` problem for a ledger rule: §12's rule, plus the ledger's name when finer.
 *
 * @example
 * ```ts
 * txInvalidProblem('duplicate-witness', 'key used twice') // { kind: 'tx-invalid', rule: 'bad-signature', ledgerRule: 'duplicate-witness', … }
 * ```
 */
export function txInvalidProblem(rule: TxRule, detail: string): ApiProblem {
  return { kind: 'tx-invalid', detail, rule: problemRule(rule), ledgerRule: rule };
}

/**
 * Thrown by route code; the app's error handler answers with `problemResponse`.
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
