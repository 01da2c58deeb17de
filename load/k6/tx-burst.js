/**
 * k6: a burst of valid signed txs on a relay's `POST /v1/tx` (PROTOCOL.md §12), scenario
 * `tx-burst` of ./scenarios.js. Payloads: `txs.json` from load/generate.ts.
 *
 *   k6 run -e BASE_URL=http://127.0.0.1:8787 load/k6/tx-burst.js
 *
 * PAYLOAD_DIR: where generate.ts wrote (default ../payloads, relative to this file; give an
 * absolute path otherwise). See ../README.md for TIME_SCALE, RATE_SCALE, ALLOW_REMOTE.
 */
import { SharedArray } from 'k6/data';
import { k6Scenario } from './lib.js';

const DIR = __ENV.PAYLOAD_DIR || '../payloads';
const txs = new SharedArray('txs', () => JSON.parse(open(`${DIR}/txs.json`)).txs);
const scenario = k6Scenario('tx-burst', { txs });

export const options = scenario.options;

export default function () {
  scenario.iteration();
}
