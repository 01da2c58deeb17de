/**
 * What a scenario of ./scenarios.js means, computed the same way for k6 and the Node harness:
 * scaling, the arrival curve, which route and payload iteration `i` uses, the request it makes,
 * the checks on its answer, and the k6 `options` object. Both runners import this module, so the
 * only thing that differs between them is the HTTP client.
 *
 * Primer: a scenario is turned into a {@link Plan} once (validated, scaled by TIME_SCALE and
 * RATE_SCALE, rates rounded to whole requests per second as k6 wants them). Iteration `i` (k6:
 * `exec.scenario.iterationInTest`; harness: its arrival counter) picks its route from a wheel
 * dealt round-robin from the integer weights of `mix` (weights 1/3/3/3 give tx eb rb tip eb rb tip
 * eb rb tip), and its payload as that route's n-th use modulo the payload list, so a run replays
 * the generated payloads in order and the same `i` means the same request in both runners.
 *
 * Plain JavaScript for k6 ≥ 0.48: no imports, no Node or k6 API, no `??` / `?.`.
 *
 * @module
 */

/**
 * @typedef {import('../scenarios').Spec} Spec
 * @typedef {import('../scenarios').Plan} Plan
 * @typedef {import('../scenarios').Payloads} Payloads
 * @typedef {import('../scenarios').RouteSpec} RouteSpec
 * @typedef {import('../scenarios').PlannedRequest} PlannedRequest
 * @typedef {import('../scenarios').CheckResult} CheckResult
 * @typedef {import('../scenarios').Scale} Scale
 */

const PAYLOAD_KINDS = ['txs', 'ebs', 'rbs'];
const DURATION_RE = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60000, h: 3600000 };

/**
 * A k6 duration (`"500ms"`, `"20s"`, `"1.5m"`, `"1h"`; one unit) in milliseconds.
 *
 * @example
 * parseDuration('20s') // 20000
 * @param {string} text
 * @returns {number}
 */
export function parseDuration(text) {
  const m = DURATION_RE.exec(String(text));
  if (!m) throw new Error(`duration ${JSON.stringify(text)}: expected a number and one of ms, s, m, h`);
  return Number(m[1]) * UNIT_MS[/** @type {'ms'|'s'|'m'|'h'} */ (m[2])];
}

/**
 * Milliseconds as a k6 duration string (whole milliseconds, at least 1).
 *
 * @example
 * formatDuration(3500) // '3500ms'
 * @param {number} ms
 * @returns {string}
 */
export function formatDuration(ms) {
  return `${Math.max(1, Math.round(ms))}ms`;
}

/**
 * TIME_SCALE and RATE_SCALE from an environment object (k6 `__ENV`, Node `process.env`);
 * both default to 1 and must be positive numbers.
 *
 * @example
 * readScale({ TIME_SCALE: '0.1' }) // { timeScale: 0.1, rateScale: 1 }
 * @param {Record<string, string | undefined>} env
 * @returns {Scale}
 */
export function readScale(env) {
  /** @param {string} name */
  const num = (name) => {
    const v = env[name];
    if (v === undefined || v === '') return 1;
    const n = Number(v);
    if (!(n > 0) || !Number.isFinite(n)) throw new Error(`${name}: expected a positive number, got ${JSON.stringify(v)}`);
    return n;
  };
  return { timeScale: num('TIME_SCALE'), rateScale: num('RATE_SCALE') };
}

