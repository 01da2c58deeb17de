/**
 * The configuration file of one storage-node process (`leios node --config file.json`).
 *
 * Primer: a node is its genesis file, its pool keys, its database, its API port and the relays it
 * dials. Pool keys are given as the generator's seeds (shared/src/protocol/genesis/create.ts
 * derives every key from a seed), so a devnet needs no secret-key files; a production operator
 * would point at a key file instead (not needed by any issue yet). The file is parsed strictly
 * with valibot at the boundary: an unknown key or a bad value fails with its path, before
 * anything is opened.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import * as v from 'valibot';

const relaySchema = v.strictObject({
  /** `ws://host:port/v1/ws` of an edge relay. */
  url: v.pipe(v.string(), v.url(), v.regex(/^wss?:\/\//, 'expected a ws:// or wss:// URL')),
  /** Peer id and hex HMAC secret for the authenticated handshake (§8.3, PEER_SECRETS). */
  peerId: v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z0-9._-]{1,64}$/))),
  secret: v.optional(v.pipe(v.string(), v.regex(/^([0-9a-f]{2}){16,64}$/))),
});

/** The valibot schema of the config file. */
export const NodeConfigSchema = v.strictObject({
  /** Node name: traces, logs, metrics label. */
  name: v.pipe(v.string(), v.regex(/^[A-Za-z0-9._-]{1,64}$/)),
  /** Path of the genesis JSON (relative to the config file). */
  genesis: v.pipe(v.string(), v.minLength(1)),
  /** Pools this node runs, by generator seed. Empty: a passive node. */
  pools: v.optional(v.array(v.strictObject({ seed: v.pipe(v.string(), v.minLength(1)) })), []),
  /** Directory for the PGlite database and the trace file (relative to the config file). */
  dataDir: v.pipe(v.string(), v.minLength(1)),
  /** Postgres URL; absent: embedded PGlite in `<dataDir>/db`. */
  databaseUrl: v.optional(v.pipe(v.string(), v.regex(/^postgres(ql)?:\/\//))),
  api: v.optional(
    v.strictObject({
      host: v.optional(v.string(), '127.0.0.1'),
      port: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(65535)), 12798),
    }),
    { host: '127.0.0.1', port: 12798 },
  ),
  relays: v.optional(v.array(relaySchema), []),
  mempoolCapacityBytes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
  logLevel: v.optional(v.picklist(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])),
});

/** A parsed config; paths are absolute. */
export type NodeConfig = v.InferOutput<typeof NodeConfigSchema>;
/** One relay entry. */
export type RelayConfig = v.InferOutput<typeof relaySchema>;

/** A config file that does not parse. */
export class ConfigFileError extends Error {
  readonly kind = 'config-file' as const;
  constructor(
    readonly path: string,
    readonly issues: readonly string[],
  ) {
    super(`config ${path}: ${issues.join('; ')}`);
    this.name = 'ConfigFileError';
  }
}

/**
 * Parse a config object; relative paths resolve against `baseDir`.
 *
 * @example
 * ```ts
 * const cfg = parseNodeConfig({ name: 'n0', genesis: 'genesis.json', dataDir: 'n0' }, '/tmp/devnet');
 * cfg.api.port // 12798
 * ```
 */
export function parseNodeConfig(input: unknown, baseDir: string, source = '<config>'): NodeConfig {
  const r = v.safeParse(NodeConfigSchema, input);
  if (!r.success) {
    throw new ConfigFileError(
      source,
      r.issues.map((i) => `${v.getDotPath(i) ?? '(root)'}: ${i.message}`),
    );
  }
  return { ...r.output, genesis: resolve(baseDir, r.output.genesis), dataDir: resolve(baseDir, r.output.dataDir) };
}

/** Read and parse a config file. @example `const cfg = await loadNodeConfig('devnet/node-0.json')` */
export async function loadNodeConfig(path: string): Promise<NodeConfig> {
  const text = await readFile(path, 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConfigFileError(path, [`not JSON: ${e instanceof Error ? e.message : String(e)}`]);
  }
  return parseNodeConfig(json, dirname(resolve(path)), path);
}
