/**
 * ATK-LeiosProtocolBurst harness (PROTOCOL.md §13.2, §13.3; conformance case §16 #36): an
 * adversary announces EBs on time for hours, withholds their bodies and txs, then releases all of
 * them at once while honest nodes keep producing and diffusing Praos blocks.
 *
 * Primer — the scenario {@link runBurst} runs:
 *
 * 1. *The withheld segment* ({@link assembleHistory}): a chain over the past in which an honest
 *    pool (2/3 of the stake) and the adversary (1/3) take the slots they win by the §3.5 VRF
 *    lottery; each adversary RB announces `[eb_hash, eb_size]` of an EB over opaque txs (§5.6)
 *    that nobody else has. The genesis puts `systemStart` far enough back for all those slots to
 *    exist, uses one long epoch and a security parameter that keeps the whole segment younger
 *    than the immutable tip: every withheld EB is one the nodes must fetch and keep (§10.4, §13.3).
 * 2. *Two networks* (worker.ts, link.ts), run at the same time on the same segment: the *burst*
 *    network and its *twin*, identical except that the twin's adversary never releases. Every node
 *    is a thread of its own — its event loop, its node queue, its database (PGlite on a temporary
 *    directory, as a storage node runs it, or a Postgres scratch database) — running the production code: {@link LeiosNode},
 *    {@link FetchManager} and {@link PeerSession} with all the mini-protocols, over links with a
 *    one-way latency and an uplink rate whose unsent bytes show in `bufferedAmount` (so §13.1
 *    rules 1 and 3 act as on a real socket). Per network: one honest producer `h0` (its pool leads
 *    ≈ 37% of the slots at f = 1/2), honest relays `v1…` in a line behind it, and the adversary
 *    `adv`, linked to every honest node. Each node starts from the segment as its recovered state.
 *    The producer gets a steady load of opaque txs.
 * 3. *Phases* (wall clock, fast slots): warm-up; *pre*; *release* — the burst network's adversary
 *    is handed every withheld EB, finds each complete in its store and offers all of them
 *    (BlockOffer + BlockTxsOffer) to every peer at once; the *burst* lasts until every honest node
 *    holds every withheld EB with its closure; *post*.
 *
 * Why a twin: the nodes share this machine's few cores with each other and with whatever else
 * runs, so absolute diffusion times drift by tens of percent from minute to minute — more than
 * the 5% to be checked. The twin sees the same machine at the same moments, and its producer holds
 * the same keys, so it produces in the same slots: each burst-network sample (slot s, receiver i)
 * has a twin sample taken under the same conditions. §13.3's ratio is taken between the two
 * networks over the same window, with a paired-bootstrap interval ({@link pairedRatio}); the same
 * ratio before the release and after the burst shows what the method reads when nothing differs.
 * (A sequential baseline, pre ∪ post of the burst network itself, is reported too.)
 *
 * Measured: Praos diffusion of every live RB of `h0` to every other honest node, from the slot
 * start `T(s)` (§14.2 `leios_praos_block_diffusion_seconds`) to the node's *adoption* of the block
 * (stricter than receipt); per node thread: memory (V8 heap and array buffers — with PGlite the
 * latter include its WASM memory: shared buffers and caches, not the data files), sampled and after full collections before and after the
 * burst, event-loop utilisation and delay; fetch requests with their §13.1 class; the
 * `leios_burst_active` gauge; the final state of every withheld EB (held, complete in memory and
 * in the database, no votes).
 *
 * @example
 * ```ts
 * const r = await runBurst({ ebs: 720, shape: { txsPerEb: 8, txBytes: 512 } });
 * r.diffusion.ratioP95 // { ratio, lo, hi, pairs }: burst p95 / twin p95, §13.3 wants ≤ 1.05
 * ```
 *
 * @module
 */
import { Worker } from 'node:worker_threads';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromHex, toHex } from '@leios/shared/bytes';
import { blake2b256 } from '@leios/shared/crypto';
import { DEVNET_LOCAL_LIMITS, type Rational } from '@leios/shared/protocol';
import type { FetchLimits } from '../net/index';
import { assembleHistory, type BurstHistory, type LeaderWin, type WithheldShape } from './history';
import { type LinkShape, nowMs } from './link';
import { type BurstNetOptions, burstNetwork, leaderProbability } from './net';
import type { CraftJob, FromNode, MemorySample, NodeJob, NodeReport, ToNode } from './worker';

export { assembleHistory, leaderWins, opaqueTx, type BurstHistory, type WithheldEb, type WithheldShape } from './history';
export { type LinkShape, nowMs, ShapedSocket } from './link';
export { burstNetwork, type BurstNetOptions, leaderProbability } from './net';

/** A scratch database for one node thread (Postgres runs); `drop` removes it afterwards. */
export interface ScratchDb {
  readonly url: string;
  drop(): Promise<void>;
}

