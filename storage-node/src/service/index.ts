/**
 * The composition root of one storage-node process: genesis and keys → database → LeiosNode →
 * observability (metrics, JSON-lines trace, logger) → HTTP API (§12 routes, `/metrics`, the
 * dashboard) → relay sessions.
 *
 * Primer: every other folder of the storage node is a part that can be built and tested alone;
 * this one wires them in the order their dependencies need and tears them down in reverse, so a
 * process (or a test running several nodes in one process) gets one {@link StorageNodeHandle}
 * with a `stop()` that leaves nothing open: sessions closed first (no more input), then the
 * node's clock and queue, then the API server, then the trace file and the database.
 *
 * @module
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { toHex } from '@leios/shared/bytes';
import type { UtxoEntry } from '@leios/shared/ledger';
import { derivePoolKeys, type Genesis, parseGenesis } from '@leios/shared/protocol';
import type { Address, Lovelace } from '@leios/shared/types';
import type { Logger } from 'pino';
import { type ApiServer, createApiApp, serveApi, StatusSeries } from '../api/index';
import { installNodeCryptoBackends } from '../crypto-backends/index';
import { type Database, openDatabase } from '../db/index';
import { SystemTime, type TimeSource } from '../node/clock/index';
import type { NetObserver } from '../net/observer/index';
import { LeiosNode, type NodeGenesis, type PoolKeys } from '../node/index';
import { createLogger, NodeMetrics, TraceWriter } from '../obs/index';
import { NodeBackend } from './backend';
import { ConfigFileError, type NodeConfig, type RelayConfig } from './config';
import { netObserver, observeNode, traceBridge } from './observe';

export * from './backend';
export * from './config';
export { netObserver, normaliseTrace, observeNode, traceBridge } from './observe';

/** The relay sessions of a node, as the service sees them. */
export interface NodeNetwork {
  /** Number of relay sessions currently past the handshake. */
  connected(): number;
  close(): Promise<void>;
}

/** What a {@link NetworkFactory} gets. */
export interface NetworkContext {
  readonly node: LeiosNode;
  readonly genesis: Genesis;
  readonly relays: readonly RelayConfig[];
  readonly metrics: NodeMetrics;
  readonly logger: Logger;
  /** Metrics and §14.1 send / receive events of the sessions (into `metrics` and the trace file). */
  readonly observer: NetObserver;
}

/** Builds the relay sessions of a node (storage-node/src/net). */
export type NetworkFactory = (ctx: NetworkContext) => NodeNetwork | Promise<NodeNetwork>;

/** Options beyond the config file. */
export interface StartOptions {
  /** Relay sessions (default: {@link defaultNetwork}). */
  network?: NetworkFactory;
  /** Time source (default: the system clock). */
  time?: TimeSource;
  logger?: Logger;
  /** Open this database instead of the configured one (tests). */
  database?: Database;
}

/** A running storage node. */
export interface StorageNodeHandle {
  readonly name: string;
  readonly node: LeiosNode;
  readonly genesis: Genesis;
  readonly backend: NodeBackend;
  readonly metrics: NodeMetrics;
  readonly trace: TraceWriter;
  readonly api: ApiServer;
  readonly network: NodeNetwork;
  readonly logger: Logger;
  /** Base URL of the API, e.g. `http://127.0.0.1:12798`. */
  readonly url: string;
  stop(): Promise<void>;
}

/** The ledger's UTxO entries of a parsed genesis (§3.1 `initialUtxo`). */
export function genesisUtxo(g: Genesis): UtxoEntry[] {
  return g.initialUtxo.map((u) => ({
    ref: { txId: u.txId, index: u.index },
    output: { address: u.address as Address, amount: u.amount as Lovelace },
  }));
}

/** What the node logic needs from a parsed genesis. @example `toNodeGenesis(parseGenesis(bytes))` */
export function toNodeGenesis(g: Genesis): NodeGenesis {
  return {
    systemStartMs: g.systemStartMs,
    networkMagic: g.networkMagic,
    params: g.params,
    initialNonce: g.initialNonce,
    pools: g.pools,
    stakeSchedule: g.stakeSchedule,
    initialUtxo: genesisUtxo(g),
  };
}

/** Pool keys from a generator seed (see config.ts). @example `poolKeysFromSeed('devnet-pool-0')` */
export function poolKeysFromSeed(seed: string): PoolKeys {
  const k = derivePoolKeys(seed);
  return {
    poolId: k.poolId,
    coldSeed: k.coldSecretKey,
    coldVk: k.coldVk,
    vrfSecretKey: k.vrfSecretKey,
    voteSecretKey: k.voteSecretKey,
    votePublicKey: k.votePublicKey,
  };
}

/**
 * The default relay sessions: storage-node/src/net once it provides a session runner. Until then a
 * node with relays configured refuses to start rather than run silently alone.
 */
export const defaultNetwork: NetworkFactory = async (ctx) => {
  const { connectRelays } = await import('./network');
  return connectRelays(ctx);
};

/**
 * Start one storage node.
 *
 * @example
 * ```ts
 * const h = await startStorageNode(await loadNodeConfig('node-0.json'));
 * console.log(`dashboard: ${h.url}/`);
 * process.on('SIGTERM', () => void h.stop());
 * ```
 */
