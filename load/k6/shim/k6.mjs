/**
 * The part of the k6 API the load scripts use, for ./run.mjs: `check` (k6), `SharedArray`
 * (k6/data), the default exports of k6/http (`request`), k6/encoding (`b64decode`) and
 * k6/execution (`scenario.iterationInTest`). One module serves every k6 import (./hooks.mjs):
 * each script takes only the names its import asks for.
 *
 * Primer: k6 HTTP calls block the VU; here a worker thread does the fetch while the main thread
 * waits on a SharedArrayBuffer (Atomics.wait), bounded by the request's timeout. Response header
 * names are canonicalised as k6 does (`Cache-Control`), bodies discarded (the scripts set
 * discardResponseBodies).
 *
 * @module
 */
import { Worker, MessageChannel, receiveMessageOnPort } from 'node:worker_threads';

const state = () => globalThis.__k6shim;
let worker = null;

/** k6 durations the scripts pass as `timeout` (`10s`, `500ms`). */
function timeoutMs(t) {
  const m = /^([0-9]+)(ms|s)$/.exec(String(t ?? '60s'));
  if (!m) throw new Error(`k6 shim: unsupported timeout ${t}`);
  return Number(m[1]) * (m[2] === 's' ? 1000 : 1);
}

const canonical = (name) =>
  name
    .split('-')
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join('-');

/** k6/http request(method, url, body, params): synchronous. */
function request(method, url, body, params = {}) {
  worker ??= new Worker(new URL('./http-worker.mjs', import.meta.url));
  worker.unref();
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  const bytes = body === null || body === undefined ? null : new Uint8Array(body);
  const ms = timeoutMs(params.timeout);
  worker.postMessage({ method, url, body: bytes, headers: params.headers ?? {}, timeoutMs: ms, flag, port: port2 }, [port2]);
  if (Atomics.wait(flag, 0, 0, ms + 5000) === 'timed-out') throw new Error(`k6 shim: ${method} ${url} did not finish`);
  const reply = receiveMessageOnPort(port1)?.message;
  port1.close();
  if (!reply) throw new Error('k6 shim: no reply from the HTTP worker');
  const headers = {};
  for (const [k, v] of reply.headers) headers[canonical(k)] = v;
  state().requests.push({
    method,
    url,
    bodyBase64: bytes ? Buffer.from(bytes).toString('base64') : null,
    headers: params.headers ?? {},
    tags: params.tags ?? {},
    status: reply.status,
    error: reply.error ?? null,
  });
  return { status: reply.status, headers, body: null, error: reply.error ?? '' };
}

/** k6 check(value, sets, tags): runs every predicate, records it, true when all pass. */
export function check(value, sets, tags) {
  let all = true;
  for (const name of Object.keys(sets)) {
    const ok = Boolean(sets[name](value));
    state().checks.push({ name, ok, tags: tags ?? {} });
    all &&= ok;
  }
  return all;
}

/** k6/data SharedArray(name, fn): the array fn returns (k6 shares it between VUs; one VU here). */
export class SharedArray {
  constructor(name, fn) {
    const a = fn();
    if (!Array.isArray(a)) throw new Error(`SharedArray ${name}: the function must return an array`);
    // biome-ignore lint/correctness/noConstructorReturn: k6's SharedArray is array-like; an array stands in
    return Object.freeze(a);
  }
}

function b64decode(s, encoding) {
  if (encoding !== 'std' && encoding !== undefined) throw new Error(`k6 shim: b64decode encoding ${encoding}`);
  const b = Buffer.from(s, 'base64');
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
}

export default {
  request,
  b64decode,
  scenario: {
    get iterationInTest() {
      return state().iteration;
    },
  },
};
