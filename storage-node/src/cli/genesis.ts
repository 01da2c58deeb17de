/**
 * `leios genesis create`: a devnet genesis with pools of different stake (keys with PoP) and
 * funded addresses, written as the §3.1 JSON plus a `seeds.json` with the seeds every secret key
 * derives from (shared/src/protocol/genesis/create.ts).
 *
 * Primer: the devnet orchestrator and the e2e tests call {@link createDevnetGenesis} directly;
 * the CLI wraps it. Seeds are the secrets of a devnet: `devnet-pool-<i>` and `devnet-fund-<j>`
 * unless a prefix is given, so a node's config names its pool by seed and needs no key file.
 *
 * @module
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { toHex } from '@leios/shared/bytes';
import { type CreatedGenesis, createGenesis, INTEGER_BOUNDS, LEIOS_PARAM_KEYS, type ProtocolParams, parseRational } from '@leios/shared/protocol';

/** Options of {@link createDevnetGenesis}. */
export interface DevnetGenesisOptions {
  /** Stake of each pool (one pool per entry). */
  readonly stakes: readonly bigint[];
  /** Number of funded keys and outputs per key. */
  readonly funds?: number;
  readonly outputsPerFund?: number;
  /** Lovelace per output (default 10,000 ada). */
  readonly amount?: bigint;
  readonly systemStartMs?: number;
  readonly params?: Partial<ProtocolParams>;
  /** Seed prefix (default `devnet`). */
  readonly prefix?: string;
}

/** A generated devnet genesis and its seeds. */
export interface DevnetGenesis {
  readonly created: CreatedGenesis;
  readonly poolSeeds: readonly string[];
  readonly fundSeeds: readonly string[];
}

/**
 * Pools with stakes `stakes`, funds, and the devnet parameters with overrides.
 *
 * @example
 * ```ts
 * const g = createDevnetGenesis({ stakes: [3n, 2n, 1n].map((s) => s * 1_000_000_000n), params: { slotLengthMs: 200 } });
 * g.created.text // the genesis.json
 * ```
 */
export function createDevnetGenesis(opts: DevnetGenesisOptions): DevnetGenesis {
  const prefix = opts.prefix ?? 'devnet';
  const poolSeeds = opts.stakes.map((_, i) => `${prefix}-pool-${i}`);
  const fundSeeds = Array.from({ length: opts.funds ?? 4 }, (_, j) => `${prefix}-fund-${j}`);
  const created = createGenesis({
    pools: opts.stakes.map((stake, i) => ({ stake, seed: poolSeeds[i] as string })),
    systemStart: opts.systemStartMs ?? Math.floor(Date.now() / 1000) * 1000,
    ...(opts.params ? { params: opts.params } : {}),
    funds: fundSeeds.map((seed) => ({ seed, amount: opts.amount ?? 10_000_000_000n, outputs: opts.outputsPerFund ?? 256 })),
  });
  return { created, poolSeeds, fundSeeds };
}

/** Write `genesis.json` and `seeds.json` into `dir`; returns the genesis path. */
export async function writeDevnetGenesis(dir: string, g: DevnetGenesis): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, 'genesis.json');
  await writeFile(path, g.created.bytes);
  await writeFile(
    join(dir, 'seeds.json'),
    `${JSON.stringify({ pools: g.poolSeeds.map((seed, i) => ({ seed, poolId: toHex(g.created.pools[i]?.poolId ?? new Uint8Array()) })), funds: g.fundSeeds }, null, 2)}\n`,
    { mode: 0o600 },
  );
  return path;
}

/**
 * The genesis parameters `--param KEY=VALUE` may set: k, f, the epoch length and the whole
 * `protocolParams` object (§3.1), by genesis key name. Not the slot length (`--slot-ms`), the
 * ledger mode (the tx generator builds UTxO txs) nor the committee mode (nodes run top-stake
 * committees only).
 */
export const SETTABLE_PARAMS: readonly string[] = ['epochLength', 'securityParam', 'activeSlotCoeff', ...LEIOS_PARAM_KEYS];

