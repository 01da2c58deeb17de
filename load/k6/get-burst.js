/**
 * k6: a burst of cached immutable GETs on a relay — `GET /v1/eb/{hash}`, `GET /v1/rb/{hash}` —
 * with some `GET /v1/tip` (PROTOCOL.md §12), scenario `get-burst` of ./scenarios.js. Payloads:
 * `hashes.json` from `load/generate.ts --from <url>` once the chain has EBs.
 *
 *   k6 run -e BASE_URL=http://127.0.0.1:8787 load/k6/get-burst.js
 *
 * PAYLOAD_DIR: where generate.ts wrote (default ../payloads, relative to this file; give an
 * absolute path otherwise). See ../README.md for TIME_SCALE, RATE_SCALE, ALLOW_REMOTE.
 */
import { SharedArray } from 'k6/data';
import { k6Scenario } from './lib.js';

const DIR = __ENV.PAYLOAD_DIR || '../payloads';
const ebs = new SharedArray('ebs', () => JSON.parse(open(`${DIR}/hashes.json`)).ebs);
const rbs = new SharedArray('rbs', () => JSON.parse(open(`${DIR}/hashes.json`)).rbs);
const scenario = k6Scenario('get-burst', { ebs, rbs });

export const options = scenario.options;

export default function () {
  scenario.iteration();
}
