/**
 * Judging a storage node's reply to a forwarded POST: its JSON success body, or its problem.
 *
 * Primer: for `POST /v1/tx` and `POST /v1/votes` the storage node decides (ledger validation,
 * vote checks), and its verdict is the answer: a well-formed §12 problem from it (422
 * `tx-invalid`, 503 `mempool-full`, …) is re-raised here as the edge's own {@link EdgeError}, so
 * the client sees one stable problem vocabulary. Anything else unexpected (5xx without a known
 * problem, bad JSON) makes the edge try the next storage node.
 *
 * @module
 */
import { EdgeError, type EdgeProblem, type ProblemKind, problemFromJson } from '../errors/index';
import type { UpstreamReply, Verdict } from '../upstream/index';

/** A judged reply: the parsed success body, or the storage node's problem to pass on. */
export type Forwarded<T> = { ok: T } | { problem: EdgeProblem };

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes));
  } catch {
    return undefined;
  }
}

/**
 * A judge for a forwarded POST: `success` status with a body `parse` accepts, or a problem of one
 * of the `verdicts` kinds (the answers the route's storage-node handler can give about the
 * request itself; anything else, e.g. a 404 from a node without the route, means "ask the next").
 *
 * @example
 * ```ts
 * upstream.request(req, judgeForwarded(202, parseTxAccepted, ['tx-invalid', 'mempool-full']));
 * ```
 */
export function judgeForwarded<T>(
  success: number,
  parse: (json: unknown) => T | undefined,
  verdicts: readonly ProblemKind[],
): (r: UpstreamReply) => Verdict<Forwarded<T>> {
  return (r) => {
    const json = parseJson(r.body);
    if (r.status === success) {
      const v = parse(json);
      return v === undefined ? { ok: false, detail: 'success body of the wrong shape' } : { ok: true, value: { ok: v } };
    }
    const problem = problemFromJson(r.status, json, r.headers.get('retry-after'));
    if (problem === undefined || !verdicts.includes(problem.kind)) {
      return { ok: false, detail: `status ${r.status}${problem === undefined ? '' : ` ${problem.kind}`}` };
    }
    return { ok: true, value: { problem } };
  };
}

/** The success value, or throw the storage node's problem. */
export function unwrapForwarded<T>(f: Forwarded<T>): T {
  if ('problem' in f) throw new EdgeError(f.problem);
  return f.ok;
}