/** Options of {@link runBurst}; every field has a CI-sized default. */
export interface BurstOptions {
  /** Withheld EBs (§13.2: ≈ 720 over 12 h). Default 720. */
  ebs?: number;
  /** Closure of each withheld EB. Default 8 txs of 512 B. */
  shape?: WithheldShape;
  /** Default 200 ms (§15: tests 100–200 ms). */
  slotLengthMs?: number;
  /** f. Default 1/2 (the most RBs per second, hence diffusion samples, that genesis allows). */
  activeSlotCoeff?: Rational;
  /** Honest relays behind the producer, in a line. Default 2. */
  relays?: number;
  /** Every link, both directions. Default 25 ms one way, 12.5 MB/s (100 Mbit/s). */
  link?: LinkShape;
  warmupS?: number;
  /** Pre-release baseline. Default 20 s. */
  baselineS?: number;
  /** Post-burst baseline. Default 10 s. */
  postS?: number;
  /** Give up on the burst after this long. Default 120 s. */
  burstTimeoutS?: number;
  /** Opaque txs submitted to the producer each slot. Default 2 of 1,000 B. */
  txLoad?: { perSlot: number; txBytes: number };
  /** Postgres scratch databases (one per node); absent: in-memory PGlite per node. */
  scratchDb?: () => Promise<ScratchDb>;
  fetchLimits?: Partial<FetchLimits>;
  /** LEIOS_MEM_CAP (§15 devnet 256 MiB). */
  leiosMemCap?: number;
  /** Memory / progress sampling period. Default 250 ms. */
  sampleMs?: number;
  /** Lottery threads. Default 2. */
  lotteryThreads?: number;
  /** Where lottery results are kept between runs (default the OS temp directory; null: no cache). */
  lotteryCacheDir?: string | null;
  /**
   * Calibration (an A/A run): do not release; the "burst" phase is `burstTimeoutS` of nothing.
   * What the ratios show then is the measurement's own noise.
   */
  noRelease?: boolean;
  /** Debugging: write a V8 CPU profile of every node thread into this directory (`<name>.cpuprofile`). */
  profileDir?: string;
  /** Debugging: write every node's raw report (events, requests, samples) to this JSON file. */
  dumpTo?: string;
  log?: (line: string) => void;
}

