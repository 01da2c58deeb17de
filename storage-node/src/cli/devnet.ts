/**
 * `npm run devnet` / `leios devnet`: a local Leios network — N storage nodes (child processes,
 * embedded PGlite or Postgres), M edge relays (`wrangler dev`, the real Worker and RelayHub in
 * workerd on loopback ports), a topology between them, and a tx generator posting real signed txs
 * to the relays — with a live status line and a clean shutdown on Ctrl-C.
 *
 * Primer: everything runs as child processes in their own process groups, so a stop (Ctrl-C,
 * SIGTERM, `--duration`, or {@link Devnet.stop} from a test) reaches every grandchild (wrangler
 * spawns workerd) and nothing is left behind; each child's output goes to a log file under the
 * devnet directory. The devnet is also a library: the e2e tests start it with
 * {@link Devnet.start}, kill and restart relays, read node APIs, and stop it.
 *
 * Layout of `<dir>` (default .leios/devnet, wiped at start unless `--keep`):
 * `genesis.json`, `seeds.json`, `node-<i>/{config.json,db/,trace.jsonl}`, `node-<i>.log`,
 * `relay-<j>/{wrangler.json,state/}`, `relay-<j>.log`.
 *
 * Relays get a derived wrangler config (the edge's wrangler.jsonc without the per-IP rate limits,
 * which would throttle a generator on loopback, with the devnet's genesis vars and per-node
 * PEER_SECRETS so storage nodes authenticate, §8.3 / session-roles.md).
 *
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { toHex } from '@leios/shared/bytes';
import { type ProtocolParams, protocolParamsVar } from '@leios/shared/protocol';
import type { NodeStatus } from '../api/index';
import { createDevnetGenesis, type DevnetGenesis, parseParamFlags, writeDevnetGenesis } from './genesis';
import { type GeneratedTx, TxGenerator } from './txgen';

const here = dirname(fileURLToPath(import.meta.url));
/** Repository root (storage-node/src/cli → ../../..). */
export const REPO_ROOT = resolve(here, '../../..');
const NODE_CLI = join(here, 'node.ts');
const EDGE_DIR = join(REPO_ROOT, 'edge');
const WRANGLER_BIN = join(REPO_ROOT, 'node_modules/wrangler/bin/wrangler.js');

/** How nodes dial relays. */
export type Topology = 'full' | 'ring';

/** Options of {@link Devnet.start}. */
export interface DevnetOptions {
  nodes: number;
  relays: number;
  /** Slot length in ms. */
  slotMs: number;
  /** Generated txs per second (0: none). */
  txRate: number;
  /** Devnet directory. */
  dir: string;
  /** Per-node databases on the server of DATABASE_URL instead of PGlite. */
  postgres: boolean;
  /** `full`: every node dials every relay; `ring`: node i dials relays i and i+1 (mod M). */
  topology: Topology;
  /** First API port (node i: base + i); 0: any free ports. */
  apiBasePort: number;
  /** First relay port (relay j: base + j); 0: any free ports. */
  relayBasePort: number;
  /** Pool stakes (default: decreasing, one per node). */
  stakes?: bigint[];
  /** Protocol parameter overrides of the genesis. */
  params?: Partial<ProtocolParams>;
  /** Payment outputs per generated tx (larger txs). */
  outputsPerTx?: number;
  /** Funded keys × outputs in genesis. */
  funds?: number;
  outputsPerFund?: number;
  /** Keep an existing directory (default: wipe it). */
  keep?: boolean;
  /**
   * Sign this many txs before any process starts (benchmarks: signing then costs no CPU while
   * the network runs); the generator sends them first.
   */
  pregenerate?: number;
  /** Txs signed beforehand with {@link Devnet.presign} (same options). */
  prebuilt?: Prebuilt;
  /** Progress messages (default: none). */
  log?: (line: string) => void;
}

/** Pre-signed txs and the generator that made them (it continues after them). */
export interface Prebuilt {
  readonly gen: TxGenerator;
  readonly txs: readonly GeneratedTx[];
}

/** One running child. */
interface Child {
  readonly name: string;
  proc: ChildProcess | null;
  exited: Promise<number | null>;
}

