/**
 * `npm run load -- <scenario>`: run a load scenario of ./k6/scenarios.js from Node with fetch(),
 * the way k6 runs it (the same plan from ./k6/plan.js: arrival curve, route mix, payload order,
 * checks, thresholds), and write a k6-like summary to bench/results/load-<scenario>.json.
 *
 * Primer: an arrival-rate executor as k6 has them. A timer follows the plan's rate curve and
 * starts one request per arrival, without waiting for earlier ones; while `maxInFlight` requests
 * (k6 maxVUs) are outstanding, an arrival is dropped and counted (k6 `dropped_iterations`), and
 * after `maxRequests` started no more are started. Every request has a timeout (10 s, k6's
 * default is 60 s), so a run ends by itself at most that long after the curve does. Latency is
 * measured from the call to the last body byte (k6 `http_req_duration` leaves out connection
 * set-up; here a new connection's set-up counts, which only matters for the first requests).
 *
 * Thresholds are the k6 expressions of the scenario, evaluated here on the same metrics:
 * `http_req_duration` (avg, min, med, max, p(N); ms), `http_req_failed` (rate: no response or a
 * status outside 200–399, as k6 counts it), `checks` (rate), `http_reqs` (count, rate),
 * `dropped_iterations` (count), each optionally restricted to `{route:<name>}`.
 *
 * @module
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LoadError } from './errors';
import { DEFAULT_PAYLOAD_DIR, readPayloads } from './generate';
import { arrivalsBy, assertPayloads, assertTarget, checkResponse, type Payloads, type Plan, planScenario, readScale, requestAt, SCENARIO_NAMES } from './scenarios';

const here = dirname(fileURLToPath(import.meta.url));
/** Where summaries go: bench/results/load-<scenario>.json. */
export const RESULTS_DIR = resolve(here, '../bench/results');
/** Default target: a relay of `npm run devnet` (or `npm run dev -w @leios/edge`). */
export const DEFAULT_BASE_URL = 'http://127.0.0.1:8787';
/** Response header recorded per answer: which tier of the relay answered (edge/README.md). */
const SOURCE_HEADER = 'x-leios-source';
/** Bounded number of distinct error messages kept in a summary. */
const MAX_ERROR_KINDS = 20;

/** Options of {@link runScenario}. */
export interface RunOptions {
  baseUrl: string;
  payloads: Partial<Payloads>;
  /** Allow a target off loopback (ALLOW_REMOTE=1). */
  allowRemote?: boolean;
  /** Per-request timeout (default 10 s). */
  timeoutMs?: number;
}

/** Latency statistics in ms (k6 summaryTrendStats). */
export interface Trend {
  count: number;
  min: number;
  avg: number;
  med: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
}

/** Per-route part of a summary. */
export interface RouteSummary {
  requests: number;
  failed: number;
  status: Record<string, number>;
  /** Values of X-Leios-Source (cache, hub, upstream) when the relay sent one. */
  sources: Record<string, number>;
  latencyMs: Trend | null;
}

/** One evaluated threshold expression. */
export interface ThresholdResult {
  expr: string;
  /** The aggregate it compared; null when the metric had no samples. */
  value: number | null;
  ok: boolean;
}

/** The summary a run writes (k6-like). */
export interface Summary {
  scenario: string;
  runner: 'node-harness';
  description: string;
  baseUrl: string;
  startedAt: string;
  /** Wall time from the first arrival to the last answer. */
  durationS: number;
  plan: Pick<Plan, 'executor' | 'startRate' | 'stages' | 'durationMs' | 'maxRequests' | 'maxInFlight' | 'mix' | 'timeScale' | 'rateScale' | 'expectedRequests'>;
  /** Requests made (k6 http_reqs). */
  requests: number;
  /** Requests per second over the curve's duration. */
  rate: number;
  /** Arrivals dropped because maxInFlight requests were outstanding (k6 dropped_iterations). */
  dropped: number;
  /** Arrivals after maxRequests had started. */
  capped: number;
  failed: number;
  failedRate: number;
  latencyMs: Trend | null;
  status: Record<string, number>;
  routes: Record<string, RouteSummary>;
  checks: { passes: number; fails: number; rate: number; byName: Record<string, { passes: number; fails: number }> };
  thresholds: Record<string, ThresholdResult[]>;
  /** Every threshold passed. */
  ok: boolean;
  /** Distinct transport error messages with counts (bounded). */
  errors: Record<string, number>;
}