/** Order statistics of one sample, in ms. */
export interface Dist {
  readonly n: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** Per node memory, bytes (V8 heap used + array buffers of the node's thread). */
export interface NodeMemory {
  readonly name: string;
  /** Median over the pre-release samples. */
  readonly before: number;
  readonly peak: number;
  readonly peakHeapUsed: number;
  readonly peakArrayBuffers: number;
  /** Largest stated bytes of fetch requests in flight. */
  readonly peakFetchInFlight: number;
  /** Largest Leios (P1 + P2) bytes queued in the egress schedulers. */
  readonly peakEgressLeios: number;
  readonly after: number;
  /** Mean event-loop utilisation of the node's thread before the release, during the burst, after. */
  readonly elu: Record<Phase, number>;
  /** Event-loop delay of the node's thread per phase (ms): how long an arriving message waits to run. */
  readonly loopDelay: Record<Phase, { p50: number; p99: number; max: number }>;
  /**
   * After full collections, just before the release and just after the burst: the V8 heap, and
   * array buffers (with PGlite these include its WASM memory).
   */
  readonly settledBefore: { heapUsed: number; arrayBuffers: number };
  readonly settledAfter: { heapUsed: number; arrayBuffers: number };
}

/** What {@link runBurst} found. */
export interface BurstReport {
  readonly scenario: {
    readonly ebs: number;
    readonly shape: WithheldShape;
    readonly slotLengthMs: number;
    readonly activeSlotCoeff: string;
    readonly link: LinkShape;
    readonly nodes: string[];
    readonly database: 'pglite' | 'postgres';
    readonly txLoad: { perSlot: number; txBytes: number };
    readonly segment: { blocks: number; honestBlocks: number; withheldEbs: number; lastSlot: number; withheldBytes: number; ebBytes: number };
    readonly securityParam: number;
    readonly leiosMemCap: number;
    readonly burstThreshold: number;
  };
  readonly timings: {
    readonly lotteryS: number;
    readonly setupS: number;
    readonly setupPhasesMs: Record<string, number>;
    /** Adversary: from `release` until its node had offered everything. */
    readonly releaseS: number;
    /** Release → every honest node holds every withheld EB with its closure. */
    readonly fetchCompleteS: Record<string, number | null>;
    readonly burstS: number;
    readonly totalS: number;
  };
  /**
   * Praos diffusion `T(s)` → adoption at each other honest node, ms, by the RB's slot: in the
   * burst network and in its twin, in each phase.
   */
  readonly diffusion: {
    readonly burst: Record<Phase, Dist>;
    readonly twin: Record<Phase, Dist>;
    /**
     * Burst network during the burst, p95 over the twin's in the same window (§13.3: ≤ 1.05), with
     * its 90% paired-bootstrap interval and the number of paired samples.
     */
    readonly ratioP95: PairedRatio;
    /** The same before the release and after the burst: what the measurement gives with no burst (≈ 1). */
    readonly ratioP95Pre: PairedRatio;
    readonly ratioP95Post: PairedRatio;
    /** Burst network during the burst over its own pre ∪ post phases (sequential; machine drift included). */
    readonly ratioP95VsOwnBaseline: number;
    readonly ownBaseline: Dist;
    /** Live RBs of a producer not adopted by some honest node by the end (should be 0). */
    readonly missing: number;
    /** During the burst, by stage: `T(s)` → header, → body; and the producer's own delay. */
    readonly headerStage: { burst: Dist; twin: Dist };
    readonly bodyStage: { burst: Dist; twin: Dist };
    readonly production: { burst: Dist; twin: Dist };
  };
  readonly memory: NodeMemory[];
  readonly nodes: Array<{
    readonly name: string;
    readonly role: NodeReport['role'];
    readonly withheld: NodeReport['withheld'];
    /** Requests for withheld EBs by §13.1 class [P0, P1, P2]. */
    readonly withheldRequests: { readonly block: [number, number, number]; readonly txs: [number, number, number] };
    /** Most distinct peers one withheld tx was asked of; (tx, peer) pairs asked more than once. */
    readonly maxPeersPerTx: number;
    readonly repeatedAsks: number;
    readonly burstFlag: { transitions: NodeReport['burst']; activeS: number; maxPending: number; gaugeAtEnd: number; onAtRelease: boolean };
    readonly fetched: NodeReport['fetched'];
    /** Background-lane jobs of the fetch manager (P2 loads and deliveries): count, total and longest ms. */
    readonly background: NodeReport['background'];
    /** The fetch manager's decision passes (count, total and longest ms). */
    readonly pumps: NodeReport['pumps'];
    readonly stats: NodeReport['stats'];
    readonly tip: NodeReport['tip'];
    readonly warnings: Record<string, number>;
    readonly warningSamples: string[];
    readonly errors: string[];
    readonly linkBytes: NodeReport['linkBytes'];
    readonly produceTimings: NodeReport['produceTimings'];
  }>;
}

const DEFAULTS = {
  ebs: 720,
  shape: { txsPerEb: 8, txBytes: 512 },
  slotLengthMs: 200,
  activeSlotCoeff: { num: 1n, den: 2n },
  relays: 2,
  link: { latencyMs: 25, bytesPerS: 12_500_000 },
  warmupS: 3,
  baselineS: 20,
  postS: 10,
  burstTimeoutS: 120,
  txLoad: { perSlot: 2, txBytes: 1_000 },
  sampleMs: 250,
  lotteryThreads: 2,
} as const;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Nearest-rank order statistics.
 *
 * @example
 * ```ts
 * dist([3, 1, 2]).p50 // 2
 * ```
 */
export function dist(xs: readonly number[]): Dist {
  if (xs.length === 0) return { n: 0, p50: Number.NaN, p95: Number.NaN, p99: Number.NaN, max: Number.NaN, mean: Number.NaN };
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!;
  const r = (x: number) => Math.round(x * 10) / 10;
  return { n: s.length, p50: r(q(0.5)), p95: r(q(0.95)), p99: r(q(0.99)), max: r(s[s.length - 1]!), mean: r(s.reduce((a, b) => a + b, 0) / s.length) };
}

/** A thread running a worker.ts job. */
class Thread {
  readonly worker: Worker;
  private readonly waiters: Array<{ type: string; resolve: (m: FromNode) => void }> = [];
  private readonly inbox: FromNode[] = [];
  failure: Error | undefined;
  onMessage: ((m: FromNode) => void) | undefined;
  /** The node's fetch requests, streamed as they are issued. */
  readonly requests: Array<Extract<FromNode, { type: 'request' }>['request']> = [];

  constructor(
    readonly name: string,
    job: CraftJob | NodeJob,
  ) {
    this.worker = new Worker(new URL('./worker.ts', import.meta.url), { workerData: job, execArgv: ['--import', 'tsx'] });
    this.worker.on('message', (m: FromNode) => {
      if (m.type === 'request') {
        this.requests.push(m.request);
        return;
      }
      if (m.type === 'error') this.fail(new Error(`${name}: ${m.error}`));
      this.onMessage?.(m);
      const i = this.waiters.findIndex((w) => w.type === m.type);
      if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(m);
      else this.inbox.push(m);
    });
    this.worker.on('error', (e) => this.fail(e));
    this.worker.on('exit', (code) => {
      if (code !== 0) this.fail(new Error(`${name} exited with ${code}`));
    });
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const w of this.waiters.splice(0)) w.resolve({ type: 'error', error: e.message });
  }

  post(m: ToNode, transfer: readonly MessagePort[] = []): void {
    this.worker.postMessage(m, [...transfer]);
  }

  /** The next message of `type` (also one that arrived earlier). */
  next<T extends FromNode['type']>(type: T, timeoutMs = 600_000): Promise<Extract<FromNode, { type: T }>> {
    const i = this.inbox.findIndex((m) => m.type === type);
    if (i >= 0) return Promise.resolve(this.inbox.splice(i, 1)[0] as Extract<FromNode, { type: T }>);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name}: no ${type} within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        type,
        resolve: (m) => {
          clearTimeout(timer);
          if (m.type === 'error') reject(this.failure ?? new Error(m.error));
          else resolve(m as Extract<FromNode, { type: T }>);
        },
      });
    });
  }

  async terminate(): Promise<void> {
    await this.worker.terminate();
  }
}

