/**
 * Run a k6 entry script's init code and a few iterations under Node, for the tests (k6 cannot be
 * installed on these machines, DESIGN.md §4): `node load/k6/shim/run.mjs <script.js> <iterations>`.
 * Prints one JSON line: the script's exported `options`, every request it made (method, URL,
 * body as base64, headers, tags, status) and every check with its outcome.
 *
 * Primer: ./hooks.mjs resolves the `k6`, `k6/http`, `k6/data`, `k6/encoding` and `k6/execution`
 * imports to ./k6.mjs, which implements the small part of the k6 API the scripts use with real
 * HTTP (synchronous, as in k6, through a worker thread). `open()` reads relative to the entry
 * script and `__ENV` is this process's environment, as `k6 run -e` would give them. Iterations
 * run one after another with `exec.scenario.iterationInTest` = 0, 1, 2, …; the executor, its
 * rates and its thresholds are k6's business and are only reported (as `options`).
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { register } from 'node:module';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [script, count] = process.argv.slice(2);
if (!script || !/^[0-9]+$/.test(count ?? '')) {
  process.stderr.write('usage: node load/k6/shim/run.mjs <script.js> <iterations>\n');
  process.exit(2);
}
const entry = resolve(script);
register('./hooks.mjs', import.meta.url);
const state = { iteration: 0, requests: [], checks: [] };
globalThis.__k6shim = state;
globalThis.__ENV = { ...process.env };
/** k6 open(): init context only, relative to the entry script; 'b' gives an ArrayBuffer. */
globalThis.open = (path, mode) => {
  const bytes = readFileSync(resolve(dirname(entry), path));
  if (mode === 'b') return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  return bytes.toString('utf8');
};
const mod = await import(pathToFileURL(entry).href);
delete globalThis.open; // as in k6: only the init context may open files
for (let i = 0; i < Number(count); i++) {
  state.iteration = i;
  mod.default();
}
process.stdout.write(`${JSON.stringify({ options: mod.options, requests: state.requests, checks: state.checks })}\n`);
process.exit(0);
