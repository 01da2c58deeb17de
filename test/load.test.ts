/**
 * The load scenarios (load/): the shared plan logic both runners use, then a short version of
 * every scenario through the Node harness against a real relay — `wrangler dev` (the Worker and
 * RelayHub in workerd) in front of one storage node (child process, PGlite) — with payloads from
 * load/generate.ts written to and read back from files, as k6 would read them.
 *
 * - tx-burst: valid signed txs from the devnet's genesis are all answered 202;
 * - get-burst: EB and RB hashes collected from the chain are all answered 200 with the §12
 *   immutable Cache-Control (and the tip 200 with max-age=1), mostly from the relay's cache;
 * - mixed: both, txs replayed (idempotent 202).
 *
 * Every scenario's thresholds are evaluated; the correctness ones (failed requests, checks) must
 * pass, the latency ones are reported (this machine is shared, so they are figures, not gates).
 * Ports are free ones picked at start, so this never collides with the e2e devnet.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { collectHashes, generateTxs, readPayloads, writePayloads } from '../load/generate';
import { evaluateThreshold, formatSummary, type Metrics, runScenario, type Summary, writeSummary } from '../load/harness';
import { arrivalsBy, assertTarget, checkResponse, k6Options, type Plan, planScenario, requestAt, routeAt, SCENARIO_NAMES, SPEC } from '../load/scenarios';
import { Devnet, DEVNET_DEFAULTS, REPO_ROOT } from '../storage-node/src/cli/devnet';

describe('load plan (shared by k6 and the harness)', () => {
  it('gives k6 the scenario, rates, durations and thresholds of the description', () => {
    for (const name of SCENARIO_NAMES) {
      const spec = SPEC.scenarios[name];
      if (!spec) throw new Error(name);
      const plan = planScenario(name);
      const opts = k6Options(plan) as { scenarios: Record<string, Record<string, unknown>>; thresholds: unknown };
      expect(Object.keys(opts.scenarios)).toEqual([name]);
      const k6 = opts.scenarios[name] as Record<string, unknown>;
      expect(k6.executor).toBe(spec.executor);
      expect(k6.maxVUs).toBe(spec.maxInFlight);
      expect(opts.thresholds).toBe(spec.thresholds);
      if (spec.executor === 'constant-arrival-rate') {
        expect(k6.rate).toBe(spec.rate);
        expect(k6.duration).toBe(`${Math.round(plan.durationMs)}ms`);
      } else {
        expect(k6.startRate).toBe(spec.startRate);
        expect((k6.stages as Array<{ target: number }>).map((s) => s.target)).toEqual(spec.stages.map((s) => s.target));
      }
      // the cap is above what the curve asks for at scale 1: the curve, not the cap, ends a run
      expect(plan.expectedRequests).toBeLessThanOrEqual(plan.maxRequests);
    }
  });

  it('follows the piecewise-linear rate curve: monotone, ending at the planned arrivals', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...SCENARIO_NAMES),
        fc.double({ min: 0.01, max: 3, noNaN: true }),
        fc.double({ min: 0.01, max: 3, noNaN: true }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 2, maxLength: 20 }),
        (name, timeScale, rateScale, points) => {
          const plan = planScenario(name, { timeScale, rateScale });
          const ts = points.map((p) => p * plan.durationMs).sort((a, b) => a - b);
          for (let k = 1; k < ts.length; k++) expect(arrivalsBy(plan, ts[k] as number)).toBeGreaterThanOrEqual(arrivalsBy(plan, ts[k - 1] as number) - 1e-9);
          // integral of each linear stage = mean of its end rates × its length
          let total = 0;
          let from = plan.startRate;
          for (const st of plan.stages) {
            total += ((from + st.target) / 2) * (st.durationMs / 1000);
            from = st.target;
          }
          expect(arrivalsBy(plan, plan.durationMs)).toBeCloseTo(total, 6);
          expect(arrivalsBy(plan, plan.durationMs * 2)).toBeCloseTo(total, 6);
        },
      ),
    );
  });

  it('deals the route mix round-robin by weight, and each route walks its payloads in order', () => {
    for (const name of SCENARIO_NAMES) {
      const plan = planScenario(name);
      const w = plan.wheel.length;
      expect(w).toBe(plan.mix.reduce((a, m) => a + m.weight, 0));
      const uses = new Map<string, number[]>();
      for (let i = 0; i < 3 * w; i++) {
        const { route, use } = routeAt(plan, i);
        uses.set(route, [...(uses.get(route) ?? []), use]);
      }
      for (const { route, weight } of plan.mix) {
        expect(uses.get(route)).toEqual(Array.from({ length: 3 * weight }, (_, k) => k));
      }
    }
  });

  it('evaluates k6 threshold expressions on the run metrics and refuses unknown ones', () => {
    const samples = Array.from({ length: 100 }, (_, k) => ({ route: k % 2 === 0 ? 'eb' : 'tx', status: k === 99 ? 503 : 200, ms: k + 1, failed: k === 99 }));
    const m: Metrics = { samples, checks: samples.map((s) => ({ route: s.route, name: 'x', ok: !s.failed })), dropped: 0, durationS: 10 };
    // sorted 1..100: k6 interpolates p(95) at rank 0.95 × 99 = 94.05 → 95.05
    expect(evaluateThreshold('http_req_duration', 'p(95)<100', m)).toEqual({ expr: 'p(95)<100', value: 95.05, ok: true });
    expect(evaluateThreshold('http_req_duration{route:eb}', 'max<=99', m)).toEqual({ expr: 'max<=99', value: 99, ok: true });
    expect(evaluateThreshold('http_req_failed', 'rate<0.01', m).ok).toBe(false);
    expect(evaluateThreshold('http_req_failed{route:eb}', 'rate<0.01', m).ok).toBe(true);
    expect(evaluateThreshold('checks', 'rate>0.98', m)).toEqual({ expr: 'rate>0.98', value: 0.99, ok: true });
    expect(evaluateThreshold('http_reqs', 'rate>=10', m)).toEqual({ expr: 'rate>=10', value: 10, ok: true });
    // a route that was never exercised proves nothing
    expect(evaluateThreshold('http_req_duration{route:rb}', 'p(95)<100', m)).toEqual({ expr: 'p(95)<100', value: null, ok: false });
    expect(() => evaluateThreshold('vus', 'max<10', m)).toThrow(/not measured/);
    expect(() => evaluateThreshold('http_req_duration', 'rate<1', m)).toThrow(/not an aggregation/);
    expect(() => evaluateThreshold('http_req_duration', 'p95<1', m)).toThrow(/not a supported/);
  });

  it('only loads loopback targets unless told otherwise', () => {
    for (const ok of ['http://127.0.0.1:8787', 'http://localhost:1', 'http://[::1]:8787/']) expect(() => assertTarget(ok, {})).not.toThrow();
    expect(() => assertTarget('https://relay.example.org', {})).toThrow(/ALLOW_REMOTE/);
    expect(() => assertTarget('http://127.0.0.1.example.org', {})).toThrow(/ALLOW_REMOTE/);
    expect(() => assertTarget('https://relay.example.org', { ALLOW_REMOTE: '1' })).not.toThrow();
  });
});

/** The k6 thresholds that judge correctness rather than speed. */
const CORRECTNESS = ['http_req_failed', 'checks'];

