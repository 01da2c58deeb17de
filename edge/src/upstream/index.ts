/**
 * The storage nodes behind this relay, reached over their HTTP API (the /v1 routes of
 * PROTOCOL.md §12, which storage nodes serve too).
 *
 * Primer: the relay keeps no durable state, so whatever its cache and its RelayHub do not hold it
 * asks a storage node. {@link Upstream} is that question: a request plus a `judge` that inspects
 * each reply and either takes it or rejects it (wrong hash, malformed, 5xx), in which case the next
 * storage node is tried. Every attempt is bounded in time (`AbortSignal.timeout`, covering headers
 * and body) and in size (the body is read with a cap), so a slow or hostile storage node costs at
 * most one timeout and one capped buffer. All failures are returned, not thrown, so the route can
 * tell "nobody has it" (404) from "nobody answered" (503 `upstream-unavailable`).
 *
 * @module
 */
import { BodyTooLarge, readBounded } from '../body/index';

/** Largest error (non-2xx) body kept: enough for any problem document. */
export const MAX_ERROR_BODY = 16 * 1024;

/** One request to a storage node. `path` starts with `/v1/`. */
export interface UpstreamRequest {
  method: 'GET' | 'POST';
  path: string;
  body?: Uint8Array;
  contentType?: string;
  /** Largest acceptable response body in bytes. */
  maxBytes: number;
}

/** A storage node's complete (bounded) reply. */
export interface UpstreamReply {
  origin: string;
  status: number;
  headers: Headers;
  body: Uint8Array;
}

/** Why an attempt at one storage node gave nothing usable. */
export interface UpstreamFailure {
  origin: string;
  reason: 'timeout' | 'unreachable' | 'too-large' | 'rejected';
  /** HTTP status when a reply arrived. */
  status?: number;
  detail: string;
}

/** A judge's decision on one reply: take `value`, or try the next storage node. */
export type Verdict<T> = { ok: true; value: T } | { ok: false; detail: string };

export type UpstreamOutcome<T> =
  | { ok: true; value: T; origin: string; failures: UpstreamFailure[] }
  | { ok: false; failures: UpstreamFailure[] };

/**
 * Storage nodes, asked in failover order.
 *
 * @example
 * ```ts
 * const out = await upstream.request({ method: 'GET', path: `/v1/eb/${hex}`, maxBytes: 512_064 }, (r) =>
 *   r.status === 200 ? { ok: true, value: r.body } : { ok: false, detail: `status ${r.status}` });
 * ```
 */
export interface Upstream {
  request<T>(req: UpstreamRequest, judge: (reply: UpstreamReply) => Verdict<T>): Promise<UpstreamOutcome<T>>;
}

/** Whether any storage node answered 404 (the item is unknown there). */
export function anyNotFound(failures: readonly UpstreamFailure[]): boolean {
  return failures.some((f) => f.status === 404);
}

/** One line summarising the failures, for a problem `detail` and logs. */
export function describeFailures(failures: readonly UpstreamFailure[]): string {
  if (failures.length === 0) return 'no storage node configured';
  return failures.map((f) => `${f.origin}: ${f.reason}${f.status === undefined ? '' : ` ${f.status}`} (${f.detail})`).join('; ');
}

/** How long a storage node that timed out or could not be reached is asked last. */
export const BACKOFF_MS = 30_000;

/**
 * Storage nodes that recently timed out or were unreachable, with the time until which they are
 * asked after the healthy ones. Per isolate (module state), so every request of the isolate
 * benefits from what one request learnt: a blackholed node costs one timeout per 30 s, not one
 * per request. Bounded by the number of configured nodes (≤ 16 per config).
 */
const backoff = new Map<string, number>();

/**
 * The order to ask `urls` in at `now`: configured order, with nodes in back-off moved last
 * (still asked, so a recovered node is found again even when every node had failed).
 *
 * @example
 * ```ts
 * askOrder(['a', 'b'], Date.now()) // ['b', 'a'] while 'a' is in back-off
 * ```
 */
export function askOrder(urls: readonly string[], now: number): string[] {
  const healthy: string[] = [];
  const late: string[] = [];
  for (const u of urls) {
    const until = backoff.get(u);
    if (until !== undefined && until > now) late.push(u);
    else {
      if (until !== undefined) backoff.delete(u);
      healthy.push(u);
    }
  }
  return [...healthy, ...late];
}

/**
 * The real implementation over `fetch`.
 *
 * @example
 * ```ts
 * const upstream = new HttpUpstream(['http://127.0.0.1:3001'], 5_000);
 * ```
 */
export class HttpUpstream implements Upstream {
  constructor(
    readonly baseUrls: readonly string[],
    readonly timeoutMs: number,
    private readonly fetcher: typeof fetch = (input, init) => fetch(input, init),
  ) {}

  async request<T>(req: UpstreamRequest, judge: (reply: UpstreamReply) => Verdict<T>): Promise<UpstreamOutcome<T>> {
    const failures: UpstreamFailure[] = [];
    for (const origin of askOrder(this.baseUrls, Date.now())) {
      const attempt = await this.attempt(origin, req);
      if ('reason' in attempt) {
        failures.push(attempt);
        if (attempt.reason === 'timeout' || attempt.reason === 'unreachable') backoff.set(origin, Date.now() + BACKOFF_MS);
        continue;
      }
      backoff.delete(origin);
      const verdict = judge(attempt);
      if (verdict.ok) return { ok: true, value: verdict.value, origin, failures };
      failures.push({ origin, reason: 'rejected', status: attempt.status, detail: verdict.detail });
    }
    return { ok: false, failures };
  }

  private async attempt(origin: string, req: UpstreamRequest): Promise<UpstreamReply | UpstreamFailure> {
    const signal = AbortSignal.timeout(this.timeoutMs);
    const headers = new Headers({ accept: 'application/cbor, application/json, application/problem+json' });
    if (req.contentType !== undefined) headers.set('content-type', req.contentType);
    try {
      const res = await this.fetcher(`${origin}${req.path}`, {
        method: req.method,
        headers,
        body: req.body,
        signal,
        redirect: 'manual',
      });
      if (res.status < 200 || res.status > 299) {
        // An error reply matters for its status (404 vs 5xx); its body only when it is a small
        // problem document, so an oversize one is dropped rather than turned into "too-large".
        const body = await readBounded(res.body, Math.min(req.maxBytes, MAX_ERROR_BODY), res.headers.get('content-length')).catch((e: unknown) => {
          if (e instanceof BodyTooLarge) return new Uint8Array(0);
          throw e;
        });
        return { origin, status: res.status, headers: res.headers, body };
      }
      const body = await readBounded(res.body, req.maxBytes, res.headers.get('content-length'));
      return { origin, status: res.status, headers: res.headers, body };
    } catch (e) {
      if (e instanceof BodyTooLarge) return { origin, reason: 'too-large', detail: e.message };
      if (signal.aborted) return { origin, reason: 'timeout', detail: `no complete reply within ${this.timeoutMs} ms` };
      return { origin, reason: 'unreachable', detail: e instanceof Error ? e.message : String(e) };
    }
  }
}
