/**
 * k6: steady mixed traffic on a relay — tx submissions among EB, RB and tip reads (PROTOCOL.md
 * §12) — scenario `mixed` of ./scenarios.js. Payloads: `txs.json` and `hashes.json` from
 * load/generate.ts.
 *
 *   k6 run -e BASE_URL=http://127.0.0.1:8787 load/k6/mixed.js
 *
 * PAYLOAD_DIR: where generate.ts wrote (default ../payloads, relative to this file; give an
 * absolute path otherwise). See ../README.md for TIME_SCALE, RATE_SCALE, ALLOW_REMOTE.
 */
import { SharedArray } from 'k6/data';
import { k6Scenario } from './lib.js';

const DIR = __ENV.PAYLOAD_DIR || '../payloads';
const txs = new SharedArray('txs', () => JSON.parse(open(`${DIR}/txs.json`)).txs);
const ebs = new SharedArray('ebs', () => JSON.parse(open(`${DIR}/hashes.json`)).ebs);
const rbs = new SharedArray('rbs', () => JSON.parse(open(`${DIR}/hashes.json`)).rbs);
const scenario = k6Scenario('mixed', { txs, ebs, rbs });

export const options = scenario.options;

export default function () {
  scenario.iteration();
}