/** Every thread's retained memory (heap + array buffers after full collections), in order. */
async function settleAll(threads: readonly Thread[]): Promise<Array<{ heapUsed: number; arrayBuffers: number }>> {
  for (const t of threads) t.post({ type: 'settle' });
  const out: Array<{ heapUsed: number; arrayBuffers: number }> = [];
  for (const t of threads) {
    const m = await t.next('settled');
    out.push({ heapUsed: m.heapUsed, arrayBuffers: m.arrayBuffers });
  }
  return out;
}

/**
 * The VRF lottery of `pool` over `[from, to)`, split over `threads` threads. The result depends
 * only on the keys (from the label), the stakes, f and the slots — not on the time — so it is kept
 * in `cacheDir` (when given) and read back by later runs (the two vitest projects, the bench).
 */
async function lottery(
  net: BurstNetOptions,
  pool: number,
  from: number,
  to: number,
  skip: readonly number[],
  threads: number,
  cacheDir: string | undefined,
): Promise<LeaderWin[]> {
  const key = toHex(
    blake2b256(
      new TextEncoder().encode(JSON.stringify([LOTTERY_CACHE_VERSION, net.label, `${net.activeSlotCoeff.num}/${net.activeSlotCoeff.den}`, net.stakes.map(String), pool, from, to, skip])),
    ),
  ).slice(0, 32);
  const file = cacheDir ? join(cacheDir, `leios-burst-lottery-${key}.json`) : undefined;
  if (file) {
    const cached = await readFile(file, 'utf8').catch(() => undefined);
    if (cached !== undefined) {
      const rows = JSON.parse(cached) as Array<[number, string, string]>;
      return rows.map(([slot, proof, output]) => ({ slot, proof: fromHex(proof), output: fromHex(output) }));
    }
  }
  const step = Math.ceil((to - from) / threads);
  const parts = Array.from({ length: threads }, (_, i) => {
    const a = from + i * step;
    const b = Math.min(to, a + step);
    const s = skip.filter((x) => x >= a && x < b);
    return new Promise<LeaderWin[]>((resolve, reject) => {
      const w = new Worker(new URL('./worker.ts', import.meta.url), {
        workerData: { kind: 'craft', net, pool, from: a, to: b, skip: s } satisfies CraftJob,
        execArgv: ['--import', 'tsx'],
      });
      w.once('message', (m: { type: 'wins'; wins: LeaderWin[] } | { type: 'error'; error: string }) => {
        void w.terminate();
        if (m.type === 'wins') resolve(m.wins);
        else reject(new Error(`lottery: ${m.error}`));
      });
      w.once('error', reject);
    });
  });
  const wins = (await Promise.all(parts)).flat().sort((a, b) => a.slot - b.slot);
  if (file) {
    // write-then-rename: a concurrent reader never sees half a file
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(wins.map((w) => [w.slot, toHex(w.proof), toHex(w.output)])));
    await rename(tmp, file);
  }
  return wins;
}

/** Bump when the lottery's inputs or encoding change (old cache files are then ignored). */
const LOTTERY_CACHE_VERSION = 1;

/**
 * Run the burst scenario and measure it (see the module primer).
 *
 * @example
 * ```ts
 * const r = await runBurst({ ebs: 240, baselineS: 15, log: console.log });
 * expect(r.diffusion.ratioP95).toBeLessThanOrEqual(1.05);
 * ```
 */
