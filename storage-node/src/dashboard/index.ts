/**
 * The storage node's web dashboard: one self-contained HTML page.
 *
 * Primer: operators open the dashboard on machines that may have no Internet access, and a page
 * that pulls a chart library from a CDN is also a page whose behaviour someone else controls. So
 * the page is assembled here from three local files — `page.html`, `style.css` and `client.js` —
 * with the CSS and script inlined, and it draws its plots itself on `<canvas>`. It reads
 * `GET /api/status` (polled every second) and `GET /api/events` (SSE). Elements carry stable
 * `data-testid` attributes (`certified-eb-count`, `eb-row` with `data-state`, `rb-row`,
 * `vote-tally`, `mempool-txs`, `throughput-plot`, `latency-plot`, `event-log`, …) for browser
 * tests. {@link DASHBOARD_CSP} is sent with the page so the browser itself refuses any off-host load.
 *
 * @module
 */
import { readFileSync } from 'node:fs';

const read = (name: string): string => readFileSync(new URL(`./${name}`, import.meta.url), 'utf8');

/** Content-Security-Policy of the page: nothing may be loaded from or sent to another origin. */
export const DASHBOARD_CSP =
  "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

let cached: string | undefined;

/**
 * The dashboard HTML with its CSS and script inlined (built once, then cached).
 *
 * @example
 * ```ts
 * app.get('/', (c) => c.html(dashboardHtml()));
 * ```
 */
export function dashboardHtml(): string {
  if (cached === undefined) {
    const script = read('client.js');
    // An inline script ends at the first "</script"; the client must never contain one.
    if (/<\/script/i.test(script)) throw new Error('dashboard client.js must not contain "</script"');
    cached = read('page.html')
      .replace('/*__STYLE__*/', () => read('style.css'))
      .replace('/*__SCRIPT__*/', () => script);
  }
  return cached;
}