/** k6 trend percentile: linear interpolation between the closest ranks of sorted samples. */
function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const x = ((sorted.length - 1) * p) / 100;
  const lo = Math.floor(x);
  const a = sorted[lo] as number;
  const b = sorted[Math.min(lo + 1, sorted.length - 1)] as number;
  return a + (b - a) * (x - lo);
}

function trend(samples: readonly number[]): Trend | null {
  if (samples.length === 0) return null;
  const s = [...samples].sort((a, b) => a - b);
  const r = (v: number) => Math.round(v * 1000) / 1000;
  return {
    count: s.length,
    min: r(s[0] as number),
    avg: r(s.reduce((a, v) => a + v, 0) / s.length),
    med: r(percentile(s, 50)),
    p90: r(percentile(s, 90)),
    p95: r(percentile(s, 95)),
    p99: r(percentile(s, 99)),
    max: r(s[s.length - 1] as number),
  };
}

/** One answer as recorded. */
interface Sample {
  route: string;
  status: number;
  ms: number;
  failed: boolean;
}

/** Raw metrics of a run, the input of threshold evaluation. */
export interface Metrics {
  samples: Sample[];
  checks: Array<{ route: string; name: string; ok: boolean }>;
  dropped: number;
  durationS: number;
}

const THRESHOLD_KEY_RE = /^([a-z_]+)(?:\{route:([a-z0-9_-]+)\})?$/;
const THRESHOLD_EXPR_RE = /^\s*(avg|min|max|med|count|rate|p\(([0-9]+(?:\.[0-9]+)?)\))\s*(<=|>=|<|>|===|==|!=)\s*(-?[0-9]+(?:\.[0-9]+)?)\s*$/;

/**
 * Evaluate one threshold (`key` as in k6 options, e.g. `http_req_duration{route:eb}`; `expr`
 * e.g. `p(95)<250`) on a run's metrics. Throws {@link LoadError} `config` for a metric,
 * aggregation or tag this harness does not know, so a threshold is never silently skipped.
 *
 * @example
 * ```ts
 * evaluateThreshold('http_req_failed', 'rate<0.01', metrics) // { expr: 'rate<0.01', value: 0, ok: true }
 * ```
 */