export async function runBurst(o: BurstOptions = {}): Promise<BurstReport> {
  const log = o.log ?? (() => {});
  const ebs = o.ebs ?? DEFAULTS.ebs;
  const shape = o.shape ?? DEFAULTS.shape;
  const slotLengthMs = o.slotLengthMs ?? DEFAULTS.slotLengthMs;
  const f = o.activeSlotCoeff ?? DEFAULTS.activeSlotCoeff;
  const relays = o.relays ?? DEFAULTS.relays;
  const link = o.link ?? DEFAULTS.link;
  const warmupS = o.warmupS ?? DEFAULTS.warmupS;
  const baselineS = o.baselineS ?? DEFAULTS.baselineS;
  const postS = o.postS ?? DEFAULTS.postS;
  const burstTimeoutS = o.burstTimeoutS ?? DEFAULTS.burstTimeoutS;
  const txLoad = o.txLoad ?? DEFAULTS.txLoad;
  const sampleMs = o.sampleMs ?? DEFAULTS.sampleMs;
  const threads = o.lotteryThreads ?? DEFAULTS.lotteryThreads;
  const leiosMemCap = o.leiosMemCap ?? DEVNET_LOCAL_LIMITS.leiosMemCap;
  const burstThreshold = o.fetchLimits?.burstThreshold ?? 20;
  const tRun = nowMs();

  // --- 1. the withheld segment -------------------------------------------------------------
  const stakes: [bigint, bigint] = [2_000_000n, 1_000_000n];
  const pAdv = leaderProbability(f, 1 / 3);
  let slots = Math.ceil((ebs / pAdv) * 1.15) + 50;
  // The segment lies in the past: leave room for the lottery and the set-up to take their time.
  const systemStartMs = Date.now() - (slots + 50) * slotLengthMs;
  const liveS = warmupS + baselineS + burstTimeoutS + postS + 120;
  const expectedBlocks = Math.ceil(slots * leaderProbability(f, 1) + (liveS * 1000 * leaderProbability(f, 2 / 3)) / slotLengthMs);
  const net: BurstNetOptions = {
    label: `burst-${ebs}`,
    systemStartMs,
    slotLengthMs,
    activeSlotCoeff: f,
    stakes,
    // every block of the run stays volatile: the whole segment is younger than the immutable tip
    securityParam: Math.max(2_160, 2 * expectedBlocks),
    epochLength: 100_000_000,
  };
  log(`lottery over ${slots} slots (adversary leads with p = ${pAdv.toFixed(3)}) …`);
  const cacheDir = o.lotteryCacheDir === null ? undefined : (o.lotteryCacheDir ?? tmpdir());
  let advWins = await lottery(net, 1, 1, slots, [], threads, cacheDir);
  while (advWins.length < ebs) {
    const more = await lottery(net, 1, slots, slots + 200, [], threads, cacheDir);
    advWins = [...advWins, ...more];
    slots += 200;
  }
  advWins = advWins.slice(0, ebs);
  const lastAdv = advWins[advWins.length - 1]!.slot;
  const honestWins = await lottery(
    net,
    0,
    1,
    lastAdv + 1,
    advWins.map((w) => w.slot),
    threads,
    cacheDir,
  );
  const lotteryS = (nowMs() - tRun) / 1000;
  const { keys, genesis } = burstNetwork(net);
  const history: BurstHistory = assembleHistory({ genesis, honest: keys[0]!, adversary: keys[1]!, honestWins, adversaryWins: advWins, ebs, shape });
  const withheldBytes = history.withheld.reduce((s, w) => s + w.bytes.length + w.txs.reduce((a, t) => a + t.length, 0), 0);
  const ebBytes = history.withheld.reduce((s, w) => s + w.bytes.length, 0);
  log(
    `segment: ${history.blocks.length} RBs (${history.honestBlocks} honest), ${history.withheld.length} withheld EBs, ${(withheldBytes / 2 ** 20).toFixed(1)} MiB, lottery ${lotteryS.toFixed(1)} s`,
  );

  // --- 2. the nodes: the burst network and its twin --------------------------------------
  // Both networks run the same code on the same segment at the same time; only the burst
  // network's adversary releases. The twin is the no-burst baseline measured under exactly the
  // machine's conditions of the moment (other processes, and the CPU the burst network's own
  // threads burn, which on a real network would be other machines').
  const base = ['h0', ...Array.from({ length: relays }, (_, i) => `v${i + 1}`), 'adv'];
  const nets = { burst: base, twin: base.map((n) => `c-${n}`) } as const;
  const names = [...nets.burst, ...nets.twin];
  const honestOf = (ns: readonly string[]) => ns.filter((n) => !n.endsWith('adv'));
  const honest = honestOf(nets.burst);
  const scratch: ScratchDb[] = [];
  // PGlite on a directory per node, as a storage node runs it (db/, the devnet): an in-memory
  // database would count the whole database as the node's memory (§16 #36 LEIOS_MEM_CAP)
  const pgliteDirs: string[] = [];
  const watch = history.withheld.map((w) => ({ hash: w.hash, rbHash: w.rbHash }));
  const threadsByName = new Map<string, Thread>();
  try {
    for (const name of names) {
      const db = o.scratchDb ? await o.scratchDb() : undefined;
      if (db) scratch.push(db);
      const pgliteDir = db ? undefined : await mkdtemp(join(tmpdir(), `leios-burst-${name}-`));
      if (pgliteDir) pgliteDirs.push(pgliteDir);
      const plain = name.replace(/^c-/, '');
      const role: NodeJob['role'] = plain === 'h0' ? 'producer' : plain === 'adv' ? 'adversary' : 'victim';
      const job: NodeJob = {
        kind: 'node',
        name,
        role,
        net,
        ...(db ? { databaseUrl: db.url } : {}),
        ...(pgliteDir ? { pgliteDir } : {}),
        history: history.blocks,
        // both adversaries hold the withheld set (the networks must not differ before the
        // release: the adversary relays Praos blocks too); only the burst network's releases it
        ...(role === 'adversary' ? { withheld: history.withheld } : { watch }),
        ...(role === 'producer' ? { txLoad } : {}),
        liveAfterSlot: history.lastSlot,
        sampleMs,
        ...(o.fetchLimits ? { fetchLimits: o.fetchLimits } : {}),
        ...(o.profileDir ? { profileTo: `${o.profileDir}/${name}.cpuprofile` } : {}),
      };
      threadsByName.set(name, new Thread(name, job));
    }
    const th = (n: string) => threadsByName.get(n)!;
    const ready = await Promise.all(names.map((n) => th(n).next('ready')));
    const setupS = Math.max(...ready.map((r) => r.setupMs)) / 1000;
    // where the slowest node's set-up went (ms): thread start, database, segment, recovery, …
    const slowest = ready.reduce((a, r) => (r.setupMs > a.setupMs ? r : a));
    log(`nodes ready (${names.join(', ')}), set-up ${setupS.toFixed(1)} s`);
    // topology per network: h0 — v1 — v2 — … in a line; the adversary linked to every honest node
    for (const ns of [nets.burst, nets.twin]) {
      const hs = honestOf(ns);
      const adv = ns[ns.length - 1]!;
      const edges: Array<[string, string]> = [];
      for (let i = 0; i + 1 < hs.length; i++) edges.push([hs[i]!, hs[i + 1]!]);
      for (const h of hs) edges.push([adv, h]);
      for (const [a, b] of edges) {
        const { port1, port2 } = new MessageChannel();
        th(a).post({ type: 'link', port: port1, id: `${a}->${b}`, peerName: b, role: 'initiator', shape: link }, [port1]);
        th(b).post({ type: 'link', port: port2, id: `${b}<-${a}`, peerName: a, role: 'responder', shape: link }, [port2]);
      }
    }
    const completeAt = new Map<string, number>();
    for (const n of honest) {
      th(n).onMessage = (m) => {
        if (m.type === 'complete') completeAt.set(n, m.at);
      };
    }

    // --- 3. phases ---------------------------------------------------------------------------
    for (const n of names) th(n).post({ type: 'start' });
    await sleep(warmupS * 1000);
    const mark = (label: Phase | 'warmup') => {
      for (const n of names) th(n).post({ type: 'mark', label });
    };
    mark('warmup');
    const preFrom = nowMs();
    log(`baseline ${baselineS} s …`);
    await sleep(baselineS * 1000);
    mark('pre');
    const settledBefore = await settleAll(names.map(th));
    const releaseAt = nowMs();
    log('release');
    let released = { ms: 0 };
    if (!o.noRelease) {
      th('adv').post({ type: 'release' });
      released = await th('adv').next('released');
      log(`adversary offered ${ebs} EBs in ${(released.ms / 1000).toFixed(2)} s`);
    }
    const deadline = releaseAt + burstTimeoutS * 1000;
    while ((o.noRelease || completeAt.size < honest.length) && nowMs() < deadline) {
      for (const n of names) if (th(n).failure) throw th(n).failure;
      await sleep(100);
    }
    const burstEnd = !o.noRelease && completeAt.size === honest.length ? Math.max(...completeAt.values()) : nowMs();
    log(`burst over after ${((burstEnd - releaseAt) / 1000).toFixed(1)} s (${completeAt.size}/${honest.length} nodes complete); post baseline ${postS} s …`);
    mark('burst');
    const settledAfter = await settleAll(names.map(th));
    await sleep(postS * 1000);
    const postTo = nowMs();
    mark('post');
    // let the last blocks diffuse before looking
    await sleep(Math.max(2_000, 10 * link.latencyMs));
    const reports = new Map<string, NodeReport>();
    for (const n of names) th(n).post({ type: 'report' });
    for (const n of names) reports.set(n, { ...(await th(n).next('report')).report, requests: th(n).requests });
    for (const n of names) th(n).post({ type: 'stop' });
    await Promise.all(names.map((n) => th(n).next('stopped', 30_000).catch(() => undefined)));

    // --- 4. analysis ---------------------------------------------------------------------------
    if (o.dumpTo) {
      const { writeFileSync } = await import('node:fs');
      writeFileSync(o.dumpTo, JSON.stringify({ releaseAt, burstEnd, preFrom, postTo, systemStartMs, reports: Object.fromEntries(reports) }, (_k, v) => (typeof v === 'bigint' ? String(v) : v instanceof Uint8Array ? toHex(v) : v)));
    }
    const T = (slot: number) => systemStartMs + slot * slotLengthMs;
    const phaseOf = (t: number): Phase | null =>
      t >= preFrom && t < releaseAt ? 'pre' : t >= releaseAt && t <= burstEnd ? 'burst' : t > burstEnd && t <= postTo ? 'post' : null;
    const samples = (ns: readonly string[]) => diffusionSamples(reports, honestOf(ns), T, phaseOf);
    const b = samples(nets.burst);
    const c = samples(nets.twin);
    const memory: NodeMemory[] = names.map((n, i) => ({
      ...memoryOf(n, reports.get(n)!.memory, releaseAt, burstEnd),
      loopDelay: loopDelayOf(reports.get(n)!),
      settledBefore: settledBefore[i]!,
      settledAfter: settledAfter[i]!,
    }));
    const advHashes = new Set(history.withheld.map((w) => toHex(w.hash)));
    const nodes = names.map((n) => nodeSummary(n, reports.get(n)!, advHashes, releaseAt, burstEnd, postTo));
    const fetchCompleteS: Record<string, number | null> = {};
    for (const n of honest) {
      const t = completeAt.get(n);
      fetchCompleteS[n] = t === undefined ? null : Math.round((t - releaseAt) / 100) / 10;
    }
    const vals = (m: ReadonlyMap<string, number>) => [...m.values()];
    const ownBaseline = dist([...vals(b.adopted.pre), ...vals(b.adopted.post)]);
    const burstD = dist(vals(b.adopted.burst));
    return {
      scenario: {
        ebs,
        shape,
        slotLengthMs,
        activeSlotCoeff: `${f.num}/${f.den}`,
        link,
        nodes: names,
        database: o.scratchDb ? 'postgres' : 'pglite',
        txLoad,
        segment: {
          blocks: history.blocks.length,
          honestBlocks: history.honestBlocks,
          withheldEbs: history.withheld.length,
          lastSlot: history.lastSlot,
          withheldBytes,
          ebBytes,
        },
        securityParam: net.securityParam,
        leiosMemCap,
        burstThreshold,
      },
      timings: {
        lotteryS: Math.round(lotteryS * 10) / 10,
        setupS: Math.round(setupS * 10) / 10,
        setupPhasesMs: slowest.phases,
        releaseS: Math.round(released.ms) / 1000,
        fetchCompleteS,
        burstS: Math.round((burstEnd - releaseAt) / 100) / 10,
        totalS: Math.round((nowMs() - tRun) / 100) / 10,
      },
      diffusion: {
        burst: { pre: dist(vals(b.adopted.pre)), burst: burstD, post: dist(vals(b.adopted.post)) },
        twin: { pre: dist(vals(c.adopted.pre)), burst: dist(vals(c.adopted.burst)), post: dist(vals(c.adopted.post)) },
        ratioP95: pairedRatio(b.adopted.burst, c.adopted.burst),
        ratioP95Pre: pairedRatio(b.adopted.pre, c.adopted.pre),
        ratioP95Post: pairedRatio(b.adopted.post, c.adopted.post),
        ratioP95VsOwnBaseline: Math.round((burstD.p95 / ownBaseline.p95) * 1000) / 1000,
        ownBaseline,
        missing: b.missing + c.missing,
        headerStage: { burst: dist(b.header.burst), twin: dist(c.header.burst) },
        bodyStage: { burst: dist(b.body.burst), twin: dist(c.body.burst) },
        production: { burst: dist(b.production.burst), twin: dist(c.production.burst) },
      },
      memory,
      nodes,
    };
  } finally {
    await Promise.all([...threadsByName.values()].map((t) => t.terminate()));
    for (const s of scratch) await s.drop().catch(() => undefined);
    for (const d of pgliteDirs) await rm(d, { recursive: true, force: true });
  }
}

