/**
 * The Worker's bindings and their parsed, typed form.
 *
 * Primer: wrangler hands every var over as a string. {@link parseConfig} turns them into an
 * {@link EdgeConfig} once per isolate (parse once at the boundary): a bad value fails loudly with
 * the offending var named, instead of misbehaving later. Protocol constants that are not
 * deployment choices (body limits, S_EB, …) live in {@link LIMITS} with their spec section.
 *
 * Secrets (set with `wrangler secret put`, never in wrangler.jsonc):
 * - `PEER_SECRETS`: JSON object `{ "<peerId>": "<hex secret>" }`, the per-peer HMAC keys a storage
 *   node or relay uses to authenticate its `/v1/ws` session (the RelayHub checks them in the §8.3
 *   handshake, shared/src/wire/handshake/auth.ts). When set, a session without a key is
 *   *anonymous*: it may read and submit txs only, within {@link AnonymousLimits} per client
 *   address (`ANON_LIMITS`, optional var). When unset, every session is a full peer (a private
 *   relay).
 *
 * @module
 */
import { fromHex } from '@leios/shared';
import {
  DEVNET_PARAMS,
  INTEGER_BOUNDS,
  LEIOS_PARAM_KEYS,
  type ProtocolParams,
  parseRational,
  validateProtocolParams,
} from '@leios/shared/protocol';
import type { RelayHub } from '../hub/index';

/** What wrangler binds (wrangler.jsonc `vars`, the Durable Object binding, secrets). */
export interface Env {
  RELAY_HUB: DurableObjectNamespace<RelayHub>;
  RELAY_NAME: string;
  UPSTREAM_URLS: string;
  UPSTREAM_TIMEOUT_MS: string;
  LEDGER_MODE: string;
  NETWORK_MAGIC: string;
  GENESIS_HASH: string;
  SYSTEM_START: string;
  SLOT_LENGTH_MS: string;
  EPOCH_LENGTH: string;
  PEER_SECRETS?: string;
  /**
   * The consensus parameters the relay checks headers, votes and certificates with (§15), as JSON
   * with the genesis names: `activeSlotCoeff`, `securityParam`, `committeeMode` and the keys of
   * genesis `protocolParams` (§3.1). Absent keys take the §15 devnet values; slot length, epoch
   * length and ledger mode come from their own vars. Copy them from the network's genesis file.
   */
  PROTOCOL_PARAMS?: string;
  /**
   * Limits on anonymous sessions (when PEER_SECRETS is set), JSON with any of the keys of
   * {@link AnonymousLimits} but `windowMs`, which is given as `windowS`; absent keys take
   * {@link DEFAULT_ANON_LIMITS}. `{"sessionsPerIp":0}` turns anonymous access off.
   */
  ANON_LIMITS?: string;
  /** Per-IP limiters (wrangler.jsonc `ratelimits`); absent = no limit. See ../ratelimit. */
  POST_LIMITER?: RateLimit;
  WS_LIMITER?: RateLimit;
  /** The limiters' periods in seconds (`10` or `60`), for `Retry-After`. */
  POST_LIMIT_PERIOD_S?: string;
  WS_LIMIT_PERIOD_S?: string;
}

export type LedgerMode = 'utxo' | 'opaque';

/** The parsed configuration. */
export interface EdgeConfig {
  relayName: string;
  /** Storage-node base URLs, in failover order, without trailing slash. */
  upstreamUrls: readonly string[];
  upstreamTimeoutMs: number;
  ledgerMode: LedgerMode;
  networkMagic: number;
  genesisHash: Uint8Array;
  systemStartMs: number;
  slotLengthMs: number;
  epochLength: number;
  /** Per-peer HMAC keys (empty when the secret is unset). */
  peerSecrets: ReadonlyMap<string, Uint8Array>;
  /** Limits on anonymous sessions (used only when `peerSecrets` is not empty). */
  anonymous: AnonymousLimits;
  /** Consensus parameters (§15) for the relay's stateless checks (§10.4). */
  params: ProtocolParams;
}

/**
 * What an anonymous `/v1/ws` session may use, per client address (`CF-Connecting-IP`). Every
 * figure is a bound on the RelayHub's work and memory; exceeding a rate closes the session with
 * 1008 `mux:limit` (PROTOCOL.md §8.2: a limit breach), and a full session count refuses the
 * handshake with `"anonymous-limit"`.
 */
export interface AnonymousLimits {
  /** Anonymous sessions open at once from one address (0: anonymous access off). */
  sessionsPerIp: number;
  /** Anonymous sessions open at once in the hub, from all addresses. */
  sessions: number;
  /** The accounting window. */
  windowMs: number;
  /** Incoming WebSocket messages per address per window. */
  messages: number;
  /** WebSocket payload bytes in + out per address per window. */
  bytes: number;
}

