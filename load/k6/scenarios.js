/**
 * The load scenarios, described once as data (DESIGN.md §4: k6 scripts in plain JavaScript and a
 * Node harness run the same scenarios). Both sides import this module: the k6 entry scripts
 * (./tx-burst.js, ./get-burst.js, ./mixed.js through ./lib.js) and the Node harness
 * (../scenarios.ts validates it and gives it types), so a rate, a bound or a threshold cannot
 * differ between a k6 run and a CI run.
 *
 * Plain data only: no imports, no k6 or Node API, nothing newer than what k6 ≥ 0.48 parses.
 *
 * - `routes`: the PROTOCOL.md §12 requests a scenario can make, where their path parameter or
 *   body comes from (`payload`: a list in the files load/generate.ts writes) and what a correct
 *   answer looks like (`expect`: status and exact §12 `Cache-Control`, content type prefix).
 * - `scenarios`: k6 executor settings (`constant-arrival-rate`: `rate` per second for `duration`;
 *   `ramping-arrival-rate`: `startRate` then linear `stages`), `maxRequests` (a hard cap on
 *   requests, on top of what rate × duration gives), `maxInFlight` (k6 `maxVUs`: arrivals while
 *   that many requests are outstanding are dropped, as k6 drops iterations), `mix` (integer route
 *   weights, dealt out round-robin) and k6 `thresholds` (k6 syntax; the harness evaluates the
 *   same expressions).
 *
 * The default figures are for one relay in front of one to three storage nodes on a small
 * machine; both runners scale them with TIME_SCALE / RATE_SCALE (load/README.md).
 *
 * @module
 */

/** @type {import('../scenarios').Spec} */
export const SPEC = {
  routes: {
    // §12: one tx in, 202 {"txId","txHash"}; idempotent, so replaying a payload again is still 202
    tx: {
      method: 'POST',
      path: '/v1/tx',
      payload: 'txs',
      contentType: 'application/cbor',
      expect: { status: [202], contentType: 'application/json', cacheControl: 'no-store' },
    },
    // §12: immutable, hash-addressed; after the first request the relay answers from the Cache API
    eb: {
      method: 'GET',
      path: '/v1/eb/{hash}',
      payload: 'ebs',
      expect: { status: [200], contentType: 'application/cbor', cacheControl: 'public, max-age=31536000, immutable' },
    },
    rb: {
      method: 'GET',
      path: '/v1/rb/{hash}',
      payload: 'rbs',
      expect: { status: [200], contentType: 'application/cbor', cacheControl: 'public, max-age=31536000, immutable' },
    },
    // §12: the tip moves every slot, so only a one-second max-age
    tip: {
      method: 'GET',
      path: '/v1/tip',
      payload: null,
      expect: { status: [200], contentType: 'application/json', cacheControl: 'public, max-age=1' },
    },
  },
  scenarios: {
    'tx-burst': {
      description: 'a burst of valid signed txs on POST /v1/tx: ramp to 100/s, hold, ramp down',
      executor: 'ramping-arrival-rate',
      startRate: 10,
      stages: [
        { target: 100, duration: '10s' },
        { target: 100, duration: '20s' },
        { target: 0, duration: '5s' },
      ],
      // 550 + 2000 + 250 arrivals: below the 4,096 genesis outputs a devnet funds, so every tx is new
      maxRequests: 3000,
      maxInFlight: 100,
      mix: { tx: 1 },
      thresholds: {
        http_req_failed: ['rate<0.01'],
        checks: ['rate>0.99'],
        'http_req_duration{route:tx}': ['p(95)<1500', 'p(99)<3000'],
      },
    },
    'get-burst': {
      description: 'a burst of cached immutable GETs (EBs, RBs) with some tip reads',
      executor: 'constant-arrival-rate',
      rate: 500,
      duration: '20s',
      maxRequests: 10000,
      maxInFlight: 200,
      mix: { eb: 3, rb: 2, tip: 1 },
      thresholds: {
        http_req_failed: ['rate<0.001'],
        checks: ['rate>0.999'],
        'http_req_duration{route:eb}': ['p(95)<250'],
        'http_req_duration{route:rb}': ['p(95)<250'],
        'http_req_duration{route:tip}': ['p(95)<500'],
      },
    },
    mixed: {
      description: 'steady mixed traffic: tx submissions among EB, RB and tip reads',
      executor: 'constant-arrival-rate',
      rate: 100,
      duration: '30s',
      maxRequests: 3000,
      maxInFlight: 100,
      mix: { tx: 1, eb: 3, rb: 3, tip: 3 },
      thresholds: {
        http_req_failed: ['rate<0.01'],
        checks: ['rate>0.99'],
        'http_req_duration{route:tx}': ['p(95)<1500'],
        'http_req_duration{route:eb}': ['p(95)<250'],
        'http_req_duration{route:rb}': ['p(95)<250'],
      },
    },
  },
};