type Phase = 'pre' | 'burst' | 'post';
/** See {@link pairedRatio}. */
export type PairedRatio = ReturnType<typeof pairedRatio>;
type ByPhase = Record<Phase, number[]>;
const byPhase = (): ByPhase => ({ pre: [], burst: [], post: [] });

/**
 * Diffusion of the producer's live RBs to the other honest nodes of one network, by phase; the
 * adoption latencies keyed by `slot:receiver` so the two networks' samples pair up (both
 * producers hold the same keys, so they lead, and produce in, the same slots).
 */
function diffusionSamples(
  reports: ReadonlyMap<string, NodeReport>,
  honest: readonly string[],
  T: (slot: number) => number,
  phaseOf: (t: number) => Phase | null,
): { adopted: Record<Phase, Map<string, number>>; header: ByPhase; body: ByPhase; production: ByPhase; missing: number } {
  const out = {
    adopted: { pre: new Map<string, number>(), burst: new Map<string, number>(), post: new Map<string, number>() },
    header: byPhase(),
    body: byPhase(),
    production: byPhase(),
    missing: 0,
  };
  const producer = reports.get(honest[0]!)!;
  const index = (xs: Array<[string, number]>) => new Map(xs.map(([h, t]) => [h, t]));
  const recv = honest.slice(1).map((n) => {
    const r = reports.get(n)!;
    return { adopted: index(r.adopted), headers: index(r.headers), bodies: index(r.bodies) };
  });
  for (const [hash, slot, at] of producer.produced) {
    const ph = phaseOf(T(slot));
    if (!ph) continue;
    out.production[ph].push(at - T(slot));
    recv.forEach((r, i) => {
      const a = r.adopted.get(hash);
      if (a === undefined) {
        out.missing++;
        return;
      }
      out.adopted[ph].set(`${slot}:${i}`, a - T(slot));
      const h = r.headers.get(hash);
      if (h !== undefined) out.header[ph].push(h - T(slot));
      const b = r.bodies.get(hash);
      if (b !== undefined) out.body[ph].push(b - T(slot));
    });
  }
  return out;
}