/**
 * Defaults: a reader following the chain at full Leios load (an RB every ~20 s with its block,
 * EB and closure, §15 sizes) stays well inside them; a flood does not.
 */
export const DEFAULT_ANON_LIMITS: AnonymousLimits = {
  sessionsPerIp: 4,
  sessions: 512,
  windowMs: 60_000,
  messages: 1_200,
  bytes: 64 * 1024 * 1024,
};

/** Upper bounds of the ANON_LIMITS keys (a typo must not lift a bound). */
const ANON_BOUNDS = { sessionsPerIp: 64, sessions: 4_096, windowS: 3_600, messages: 1_000_000, bytes: 2 ** 32 } as const;

/** Protocol limits the edge enforces (PROTOCOL.md §11, §12, §15 defaults). */
export const LIMITS = {
  /** §12 request body limits. */
  txBody: 65_536,
  votesBody: 131_072,
  votesCount: 1_024,
  ebTxsBody: 16_384,
  /** §15 S_EB, S_RB; §11 block-fetch Block = S_RB + 8,192. */
  maxEbSize: 512_000,
  maxRbBlock: 90_112 + 8_192,
  maxTxSize: 16_384,
  /** §11 BlockTxs reply: MAX_REPLY_BYTES + 32,768. */
  maxEbTxsReply: 4_194_304 + 32_768,
  /** §12 JSON replies of the storage node (tip, tx, votes): small by construction. */
  maxJsonReply: 65_536,
  /** `[e, η_e, [* pool]]`: ~400 B per pool; generous for N_c = 900 pools and more. */
  maxPoolsReply: 4 * 1024 * 1024,
} as const;

/** A var that is missing or malformed. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    readonly detail: string,
  ) {
    super(`config ${variable}: ${detail}`);
    this.name = 'ConfigError';
  }
}

function positiveInt(name: string, v: string | undefined, max = Number.MAX_SAFE_INTEGER, allowZero = false): number {
  const re = allowZero ? /^(0|[1-9][0-9]*)$/ : /^[1-9][0-9]*$/;
  if (v === undefined || !re.test(v.trim())) throw new ConfigError(name, `expected a ${allowZero ? 'non-negative' : 'positive'} integer, got ${String(v)}`);
  const n = Number(v.trim());
  if (n > max) throw new ConfigError(name, `must be at most ${max}`);
  return n;
}

function parseUpstreams(v: string | undefined): string[] {
  if (v === undefined) throw new ConfigError('UPSTREAM_URLS', 'missing');
  const urls = v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (urls.length > 16) throw new ConfigError('UPSTREAM_URLS', 'at most 16 storage nodes');
  return urls.map((u) => {
    let url: URL;
    try {
      url = new URL(u);
    } catch {
      throw new ConfigError('UPSTREAM_URLS', `not a URL: ${u}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError('UPSTREAM_URLS', `not http(s): ${u}`);
    if (url.search !== '' || url.hash !== '') throw new ConfigError('UPSTREAM_URLS', `no query or fragment allowed: ${u}`);
    return url.href.replace(/\/+$/, '');
  });
}

function parsePeerSecrets(v: string | undefined): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  if (v === undefined || v.trim() === '') return out;
  let json: unknown;
  try {
    json = JSON.parse(v);
  } catch {
    throw new ConfigError('PEER_SECRETS', 'not JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ConfigError('PEER_SECRETS', 'expected a JSON object');
  for (const [peer, secret] of Object.entries(json)) {
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(peer)) throw new ConfigError('PEER_SECRETS', `bad peer id ${JSON.stringify(peer)}`);
    if (typeof secret !== 'string' || !/^([0-9a-f]{2}){16,64}$/.test(secret)) {
      throw new ConfigError('PEER_SECRETS', `secret of ${peer}: expected 32..128 lowercase hex characters`);
    }
    out.set(peer, fromHex(secret));
  }
  return out;
}

function parseAnonymousLimits(v: string | undefined): AnonymousLimits {
  const out = { ...DEFAULT_ANON_LIMITS };
  if (v === undefined || v.trim() === '') return out;
  let json: unknown;
  try {
    json = JSON.parse(v);
  } catch {
    throw new ConfigError('ANON_LIMITS', 'not JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ConfigError('ANON_LIMITS', 'expected a JSON object');
  for (const [k, val] of Object.entries(json)) {
    if (!(k in ANON_BOUNDS)) throw new ConfigError('ANON_LIMITS', `unknown key ${JSON.stringify(k)}`);
    const max = ANON_BOUNDS[k as keyof typeof ANON_BOUNDS];
    const zeroOk = k === 'sessionsPerIp';
    if (typeof val !== 'number' || !Number.isInteger(val) || val < (zeroOk ? 0 : 1) || val > max) {
      throw new ConfigError('ANON_LIMITS', `${k}: expected an integer in ${zeroOk ? 0 : 1}..${max}`);
    }
    if (k === 'windowS') out.windowMs = val * 1000;
    else out[k as Exclude<keyof typeof ANON_BOUNDS, 'windowS'>] = val;
  }
  return out;
}

const INTEGER_KEYS = new Set<string>(['securityParam', ...LEIOS_PARAM_KEYS.filter((k) => k !== 'quorum')]);

/**
 * The §15 parameters from `PROTOCOL_PARAMS` (genesis key names) over the devnet defaults, with the
 * slot length, epoch length and ledger mode of their own vars; validated as genesis is.
 *
 * @example
 * ```ts
 * parseProtocolParams('{"activeSlotCoeff":"1/20","committeeSize":900}', { slotLengthMs: 1000, epochLength: 1200, ledgerMode: 'utxo' })
 * ```
 */
