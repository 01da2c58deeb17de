/**
 * ATK-LeiosProtocolBurst at full count (PROTOCOL.md §13.2, §16 #36) → bench/results/burst.json:
 * 720 withheld EBs (the 12 h attack at f = 1/20, 1 s slots, 1/3 adversarial stake) released at
 * once into three honest nodes (a producer and two relays in a line, each linked to the
 * adversary), next to a twin network that never sees the release (storage-node/src/burst).
 *
 * Scale: every withheld EB references 64 opaque txs of 1,000 B (closure 64 kB, EB 2.4 kB; a full
 * EB is ≈ 13 MB), so the burst moves 46 MB per node instead of ≈ 9.4 GB; the EB count, the
 * adversary's share of the chain and the request rules are those of the attack. Slots are 200 ms
 * with f = 1/2 so that Praos samples accrue quickly; links are 25 ms one way at 100 Mbit/s.
 *
 * Reported per driver (Postgres when DATABASE_URL is set, PGlite otherwise; `--drivers
 * pglite,postgres` for both): Praos p95 diffusion (`T(s)` → adoption) burst vs twin with its 90%
 * paired-bootstrap interval, and the same ratio before the release and after the burst (what the
 * method reads with no burst); the time until every honest node held every EB with its closure;
 * per node the memory peak (V8 heap + array buffers, the latter including PGlite's WASM memory) against
 * LEIOS_MEM_CAP, and the memory the burst left behind after full collections, per withheld EB and
 * per reference (burst node minus its twin); event-loop delay; background-lane duty; the
 * `leios_burst_active` gauge; request classes.
 *
 * Run: `npx tsx storage-node/bench/burst.ts [--ebs 720] [--txs 64] [--tx-bytes 1000] [--drivers …]`
 * (also the last step of `npm run bench` in storage-node).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type BurstReport, runBurst } from '../src/burst/index';
import { createScratchDatabase } from '../src/test-support/index';

const { values: args } = parseArgs({
  options: {
    ebs: { type: 'string', default: '720' },
    txs: { type: 'string', default: '64' },
    'tx-bytes': { type: 'string', default: '1000' },
    drivers: { type: 'string', default: process.env.DATABASE_URL ? 'postgres' : 'pglite' },
    'baseline-s': { type: 'string', default: '20' },
    'post-s': { type: 'string', default: '10' },
  },
});
const EBS = Number(args.ebs);
const SHAPE = { txsPerEb: Number(args.txs), txBytes: Number(args['tx-bytes']) };
/** A full EB: S_EB = 512,000 B of references (38 B each) over ≈ 12 MB of txs. */
const FULL_EB_REFS = Math.floor(512_000 / 38);

const mib = (b: number) => Math.round((b / 2 ** 20) * 10) / 10;