/** Nearest-rank p95 of a sample. */
function p95(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(0.95 * s.length) - 1))]!;
}

/**
 * p95(burst) / p95(twin) over the samples both networks have (same slot, same receiver), with a
 * 90% paired-bootstrap interval: slots are resampled together, so what both networks share (the
 * slot's block, the machine's load at that moment) cancels out of the interval.
 *
 * @example
 * ```ts
 * pairedRatio(burstSamples, twinSamples) // { ratio: 1.01, lo: 0.97, hi: 1.05, pairs: 140 }
 * ```
 */
export function pairedRatio(
  a: ReadonlyMap<string, number>,
  b: ReadonlyMap<string, number>,
  rounds = 2_000,
): { ratio: number; lo: number; hi: number; pairs: number } {
  const keys = [...a.keys()].filter((k) => b.has(k));
  if (keys.length < 2) return { ratio: Number.NaN, lo: Number.NaN, hi: Number.NaN, pairs: keys.length };
  const xs = keys.map((k) => a.get(k)!);
  const ys = keys.map((k) => b.get(k)!);
  // deterministic PRNG (mulberry32): the same samples give the same interval
  let seed = 0x9e3779b9;
  const rand = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const rs: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const ix = keys.map(() => Math.floor(rand() * keys.length));
    rs.push(p95(ix.map((i) => xs[i]!)) / p95(ix.map((i) => ys[i]!)));
  }
  rs.sort((x, y) => x - y);
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  return { ratio: r3(p95(xs) / p95(ys)), lo: r3(rs[Math.floor(0.05 * rounds)]!), hi: r3(rs[Math.floor(0.95 * rounds)]!), pairs: keys.length };
}