/** A storage node of the devnet. */
export interface DevnetNode extends Child {
  readonly index: number;
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  readonly configPath: string;
  readonly logPath: string;
  readonly tracePath: string;
}

/** A relay of the devnet. */
export interface DevnetRelay extends Child {
  readonly index: number;
  readonly port: number;
  readonly url: string;
  readonly wsUrl: string;
  readonly dir: string;
  readonly logPath: string;
}

/** Tx generator counters. */
export interface TxStats {
  built: number;
  accepted: number;
  rejected: number;
  failed: number;
  /** Last error text per HTTP status (bounded). */
  lastErrors: Record<string, string>;
  /** Submission time by tx reference hash hex (bounded to the last 100,000). */
  submittedAt: Map<string, number>;
  /** Reference hashes (hex) of the txs a relay answered 202 (bounded to the last 100,000). */
  acceptedRefs: Set<string>;
  bytesSubmitted: number;
  bytesAccepted: number;
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => res(port));
    });
  });
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createServer();
    s.once('error', () => res(false));
    s.listen(port, '127.0.0.1', () => s.close(() => res(true)));
  });
}

/** Strip `//` and `/* *\/` comments from JSONC, leaving string contents alone. */
export function stripJsonComments(text: string): string {
  let out = '';
  let i = 0;
  let inStr = false;
  while (i < text.length) {
    const c = text[i] as string;
    if (inStr) {
      out += c;
      if (c === '\\') {
        out += text[i + 1] ?? '';
        i += 2;
        continue;
      }
      if (c === '"') inStr = false;
      i++;
      continue;
    }
    if (c === '"') {
      inStr = true;
      out += c;
      i++;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '/' && text[i + 1] === '*') {
      i = text.indexOf('*/', i + 2);
      i = i < 0 ? text.length : i + 2;
    } else {
      out += c;
      i++;
    }
  }
  // trailing commas
  return out.replace(/,(\s*[}\]])/g, '$1');
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function spawnGroup(name: string, cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; logPath: string }): Child {
  const log = createWriteStream(opts.logPath, { flags: 'a' });
  const proc = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout?.pipe(log, { end: false });
  proc.stderr?.pipe(log, { end: false });
  const exited = new Promise<number | null>((res) => {
    proc.once('exit', (code) => {
      log.end();
      res(code);
    });
    proc.once('error', (e) => {
      log.write(`spawn error: ${e.message}\n`);
      log.end();
      res(-1);
    });
  });
  return { name, proc, exited };
}

/** Signal a child's whole process group; true if it was still running. */
function signalGroup(c: Child, signal: NodeJS.Signals): boolean {
  const pid = c.proc?.pid;
  if (pid === undefined || c.proc?.exitCode !== null || c.proc.signalCode !== null) return false;
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Stop a child: SIGTERM to its group, SIGKILL after `graceMs`. */
async function stopChild(c: Child, graceMs = 10_000): Promise<void> {
  if (!c.proc) return;
  if (signalGroup(c, 'SIGTERM')) {
    const t = setTimeout(() => signalGroup(c, 'SIGKILL'), graceMs);
    await c.exited;
    clearTimeout(t);
  }
  // workerd may outlive wrangler in the same group: make sure the group is gone
  signalGroup(c, 'SIGKILL');
  c.proc = null;
}

async function waitHttp(url: string, child: Child, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (child.proc && child.proc.exitCode !== null) throw new Error(`${child.name} exited with code ${child.proc.exitCode} during start-up`);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await r.body?.cancel();
      if (r.status < 500 || r.status === 503) return;
      last = `HTTP ${r.status}`;
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
    await sleep(250);
  }
  throw new Error(`${child.name} did not answer ${url} within ${timeoutMs} ms (${last})`);
}

/**
 * A running devnet.
 *
 * @example
 * ```ts
 * const net = await Devnet.start({ ...DEVNET_DEFAULTS, nodes: 3, relays: 2, slotMs: 200, apiBasePort: 0, relayBasePort: 0 });
 * console.log(net.nodes[0].url);
 * await net.stop();
 * ```
 */