/** @param {unknown} v */
const isPosInt = (v) => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
/** @param {unknown} v */
const isRate = (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0;

/**
 * Refuse a target that is not on loopback unless ALLOW_REMOTE=1: a load test pointed at a
 * deployed relay by a stale BASE_URL should be a decision, not an accident.
 *
 * @example
 * assertTarget('http://127.0.0.1:8787', {}) // ok
 * assertTarget('https://relay.example', {}) // throws
 * @param {string} baseUrl
 * @param {Record<string, string | undefined>} env
 */
export function assertTarget(baseUrl, env) {
  const m = /^https?:\/\/(\[[^\]]+\]|[^/:?#]+)(:[0-9]+)?(\/|$)/.exec(baseUrl);
  if (!m) throw new Error(`BASE_URL ${JSON.stringify(baseUrl)}: expected http(s)://host[:port]`);
  const host = m[1] || '';
  const loopback = host === 'localhost' || host === '[::1]' || /^127\.[0-9]+\.[0-9]+\.[0-9]+$/.test(host);
  if (!loopback && env.ALLOW_REMOTE !== '1') throw new Error(`BASE_URL ${baseUrl} is not a loopback address: set ALLOW_REMOTE=1 to load it anyway`);
}

/**
 * Validate scenario `name` of `spec` and scale it into a {@link Plan}. Durations are multiplied
 * by `timeScale`, rates by `rateScale` (then rounded: k6 rates are whole numbers per time unit;
 * a non-zero rate stays at least 1), `maxRequests` by both (it bounds rate × duration).
 *
 * @example
 * const plan = planScenario(SPEC, 'tx-burst', { timeScale: 0.1, rateScale: 0.5 });
 * plan.expectedRequests // arrivals the curve asks for, before maxRequests
 * @param {Spec} spec
 * @param {string} name
 * @param {Scale} [scale]
 * @returns {Plan}
 */
export function planScenario(spec, name, scale) {
  const timeScale = scale ? scale.timeScale : 1;
  const rateScale = scale ? scale.rateScale : 1;
  const s = spec.scenarios[name];
  if (!s) throw new Error(`unknown scenario ${JSON.stringify(name)}; known: ${Object.keys(spec.scenarios).join(', ')}`);
  const where = `scenario ${name}`;
  /** @param {number} r */
  const rate = (r) => (r === 0 ? 0 : Math.max(1, Math.round(r * rateScale)));
  /** @type {Array<{ target: number, durationMs: number }>} */
  let stages;
  let startRate;
  if (s.executor === 'constant-arrival-rate') {
    if (!isRate(s.rate) || s.rate === 0) throw new Error(`${where}: rate must be a positive number`);
    startRate = rate(s.rate);
    stages = [{ target: startRate, durationMs: parseDuration(s.duration) * timeScale }];
  } else if (s.executor === 'ramping-arrival-rate') {
    if (!isRate(s.startRate)) throw new Error(`${where}: startRate must be a non-negative number`);
    if (!Array.isArray(s.stages) || s.stages.length === 0 || s.stages.length > 64) throw new Error(`${where}: 1 to 64 stages`);
    startRate = rate(s.startRate);
    stages = s.stages.map((st, k) => {
      if (!isRate(st.target)) throw new Error(`${where}: stages[${k}].target must be a non-negative number`);
      return { target: rate(st.target), durationMs: parseDuration(st.duration) * timeScale };
    });
  } else {
    throw new Error(`${where}: executor must be constant-arrival-rate or ramping-arrival-rate`);
  }
  if (!isPosInt(s.maxRequests)) throw new Error(`${where}: maxRequests must be a positive integer`);
  if (!isPosInt(s.maxInFlight) || s.maxInFlight > 10000) throw new Error(`${where}: maxInFlight must be an integer in 1..10000`);
  /** @type {Record<string, RouteSpec>} */
  const routes = {};
  /** @type {Array<{ route: string, weight: number }>} */
  const mix = [];
  for (const route of Object.keys(s.mix)) {
    const weight = s.mix[route];
    const r = spec.routes[route];
    if (!r) throw new Error(`${where}: mix names unknown route ${JSON.stringify(route)}`);
    if (!isPosInt(weight) || /** @type {number} */ (weight) > 100) throw new Error(`${where}: mix weight of ${route} must be an integer in 1..100`);
    if (r.payload !== null && PAYLOAD_KINDS.indexOf(r.payload) < 0) throw new Error(`route ${route}: unknown payload ${JSON.stringify(r.payload)}`);
    routes[route] = r;
    mix.push({ route, weight: /** @type {number} */ (weight) });
  }
  if (mix.length === 0) throw new Error(`${where}: empty mix`);
  // Deal the wheel round-robin: round j holds every route whose weight exceeds j.
  /** @type {Array<{ route: string, slot: number }>} */
  const wheel = [];
  const rounds = Math.max.apply(
    null,
    mix.map((m) => m.weight),
  );
  for (let j = 0; j < rounds; j++) for (const m of mix) if (m.weight > j) wheel.push({ route: m.route, slot: j });
  for (const key of Object.keys(s.thresholds)) {
    const exprs = s.thresholds[key];
    if (!Array.isArray(exprs) || exprs.length === 0) throw new Error(`${where}: thresholds.${key} must be a non-empty list`);
  }
  const durationMs = stages.reduce((a, st) => a + st.durationMs, 0);
  /** @type {Plan} */
  const plan = {
    name,
    description: s.description,
    executor: s.executor,
    startRate,
    stages,
    durationMs,
    maxRequests: Math.max(1, Math.ceil(s.maxRequests * timeScale * rateScale)),
    maxInFlight: s.maxInFlight,
    mix,
    wheel,
    routes,
    thresholds: s.thresholds,
    timeScale,
    rateScale,
    expectedRequests: 0,
  };
  plan.expectedRequests = Math.floor(arrivalsBy(plan, durationMs) + 1e-9);
  return plan;
}

/**
 * Arrivals the plan's rate curve asks for in its first `ms` milliseconds (a real number: the
 * integral of the piecewise-linear rate, per second, as k6's arrival-rate executors follow it).
 *
 * @example
 * arrivalsBy(planScenario(SPEC, 'get-burst'), 1000) // 500
 * @param {Pick<Plan, 'startRate' | 'stages'>} plan
 * @param {number} ms
 * @returns {number}
 */
export function arrivalsBy(plan, ms) {
  let total = 0;
  let from = plan.startRate;
  let t = 0;
  for (const st of plan.stages) {
    if (ms <= t) break;
    const d = st.durationMs;
    const x = Math.min(ms - t, d);
    // rate(u) = from + (target − from)·u/d for u in [0, d]: integral over [0, x], per second
    const slope = d > 0 ? (st.target - from) / d : 0;
    total += (from * x + (slope * x * x) / 2) / 1000;
    t += d;
    from = st.target;
  }
  return total;
}

/**
 * The route iteration `i` uses and which use of that route it is (the payload index before the
 * modulo).
 *
 * @example
 * routeAt(plan, 0) // { route: 'tx', use: 0 }
 * @param {Pick<Plan, 'wheel' | 'mix'>} plan
 * @param {number} i
 * @returns {{ route: string, use: number }}
 */
export function routeAt(plan, i) {
  const w = plan.wheel.length;
  const pick = plan.wheel[i % w];
  if (!pick) throw new Error('empty wheel');
  const weight = plan.mix.filter((m) => m.route === pick.route)[0];
  return { route: pick.route, use: Math.floor(i / w) * (weight ? weight.weight : 1) + pick.slot };
}

/**
 * The payload lists a plan needs (names of {@link Payloads} fields).
 *
 * @example
 * payloadKinds(planScenario(SPEC, 'mixed')) // ['txs', 'ebs', 'rbs']
 * @param {Pick<Plan, 'routes'>} plan
 * @returns {Array<'txs' | 'ebs' | 'rbs'>}
 */
export function payloadKinds(plan) {
  /** @type {Array<'txs' | 'ebs' | 'rbs'>} */
  const out = [];
  for (const route of Object.keys(plan.routes)) {
    const r = plan.routes[route];
    if (r && r.payload !== null && out.indexOf(r.payload) < 0) out.push(r.payload);
  }
  return out;
}

/**
 * Fail before any request when a payload list the plan needs is missing or empty, naming the
 * generator command that fills it.
 *
 * @example
 * assertPayloads(plan, { txs: ['…'], ebs: [], rbs: [] }) // throws for a plan that GETs EBs
 * @param {Pick<Plan, 'name' | 'routes'>} plan
 * @param {Partial<Payloads>} payloads
 */
export function assertPayloads(plan, payloads) {
  for (const kind of payloadKinds(plan)) {
    const list = payloads[kind];
    if (!list || list.length === 0) {
      const how = kind === 'txs' ? 'load/generate.ts --txs N' : 'load/generate.ts --from <relay or node URL> (once the chain has blocks with EBs)';
      throw new Error(`scenario ${plan.name} needs ${kind} payloads but none were generated: run ${how}`);
    }
  }
}

/**
 * The request of iteration `i`: route, method, URL, and for a tx the base64 body.
 *
 * @example
 * requestAt(plan, 0, payloads, 'http://127.0.0.1:8787') // { route: 'tx', method: 'POST', url: '…/v1/tx', bodyBase64: '…', … }
 * @param {Pick<Plan, 'wheel' | 'mix' | 'routes'>} plan
 * @param {number} i
 * @param {Partial<Payloads>} payloads
 * @param {string} baseUrl
 * @returns {PlannedRequest}
 */
export function requestAt(plan, i, payloads, baseUrl) {
  const at = routeAt(plan, i);
  const spec = plan.routes[at.route];
  if (!spec) throw new Error(`route ${at.route} not in plan`);
  let path = spec.path;
  /** @type {string | null} */
  let bodyBase64 = null;
  if (spec.payload !== null) {
    const list = payloads[spec.payload];
    if (!list || list.length === 0) throw new Error(`no ${spec.payload} payloads`);
    const item = list[at.use % list.length];
    if (typeof item !== 'string') throw new Error(`${spec.payload}[${at.use % list.length}] is not a string`);
    if (spec.method === 'POST') bodyBase64 = item;
    else path = path.replace('{hash}', item);
  }
  return {
    route: at.route,
    method: spec.method,
    url: baseUrl.replace(/\/+$/, '') + path,
    bodyBase64,
    contentType: spec.contentType === undefined ? null : spec.contentType,
  };
}

/**
 * Check an answer against its route's `expect`: status, and the exact `Cache-Control` and the
 * media type of `Content-Type` when the route names them. `header` looks a header up by its
 * lowercase name (k6 and fetch spell header names differently).
 *
 * @example
 * checkResponse('eb', SPEC.routes.eb, 200, (h) => headers.get(h)) // [{ name: 'eb status 200', ok: true }, …]
 * @param {string} route
 * @param {RouteSpec} spec
 * @param {number} status
 * @param {(lowercaseName: string) => string | null | undefined} header
 * @returns {CheckResult[]}
 */
export function checkResponse(route, spec, status, header) {
  const e = spec.expect;
  /** @type {CheckResult[]} */
  const out = [{ name: `${route} status ${e.status.join('|')}`, ok: e.status.indexOf(status) >= 0 }];
  if (e.cacheControl !== undefined) {
    const cc = header('cache-control');
    out.push({ name: `${route} cache-control ${e.cacheControl}`, ok: cc === e.cacheControl });
  }
  if (e.contentType !== undefined) {
    const ct = header('content-type');
    out.push({ name: `${route} content-type ${e.contentType}`, ok: typeof ct === 'string' && (ct.split(';')[0] || '').trim() === e.contentType });
  }
  return out;
}

/**
 * The k6 `options` of a plan: one scenario with its executor, the shared thresholds, trend stats
 * down to p(99), and response bodies discarded (checks read status and headers only).
 *
 * @example
 * export const options = k6Options(planScenario(SPEC, 'tx-burst', readScale(__ENV)));
 * @param {Plan} plan
 * @returns {Record<string, unknown>}
 */
export function k6Options(plan) {
  const vus = { preAllocatedVUs: Math.min(plan.maxInFlight, 20), maxVUs: plan.maxInFlight, gracefulStop: '10s' };
  /** @type {Record<string, unknown>} */
  let scenario;
  const first = plan.stages[0];
  if (plan.executor === 'constant-arrival-rate' && first) {
    scenario = { executor: 'constant-arrival-rate', rate: first.target, timeUnit: '1s', duration: formatDuration(first.durationMs), ...vus };
  } else {
    scenario = {
      executor: 'ramping-arrival-rate',
      startRate: plan.startRate,
      timeUnit: '1s',
      stages: plan.stages.map((st) => ({ target: st.target, duration: formatDuration(st.durationMs) })),
      ...vus,
    };
  }
  /** @type {Record<string, unknown>} */
  const scenarios = {};
  scenarios[plan.name] = scenario;
  return {
    scenarios,
    thresholds: plan.thresholds,
    discardResponseBodies: true,
    summaryTrendStats: ['min', 'avg', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'],
  };
}