function summarise(r: BurstReport): Record<string, unknown> {
  const honest = r.nodes.filter((n) => n.role !== 'adversary' && !n.name.startsWith('c-'));
  const refs = r.scenario.ebs * r.scenario.shape.txsPerEb;
  // What the burst left in each honest node's heap after full collections, net of its twin's drift.
  // Per reference it is what would scale with EB size (the decoded view and reference index the
  // node kept for every EB before its vote-window release: ≈ 300 B per reference, measured with
  // 500-reference EBs); per EB it is bookkeeping that does not (the EB's state entry, offers).
  const retained = r.memory
    .filter((m) => !m.name.startsWith('c-') && m.name !== 'adv')
    .map((m) => {
      const twin = r.memory.find((x) => x.name === `c-${m.name}`)!;
      const grow = (x: typeof m) => x.settledAfter.heapUsed - x.settledBefore.heapUsed;
      const heap = grow(m) - grow(twin);
      return {
        node: m.name,
        heapMiB: mib(heap),
        bytesPerEb: Math.round(heap / r.scenario.ebs),
        bytesPerRef: Math.round((heap / refs) * 10) / 10,
        // an upper bound for 720 full EBs: as if all of it grew with the reference count
        fullBurstUpperBoundMiB: mib((heap / refs) * 720 * FULL_EB_REFS),
      };
    });
  const d = r.diffusion;
  return {
    scenario: r.scenario,
    timings: r.timings,
    praos: {
      metric: 'p95 of T(s) → adoption at each other honest node (ms), burst network vs its twin over the same window',
      ratioP95: d.ratioP95,
      withinBound: d.ratioP95.ratio <= 1.05,
      calibration: { beforeRelease: d.ratioP95Pre, afterBurst: d.ratioP95Post },
      burstP95Ms: d.burst.burst.p95,
      twinP95Ms: d.twin.burst.p95,
      burstP50Ms: d.burst.burst.p50,
      twinP50Ms: d.twin.burst.p50,
      vsOwnBaseline: { ratio: d.ratioP95VsOwnBaseline, baselineP95Ms: d.ownBaseline.p95 },
      headerStageP95: { burst: d.headerStage.burst.p95, twin: d.headerStage.twin.p95 },
      productionP95: { burst: d.production.burst.p95, twin: d.production.twin.p95 },
      missing: d.missing,
    },
    fetch: {
      allFetchedAndKept: honest.every((n) => n.withheld.complete === r.scenario.ebs && n.withheld.completeInDb === r.scenario.ebs && n.withheld.held === r.scenario.ebs),
      fetchCompleteS: r.timings.fetchCompleteS,
      votesForWithheld: honest.reduce((s, n) => s + n.withheld.votes, 0),
      requests: honest.map((n) => ({ node: n.name, block: n.withheldRequests.block, txs: n.withheldRequests.txs, maxPeersPerTx: n.maxPeersPerTx, repeatedAsks: n.repeatedAsks })),
      backgroundLane: honest.map((n) => ({
        node: n.name,
        jobs: n.background.jobs,
        busyS: Math.round(n.background.busyMs / 100) / 10,
        dutyDuringBurst: Math.round((n.background.busyMs / 1000 / r.timings.burstS) * 100) / 100,
        longestJobMs: Math.round(n.background.maxMs),
      })),
      // the fetch manager's decision passes: node-thread work outside the lane, each a walk over
      // every tracked EB (hundreds during the burst)
      decisionPasses: honest.map((n) => ({
        node: n.name,
        passes: n.pumps.passes,
        busyS: Math.round(n.pumps.ms / 100) / 10,
        meanMs: Math.round((n.pumps.ms / Math.max(1, n.pumps.passes)) * 100) / 100,
        longestMs: Math.round(n.pumps.maxMs),
      })),
    },
    burstFlag: honest.map((n) => ({ node: n.name, activeS: n.burstFlag.activeS, maxPending: n.burstFlag.maxPending, gaugeAtEnd: n.burstFlag.gaugeAtEnd })),
    memory: {
      leiosMemCapMiB: mib(r.scenario.leiosMemCap),
      note: 'V8 heap + array buffers of each node thread; with PGlite (on a directory, as a node runs it) the array buffers include its WASM memory',
      peakMiB: Object.fromEntries(r.memory.map((m) => [m.name, mib(m.peak)])),
      maxPeakMiB: mib(Math.max(...r.memory.map((m) => m.peak))),
      // §16 #36's other bound; with PGlite the full burst exceeds it (docs/decisions/007)
      withinCap: r.memory.every((m) => m.peak <= r.scenario.leiosMemCap),
      overCap: r.memory.filter((m) => m.peak > r.scenario.leiosMemCap).map((m) => m.name),
      // the JS heap alone (no database, no socket buffers): what Leios state the node keeps
      peakHeapMiB: Object.fromEntries(r.memory.map((m) => [m.name, mib(m.peakHeapUsed)])),
      peakFetchInFlightKiB: Object.fromEntries(r.memory.map((m) => [m.name, Math.round(m.peakFetchInFlight / 1024)])),
      retainedAfterBurst: retained,
    },
    eventLoop: Object.fromEntries(r.memory.map((m) => [m.name, { elu: m.elu, delayMs: m.loopDelay }])),
  };
}

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(here, '../../bench/results/burst.json');
const runs: Record<string, unknown>[] = [];
for (const driver of args.drivers.split(',')) {
  if (driver !== 'pglite' && driver !== 'postgres') throw new Error(`--drivers: pglite or postgres, not ${driver}`);
  if (driver === 'postgres' && !process.env.DATABASE_URL) throw new Error('postgres needs DATABASE_URL');
  const t0 = performance.now();
  process.stdout.write(`bench burst (${EBS} EBs, ${driver}) …\n`);
  const r = await runBurst({
    ebs: EBS,
    shape: SHAPE,
    baselineS: Number(args['baseline-s']),
    postS: Number(args['post-s']),
    burstTimeoutS: 1_800,
    ...(driver === 'postgres' ? { scratchDb: () => createScratchDatabase() } : {}),
    log: (l) => process.stdout.write(`  ${l}\n`),
  });
  const s = summarise(r);
  runs.push(s);
  const p = s.praos as { ratioP95: { ratio: number; lo: number; hi: number; pairs: number } };
  process.stdout.write(
    `  Praos p95 burst/twin ${p.ratioP95.ratio} [${p.ratioP95.lo}, ${p.ratioP95.hi}] (${p.ratioP95.pairs} pairs); ` +
      `fetch complete ${r.timings.burstS} s; ${((performance.now() - t0) / 1000).toFixed(0)} s\n`,
  );
}
const doc = {
  package: '@leios/storage-node',
  bench: 'burst',
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, memGiB: Math.round(os.totalmem() / 2 ** 30), loadavg1m: os.loadavg()[0] },
  scale: `${EBS} withheld EBs of ${SHAPE.txsPerEb} × ${SHAPE.txBytes} B opaque txs (full EBs: ≈ ${FULL_EB_REFS} references, ≈ 12 MB of txs)`,
  runs,
};
await mkdir(dirname(out), { recursive: true });
await writeFile(out, `${JSON.stringify(doc, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`);
console.log(`wrote ${out}`);