export async function startStorageNode(config: NodeConfig, opts: StartOptions = {}): Promise<StorageNodeHandle> {
  const logger = opts.logger ?? createLogger({ name: config.name, ...(config.logLevel ? { level: config.logLevel } : {}) });
  const genesisBytes = new Uint8Array(await readFile(config.genesis));
  const genesis = parseGenesis(genesisBytes);
  const pools = config.pools.map((p) => poolKeysFromSeed(p.seed));
  pools.forEach((k, i) => {
    if (!genesis.pools.some((p) => toHex(p.poolId) === toHex(k.poolId))) {
      throw new ConfigFileError(config.genesis, [`pools.${i}.seed: pool ${toHex(k.poolId)} is not a pool of this genesis`]);
    }
  });
  await mkdir(config.dataDir, { recursive: true });
  // The fast Node backends (hash-wasm Blake2b, Node Ed25519) once per process; the install
  // self-checks against noble, so a broken WASM build fails start-up instead of forking the node.
  const backends = await installNodeCryptoBackends();
  const cleanups: Array<() => Promise<void> | void> = [];
  const undo = async (): Promise<void> => {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch (e) {
        logger.error({ err: e }, 'cleanup failed');
      }
    }
  };
  try {
    const database =
      opts.database ?? (config.databaseUrl ? await openDatabase({ url: config.databaseUrl }) : await openDatabase({ dataDir: join(config.dataDir, 'db') }));
    if (!opts.database) cleanups.push(() => database.close());
    logger.info({ db: database.location, driver: database.driver }, 'database open');

    const metrics = new NodeMetrics({ defaultLabels: { node: config.name }, processMetrics: true });
    const trace = await TraceWriter.open({
      systemStartMs: genesis.systemStartMs,
      path: join(config.dataDir, 'trace.jsonl'),
      onError: (e) => logger.warn({ err: e }, 'trace writer'),
    });
    cleanups.push(() => trace.close());
    const slotStartS = (slot: number) => (slot * genesis.params.slotLengthMs) / 1000;
    const bridge = traceBridge(trace, metrics, slotStartS, (w) => logger.warn(w));

    const node = await LeiosNode.create({
      name: config.name,
      genesis: toNodeGenesis(genesis),
      database,
      time: opts.time ?? new SystemTime(),
      pools,
      ledgerVerifiers: backends.verifiers,
      // Recorded at first start; a database made for another network is refused (genesis-mismatch).
      genesisHash: genesis.hash,
      ...(config.mempoolCapacityBytes ? { mempoolCapacityBytes: config.mempoolCapacityBytes } : {}),
      trace: bridge.sink,
    });
    cleanups.push(() => node.stop());
    const offMetrics = observeNode(
      node,
      metrics,
      pools.map((p) => p.poolId),
    );
    cleanups.push(offMetrics);
    node.on('warning', (w) => logger.warn({ what: w.what }, w.detail));
    node.on('produced', (h, info) =>
      logger.info({ slot: h.slot, block: h.blockNo, kind: info.kind, txs: info.txs, ebTxs: info.ebTxs }, 'produced block'),
    );

    const series = new StatusSeries({ bucketS: Math.max(1, Math.round((genesis.params.slotLengthMs * 20) / 1000)) });
    const backend = new NodeBackend(node, series, () => trace.timeS(), (r) => {
      // §14.2: the API counts received; verification and rejection are counted here.
      if (r.accepted + r.duplicates > 0) metrics.inc('leios_votes_verified_total', { source: 'http' }, r.accepted + r.duplicates);
      for (const x of r.rejected) metrics.inc('leios_votes_rejected_total', { source: 'http', reason: x.type });
    });
    cleanups.push(() => backend.tracker.close());
    const app = createApiApp({ backend, metrics, trace, logger });
    let network: NodeNetwork | undefined;
    // The ledger state hash of the tip, for devnet agreement checks (e2e: "same tip and ledger
    // state hash"); read in one synchronous step so tip and hash belong together.
    app.get('/api/ledger', (c) => {
      const tip = node.tipHeader();
      c.header('cache-control', 'no-store');
      return c.json({
        tip: tip ? { hash: toHex(tip.hash), blockNumber: tip.blockNo, slot: tip.slot } : null,
        stateHash: toHex(node.stateHash()),
        txCount: node.ledger.txCount,
        utxoSize: node.ledger.size,
        stats: node.stats,
        traceRejected: Object.fromEntries(bridge.rejected),
        relaysConnected: network?.connected() ?? 0,
      });
    });
    const api = await serveApi(app, { port: config.api.port, hostname: config.api.host });
    cleanups.push(() => api.close());
    const url = `http://${config.api.host}:${api.port}`;
    logger.info({ url, tip: node.tipHeader()?.blockNo ?? 0 }, 'API listening');

    node.start();
    network = config.relays.length > 0 ? await (opts.network ?? defaultNetwork)({ node, genesis, relays: config.relays, metrics, logger, observer: netObserver(metrics, bridge) }) : noNetwork;
    const net = network;
    cleanups.push(() => net.close());

    let stopped = false;
    return {
      name: config.name,
      node,
      genesis,
      backend,
      metrics,
      trace,
      api,
      network: net,
      logger,
      url,
      async stop() {
        if (stopped) return;
        stopped = true;
        await undo();
      },
    };
  } catch (e) {
    await undo();
    throw e;
  }
}

const noNetwork: NodeNetwork = { connected: () => 0, close: async () => undefined };