export function parseProtocolParams(v: string | undefined, base: Pick<ProtocolParams, 'slotLengthMs' | 'epochLength' | 'ledgerMode'>): ProtocolParams {
  const p: Record<string, unknown> = { ...DEVNET_PARAMS, ...base };
  if (v !== undefined && v.trim() !== '') {
    let json: unknown;
    try {
      json = JSON.parse(v);
    } catch {
      throw new ConfigError('PROTOCOL_PARAMS', 'not JSON');
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ConfigError('PROTOCOL_PARAMS', 'expected a JSON object');
    for (const [k, val] of Object.entries(json)) {
      if (k === 'activeSlotCoeff' || k === 'quorum') p[k] = parseRational(val, k);
      else if (k === 'committeeMode') p[k] = val;
      else if (INTEGER_KEYS.has(k) && k in INTEGER_BOUNDS) p[k] = val;
      else throw new ConfigError('PROTOCOL_PARAMS', `unknown or not settable here: ${JSON.stringify(k)}`);
    }
  }
  try {
    return validateProtocolParams(p as unknown as ProtocolParams);
  } catch (e) {
    throw new ConfigError('PROTOCOL_PARAMS', e instanceof Error ? e.message : String(e));
  }
}

/**
 * Parse the bindings.
 *
 * @example
 * ```ts
 * const cfg = parseConfig(env);
 * cfg.upstreamUrls // ['http://127.0.0.1:3001']
 * ```
 */
export function parseConfig(env: Env): EdgeConfig {
  const ledgerMode = env.LEDGER_MODE;
  if (ledgerMode !== 'utxo' && ledgerMode !== 'opaque') throw new ConfigError('LEDGER_MODE', 'expected utxo or opaque');
  if (typeof env.GENESIS_HASH !== 'string' || !/^[0-9a-f]{64}$/.test(env.GENESIS_HASH)) {
    throw new ConfigError('GENESIS_HASH', 'expected 64 lowercase hex characters');
  }
  const systemStartMs = Date.parse(env.SYSTEM_START);
  if (!/Z$/.test(env.SYSTEM_START ?? '') || Number.isNaN(systemStartMs)) {
    throw new ConfigError('SYSTEM_START', 'expected an RFC 3339 UTC timestamp ending in Z');
  }
  const relayName = env.RELAY_NAME;
  if (typeof relayName !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(relayName)) throw new ConfigError('RELAY_NAME', 'expected 1..64 of [A-Za-z0-9._-]');
  const slotLengthMs = positiveInt('SLOT_LENGTH_MS', env.SLOT_LENGTH_MS, 3_600_000);
  const epochLength = positiveInt('EPOCH_LENGTH', env.EPOCH_LENGTH);
  return {
    relayName,
    upstreamUrls: parseUpstreams(env.UPSTREAM_URLS),
    upstreamTimeoutMs: positiveInt('UPSTREAM_TIMEOUT_MS', env.UPSTREAM_TIMEOUT_MS, 60_000),
    ledgerMode,
    networkMagic: positiveInt('NETWORK_MAGIC', env.NETWORK_MAGIC, 0xffff_ffff, true),
    genesisHash: fromHex(env.GENESIS_HASH),
    systemStartMs,
    slotLengthMs,
    epochLength,
    peerSecrets: parsePeerSecrets(env.PEER_SECRETS),
    anonymous: parseAnonymousLimits(env.ANON_LIMITS),
    params: parseProtocolParams(env.PROTOCOL_PARAMS, { slotLengthMs, epochLength, ledgerMode }),
  };
}

/**
 * The wall-clock epoch `epoch(slot(now))` (§3.2) used by §12's "current epoch". Before the system
 * start it is 0.
 *
 * @example
 * ```ts
 * currentEpoch(cfg, Date.now())
 * ```
 */
export function currentEpoch(cfg: EdgeConfig, nowMs: number): number {
  if (nowMs < cfg.systemStartMs) return 0;
  const slot = Math.floor((nowMs - cfg.systemStartMs) / cfg.slotLengthMs);
  return Math.floor(slot / cfg.epochLength);
}
