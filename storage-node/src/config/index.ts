/**
 * Storage-node configuration: one JSON file plus environment overrides, validated with valibot at
 * the boundary (DESIGN.md §5: bad input gets a clear, typed error).
 *
 * Primer: a node is its genesis file (§3.1; `genesis_hash = H256(file bytes)` is taken by whoever
 * reads it), the pools it runs (generator seeds, or a key file), its database (a Postgres URL or
 * an embedded PGlite directory), the relays it dials (each with an optional peer id and HMAC
 * secret for the authenticated handshake, issue 5 item 6), its API / metrics port (default
 * 12798) and an optional trace file. Slot length and every other consensus parameter come from
 * genesis, never from here.
 *
 * Keys of the file (paths relative to the file's directory):
 * ```json
 * { "name": "node-0", "genesis": "genesis.json", "dataDir": "node-0",
 *   "pools": [{ "seed": "pool-0" }],            // or "poolKeysFile": "keys.json"
 *   "databaseUrl": "postgres://…",               // or "pgliteDir": "db" (default <dataDir>/db)
 *   "api": { "host": "127.0.0.1", "port": 12798 },
 *   "relays": [{ "url": "ws://127.0.0.1:8787/v1/ws", "peerId": "node-0", "secretEnv": "LEIOS_SECRET_EU" }],
 *   "traceFile": "trace.jsonl", "mempoolCapacityBytes": 24180224, "logLevel": "info" }
 * ```
 * A relay secret is 16–64 bytes of lowercase hex, given inline (`secret`) or, to keep it out of
 * the file, by the name of an environment variable (`secretEnv`).
 *
 * Environment overrides (applied before validation, so errors name the field they land in):
 * `LEIOS_NAME`, `LEIOS_GENESIS`, `LEIOS_DATA_DIR`, `DATABASE_URL`, `LEIOS_PGLITE_DIR`,
 * `LEIOS_API_HOST`, `LEIOS_API_PORT`, `LEIOS_TRACE_FILE`, `LEIOS_POOL_SEEDS` (comma-separated),
 * `LEIOS_POOL_KEYS_FILE`, `LEIOS_RELAYS` (a JSON array of relay objects, or comma-separated
 * URLs), `LEIOS_LOG_LEVEL`, `LEIOS_MEMPOOL_BYTES`. Relative paths from the environment resolve
 * against the working directory.
 *
 * The key names are those of storage-node/src/service/config.ts, of which this is a superset.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fromHex } from '@leios/shared/bytes';
import { blake2b224, ed25519KeyFromSeed } from '@leios/shared/crypto';
import { derivePoolKeys } from '@leios/shared/protocol';
import type { PoolId } from '@leios/shared/types';
import type { PeerSecret } from '@leios/shared/wire';
import * as v from 'valibot';
import type { PoolKeys } from '../node/index';

/** Default API / metrics port. */
export const DEFAULT_API_PORT = 12798;

/**
 * A configuration that cannot be used: `field` names the offending key (`relays[1].secret`,
 * `api.port`, `(file)` for an unreadable or non-JSON file).
 *
 * @example
 * ```ts
 * try { await loadConfig({ file }) } catch (e) { if (e instanceof ConfigError) console.error(e.field, e.detail) }
 * ```
 */
export class ConfigError extends Error {
  readonly kind = 'config' as const;
  constructor(
    readonly field: string,
    readonly detail: string,
    readonly source = '<config>',
    options?: { cause?: unknown },
  ) {
    super(`${source}: ${field}: ${detail}`, options);
    this.name = 'ConfigError';
  }
}

const ID = /^[A-Za-z0-9._-]{1,64}$/;
const HEX_SECRET = /^([0-9a-f]{2}){16,64}$/;
const path = v.pipe(v.string(), v.minLength(1));