export function evaluateThreshold(key: string, expr: string, m: Metrics): ThresholdResult {
  const k = THRESHOLD_KEY_RE.exec(key);
  const e = THRESHOLD_EXPR_RE.exec(expr);
  if (!k || !e) throw new LoadError('config', `threshold ${key}: ${JSON.stringify(expr)} is not a supported k6 threshold`);
  const [, metric, route] = k;
  const [, agg, pct, op, limitText] = e;
  const samples = route === undefined ? m.samples : m.samples.filter((s) => s.route === route);
  let value: number | null;
  const bad = () => new LoadError('config', `threshold ${key}: ${agg} is not an aggregation of ${metric}`);
  switch (metric) {
    case 'http_req_duration': {
      if (agg === 'count' || agg === 'rate') throw bad();
      const t = trend(samples.map((s) => s.ms));
      const sorted = samples.map((s) => s.ms).sort((a, b) => a - b);
      value = t === null ? null : agg === 'avg' ? t.avg : agg === 'min' ? t.min : agg === 'max' ? t.max : agg === 'med' ? t.med : percentile(sorted, Number(pct));
      break;
    }
    case 'http_req_failed':
      if (agg !== 'rate') throw bad();
      value = samples.length === 0 ? null : samples.filter((s) => s.failed).length / samples.length;
      break;
    case 'checks': {
      if (agg !== 'rate') throw bad();
      const cs = route === undefined ? m.checks : m.checks.filter((c) => c.route === route);
      value = cs.length === 0 ? null : cs.filter((c) => c.ok).length / cs.length;
      break;
    }
    case 'http_reqs':
      if (agg !== 'count' && agg !== 'rate') throw bad();
      value = agg === 'count' ? samples.length : m.durationS > 0 ? samples.length / m.durationS : null;
      break;
    case 'dropped_iterations':
      if (agg !== 'count' || route !== undefined) throw bad();
      value = m.dropped;
      break;
    default:
      throw new LoadError('config', `threshold ${key}: metric ${metric} is not measured by the harness`);
  }
  const limit = Number(limitText);
  let ok = false;
  if (value !== null) {
    if (op === '<') ok = value < limit;
    else if (op === '<=') ok = value <= limit;
    else if (op === '>') ok = value > limit;
    else if (op === '>=') ok = value >= limit;
    else if (op === '!=') ok = value !== limit;
    else ok = value === limit;
  }
  // A metric without samples fails its threshold: a route that was never exercised proves nothing.
  return { expr, value: value === null ? null : Math.round(value * 1e6) / 1e6, ok };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Run `plan` against `opts.baseUrl` and summarise it. Ends by itself: at the end of the rate
 * curve no request starts, and every request has a timeout.
 *
 * @example
 * ```ts
 * const s = await runScenario(planScenario('get-burst', { timeScale: 0.1, rateScale: 0.2 }), { baseUrl, payloads });
 * s.ok // every threshold passed
 * ```
 */
export async function runScenario(plan: Plan, opts: RunOptions): Promise<Summary> {
  assertTarget(opts.baseUrl, { ALLOW_REMOTE: opts.allowRemote ? '1' : undefined });
  assertPayloads(plan, opts.payloads);
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const samples: Sample[] = [];
  const checks: Metrics['checks'] = [];
  const sources = new Map<string, Map<string, number>>();
  const errors: Record<string, number> = {};
  let arrived = 0;
  let started = 0;
  let dropped = 0;
  let capped = 0;
  const inFlight = new Set<Promise<void>>();

  const one = async (i: number): Promise<void> => {
    const req = requestAt(plan, i, opts.payloads, opts.baseUrl);
    const spec = plan.routes[req.route];
    if (!spec) throw new LoadError('config', `route ${req.route} not in plan`);
    const t = performance.now();
    let status = 0;
    let headers: Headers | null = null;
    try {
      const res = await fetch(req.url, {
        method: req.method,
        ...(req.contentType ? { headers: { 'content-type': req.contentType } } : {}),
        ...(req.bodyBase64 !== null ? { body: Buffer.from(req.bodyBase64, 'base64') } : {}),
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.arrayBuffer();
      status = res.status;
      headers = res.headers;
    } catch (e) {
      const msg = e instanceof Error ? `${e.name}: ${e.message}${e.cause instanceof Error ? ` (${e.cause.message})` : ''}` : String(e);
      if (msg in errors || Object.keys(errors).length < MAX_ERROR_KINDS) errors[msg] = (errors[msg] ?? 0) + 1;
    }
    const ms = performance.now() - t;
    samples.push({ route: req.route, status, ms, failed: status < 200 || status > 399 });
    for (const c of checkResponse(req.route, spec, status, (h) => (headers ? headers.get(h) : null))) checks.push({ route: req.route, ...c });
    const src = headers?.get(SOURCE_HEADER);
    if (src) {
      const m = sources.get(req.route) ?? new Map<string, number>();
      m.set(src, (m.get(src) ?? 0) + 1);
      sources.set(req.route, m);
    }
  };

  const startedAt = new Date();
  const t0 = performance.now();
  for (;;) {
    const elapsed = performance.now() - t0;
    const due = Math.floor(arrivalsBy(plan, Math.min(elapsed, plan.durationMs)) + 1e-9);
    while (arrived < due) {
      arrived++;
      if (started >= plan.maxRequests) {
        capped++;
      } else if (inFlight.size >= plan.maxInFlight) {
        dropped++;
      } else {
        const p = one(started++).finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
    }
    if (elapsed >= plan.durationMs) break;
    await sleep(1);
  }
  await Promise.all(inFlight);
  const durationS = (performance.now() - t0) / 1000;

  const metrics: Metrics = { samples, checks, dropped, durationS };
  const thresholds: Record<string, ThresholdResult[]> = {};
  for (const [key, exprs] of Object.entries(plan.thresholds)) thresholds[key] = exprs.map((x) => evaluateThreshold(key, x, metrics));
  const statusOf = (ss: readonly Sample[]) => {
    const out: Record<string, number> = {};
    for (const s of ss) out[String(s.status)] = (out[String(s.status)] ?? 0) + 1;
    return out;
  };
  const routes: Record<string, RouteSummary> = {};
  for (const { route } of plan.mix) {
    const ss = samples.filter((s) => s.route === route);
    routes[route] = {
      requests: ss.length,
      failed: ss.filter((s) => s.failed).length,
      status: statusOf(ss),
      sources: Object.fromEntries(sources.get(route) ?? []),
      latencyMs: trend(ss.map((s) => s.ms)),
    };
  }
  const byName: Record<string, { passes: number; fails: number }> = {};
  for (const c of checks) {
    const b = byName[c.name] ?? { passes: 0, fails: 0 };
    if (c.ok) b.passes++;
    else b.fails++;
    byName[c.name] = b;
  }
  const passes = checks.filter((c) => c.ok).length;
  const failed = samples.filter((s) => s.failed).length;
  return {
    scenario: plan.name,
    runner: 'node-harness',
    description: plan.description,
    baseUrl: opts.baseUrl,
    startedAt: startedAt.toISOString(),
    durationS: Math.round(durationS * 1000) / 1000,
    plan: {
      executor: plan.executor,
      startRate: plan.startRate,
      stages: plan.stages,
      durationMs: plan.durationMs,
      maxRequests: plan.maxRequests,
      maxInFlight: plan.maxInFlight,
      mix: plan.mix,
      timeScale: plan.timeScale,
      rateScale: plan.rateScale,
      expectedRequests: plan.expectedRequests,
    },
    requests: samples.length,
    rate: Math.round((samples.length / Math.max(plan.durationMs / 1000, 1e-3)) * 100) / 100,
    dropped,
    capped,
    failed,
    failedRate: samples.length === 0 ? 0 : failed / samples.length,
    latencyMs: trend(samples.map((s) => s.ms)),
    status: statusOf(samples),
    routes,
    checks: { passes, fails: checks.length - passes, rate: checks.length === 0 ? 0 : passes / checks.length, byName },
    thresholds,
    ok: Object.values(thresholds).every((rs) => rs.every((r) => r.ok)),
    errors,
  };
}

/**
 * A k6-style text rendering of a summary.
 *
 * @example
 * ```ts
 * process.stdout.write(formatSummary(summary));
 * ```
 */
export function formatSummary(s: Summary): string {
  const t = (x: Trend | null) => (x ? `avg=${x.avg}ms min=${x.min}ms med=${x.med}ms p(90)=${x.p90}ms p(95)=${x.p95}ms p(99)=${x.p99}ms max=${x.max}ms` : 'no samples');
  const kv = (o: Record<string, number>) =>
    Object.entries(o)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ') || '-';
  const lines = [
    `scenario ${s.scenario}: ${s.description}`,
    `  ${s.plan.executor}, ${(s.plan.durationMs / 1000).toFixed(1)} s curve (time x${s.plan.timeScale}, rate x${s.plan.rateScale}), ${s.plan.expectedRequests} arrivals planned, max ${s.plan.maxRequests} requests, ${s.plan.maxInFlight} in flight; target ${s.baseUrl}`,
    `  http_reqs..........: ${s.requests}  ${s.rate}/s   dropped ${s.dropped}, capped ${s.capped}, wall ${s.durationS} s`,
    `  http_req_failed....: ${(s.failedRate * 100).toFixed(2)}%  (${s.failed})`,
    `  http_req_duration..: ${t(s.latencyMs)}`,
    ...Object.entries(s.routes).map(([r, x]) => `    {route:${r}} ${x.requests} req, status ${kv(x.status)}, source ${kv(x.sources)}; ${t(x.latencyMs)}`),
    `  checks.............: ${(s.checks.rate * 100).toFixed(2)}%  ✓ ${s.checks.passes}  ✗ ${s.checks.fails}`,
    ...Object.entries(s.checks.byName)
      .filter(([, c]) => c.fails > 0)
      .map(([n, c]) => `    ✗ ${n}: ${c.fails} of ${c.passes + c.fails}`),
    '  thresholds:',
    ...Object.entries(s.thresholds).flatMap(([k, rs]) => rs.map((r) => `    ${r.ok ? '✓' : '✗'} ${k} ${r.expr}  (${r.value === null ? 'no samples' : r.value})`)),
    ...Object.entries(s.errors).map(([m, n]) => `  error x${n}: ${m}`),
    `  => ${s.ok ? 'all thresholds passed' : 'THRESHOLDS FAILED'}`,
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * Write a summary as JSON to `path` (default bench/results/load-<scenario>.json); returns the path.
 *
 * @example
 * ```ts
 * await writeSummary(summary);
 * ```
 */
export async function writeSummary(s: Summary, path = join(RESULTS_DIR, `load-${s.scenario}.json`)): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(s, null, 2)}\n`);
  return path;
}

const HELP = `npm run load -- <scenario|all> [options]      scenarios: ${SCENARIO_NAMES.join(', ')}
  --base-url URL     relay to load (default $BASE_URL or ${DEFAULT_BASE_URL}); not loopback needs --allow-remote
  --payloads DIR     payload files from load/generate.ts (default load/payloads)
  --time-scale X     multiply every duration (default $TIME_SCALE or 1)
  --rate-scale X     multiply every rate (default $RATE_SCALE or 1)
  --out FILE         summary JSON (default bench/results/load-<scenario>.json; one scenario only)
  --allow-remote     allow a BASE_URL off loopback (as ALLOW_REMOTE=1)
Exit code: 0 when every threshold passed, 99 when one failed (as k6), 1 on errors.
`;

/** CLI entry. */
export async function harnessMain(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      'base-url': { type: 'string' },
      payloads: { type: 'string' },
      'time-scale': { type: 'string' },
      'rate-scale': { type: 'string' },
      out: { type: 'string' },
      'allow-remote': { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  const [which, ...extra] = positionals;
  if (values.help || which === undefined) {
    process.stdout.write(HELP);
    return values.help ? 0 : 2;
  }
  if (extra.length > 0) throw new LoadError('config', `one scenario (or all), got ${positionals.join(' ')}`);
  const names = which === 'all' ? [...SCENARIO_NAMES] : [which];
  if (values.out && names.length > 1) throw new LoadError('config', '--out needs a single scenario');
  // The same variables k6 takes with -e (load/README.md); flags win.
  const env: Record<string, string | undefined> = process.env;
  const scale = readScale({
    TIME_SCALE: values['time-scale'] ?? env.TIME_SCALE,
    RATE_SCALE: values['rate-scale'] ?? env.RATE_SCALE,
  });
  const baseUrl = values['base-url'] ?? env.BASE_URL ?? DEFAULT_BASE_URL;
  const payloads = await readPayloads(resolve(values.payloads ?? env.PAYLOAD_DIR ?? DEFAULT_PAYLOAD_DIR));
  const plans = names.map((n) => planScenario(n, scale));
  let allOk = true;
  for (const plan of plans) {
    const summary = await runScenario(plan, { baseUrl, payloads, allowRemote: values['allow-remote'] === true || env.ALLOW_REMOTE === '1' });
    process.stdout.write(formatSummary(summary));
    process.stdout.write(`  wrote ${await writeSummary(summary, values.out ? resolve(values.out) : undefined)}\n`);
    allOk &&= summary.ok;
  }
  return allOk ? 0 : 99;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  harnessMain(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`load: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    },
  );
}
