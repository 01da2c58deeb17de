/**
 * Module resolution hook of ./run.mjs: every `k6` and `k6/*` import is ./k6.mjs.
 *
 * @module
 */
const K6 = new URL('./k6.mjs', import.meta.url).href;
const MODULES = new Set(['k6', 'k6/http', 'k6/data', 'k6/encoding', 'k6/execution']);

/**
 * @example
 * register('./hooks.mjs', import.meta.url);
 */
export async function resolve(specifier, context, next) {
  if (MODULES.has(specifier)) return { url: K6, shortCircuit: true };
  if (specifier.startsWith('k6/')) throw new Error(`the k6 shim does not provide ${specifier}`);
  return next(specifier, context);
}