function nodeSummary(n: string, r: NodeReport, advHashes: ReadonlySet<string>, releaseAt: number, burstEnd: number, postTo: number): BurstReport['nodes'][number] {
  const block: [number, number, number] = [0, 0, 0];
  const txs: [number, number, number] = [0, 0, 0];
  const asked = new Map<string, Map<string, number>>();
  for (const q of r.requests) {
    const eb = toHex(q.ebHash);
    if (!advHashes.has(eb)) continue;
    (q.kind === 'block' ? block : txs)[q.cls]++;
    for (const i of q.indices) {
      const k = `${eb}:${i}`;
      const m = asked.get(k) ?? new Map<string, number>();
      asked.set(k, m);
      m.set(q.peer, (m.get(q.peer) ?? 0) + 1);
    }
  }
  let maxPeersPerTx = 0;
  let repeatedAsks = 0;
  for (const m of asked.values()) {
    maxPeersPerTx = Math.max(maxPeersPerTx, m.size);
    for (const c of m.values()) if (c > 1) repeatedAsks++;
  }
  let activeS = 0;
  let on: number | null = null;
  const maxPending = r.memory.reduce((m, x) => Math.max(m, x.pendingStale), 0);
  for (const b of r.burst) {
    if (b.active && on === null) on = b.at;
    if (!b.active && on !== null) {
      activeS += (b.at - on) / 1000;
      on = null;
    }
  }
  if (on !== null) activeS += (postTo - on) / 1000;
  const onAtRelease = r.burst.some((b) => b.active && b.at >= releaseAt && b.at <= burstEnd);
  return {
    name: n,
    role: r.role,
    withheld: r.withheld,
    withheldRequests: { block, txs },
    maxPeersPerTx,
    repeatedAsks,
    burstFlag: { transitions: r.burst, activeS: Math.round(activeS * 10) / 10, maxPending, gaugeAtEnd: r.gaugeAtEnd, onAtRelease },
    fetched: r.fetched,
    background: r.background,
    pumps: r.pumps,
    stats: r.stats,
    tip: r.tip,
    warnings: r.warnings,
    warningSamples: r.warningSamples,
    errors: r.errors,
    linkBytes: r.linkBytes,
    produceTimings: r.produceTimings,
  };
}

function memoryOf(name: string, samples: readonly MemorySample[], releaseAt: number, burstEnd: number): Omit<NodeMemory, 'settledBefore' | 'settledAfter' | 'loopDelay'> {
  const total = (m: MemorySample) => m.heapUsed + m.arrayBuffers;
  const before = samples.filter((m) => m.at < releaseAt).map(total);
  const after = samples.filter((m) => m.at > burstEnd).map(total);
  const med = (xs: number[]) => (xs.length === 0 ? 0 : [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!);
  const max = (f: (m: MemorySample) => number) => samples.reduce((a, m) => Math.max(a, f(m)), 0);
  return {
    name,
    before: med(before),
    peak: max(total),
    peakHeapUsed: max((m) => m.heapUsed),
    peakArrayBuffers: max((m) => m.arrayBuffers),
    peakFetchInFlight: max((m) => m.fetchInFlight),
    peakEgressLeios: max((m) => m.egressLeios),
    after: med(after),
    elu: {
      pre: meanElu(samples.filter((m) => m.at < releaseAt)),
      burst: meanElu(samples.filter((m) => m.at >= releaseAt && m.at <= burstEnd)),
      post: meanElu(samples.filter((m) => m.at > burstEnd)),
    },
  };
}

function loopDelayOf(r: NodeReport): NodeMemory['loopDelay'] {
  const get = (l: Phase) => {
    const x = r.loopDelay.find((d) => d.label === l);
    return x ? { p50: x.p50, p99: x.p99, max: x.max } : { p50: Number.NaN, p99: Number.NaN, max: Number.NaN };
  };
  return { pre: get('pre'), burst: get('burst'), post: get('post') };
}

function meanElu(xs: readonly MemorySample[]): number {
  return xs.length === 0 ? 0 : Math.round((xs.reduce((a, m) => a + m.elu, 0) / xs.length) * 100) / 100;
}