const relaySchema = v.strictObject({
  url: v.pipe(v.string(), v.url(), v.regex(/^wss?:\/\//, 'expected a ws:// or wss:// URL')),
  peerId: v.optional(v.pipe(v.string(), v.regex(ID, 'expected 1–64 characters of [A-Za-z0-9._-]'))),
  secret: v.optional(v.pipe(v.string(), v.regex(HEX_SECRET, 'expected 16–64 bytes of lowercase hex'))),
  secretEnv: v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name'))),
});

/** The valibot schema of the file (after environment overrides). */
export const ConfigSchema = v.strictObject({
  name: v.pipe(v.string(), v.regex(ID, 'expected 1–64 characters of [A-Za-z0-9._-]')),
  genesis: path,
  dataDir: path,
  pools: v.optional(v.array(v.strictObject({ seed: v.pipe(v.string(), v.minLength(1)) })), []),
  poolKeysFile: v.optional(path),
  databaseUrl: v.optional(v.pipe(v.string(), v.regex(/^postgres(ql)?:\/\//, 'expected a postgres:// URL'))),
  pgliteDir: v.optional(path),
  api: v.optional(
    v.strictObject({
      host: v.optional(v.pipe(v.string(), v.minLength(1)), '127.0.0.1'),
      port: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(65535)), DEFAULT_API_PORT),
    }),
    { host: '127.0.0.1', port: DEFAULT_API_PORT },
  ),
  relays: v.optional(v.pipe(v.array(relaySchema), v.maxLength(64)), []),
  traceFile: v.optional(path),
  mempoolCapacityBytes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
  logLevel: v.optional(v.picklist(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])),
});

/** One relay to dial, secret resolved (hex). */
export interface RelayConfig {
  readonly url: string;
  readonly peerId?: string;
  readonly secret?: string;
}

/** A validated configuration; every path is absolute. */
export interface NodeConfig {
  readonly name: string;
  readonly genesis: string;
  readonly dataDir: string;
  readonly pools: readonly { readonly seed: string }[];
  readonly poolKeysFile?: string;
  /** Postgres URL (absent: embedded PGlite in {@link NodeConfig.database}). */
  readonly databaseUrl?: string;
  readonly database: { readonly kind: 'postgres'; readonly url: string } | { readonly kind: 'pglite'; readonly dir: string };
  readonly api: { readonly host: string; readonly port: number };
  readonly relays: readonly RelayConfig[];
  readonly traceFile?: string;
  readonly mempoolCapacityBytes?: number;
  readonly logLevel?: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
}

type Env = Readonly<Record<string, string | undefined>>;

function fieldOf(issue: v.BaseIssue<unknown>): string {
  let out = '';
  for (const p of issue.path ?? []) {
    const k = p.key;
    out += typeof k === 'number' ? `[${k}]` : out === '' ? String(k) : `.${String(k)}`;
  }
  return out || '(root)';
}

function withEnv(input: Record<string, unknown>, env: Env, source: string): Record<string, unknown> {
  const o: Record<string, unknown> = { ...input };
  const str = (name: string, key: string) => {
    const x = env[name];
    if (x !== undefined && x !== '') o[key] = x;
  };
  str('LEIOS_NAME', 'name');
  str('LEIOS_GENESIS', 'genesis');
  str('LEIOS_DATA_DIR', 'dataDir');
  str('DATABASE_URL', 'databaseUrl');
  str('LEIOS_PGLITE_DIR', 'pgliteDir');
  str('LEIOS_TRACE_FILE', 'traceFile');
  str('LEIOS_POOL_KEYS_FILE', 'poolKeysFile');
  str('LEIOS_LOG_LEVEL', 'logLevel');
  if (env.DATABASE_URL) delete o.pgliteDir;
  if (env.LEIOS_PGLITE_DIR && !env.DATABASE_URL) delete o.databaseUrl;
  const int = (name: string, field: string): number | undefined => {
    const x = env[name];
    if (x === undefined || x === '') return undefined;
    if (!/^[0-9]{1,15}$/.test(x)) throw new ConfigError(field, `${name}=${JSON.stringify(x)} is not a non-negative integer`, source);
    return Number(x);
  };
  const api = { ...(typeof o.api === 'object' && o.api !== null ? (o.api as Record<string, unknown>) : {}) };
  const port = int('LEIOS_API_PORT', 'api.port');
  if (port !== undefined) api.port = port;
  if (env.LEIOS_API_HOST) api.host = env.LEIOS_API_HOST;
  if (port !== undefined || env.LEIOS_API_HOST) o.api = api;
  const mem = int('LEIOS_MEMPOOL_BYTES', 'mempoolCapacityBytes');
  if (mem !== undefined) o.mempoolCapacityBytes = mem;
  if (env.LEIOS_POOL_SEEDS) {
    o.pools = env.LEIOS_POOL_SEEDS.split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0)
      .map((seed) => ({ seed }));
    delete o.poolKeysFile;
  }
  if (env.LEIOS_POOL_KEYS_FILE) o.pools = [];
  const relays = env.LEIOS_RELAYS?.trim();
  if (relays) {
    if (relays.startsWith('[')) {
      try {
        o.relays = JSON.parse(relays);
      } catch (e) {
        throw new ConfigError('relays', `LEIOS_RELAYS is not a JSON array: ${e instanceof Error ? e.message : String(e)}`, source);
      }
    } else {
      o.relays = relays
        .split(',')
        .map((u) => u.trim())
        .filter((u) => u.length > 0)
        .map((url) => ({ url }));
    }
  }
  return o;
}

/**
 * Validate a configuration object (the parsed file) with the environment's overrides; relative
 * paths of the file resolve against `baseDir`, those of the environment against the working
 * directory. Throws {@link ConfigError} naming the first bad field.
 *
 * @example
 * ```ts
 * const cfg = parseConfig({ name: 'n0', genesis: 'genesis.json', dataDir: 'n0' }, { baseDir: '/srv/devnet', env: {} });
 * cfg.api.port // 12798
 * ```
 */
export function parseConfig(input: unknown, opts: { baseDir?: string; env?: Env; source?: string } = {}): NodeConfig {
  const source = opts.source ?? '<config>';
  const env = opts.env ?? {};
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new ConfigError('(root)', 'expected a JSON object', source);
  const merged = withEnv(input as Record<string, unknown>, env, source);
  const r = v.safeParse(ConfigSchema, merged);
  if (!r.success) {
    const i = r.issues[0];
    throw new ConfigError(fieldOf(i), i.message, source);
  }
  const c = r.output;
  if (c.databaseUrl !== undefined && c.pgliteDir !== undefined) throw new ConfigError('pgliteDir', 'give databaseUrl or pgliteDir, not both', source);
  if (c.pools.length > 0 && c.poolKeysFile !== undefined) throw new ConfigError('poolKeysFile', 'give pools or poolKeysFile, not both', source);
  const fileBase = resolve(opts.baseDir ?? '.');
  // paths that came from the environment resolve against the working directory
  const envKey: Record<string, string> = {
    genesis: 'LEIOS_GENESIS',
    dataDir: 'LEIOS_DATA_DIR',
    pgliteDir: 'LEIOS_PGLITE_DIR',
    traceFile: 'LEIOS_TRACE_FILE',
    poolKeysFile: 'LEIOS_POOL_KEYS_FILE',
  };
  const abs = (key: string, p: string) => (isAbsolute(p) ? p : resolve(env[envKey[key] ?? ''] ? '.' : fileBase, p));
  const dataDir = abs('dataDir', c.dataDir);
  const relays: RelayConfig[] = c.relays.map((rel, i) => {
    let secret = rel.secret;
    if (secret !== undefined && rel.secretEnv !== undefined) throw new ConfigError(`relays[${i}].secretEnv`, 'give secret or secretEnv, not both', source);
    if (rel.secretEnv !== undefined) {
      const x = env[rel.secretEnv];
      if (x === undefined || x === '') throw new ConfigError(`relays[${i}].secretEnv`, `environment variable ${rel.secretEnv} is not set`, source);
      if (!HEX_SECRET.test(x)) throw new ConfigError(`relays[${i}].secretEnv`, `${rel.secretEnv} must hold 16–64 bytes of lowercase hex`, source);
      secret = x;
    }
    if (secret !== undefined && rel.peerId === undefined) throw new ConfigError(`relays[${i}].peerId`, 'a relay secret needs the peer id it belongs to', source);
    return { url: rel.url, ...(rel.peerId !== undefined ? { peerId: rel.peerId } : {}), ...(secret !== undefined ? { secret } : {}) };
  });
  return {
    name: c.name,
    genesis: abs('genesis', c.genesis),
    dataDir,
    pools: c.pools,
    ...(c.poolKeysFile !== undefined ? { poolKeysFile: abs('poolKeysFile', c.poolKeysFile) } : {}),
    ...(c.databaseUrl !== undefined ? { databaseUrl: c.databaseUrl } : {}),
    database:
      c.databaseUrl !== undefined
        ? { kind: 'postgres', url: c.databaseUrl }
        : { kind: 'pglite', dir: c.pgliteDir !== undefined ? abs('pgliteDir', c.pgliteDir) : resolve(dataDir, 'db') },
    api: c.api,
    relays,
    ...(c.traceFile !== undefined ? { traceFile: abs('traceFile', c.traceFile) } : {}),
    ...(c.mempoolCapacityBytes !== undefined ? { mempoolCapacityBytes: c.mempoolCapacityBytes } : {}),
    ...(c.logLevel !== undefined ? { logLevel: c.logLevel } : {}),
  };
}

/**
 * Read the JSON file (`file`, else `LEIOS_CONFIG`; with neither, the environment alone) and
 * validate it with the environment's overrides. Throws {@link ConfigError}.
 *
 * @example
 * ```ts
 * const cfg = await loadConfig({ file: 'devnet/node-0.json', env: process.env });
 * ```
 */
export async function loadConfig(opts: { file?: string; env?: Env } = {}): Promise<NodeConfig> {
  const env = opts.env ?? process.env;
  const file = opts.file ?? env.LEIOS_CONFIG;
  if (!file) return parseConfig({}, { env, source: '<environment>' });
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new ConfigError('(file)', `cannot read: ${e instanceof Error ? e.message : String(e)}`, file, { cause: e });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConfigError('(file)', `not JSON: ${e instanceof Error ? e.message : String(e)}`, file, { cause: e });
  }
  return parseConfig(json, { baseDir: dirname(resolve(file)), env, source: file });
}