/**
 * Parse repeated `--param KEY=VALUE` flags into parameter overrides. Rationals (`activeSlotCoeff`,
 * `quorum`) are `"num/den"`, the rest decimal integers; the ranges are checked when the genesis is
 * built (validateProtocolParams names the parameter).
 *
 * @example
 * ```ts
 * parseParamFlags(['lHdr=3', 'activeSlotCoeff=1/10']) // { lHdr: 3, activeSlotCoeff: { num: 1n, den: 10n } }
 * ```
 */
export function parseParamFlags(flags: readonly string[]): Partial<ProtocolParams> {
  const out: Record<string, unknown> = {};
  for (const flag of flags) {
    const eq = flag.indexOf('=');
    const key = eq < 0 ? flag : flag.slice(0, eq);
    const value = eq < 0 ? '' : flag.slice(eq + 1).trim();
    if (!SETTABLE_PARAMS.includes(key)) throw new Error(`--param ${key}: not a settable parameter (one of ${SETTABLE_PARAMS.join(', ')})`);
    if (eq < 0 || value === '') throw new Error(`--param ${key}: expected ${key}=VALUE`);
    if (key in out) throw new Error(`--param ${key}: given twice`);
    if (key === 'activeSlotCoeff' || key === 'quorum') out[key] = parseRational(value, key);
    else {
      if (!/^(0|[1-9][0-9]{0,15})$/.test(value)) throw new Error(`--param ${key}: expected a decimal integer, got ${JSON.stringify(value)}`);
      const n = Number(value);
      const [lo, hi] = INTEGER_BOUNDS[key as keyof typeof INTEGER_BOUNDS];
      if (n < lo || n > hi) throw new Error(`--param ${key}: ${n} is outside [${lo}, ${hi}]`);
      out[key] = n;
    }
  }
  return out as Partial<ProtocolParams>;
}

const HELP = `leios genesis create [options]
  --out DIR            output directory (default .leios/genesis)
  --stakes LIST        comma-separated pool stakes in lovelace (default 3e9,2e9,1e9)
  --funds N            funded keys (default 4)
  --outputs N          outputs per funded key (default 256)
  --slot-ms MS         slot length (default 1000)
  --f NUM/DEN          active slot coefficient (default 1/20)
  --param KEY=VALUE    any other genesis parameter (repeatable): epochLength, securityParam,
                       lHdr, lVote, lDiff, committeeSize, quorum (num/den), maxRbBodySize, …
  --start ISO|now      system start (default now)
`;

/** CLI entry: `leios genesis create …`. */
export async function genesisMain(argv: readonly string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'create') {
    process.stderr.write(HELP);
    return sub === undefined || sub === '--help' ? 0 : 2;
  }
  const { values } = parseArgs({
    args: [...rest],
    options: {
      out: { type: 'string', default: '.leios/genesis' },
      stakes: { type: 'string', default: '3000000000,2000000000,1000000000' },
      funds: { type: 'string', default: '4' },
      outputs: { type: 'string', default: '256' },
      'slot-ms': { type: 'string', default: '1000' },
      f: { type: 'string' },
      param: { type: 'string', multiple: true },
      start: { type: 'string', default: 'now' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const params: Partial<ProtocolParams> = { slotLengthMs: Number(values['slot-ms']), ...parseParamFlags(values.param ?? []) };
  if (values.f) Object.assign(params, { activeSlotCoeff: parseRational(values.f, 'activeSlotCoeff') });
  const g = createDevnetGenesis({
    stakes: values.stakes.split(',').map((s) => BigInt(s.trim())),
    funds: Number(values.funds),
    outputsPerFund: Number(values.outputs),
    ...(values.start === 'now' ? {} : { systemStartMs: Date.parse(values.start) }),
    params,
  });
  const path = await writeDevnetGenesis(resolve(values.out), g);
  process.stdout.write(`wrote ${path} (hash ${toHex(g.created.genesis.hash)}) and seeds.json\n`);
  return 0;
}
