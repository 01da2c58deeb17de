/**
 * The k6 side of a scenario: k6's HTTP client, checks and execution context around the shared
 * plan (./plan.js) of a scenario in ./scenarios.js. The entry scripts (./tx-burst.js,
 * ./get-burst.js, ./mixed.js) load the payloads with `open()` — in the entry file, so relative
 * paths resolve against load/k6/ on every k6 version — and hand them here.
 *
 * Environment (`k6 run -e NAME=value`): BASE_URL (default http://127.0.0.1:8787, a loopback
 * relay; anything else also needs ALLOW_REMOTE=1), TIME_SCALE, RATE_SCALE (../README.md).
 *
 * @module
 */
import { check } from 'k6';
import encoding from 'k6/encoding';
import exec from 'k6/execution';
import http from 'k6/http';
import { assertPayloads, assertTarget, checkResponse, k6Options, planScenario, readScale, requestAt } from './plan.js';
import { SPEC } from './scenarios.js';

/**
 * A header of a k6 response by lowercase name (k6 canonicalises names: `Cache-Control`).
 *
 * @param {Record<string, string>} headers
 * @param {string} name
 */
function headerOf(headers, name) {
  for (const k in headers) if (k.toLowerCase() === name) return headers[k];
  return null;
}

/**
 * The k6 `options` and iteration function of scenario `name` over `payloads`
 * (`{ txs, ebs, rbs }`, SharedArrays of the generated lists the scenario needs).
 *
 * @example
 * const s = k6Scenario('tx-burst', { txs });
 * export const options = s.options;
 * export default function () { s.iteration(); }
 * @param {string} name
 * @param {Record<string, ArrayLike<string>>} payloads
 */
export function k6Scenario(name, payloads) {
  const plan = planScenario(SPEC, name, readScale(__ENV));
  assertPayloads(plan, payloads);
  const baseUrl = __ENV.BASE_URL || 'http://127.0.0.1:8787';
  assertTarget(baseUrl, __ENV);
  function iteration() {
    const i = exec.scenario.iterationInTest;
    // the curve bounds the count already; this makes maxRequests a hard cap as in the harness
    if (i >= plan.maxRequests) return;
    const req = requestAt(plan, i, payloads, baseUrl);
    const params = {
      // one `name` per route: EB and RB URLs would otherwise each be their own time series
      tags: { route: req.route, name: req.route },
      timeout: '10s',
      headers: req.contentType ? { 'Content-Type': req.contentType } : {},
    };
    const body = req.bodyBase64 === null ? null : encoding.b64decode(req.bodyBase64, 'std');
    const res = http.request(req.method, req.url, body, params);
    const results = checkResponse(req.route, plan.routes[req.route], res.status, (h) => headerOf(res.headers, h));
    const sets = {};
    for (const r of results) sets[r.name] = () => r.ok;
    check(res, sets, { route: req.route });
  }
  return { options: k6Options(plan), iteration };
}
