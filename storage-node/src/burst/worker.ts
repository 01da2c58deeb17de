/**
 * One thread of the burst harness (storage-node/src/burst): either a VRF lottery job over a slot
 * range, or a whole storage node — {@link LeiosNode} over its own database, the production
 * {@link FetchManager} and {@link PeerSession}s over shaped links to the other threads.
 *
 * Primer: each node runs on its own thread so that its event loop, its node queue and its
 * database are its own, as on separate machines; only the CPU cores are shared. The thread
 * installs the pre-generated chain segment as its recovered state (the blocks go straight into
 * the ChainDB, then {@link LeiosNode.create} replays them as after a restart), so it starts as a
 * node that followed the last hours live: it knows every adversary header and none of the
 * withheld EBs. The adversary's thread also stores the withheld EBs and closures in its database
 * (behind its node's back, so nothing is offered) and, on `release`, hands the EBs to its node:
 * the node finds them complete in its store and offers all of them to every peer at once.
 *
 * What the thread reports back: Praos events of live blocks with their times (production, header,
 * body, adoption), every fetch request with its §13.1 class, the burst flag's transitions and the
 * `leios_burst_active` gauge, memory samples (JS heap, array buffers, bytes the fetch manager and
 * the egress schedulers hold), and at the end the state of every withheld EB (held, complete in
 * memory and in the database, votes).
 *
 * @module
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parentPort, workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { toHex } from '@leios/shared/bytes';
import { blake2b256 } from '@leios/shared/crypto';
import { decodeEb } from '@leios/shared/protocol';
import type { Hash32, Slot } from '@leios/shared/types';
import { installNodeCryptoBackends } from '../crypto-backends/index';
import { type Database, openDatabase } from '../db/index';
import { attachFetchManager, FetchManager, type FetchLimits, type FetchRequestEvent, nodeFetchTarget, PeerSession, versionDataFor } from '../net/index';
import { decodeHeader, type HeaderInfo, splitBlock } from '../node/blocks';
import { SystemTime } from '../node/clock/index';
import { LeiosNode } from '../node/index';
import { NodeMetrics } from '../obs/index';
import { ChainDb, rbHeaderInput } from '../stores/chain-db/index';
import { EbStore } from '../stores/eb-store/index';
import { burstNetwork, type BurstNetOptions } from './net';
import { type LeaderWin, leaderWins, opaqueTx, type WithheldEb } from './history';
import { type LinkShape, nowMs, ShapedSocket } from './link';

/** A VRF lottery over `[from, to)` for pool `pool` of the burst network. */
export interface CraftJob {
  readonly kind: 'craft';
  readonly net: BurstNetOptions;
  readonly pool: number;
  readonly from: number;
  readonly to: number;
  readonly skip: readonly number[];
}

/** A storage node. */
export interface NodeJob {
  readonly kind: 'node';
  readonly name: string;
  readonly role: 'producer' | 'victim' | 'adversary';
  readonly net: BurstNetOptions;
  /** Postgres URL of a scratch database; absent: PGlite on `pgliteDir` (in memory without one). */
  readonly databaseUrl?: string;
  /** PGlite's data directory (a fresh temporary one per node). */
  readonly pgliteDir?: string;
  /** The chain segment (`rb_block` bytes, block 1 first). */
  readonly history: readonly Uint8Array[];
  /** Adversary: the EBs and closures it withholds. */
  readonly withheld?: readonly WithheldEb[];
  /** Everyone else: the withheld EBs to watch (EB hash, announcing RB hash). */
  readonly watch?: ReadonlyArray<{ readonly hash: Hash32; readonly rbHash: Hash32 }>;
  /** Producer: opaque txs submitted to the mempool each slot. */
  readonly txLoad?: { readonly perSlot: number; readonly txBytes: number };
  /** Blocks of slots above this are live (reported); the segment's last slot. */
  readonly liveAfterSlot: number;
  readonly sampleMs: number;
  readonly fetchLimits?: Partial<FetchLimits>;
  /** Debugging: write a V8 CPU profile of this thread here at `stop`. */
  readonly profileTo?: string;
}