export class Devnet {
  readonly nodes: DevnetNode[] = [];
  readonly relays: DevnetRelay[] = [];
  readonly tx: TxStats = { built: 0, accepted: 0, rejected: 0, failed: 0, lastErrors: {}, submittedAt: new Map(), acceptedRefs: new Set(), bytesSubmitted: 0, bytesAccepted: 0 };
  private generator: TxGenerator | null = null;
  private txTimer: NodeJS.Timeout | null = null;
  private relayVars: Array<Record<string, string>> = [];
  private stopping: Promise<void> | null = null;
  private readonly exitHook = () => {
    for (const c of [...this.nodes, ...this.relays]) signalGroup(c, 'SIGKILL');
  };

  private constructor(
    readonly opts: DevnetOptions,
    readonly genesis: DevnetGenesis,
    readonly genesisPath: string,
  ) {}

  /** Start a devnet; resolves once every node and relay answers HTTP. */
  static async start(opts: DevnetOptions): Promise<Devnet> {
    const log = opts.log ?? (() => undefined);
    const dir = resolve(opts.dir);
    if (!opts.keep) await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const stakes = opts.stakes ?? Array.from({ length: opts.nodes }, (_, i) => BigInt(opts.nodes - i) * 1_000_000_000_000n);
    const make = () =>
      createDevnetGenesis({
        stakes,
        funds: opts.funds ?? 8,
        outputsPerFund: opts.outputsPerFund ?? 512,
        // a little ahead, so every node starts at slot 0 and none misses its first slots
        systemStartMs: Math.ceil((Date.now() + 3000) / 1000) * 1000,
        params: { slotLengthMs: opts.slotMs, ...opts.params },
      });
    const prebuilt = opts.prebuilt ?? (opts.pregenerate ? Devnet.presign(opts, opts.pregenerate) : null);
    if (opts.pregenerate && !opts.prebuilt) log(`signed ${prebuilt?.txs.length ?? 0} txs`);
    const genesis = make();
    const genesisPath = await writeDevnetGenesis(dir, genesis);
    log(`genesis ${toHex(genesis.created.genesis.hash).slice(0, 16)}… ${opts.nodes} pools (stakes ${stakes.join(', ')}), slot ${opts.slotMs} ms`);
    const net = new Devnet(opts, genesis, genesisPath);
    if (prebuilt) {
      net.generator = prebuilt.gen;
      net.prebuilt.push(...prebuilt.txs);
    }
    process.once('exit', net.exitHook);
    try {
      await net.layout(dir);
      log(`starting ${opts.relays} relay(s) and ${opts.nodes} storage node(s)…`);
      await Promise.all([...net.relays.map((r) => net.startRelay(r.index)), ...net.nodes.map((n) => net.startNode(n.index))]);
      log('all processes answer HTTP');
      if (opts.txRate > 0) net.startTxGenerator();
      return net;
    } catch (e) {
      await net.stop();
      throw e;
    }
  }

