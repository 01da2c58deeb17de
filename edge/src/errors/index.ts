/**
 * The edge relay's single error union and its HTTP mapping (PROTOCOL.md §12, RFC 9457).
 *
 * Primer: every failure a route reports is an {@link EdgeError} carrying one {@link EdgeProblem}.
 * The catalogue itself (kinds, statuses, titles, the §12 precedence, problem+json bodies and
 * responses, and the rebuilding of a storage node's problem) lives in `@leios/shared/http`,
 * because the storage nodes answer with the same kinds and the relay passes their verdicts on
 * unchanged: one catalogue makes that agreement a type. This module adds the relay's error class
 * and re-exports the catalogue so route code has one import.
 *
 * @module
 */
import { PROBLEM_STATUS, type Problem } from '@leios/shared/http';

export {
  isProblemKind,
  mostPrecedent,
  PROBLEM_STATUS,
  PROBLEM_TITLE,
  type ProblemKind,
  problemBody,
  problemFromJson,
  problemResponse,
  STATUS_PRECEDENCE,
  TX_INVALID_RULES,
  type TxInvalidRule,
} from '@leios/shared/http';

/** One problem the edge can report (the shared §12 catalogue). */
export type EdgeProblem = Problem;

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

  /** The HTTP status of the problem's kind. */
  get status(): number {
    return PROBLEM_STATUS[this.problem.kind];
  }
}