/** Messages from the orchestrator to a node thread. */
export type ToNode =
  | { type: 'link'; port: MessagePort; id: string; peerName: string; role: 'initiator' | 'responder'; shape: LinkShape }
  | { type: 'start' }
  | { type: 'mark'; label: string }
  | { type: 'settle' }
  | { type: 'release' }
  | { type: 'report' }
  | { type: 'stop' };

/** One memory sample of a node thread. */
export interface MemorySample {
  readonly at: number;
  /** V8 heap in use (this thread's isolate). */
  readonly heapUsed: number;
  /** ArrayBuffers and Buffers of this isolate (EB bytes, txs, socket data). */
  readonly arrayBuffers: number;
  /** Stated bytes of the fetch requests in flight. */
  readonly fetchInFlight: number;
  /** Bytes queued in the egress schedulers, Leios classes (P1 + P2), all sessions. */
  readonly egressLeios: number;
  /** Bytes queued in the egress schedulers, Praos (P0), all sessions. */
  readonly egressPraos: number;
  /** Event-loop utilisation of this thread since the previous sample (0..1). */
  readonly elu: number;
  /** §13.3 pending stale EBs of the fetch manager (the `leios_burst_active` count). */
  readonly pendingStale: number;
}

/** What a node thread reports at the end. */
export interface NodeReport {
  readonly name: string;
  readonly role: NodeJob['role'];
  readonly setupMs: number;
  /** Live blocks: [hash hex, slot, time] of own production; [hash hex, time] of receipt / adoption. */
  readonly produced: Array<[string, number, number]>;
  readonly headers: Array<[string, number]>;
  readonly bodies: Array<[string, number]>;
  readonly adopted: Array<[string, number]>;
  /** Filled in by the orchestrator from the streamed `request` messages (the thread keeps none). */
  readonly requests: Array<FetchRequestEvent & { at: number }>;
  readonly burst: Array<{ at: number; active: boolean; pending: number }>;
  readonly gaugeAtEnd: number;
  readonly memory: MemorySample[];
  readonly marks: Array<{ label: string; at: number }>;
  /** Event-loop delay (ms) between marks: how long a message arriving at the thread waited to run. */
  readonly loopDelay: Array<{ label: string; p50: number; p99: number; max: number }>;
  /** [start time, ms] of every receiveHeader / receiveBlock call (queue wait + work). */
  readonly praosCalls: Array<[number, number]>;
  /** Withheld EBs, as this node holds them at the end. */
  readonly withheld: { total: number; held: number; complete: number; completeInDb: number; votes: number; completeAt: number | null };
  readonly fetched: { ebs: number; txs: number; bytes: number };
  readonly background: { jobs: number; ms: number; busyMs: number; maxMs: number };
  /** The fetch manager's decision passes: count, total and longest ms (on the node's thread). */
  readonly pumps: { passes: number; ms: number; maxMs: number };
  readonly stats: LeiosNode['stats'];
  readonly tip: { blockNo: number; slot: number } | null;
  readonly warnings: Record<string, number>;
  readonly warningSamples: string[];
  readonly errors: string[];
  readonly releaseMs?: number;
  readonly linkBytes: { sent: number; received: number };
  /** Producer: medians of its block production steps (ms). */
  readonly produceTimings: { selectMs: number; buildMs: number; storeMs: number; adoptMs: number } | null;
}

/** Messages from a node thread. */
export type FromNode =
  | { type: 'ready'; setupMs: number; phases: Record<string, number> }
  | { type: 'complete'; at: number }
  | { type: 'released'; at: number; ms: number }
  | { type: 'settled'; heapUsed: number; arrayBuffers: number }
  | { type: 'request'; request: FetchRequestEvent & { at: number } }
  | { type: 'report'; report: NodeReport }
  | { type: 'stopped' }
  | { type: 'error'; error: string };

function send(m: FromNode): void {
  parentPort!.postMessage(m);
}

async function runCraft(job: CraftJob): Promise<LeaderWin[]> {
  const net = burstNetwork(job.net);
  return leaderWins(net.genesis, net.keys[job.pool]!, job.from, job.to, new Set(job.skip));
}