  private async layout(dir: string): Promise<void> {
    const o = this.opts;
    const g = this.genesis.created.genesis;
    const ports = async (base: number, n: number, what: string): Promise<number[]> => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) {
        const p = base === 0 ? await freePort() : base + i;
        if (base !== 0 && !(await portFree(p))) throw new Error(`${what} port ${p} is in use (choose another base port)`);
        out.push(p);
      }
      return out;
    };
    const apiPorts = await ports(o.apiBasePort, o.nodes, 'API');
    const relayPorts = await ports(o.relayBasePort, o.relays, 'relay');
    const secrets = apiPorts.map(() => randomBytes(32).toString('hex'));
    for (let j = 0; j < o.relays; j++) {
      const port = relayPorts[j] as number;
      this.relays.push({
        name: `relay-${j}`,
        index: j,
        port,
        url: `http://127.0.0.1:${port}`,
        wsUrl: `ws://127.0.0.1:${port}/v1/ws`,
        dir: join(dir, `relay-${j}`),
        logPath: join(dir, `relay-${j}.log`),
        proc: null,
        exited: Promise.resolve(null),
      });
    }
    for (let i = 0; i < o.nodes; i++) {
      const port = apiPorts[i] as number;
      const ndir = join(dir, `node-${i}`);
      const name = `node-${i}`;
      const relayIdx = o.topology === 'ring' && o.relays > 1 ? [i % o.relays, (i + 1) % o.relays] : [...this.relays.keys()];
      const config: Record<string, unknown> = {
        name,
        genesis: this.genesisPath,
        pools: [{ seed: this.genesis.poolSeeds[i] }],
        dataDir: ndir,
        api: { host: '127.0.0.1', port },
        relays: [...new Set(relayIdx)].map((j) => ({ url: this.relays[j]?.wsUrl, peerId: name, secret: secrets[i] })),
      };
      if (o.postgres) config.databaseUrl = await postgresDatabase(i, !o.keep);
      await mkdir(ndir, { recursive: true });
      const configPath = join(ndir, 'config.json');
      await writeFile(configPath, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
      this.nodes.push({
        name,
        index: i,
        port,
        url: `http://127.0.0.1:${port}`,
        dir: ndir,
        configPath,
        logPath: join(dir, `${name}.log`),
        tracePath: join(ndir, 'trace.jsonl'),
        proc: null,
        exited: Promise.resolve(null),
      });
    }
    const peerSecrets = JSON.stringify(Object.fromEntries(this.nodes.map((n, i) => [n.name, secrets[i]])));
    this.relayVars = this.relays.map((r) => ({
      RELAY_NAME: r.name,
      UPSTREAM_URLS: this.nodes.map((n) => n.url).join(','),
      UPSTREAM_TIMEOUT_MS: '5000',
      LEDGER_MODE: g.params.ledgerMode,
      NETWORK_MAGIC: String(g.networkMagic),
      GENESIS_HASH: toHex(g.hash),
      SYSTEM_START: g.systemStart,
      SLOT_LENGTH_MS: String(g.params.slotLengthMs),
      EPOCH_LENGTH: String(g.params.epochLength),
      // Every consensus parameter of this genesis (f, k, committee, sizes): a relay left on its
      // defaults refuses the headers of a devnet started with other params (--param, tests).
      PROTOCOL_PARAMS: protocolParamsVar(g.params),
      PEER_SECRETS: peerSecrets,
    }));
  }

  /** (Re)start storage node `i`. */
  async startNode(i: number): Promise<void> {
    const n = this.nodes[i];
    if (!n) throw new Error(`no node ${i}`);
    if (n.proc) return;
    const c = spawnGroup(n.name, process.execPath, ['--import', 'tsx', NODE_CLI, '--config', n.configPath], {
      cwd: REPO_ROOT,
      env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'info' },
      logPath: n.logPath,
    });
    n.proc = c.proc;
    n.exited = c.exited;
    await waitHttp(`${n.url}/healthz`, n, 60_000);
  }

  /** Stop storage node `i` (SIGTERM, clean shutdown). */
  async stopNode(i: number): Promise<void> {
    const n = this.nodes[i];
    if (n) await stopChild(n);
  }

  private bundle: Promise<string> | null = null;

  /**
   * The relay Worker's configuration for relay `j`: the edge's wrangler.jsonc without the per-IP
   * rate limits and regional environments, with this devnet's vars.
   */
  private async relayConfig(j: number, main: string, noBundle: boolean): Promise<Record<string, unknown>> {
    const r = this.relays[j];
    const vars = this.relayVars[j];
    if (!r || !vars) throw new Error(`no relay ${j}`);
    const base = JSON.parse(stripJsonComments(await readFile(join(EDGE_DIR, 'wrangler.jsonc'), 'utf8'))) as Record<string, unknown>;
    delete base.env;
    delete base.ratelimits;
    delete base.$schema;
    // The Worker name carries this devnet's genesis: wrangler dev's local registry resolves
    // Workers (and their Durable Objects) by name across processes, so two devnets on one machine
    // with plain `leios-devnet-relay-0` names would talk to each other's RelayHub.
    const net = String(vars.GENESIS_HASH ?? '').slice(0, 12);
    return { ...base, name: `leios-devnet-${net}-${r.name}`, main, ...(noBundle ? { no_bundle: true } : {}), dev: { ip: '127.0.0.1', port: r.port }, vars };
  }

  /**
   * Bundle the relay Worker once per devnet (`wrangler deploy --dry-run`), so every relay — and
   * every restart — runs the same code, and `wrangler dev` does not reload the relays when
   * someone edits edge/src while the devnet runs.
   */
  private relayBundle(): Promise<string> {
    this.bundle ??= (async () => {
      const out = join(resolve(this.opts.dir), 'edge-bundle');
      const cfgPath = join(resolve(this.opts.dir), 'edge-bundle.wrangler.json');
      const base = JSON.parse(stripJsonComments(await readFile(join(EDGE_DIR, 'wrangler.jsonc'), 'utf8'))) as Record<string, unknown>;
      await writeFile(cfgPath, `${JSON.stringify(await this.relayConfig(0, join(EDGE_DIR, String(base.main ?? 'src/index.ts')), false), null, 2)}\n`, { mode: 0o600 });
      const c = spawnGroup('edge-bundle', process.execPath, [WRANGLER_BIN, 'deploy', '--dry-run', '--outdir', out, '--config', cfgPath], {
        cwd: EDGE_DIR,
        env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
        logPath: join(resolve(this.opts.dir), 'edge-bundle.log'),
      });
      const code = await c.exited;
      if (code !== 0) throw new Error(`bundling the relay Worker failed (exit ${code}); see ${join(this.opts.dir, 'edge-bundle.log')}`);
      return join(out, 'index.js');
    })();
    return this.bundle;
  }

  /** (Re)start relay `j` (`wrangler dev` on its port). */
  async startRelay(j: number): Promise<void> {
    const r = this.relays[j];
    if (!r) throw new Error(`no relay ${j}`);
    if (r.proc) return;
    await mkdir(r.dir, { recursive: true });
    const cfg = await this.relayConfig(j, await this.relayBundle(), true);
    const cfgPath = join(r.dir, 'wrangler.json');
    await writeFile(cfgPath, `${JSON.stringify(cfg, null, 2)}\n`, { mode: 0o600 });
    const inspector = await freePort();
    const c = spawnGroup(
      r.name,
      process.execPath,
      [
        WRANGLER_BIN,
        'dev',
        '--config',
        cfgPath,
        '--port',
        String(r.port),
        '--ip',
        '127.0.0.1',
        '--inspector-port',
        String(inspector),
        '--persist-to',
        join(r.dir, 'state'),
        '--show-interactive-dev-session=false',
        // 'log' is the level of the Worker's console.log: the RelayHub's JSON events (header
        // rejections, penalties, session closes) then land in relay-<j>.log beside the node logs
        '--log-level',
        'log',
      ],
      { cwd: EDGE_DIR, env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_SEND_METRICS: 'false' }, logPath: r.logPath },
    );
    r.proc = c.proc;
    r.exited = c.exited;
    await waitHttp(`${r.url}/v1/tip`, r, 90_000);
  }

  /** Kill relay `j` abruptly (SIGKILL to its process group): a crash, not a shutdown. */
  async killRelay(j: number): Promise<void> {
    const r = this.relays[j];
    if (!r?.proc) return;
    signalGroup(r, 'SIGKILL');
    await r.exited;
    r.proc = null;
  }

  /**
   * Sign `n` txs for a devnet with these options, before it starts (pass the result as
   * `prebuilt`, possibly to several attempts). The funds' outputs depend on their seeds only, not
   * on systemStart, so txs signed now spend the outputs of the genesis made at start.
   */
  static presign(opts: DevnetOptions, n: number): Prebuilt {
    const g = createDevnetGenesis({
      stakes: [1n],
      funds: opts.funds ?? 8,
      outputsPerFund: opts.outputsPerFund ?? 512,
      params: { slotLengthMs: opts.slotMs, ...opts.params },
    });
    const gen = Devnet.generatorFor(g, opts);
    const txs: GeneratedTx[] = [];
    for (let i = 0; i < n; i++) {
      const tx = gen.next();
      if (!tx) break;
      txs.push(tx);
    }
    return { gen, txs };
  }

  private static generatorFor(g: DevnetGenesis, opts: DevnetOptions): TxGenerator {
    return new TxGenerator({
      funds: g.fundSeeds.map((seed, k) => ({ seed, outputs: g.created.funds[k]?.outputs ?? [] })),
      reuseAfterMs: Math.max(30_000, opts.slotMs * 200),
      ...(opts.outputsPerTx ? { outputsPerTx: opts.outputsPerTx } : {}),
    });
  }

  private txGenerator(): TxGenerator {
    this.generator ??= Devnet.generatorFor(this.genesis, this.opts);
    return this.generator;
  }

  /** Pre-signed txs not sent yet. */
  get prebuiltLeft(): number {
    return this.prebuilt.length;
  }
  private readonly prebuilt: GeneratedTx[] = [];

  /** Start posting generated txs at `opts.txRate` per second, round-robin over the relays. */
  startTxGenerator(rate = this.opts.txRate): void {
    if (this.txTimer) return;
    const generator = this.txGenerator();
    const gen = { next: (): GeneratedTx | null => this.prebuilt.shift() ?? generator.next() };
    let target = 0;
    let relay = 0;
    const startedAt = Date.now();
    let sent = 0;
    let inflight = 0;
    const tick = () => {
      target = ((Date.now() - startedAt) / 1000) * rate;
      while (sent < target && inflight < 256) {
        const live = this.relays.filter((r) => r.proc !== null);
        const r = live[relay++ % Math.max(1, live.length)];
        const tx = gen.next();
        if (!tx || !r) {
          sent = target; // nothing spendable or no relay: skip this slot's share
          break;
        }
        sent++;
        this.tx.built++;
        inflight++;
        const key = toHex(tx.refHash);
        this.tx.submittedAt.set(key, Date.now());
        this.tx.bytesSubmitted += tx.bytes.length;
        if (this.tx.submittedAt.size > 100_000) this.tx.submittedAt.delete(this.tx.submittedAt.keys().next().value as string);
        fetch(`${r.url}/v1/tx`, { method: 'POST', headers: { 'content-type': 'application/cbor' }, body: tx.bytes, signal: AbortSignal.timeout(10_000) })
          .then(async (res) => {
            const text = await res.text();
            if (res.status === 202) {
              this.tx.accepted++;
              this.tx.bytesAccepted += tx.bytes.length;
              this.tx.acceptedRefs.add(key);
              if (this.tx.acceptedRefs.size > 100_000) this.tx.acceptedRefs.delete(this.tx.acceptedRefs.values().next().value as string);
            } else {
              this.tx.rejected++;
              this.tx.lastErrors[String(res.status)] = text.slice(0, 300);
            }
          })
          .catch((e: unknown) => {
            this.tx.failed++;
            this.tx.lastErrors.fetch = e instanceof Error ? e.message : String(e);
          })
          .finally(() => {
            inflight--;
          });
      }
    };
    this.txTimer = setInterval(tick, 50);
  }

  /**
   * CPU seconds (user + system) used so far by each child's process group (wrangler and workerd
   * together for a relay), from /proc; plus `orchestrator` for this process. Linux only.
   */
  async cpuSeconds(): Promise<Record<string, number>> {
    const { readdir } = await import('node:fs/promises');
    const tick = 100; // USER_HZ on Linux
    const byGroup = new Map<number, number>();
    for (const d of await readdir('/proc')) {
      if (!/^[0-9]+$/.test(d)) continue;
      let stat: string;
      try {
        stat = await readFile(`/proc/${d}/stat`, 'utf8');
      } catch {
        continue; // exited meanwhile
      }
      // fields after the ")" that closes the command name: state ppid pgrp … utime(14) stime(15)
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const pgrp = Number(f[2]);
      const cpu = (Number(f[11]) + Number(f[12])) / tick;
      byGroup.set(pgrp, (byGroup.get(pgrp) ?? 0) + cpu);
    }
    const out: Record<string, number> = {};
    for (const c of [...this.nodes, ...this.relays]) {
      const pid = c.proc?.pid;
      if (pid !== undefined) out[c.name] = byGroup.get(pid) ?? 0;
    }
    const u = process.cpuUsage();
    out.orchestrator = (u.user + u.system) / 1e6;
    return out;
  }

  /** Stop the tx generator. */
  stopTxGenerator(): void {
    if (this.txTimer) clearInterval(this.txTimer);
    this.txTimer = null;
  }

  /** `GET /api/status` of node `i`. */
  async status(i: number): Promise<NodeStatus> {
    const n = this.nodes[i];
    if (!n) throw new Error(`no node ${i}`);
    const r = await fetch(`${n.url}/api/status`, { signal: AbortSignal.timeout(5000) });
    if (!r.ok) throw new Error(`${n.name} /api/status: HTTP ${r.status}`);
    return (await r.json()) as NodeStatus;
  }

  /** Stop everything: tx generator, nodes (clean), relays. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.stopTxGenerator();
      await Promise.all(this.nodes.map((n) => stopChild(n)));
      await Promise.all(this.relays.map((r) => stopChild(r)));
      process.off('exit', this.exitHook);
    })();
    return this.stopping;
  }
}

/** Create (or reuse) database `leios_devnet_<i>` on the server of DATABASE_URL; returns its URL. */
async function postgresDatabase(i: number, fresh: boolean): Promise<string> {
  const base = process.env.DATABASE_URL;
  if (!base) throw new Error('--postgres needs DATABASE_URL');
  const { default: postgres } = await import('postgres');
  const admin = postgres(base, { max: 1, connect_timeout: 10, onnotice: () => undefined });
  const name = `leios_devnet_${i}`;
  try {
    if (fresh) await admin.unsafe(`drop database if exists ${name} with (force)`);
    const rows = await admin`select 1 from pg_database where datname = ${name}`;
    if (rows.length === 0) await admin.unsafe(`create database ${name}`);
  } finally {
    await admin.end({ timeout: 5 });
  }
  const u = new URL(base);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Defaults of the CLI. */
export const DEVNET_DEFAULTS: DevnetOptions = {
  nodes: 3,
  relays: 2,
  slotMs: 1000,
  txRate: 20,
  dir: '.leios/devnet',
  postgres: false,
  topology: 'full',
  apiBasePort: 12798,
  relayBasePort: 8787,
};

const HELP = `npm run devnet -- [options]     (or: leios devnet [options])
  --nodes N          storage nodes (default 3)
  --relays M         edge relays (default 2)
  --slot-ms MS       slot length (default 1000; tests use 100-200)
  --tx-rate R        generated txs per second (default 20; 0 = none)
  --tx-outputs K     payment outputs per tx (larger txs; default 1)
  --rb-bytes B       max RB body size S_RB (devnet default 4096, so a modest tx rate overflows RBs
                     into EBs; 90112 is the §15 value)
  --param KEY=VALUE  a genesis parameter (repeatable; relays get them too): epochLength,
                     securityParam, activeSlotCoeff (num/den), lHdr, lVote, lDiff,
                     committeeSize, quorum (num/den), maxEbSize, maxEbTxBytes, …
  --topology T       full (every node dials every relay) | ring (default full)
  --duration S       stop after S seconds (default: until Ctrl-C)
  --postgres         one database per node on DATABASE_URL instead of PGlite
  --dir DIR          devnet directory (default .leios/devnet; wiped unless --keep)
  --api-port P       first node API port (default 12798; node i uses P+i)
  --relay-port P     first relay port (default 8787)
`;

interface Summary {
  slot: number;
  tips: string[];
  agree: boolean;
  blockNo: number;
  announced: number;
  certified: number;
  votes: number;
  throughput: number;
  mempoolTxs: number;
}

/** Poll every node once and summarise (for the status line). */
export async function summarise(net: Devnet, seenEbs: Set<string>): Promise<Summary> {
  const statuses = await Promise.all(net.nodes.map((_, i) => net.status(i).catch(() => null)));
  const ok = statuses.filter((s): s is NodeStatus => s !== null);
  const first = ok[0];
  for (const s of ok) for (const rb of s.recentRbs) if (rb.eb) seenEbs.add(rb.eb.hash);
  const tips = ok.map((s) => s.tip.hash ?? '-');
  const votes = first ? first.openEbs.reduce((a, e) => a + e.voteSeats, 0) : 0;
  const tp = first?.certifiedThroughput;
  return {
    slot: first?.slot ?? 0,
    tips,
    agree: ok.length === net.nodes.length && new Set(tips).size === 1,
    blockNo: first?.tip.blockNumber ?? 0,
    announced: seenEbs.size,
    certified: first?.certifiedEbCount ?? 0,
    votes,
    throughput: tp && tp.length > 0 ? (tp[tp.length - 1]?.value ?? 0) : 0,
    mempoolTxs: first?.mempool.txs ?? 0,
  };
}

/** CLI entry. */
export async function devnetMain(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      nodes: { type: 'string' },
      relays: { type: 'string' },
      'slot-ms': { type: 'string' },
      'tx-rate': { type: 'string' },
      'tx-outputs': { type: 'string' },
      'rb-bytes': { type: 'string' },
      param: { type: 'string', multiple: true },
      topology: { type: 'string' },
      duration: { type: 'string' },
      postgres: { type: 'boolean' },
      keep: { type: 'boolean' },
      dir: { type: 'string' },
      'api-port': { type: 'string' },
      'relay-port': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const num = (v: string | undefined, d: number, name: string): number => {
    if (v === undefined) return d;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name}: expected a non-negative number, got ${v}`);
    return n;
  };
  const topology = values.topology ?? 'full';
  if (topology !== 'full' && topology !== 'ring') throw new Error(`--topology: expected full or ring, got ${topology}`);
  const opts: DevnetOptions = {
    ...DEVNET_DEFAULTS,
    nodes: num(values.nodes, DEVNET_DEFAULTS.nodes, 'nodes'),
    relays: num(values.relays, DEVNET_DEFAULTS.relays, 'relays'),
    slotMs: num(values['slot-ms'], DEVNET_DEFAULTS.slotMs, 'slot-ms'),
    txRate: num(values['tx-rate'], DEVNET_DEFAULTS.txRate, 'tx-rate'),
    topology,
    postgres: values.postgres === true,
    keep: values.keep === true,
    dir: values.dir ?? DEVNET_DEFAULTS.dir,
    apiBasePort: num(values['api-port'], DEVNET_DEFAULTS.apiBasePort, 'api-port'),
    relayBasePort: num(values['relay-port'], DEVNET_DEFAULTS.relayBasePort, 'relay-port'),
    ...(values['tx-outputs'] ? { outputsPerTx: num(values['tx-outputs'], 1, 'tx-outputs') } : {}),
    params: { maxRbBodySize: num(values['rb-bytes'], 4096, 'rb-bytes'), ...parseParamFlags(values.param ?? []) },
    log: (l) => process.stdout.write(`[devnet] ${l}\n`),
  };
  if (opts.nodes < 1 || opts.relays < 1) throw new Error('need at least one node and one relay');
  if (!existsSync(WRANGLER_BIN)) throw new Error(`wrangler is not installed (${WRANGLER_BIN}); run npm install`);

  const net = await Devnet.start(opts);
  const tty = process.stdout.isTTY === true;
  process.stdout.write(`[devnet] dashboard: ${net.nodes[0]?.url}/   (metrics: ${net.nodes.map((n) => `${n.url}/metrics`).join(' ')})\n`);
  process.stdout.write(`[devnet] relays: ${net.relays.map((r) => r.url).join(' ')}   logs and traces: ${resolve(opts.dir)}\n`);
  process.stdout.write('[devnet] Ctrl-C stops every process\n');

  const seen = new Set<string>();
  let stopReason = '';
  const done = new Promise<void>((res) => {
    const stop = (why: string) => {
      if (stopReason) return;
      stopReason = why;
      res();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
    if (values.duration) setTimeout(() => stop('duration reached'), num(values.duration, 0, 'duration') * 1000);
    for (const c of [...net.nodes, ...net.relays]) {
      void c.exited.then((code) => {
        if (c.proc !== null && !stopReason) stop(`${c.name} exited unexpectedly (code ${code}); see ${c.name}.log`);
      });
    }
  });
  const timer = setInterval(() => {
    void summarise(net, seen).then((s) => {
      if (stopReason) return;
      const line = `slot ${s.slot} | tip #${s.blockNo} ${s.agree ? '(all agree)' : `(${new Set(s.tips).size} tips)`} | EBs ${s.announced} announced / ${s.certified} certified | votes ${s.votes} | ${s.throughput.toFixed(2)} TxkB/s certified | mempool ${s.mempoolTxs} tx | txs ${net.tx.accepted}/${net.tx.built} accepted`;
      if (tty) process.stdout.write(`\r\u001b[2K${line}`);
      else process.stdout.write(`${line}\n`);
    });
  }, tty ? 1000 : 5000);
  await done;
  clearInterval(timer);
  process.stdout.write(`${tty ? '\n' : ''}[devnet] stopping (${stopReason})…\n`);
  await net.stop();
  process.stdout.write('[devnet] stopped\n');
  return stopReason.includes('unexpectedly') ? 1 : 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  devnetMain(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`devnet: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    },
  );
}