/** The handshake key of a relay entry, if it has a secret. @example `relayAuth(cfg.relays[0])` */
export function relayAuth(r: RelayConfig): PeerSecret | undefined {
  return r.secret !== undefined && r.peerId !== undefined ? { peerId: r.peerId, secret: fromHex(r.secret) } : undefined;
}

const hex = (bytes: number) => v.pipe(v.string(), v.regex(new RegExp(`^([0-9a-f]{2}){${bytes}}$`), `expected ${bytes} bytes of lowercase hex`));
const keyFileSchema = v.pipe(
  v.array(
    v.strictObject({
      /** Ed25519 seed of the cold key. */
      coldSeed: hex(32),
      /** BLS VRF secret key. */
      vrfSecretKey: hex(32),
      /** BLS vote secret key and its public key (null: the pool never votes). */
      voteSecretKey: v.nullable(hex(32)),
      votePublicKey: v.nullable(hex(96)),
    }),
  ),
  v.maxLength(1_024),
);

/**
 * The pool keys a config names: derived from the seeds (shared/src/protocol/genesis/create.ts),
 * or read from `poolKeysFile` (a JSON array of `{ coldSeed, vrfSecretKey, voteSecretKey,
 * votePublicKey }`, lowercase hex). Throws {@link ConfigError}.
 *
 * @example
 * ```ts
 * const pools = await loadPoolKeys(cfg);
 * const node = await LeiosNode.create({ …, pools });
 * ```
 */