async function runNode(job: NodeJob): Promise<void> {
  const t0 = nowMs();
  const prof = job.profileTo ? await startProfile() : null;
  const phases: Record<string, number> = {};
  let tp = t0;
  const phase = (name: string) => {
    const t = nowMs();
    phases[name] = Math.round(t - tp);
    tp = t;
  };
  const errors: string[] = [];
  const fail = (e: unknown) => {
    if (errors.length < 50) errors.push(e instanceof Error ? (e.stack ?? e.message) : String(e));
  };
  await installNodeCryptoBackends();
  const net = burstNetwork(job.net);
  const { genesis } = net;
  const p = genesis.params;
  phase('init');
  const database: Database = job.databaseUrl
    ? await openDatabase({ url: job.databaseUrl, maxConnections: 4 })
    : await openDatabase(job.pgliteDir ? { dataDir: job.pgliteDir } : { memory: true });
  phase('open-db');
  // The segment becomes this node's recovered state: as if it had followed it live.
  const chainDb = new ChainDb(database, { k: p.securityParam });
  const blocks = job.history.map((b) => {
    const { header, body } = splitBlock(b, p.maxHeaderSize, p.maxRbBodySize);
    return { header: rbHeaderInput(decodeHeader(header, p.maxHeaderSize)), body };
  });
  for (let i = 0; i < blocks.length; i += 500) {
    const tip = await chainDb.tip();
    await chainDb.switchFork(tip?.hash ?? null, blocks.slice(i, i + 500));
  }
  phase('install-segment');
  const pool = job.role === 'producer' ? net.keys[0]! : undefined;
  const node = await LeiosNode.create({
    name: job.name,
    genesis,
    database,
    time: new SystemTime(fail),
    ...(pool ? { pools: [pool] } : {}),
  });
  phase('recover');
  if (job.withheld) {
    // behind the node's back (another EbStore instance): the node does not know it holds them
    const store = new EbStore(database, chainDb, { limits: { maxEbSize: p.maxEbSize, maxEbTxBytes: p.maxEbTxBytes, maxTxSize: p.maxTxSize } });
    for (const w of job.withheld) {
      const view = decodeEb(w.bytes, p);
      await store.putClosure({ bytes: w.bytes, refs: view.refs, rbHash: w.rbHash, slot: w.slot as Slot, announced: { hash: w.hash, size: w.bytes.length } }, w.txs);
    }
  }

  phase('store-withheld');
  // observation
  const live = (h: HeaderInfo) => h.slot > job.liveAfterSlot;
  const produced: Array<[string, number, number]> = [];
  const headers: Array<[string, number]> = [];
  const bodies: Array<[string, number]> = [];
  const adopted: Array<[string, number]> = [];
  const produceTimings: Array<{ selectMs: number; buildMs: number; storeMs: number; adoptMs: number }> = [];
  node.on('produced', (h, info) => {
    produced.push([toHex(h.hash), h.slot, nowMs()]);
    if (produceTimings.length < 2000) produceTimings.push(info.timings);
  });
  node.on('header', (h) => {
    if (live(h)) headers.push([toHex(h.hash), nowMs()]);
  });
  node.on('block', (h) => {
    if (live(h)) bodies.push([toHex(h.hash), nowMs()]);
  });
  node.on('tip', (c) => {
    const at = nowMs();
    for (const h of c.adopted) if (live(h)) adopted.push([toHex(h.hash), at]);
  });
  // Node-side time of Praos calls (queue wait + validation): the sessions call these on the node
  // instance, so timing them here sees exactly what the network layer waits for.
  const praosCalls: Array<[number, number]> = [];
  for (const m of ['receiveHeader', 'receiveBlock'] as const) {
    const orig = node[m].bind(node) as (b: Uint8Array) => Promise<unknown>;
    (node as unknown as Record<string, unknown>)[m] = async (b: Uint8Array) => {
      const t = nowMs();
      try {
        return await orig(b);
      } finally {
        praosCalls.push([t, nowMs() - t]);
      }
    };
  }
  const warnings: Record<string, number> = {};
  const warningSamples: string[] = [];
  const warn = (what: string, detail: string) => {
    warnings[what] = (warnings[what] ?? 0) + 1;
    if (warningSamples.length < 20) warningSamples.push(`${what}: ${detail}`);
  };
  node.on('warning', (w) => warn(`node:${w.what}`, w.detail));

  const metrics = new NodeMetrics();
  const burst: NodeReport['burst'] = [];
  const fm = new FetchManager({
    target: nodeFetchTarget(node, (w) => warn(`fetch:${w.what}`, w.detail)),
    ...(job.fetchLimits ? { limits: job.fetchLimits } : {}),
    onWarning: (w) => warn(`fetch:${w.what}`, w.detail),
    onBurst: (b) => {
      // what the service does (service/network.ts): the §14.2 gauge follows the manager
      metrics.set('leios_burst_active', {}, b.active ? 1 : 0);
      burst.push({ at: nowMs(), active: b.active, pending: b.pending });
    },
    // streamed out at once: a log kept here would count as the node's memory
    onRequest: (r) => send({ type: 'request', request: { ...r, indices: [...r.indices], at: nowMs() } }),
  });
  attachFetchManager(node, fm);
  const genesisHash = blake2b256(new TextEncoder().encode(`burst-genesis-${job.net.label}`)) as Hash32;
  const versionData = versionDataFor(node, genesisHash);
  const sessions: PeerSession[] = [];
  const sockets: ShapedSocket[] = [];

  // memory and progress sampling
  const memory: MemorySample[] = [];
  const watch = job.watch ?? [];
  let completeAt: number | null = null;
  const countComplete = () => watch.filter((w) => node.ebInfo(w.hash)?.complete === true).length;
  let eluMark = performance.eventLoopUtilization();
  const sample = () => {
    const m = process.memoryUsage();
    const e = performance.eventLoopUtilization(eluMark);
    eluMark = performance.eventLoopUtilization();
    let egressLeios = 0;
    let egressPraos = 0;
    for (const s of sessions) {
      egressPraos += s.conn.scheduler.queued(0);
      egressLeios += s.conn.scheduler.queued(1) + s.conn.scheduler.queued(2);
    }
    const fs = fm.stats();
    memory.push({
      at: nowMs(),
      heapUsed: m.heapUsed,
      arrayBuffers: m.arrayBuffers,
      fetchInFlight: fs.bytesInFlight,
      egressLeios,
      egressPraos,
      elu: e.utilization,
      pendingStale: fs.pendingStale,
    });
    if (completeAt === null && watch.length > 0 && countComplete() === watch.length) {
      completeAt = nowMs();
      send({ type: 'complete', at: completeAt });
    }
  };
  const sampler = setInterval(sample, job.sampleMs);

  let txTimer: ReturnType<typeof setInterval> | undefined;
  let releaseMs: number | undefined;
  const marks: NodeReport['marks'] = [];
  const loop = monitorEventLoopDelay({ resolution: 2 });
  const loopDelay: NodeReport['loopDelay'] = [];
  const cutLoop = (label: string) => {
    const ms = (ns: number) => Math.round(ns / 1e4) / 100;
    loopDelay.push({ label, p50: ms(loop.percentile(50)), p99: ms(loop.percentile(99)), max: ms(loop.max) });
    loop.reset();
  };

  const onMessage = async (m: ToNode): Promise<void> => {
    switch (m.type) {
      case 'link': {
        const socket = new ShapedSocket(m.port, m.shape);
        sockets.push(socket);
        const s = new PeerSession({
          socket,
          role: m.role,
          node,
          fetch: fm,
          versionData,
          id: m.id,
          keepAliveMs: null,
          peerName: m.peerName,
          onWarning: (w) => warn(`session:${w.what}`, `${w.peer}: ${w.detail}`),
        });
        sessions.push(s);
        s.handshake.catch(fail);
        break;
      }
      case 'start': {
        node.start();
        loop.enable();
        const load = job.txLoad;
        if (load && load.perSlot > 0) {
          let seq = 0;
          txTimer = setInterval(() => {
            const slot = node.currentSlot();
            for (let i = 0; i < load.perSlot; i++) {
              node.submitTx(opaqueTx(0x11, slot, seq++, load.txBytes)).catch(fail);
            }
          }, p.slotLengthMs);
        }
        break;
      }
      case 'mark':
        // the loop-delay histogram so far belongs to the phase this mark ends
        cutLoop(m.label);
        marks.push({ label: m.label, at: nowMs() });
        break;
      case 'settle': {
        // retained memory: after full collections, so that garbage does not count
        const gc = fullGc();
        gc();
        gc();
        const u = process.memoryUsage();
        send({ type: 'settled', heapUsed: u.heapUsed, arrayBuffers: u.arrayBuffers });
        break;
      }
      case 'release': {
        const t = nowMs();
        // the whole withheld set at once: each EB is found complete in the store and offered
        await Promise.all((job.withheld ?? []).map((w) => node.receiveEb(w.bytes)));
        releaseMs = nowMs() - t;
        send({ type: 'released', at: t, ms: releaseMs });
        break;
      }
      case 'report': {
        sample();
        let completeInDb = 0;
        let held = 0;
        let complete = 0;
        let votes = 0;
        for (const w of watch) {
          const i = node.ebInfo(w.hash);
          if (i?.held) held++;
          if (i?.complete) complete++;
          if (await node.ebStore.isComplete(w.hash)) completeInDb++;
          votes += node.votes.votesFor(w.rbHash).length;
        }
        const tip = node.tipHeader();
        send({
          type: 'report',
          report: {
            name: job.name,
            role: job.role,
            setupMs: setupMs,
            produced,
            headers,
            bodies,
            adopted,
            requests: [],
            burst,
            gaugeAtEnd: await metrics.value('leios_burst_active'),
            memory,
            marks,
            loopDelay,
            praosCalls,
            withheld: { total: watch.length, held, complete, completeInDb, votes, completeAt },
            fetched: { ...fm.fetched },
            background: { ...fm.backgroundStats },
            pumps: { ...fm.pumpStats },
            stats: { ...node.stats },
            tip: tip ? { blockNo: tip.blockNo, slot: tip.slot } : null,
            warnings,
            warningSamples,
            errors,
            ...(releaseMs !== undefined ? { releaseMs } : {}),
            produceTimings: medianTimings(produceTimings),
            linkBytes: { sent: sockets.reduce((s, x) => s + x.sentBytes, 0), received: sockets.reduce((s, x) => s + x.receivedBytes, 0) },
          },
        });
        break;
      }
      case 'stop': {
        clearInterval(sampler);
        if (txTimer) clearInterval(txTimer);
        for (const s of sessions) s.close(1000, 'done');
        await node.stop();
        fm.close();
        await database.close();
        if (prof && job.profileTo) await prof(job.profileTo);
        send({ type: 'stopped' });
        break;
      }
    }
  };
  parentPort!.on('message', (m: ToNode) => {
    onMessage(m).catch((e) => send({ type: 'error', error: e instanceof Error ? (e.stack ?? e.message) : String(e) }));
  });
  const setupMs = nowMs() - t0;
  send({ type: 'ready', setupMs, phases });
}