function expectEvaluated(s: Summary, plan: Plan): void {
  expect(Object.keys(s.thresholds).sort()).toEqual(Object.keys(plan.thresholds).sort());
  for (const [key, results] of Object.entries(s.thresholds)) {
    expect(results.map((r) => r.expr)).toEqual(plan.thresholds[key]);
    for (const r of results) {
      expect(r.value, `${key} ${r.expr}`).not.toBeNull();
      if (CORRECTNESS.includes(key)) expect(r.ok, `${key} ${r.expr} = ${r.value}`).toBe(true);
    }
  }
  // every arrival is accounted for: made, dropped (too many in flight) or over the cap; on a
  // busy shared machine a few may drop, but most of the curve must have been driven
  expect(s.requests + s.dropped + s.capped).toBe(plan.expectedRequests);
  expect(s.capped).toBe(0);
  expect(s.requests).toBeGreaterThanOrEqual(plan.expectedRequests / 2);
  expect(s.errors).toEqual({});
}

describe('load scenarios against a real relay and storage node', () => {
  let net: Devnet;
  let dir: string;
  let payloadDir: string;
  let relay: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'leios-load-'));
    payloadDir = join(dir, 'payloads');
    net = await Devnet.start({
      ...DEVNET_DEFAULTS,
      nodes: 1,
      relays: 1,
      slotMs: 200,
      // no generator: it would spend the genesis outputs the generated txs spend
      txRate: 0,
      // a block every ~2 slots, and small RBs, so a short tx burst overflows into EBs
      params: { maxRbBodySize: 2000, activeSlotCoeff: { num: 1n, den: 2n } },
      dir: join(dir, 'devnet'),
      apiBasePort: 0,
      relayBasePort: 0,
    });
    relay = net.relays[0]?.url as string;
    // from the devnet's own genesis files, as `generate.ts --genesis <dir>/genesis.json` does
    await writePayloads(payloadDir, { txs: await generateTxs({ count: 400, genesisPath: net.genesisPath }) });
  }, 180_000);

  let failed = false;
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') failed = true;
  });

  afterAll(async () => {
    await net?.stop();
    // keep the devnet's logs when something failed (the messages name the directory)
    if (dir && !failed) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  const run = async (name: string, timeScale: number, rateScale: number) => {
    const plan = planScenario(name, { timeScale, rateScale });
    const summary = await runScenario(plan, { baseUrl: relay, payloads: await readPayloads(payloadDir) });
    process.stdout.write(formatSummary(summary));
    const path = await writeSummary(summary, join(dir, `load-${name}.json`));
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual(JSON.parse(JSON.stringify(summary)));
    return { plan, summary };
  };

  it('tx-burst: every valid tx is accepted with 202', async () => {
    const { plan, summary } = await run('tx-burst', 0.1, 0.3);
    expectEvaluated(summary, plan);
    expect(summary.requests).toBeGreaterThan(50);
    expect(summary.status).toEqual({ '202': summary.requests });
    expect(summary.checks.fails).toBe(0);
  }, 60_000);

  it('get-burst: cached EBs and RBs are 200 with the immutable Cache-Control', async () => {
    // the burst left more txs than RBs hold: wait (bounded) for blocks announcing EBs
    const deadline = Date.now() + 30_000;
    let hashes = await collectHashes(relay, { maxBlocks: 200 });
    while (hashes.ebs.length < 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1000));
      hashes = await collectHashes(relay, { maxBlocks: 200 });
    }
    const node = await net.status(0);
    expect(hashes.ebs.length, `EBs on the relay's chain of ${hashes.rbs.length} RBs (relay tip #${hashes.tip.blockNumber}, node tip #${node.tip.blockNumber}, node mempool ${node.mempool.txs} txs; logs in ${dir})`).toBeGreaterThanOrEqual(2);
    process.stdout.write(`collected ${hashes.rbs.length} RB and ${hashes.ebs.length} EB hashes (tip #${hashes.tip.blockNumber})\n`);
    await writePayloads(payloadDir, { hashes });

    const { plan, summary } = await run('get-burst', 0.15, 0.1);
    expectEvaluated(summary, plan);
    expect(summary.status).toEqual({ '200': summary.requests });
    expect(summary.checks.fails).toBe(0);
    for (const route of ['eb', 'rb']) {
      const r = summary.routes[route];
      expect(r?.requests).toBeGreaterThan(0);
      expect(summary.checks.byName[`${route} cache-control public, max-age=31536000, immutable`]?.passes).toBe(r?.requests);
      // collectHashes fetched each once through the relay, so the burst is served from its cache
      expect(r?.sources.cache ?? 0, JSON.stringify(r?.sources)).toBeGreaterThan((r?.requests ?? 0) * 0.9);
    }
  }, 60_000);

  it('mixed: tx replays (idempotent 202) among cached GETs', async () => {
    const { plan, summary } = await run('mixed', 0.1, 0.5);
    expectEvaluated(summary, plan);
    expect(summary.routes.tx?.status).toEqual({ '202': summary.routes.tx?.requests });
    for (const route of ['eb', 'rb', 'tip']) expect(summary.routes[route]?.status).toEqual({ '200': summary.routes[route]?.requests });
    expect(summary.checks.fails).toBe(0);
  }, 60_000);

  it('k6 scripts: their options, requests and checks are the plan\'s (k6 API shim, real HTTP)', async () => {
    const payloads = await readPayloads(payloadDir);
    for (const name of SCENARIO_NAMES) {
      const env = { ...process.env, BASE_URL: relay, PAYLOAD_DIR: payloadDir, TIME_SCALE: '0.2', RATE_SCALE: '0.5' };
      const plan = planScenario(name, { timeScale: 0.2, rateScale: 0.5 });
      const n = plan.wheel.length * 2;
      const { stdout } = await promisify(execFile)(process.execPath, [join(REPO_ROOT, 'load/k6/shim/run.mjs'), join(REPO_ROOT, `load/k6/${name}.js`), String(n)], { env, timeout: 60_000 });
      const out = JSON.parse(stdout) as {
        options: unknown;
        requests: Array<{ method: string; url: string; bodyBase64: string | null; tags: Record<string, string>; status: number }>;
        checks: Array<{ name: string; ok: boolean; tags: Record<string, string> }>;
      };
      expect(out.options).toEqual(JSON.parse(JSON.stringify(k6Options(plan))));
      expect(out.requests.length).toBe(n);
      const expectedChecks: string[] = [];
      out.requests.forEach((r, i) => {
        const want = requestAt(plan, i, payloads, relay);
        expect({ method: r.method, url: r.url, bodyBase64: r.bodyBase64, route: r.tags.route }).toEqual({ method: want.method, url: want.url, bodyBase64: want.bodyBase64, route: want.route });
        const spec = plan.routes[want.route];
        if (spec) for (const c of checkResponse(want.route, spec, spec.expect.status[0] as number, () => null)) expectedChecks.push(c.name);
      });
      expect(out.checks.map((c) => c.name)).toEqual(expectedChecks);
      expect(out.checks.filter((c) => !c.ok)).toEqual([]);
    }
  }, 120_000);
});