export async function loadPoolKeys(cfg: Pick<NodeConfig, 'pools' | 'poolKeysFile'>): Promise<PoolKeys[]> {
  if (cfg.poolKeysFile === undefined) {
    return cfg.pools.map(({ seed }) => {
      const k = derivePoolKeys(seed);
      return {
        poolId: k.poolId,
        coldSeed: k.coldSecretKey,
        coldVk: k.coldVk,
        vrfSecretKey: k.vrfSecretKey,
        voteSecretKey: k.voteSecretKey,
        votePublicKey: k.votePublicKey,
      };
    });
  }
  const file = cfg.poolKeysFile;
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new ConfigError('poolKeysFile', `cannot read ${file}: ${e instanceof Error ? e.message : String(e)}`, file, { cause: e });
  }
  const r = v.safeParse(keyFileSchema, json);
  if (!r.success) throw new ConfigError(fieldOf(r.issues[0]), r.issues[0].message, file);
  return r.output.map((k, i) => {
    if ((k.voteSecretKey === null) !== (k.votePublicKey === null)) {
      throw new ConfigError(`[${i}].votePublicKey`, 'voteSecretKey and votePublicKey are both given or both null', file);
    }
    const coldSeed = fromHex(k.coldSeed);
    const coldVk = ed25519KeyFromSeed(coldSeed).publicKey;
    return {
      poolId: blake2b224(coldVk) as PoolId,
      coldSeed,
      coldVk,
      vrfSecretKey: fromHex(k.vrfSecretKey),
      voteSecretKey: k.voteSecretKey === null ? null : fromHex(k.voteSecretKey),
      votePublicKey: k.votePublicKey === null ? null : fromHex(k.votePublicKey),
    };
  });
}