let gcFn: (() => void) | undefined;
/** A full garbage collection (V8's `gc`, exposed at run time: worker threads take no V8 flags). */
function fullGc(): () => void {
  if (!gcFn) {
    setFlagsFromString('--expose-gc');
    gcFn = runInNewContext('gc') as () => void;
  }
  return gcFn;
}

function medianTimings(xs: ReadonlyArray<{ selectMs: number; buildMs: number; storeMs: number; adoptMs: number }>): NodeReport['produceTimings'] {
  if (xs.length === 0) return null;
  const med = (f: (x: (typeof xs)[number]) => number) => [...xs].map(f).sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return { selectMs: med((x) => x.selectMs), buildMs: med((x) => x.buildMs), storeMs: med((x) => x.storeMs), adoptMs: med((x) => x.adoptMs) };
}

/** Debugging aid (`NodeJob.profileTo`): a V8 CPU profile of the thread, written at `stop`. */
async function startProfile(): Promise<(file: string) => Promise<void>> {
  const { Session } = await import('node:inspector/promises');
  const { writeFile } = await import('node:fs/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 500 });
  await session.post('Profiler.start');
  return async (file) => {
    const { profile } = await session.post('Profiler.stop');
    await writeFile(file, JSON.stringify(profile));
  };
}

const job = workerData as CraftJob | NodeJob;
if (job.kind === 'craft') {
  runCraft(job).then(
    (wins) => parentPort!.postMessage({ type: 'wins', wins }),
    (e) => parentPort!.postMessage({ type: 'error', error: e instanceof Error ? (e.stack ?? e.message) : String(e) }),
  );
} else {
  runNode(job).catch((e) => send({ type: 'error', error: e instanceof Error ? (e.stack ?? e.message) : String(e) }));
}
