/**
 * `node --import tsx load/generate.ts`: the payloads the load scenarios replay (k6 and the Node
 * harness alike), written as plain JSON so k6 can `open()` them:
 *
 * - `txs.json`: valid signed §5 payments (base64 of the exact tx CBOR), each spending a different
 *   genesis output of a devnet's funds, so every one is valid on its own, in any order and any
 *   subset, and a replay of one is an idempotent 202 (§12);
 * - `hashes.json`: RB and EB hashes (hex) of a running chain, collected through the §12 routes
 *   of a relay or storage node (`GET /v1/tip`, then `GET /v1/rb/{hash}` back along the chain,
 *   keeping every announced EB that `GET /v1/eb/{hash}` serves).
 *
 * Primer: the txs come from the devnet's own {@link TxGenerator} (storage-node/src/cli/txgen),
 * told never to spend an output of its own txs, so it walks the genesis outputs once. The funds
 * are either read from a devnet directory (`--genesis <dir>/genesis.json` with `seeds.json` beside
 * it: the outputs are looked up in its `initialUtxo`) or derived like `npm run devnet` derives
 * them (funds `devnet-fund-<j>`, 8 × 512 outputs; a fund's outputs depend on its seed only, not
 * on the genesis start time). The devnet's own generator spends the same outputs, so run it with
 * `--tx-rate 0` when these txs are to be accepted.
 *
 * Output goes to load/payloads/ (gitignored) unless `--out` says otherwise.
 *
 * @module
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { bytesEqual, toHex } from '@leios/shared/bytes';
import { CborReader } from '@leios/shared/cbor';
import { blake2b256 } from '@leios/shared/crypto';
import { deriveFundKey, parseGenesis, readRbHeader } from '@leios/shared/protocol';
import { createDevnetGenesis } from '../storage-node/src/cli/genesis';
import { type GeneratorFund, TxGenerator } from '../storage-node/src/cli/txgen';
import { LoadError } from './errors';

const here = dirname(fileURLToPath(import.meta.url));
/** Default payload directory (gitignored). */
export const DEFAULT_PAYLOAD_DIR = join(here, 'payloads');

/** Devnet defaults of `npm run devnet` (storage-node/src/cli/devnet.ts). */
export const DEVNET_FUNDS = { funds: 8, outputsPerFund: 512 } as const;

/** Bounds: txs per file, blocks walked, time per request. */
const MAX_TXS = 1_000_000;
const MAX_BLOCKS = 100_000;
const REQUEST_TIMEOUT_MS = 10_000;

/** Options of {@link generateTxs}. */
export interface TxOptions {
  /** Number of txs (at most, and by default, the number of genesis outputs the funds own). */
  count?: number;
  /** A devnet genesis.json with seeds.json beside it; default: derive the `npm run devnet` funds. */
  genesisPath?: string;
  /** Funds and outputs per fund when deriving (default 8 × 512, as `npm run devnet`). */
  funds?: number;
  outputsPerFund?: number;
  /** Payment outputs per tx (larger txs). */
  outputsPerTx?: number;
}

/** The txs file. */
export interface TxPayloads {
  generatedAt: string;
  /** Where the funds came from. */
  funds: { source: string; keys: number; outputs: number };
  /** Base64 of each tx's CBOR. */
  txs: string[];
  /** Tx reference hashes (hex), in the same order. */
  txHashes: string[];
  bytes: number;
}

/** The hashes file. */
export interface HashPayloads {
  generatedAt: string;
  source: string;
  tip: { blockNumber: number; hash: string | null; slot: number | null };
  /** RB hashes (hex), tip first. */
  rbs: string[];
  /** Hashes of EBs announced on that chain and served (hex), newest first. */
  ebs: string[];
}

/** The funds of a devnet genesis file: seeds from seeds.json, outputs from its initialUtxo. */
async function fundsFromGenesis(genesisPath: string): Promise<GeneratorFund[]> {
  const genesis = parseGenesis(new Uint8Array(await readFile(genesisPath)));
  const seedsPath = join(dirname(genesisPath), 'seeds.json');
  let seeds: unknown;
  try {
    seeds = JSON.parse(await readFile(seedsPath, 'utf8'));
  } catch (e) {
    throw new LoadError('payloads', `cannot read the fund seeds in ${seedsPath} (a devnet directory has one beside genesis.json)`, { cause: e });
  }
  const fundSeeds = (seeds as { funds?: unknown }).funds;
  if (!Array.isArray(fundSeeds) || !fundSeeds.every((s) => typeof s === 'string')) throw new LoadError('payloads', `${seedsPath}: expected "funds": [seed, …]`);
  return (fundSeeds as string[]).map((seed) => {
    const { address } = deriveFundKey(seed);
    const outputs = genesis.initialUtxo.filter((u) => bytesEqual(u.address, address)).map((u) => ({ txId: u.txId, index: u.index, amount: u.amount }));
    return { seed, outputs };
  });
}

/**
 * Valid signed payments, each spending its own genesis output.
 *
 * @example
 * ```ts
 * const p = await generateTxs({ count: 500, genesisPath: '.leios/devnet/genesis.json' });
 * p.txs.length // 500
 * ```
 */
export async function generateTxs(opts: TxOptions): Promise<TxPayloads> {
  let funds: GeneratorFund[];
  let source: string;
  if (opts.genesisPath) {
    funds = await fundsFromGenesis(resolve(opts.genesisPath));
    source = resolve(opts.genesisPath);
  } else {
    const g = createDevnetGenesis({ stakes: [1n], funds: opts.funds ?? DEVNET_FUNDS.funds, outputsPerFund: opts.outputsPerFund ?? DEVNET_FUNDS.outputsPerFund });
    funds = g.fundSeeds.map((seed, k) => ({ seed, outputs: g.created.funds[k]?.outputs ?? [] }));
    source = `derived: ${funds.length} devnet funds × ${opts.outputsPerFund ?? DEVNET_FUNDS.outputsPerFund} outputs`;
  }
  const outputs = funds.reduce((a, f) => a + f.outputs.length, 0);
  const count = opts.count ?? outputs;
  if (!Number.isSafeInteger(count) || count < 1 || count > MAX_TXS) throw new LoadError('config', `tx count must be in 1..${MAX_TXS}, got ${count}`);
  if (count > outputs) throw new LoadError('config', `${count} txs asked, but the funds own ${outputs} genesis outputs (one tx each)`);
  // now() stays 0 and own outputs mature at 1: the generator only ever spends genesis outputs.
  const gen = new TxGenerator({ funds, reuseAfterMs: 1, now: () => 0, ...(opts.outputsPerTx ? { outputsPerTx: opts.outputsPerTx } : {}) });
  const txs: string[] = [];
  const txHashes: string[] = [];
  let bytes = 0;
  while (txs.length < count) {
    const tx = gen.next();
    if (!tx) throw new LoadError('payloads', `the funds ran out after ${txs.length} txs (outputs too small for ${opts.outputsPerTx ?? 1} payment outputs?)`);
    txs.push(Buffer.from(tx.bytes).toString('base64'));
    txHashes.push(toHex(tx.refHash));
    bytes += tx.bytes.length;
  }
  return { generatedAt: new Date().toISOString(), funds: { source, keys: funds.length, outputs }, txs, txHashes, bytes };
}

async function get(url: string): Promise<Response> {
  try {
    return await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  } catch (e) {
    throw new LoadError('http', `GET ${url}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

/**
 * RB hashes of the chain ending at `baseUrl`'s tip (at most `maxBlocks`, tip first) and the EBs
 * they announce that `baseUrl` serves. Works against a relay or a storage node (§12 routes only).
 *
 * @example
 * ```ts
 * const h = await collectHashes('http://127.0.0.1:8787', { maxBlocks: 200 });
 * h.ebs.length
 * ```
 */
export async function collectHashes(baseUrl: string, opts: { maxBlocks?: number } = {}): Promise<HashPayloads> {
  const base = baseUrl.replace(/\/+$/, '');
  const maxBlocks = opts.maxBlocks ?? 500;
  if (!Number.isSafeInteger(maxBlocks) || maxBlocks < 1 || maxBlocks > MAX_BLOCKS) throw new LoadError('config', `maxBlocks must be in 1..${MAX_BLOCKS}`);
  const tipRes = await get(`${base}/v1/tip`);
  if (tipRes.status !== 200) throw new LoadError('http', `GET ${base}/v1/tip: HTTP ${tipRes.status} ${(await tipRes.text()).slice(0, 200)}`);
  const tip = (await tipRes.json()) as HashPayloads['tip'];
  const rbs: string[] = [];
  const announced: string[] = [];
  for (let h = tip.hash; h !== null && rbs.length < maxBlocks; ) {
    const res = await get(`${base}/v1/rb/${h}`);
    if (res.status !== 200) throw new LoadError('http', `GET ${base}/v1/rb/${h}: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`);
    const r = new CborReader(new Uint8Array(await res.arrayBuffer()));
    r.readArray('rb_block', { len: 2 });
    const header = readRbHeader(r, 'rb_block.header');
    if (toHex(header.hash) !== h) throw new LoadError('http', `GET ${base}/v1/rb/${h} served block ${toHex(header.hash)}`);
    rbs.push(h);
    if (header.ebAnnouncement) announced.push(toHex(header.ebAnnouncement.ebHash));
    h = header.prevHash ? toHex(header.prevHash) : null;
  }
  // Keep the EBs that are served: an announced EB may never have reached this node.
  const ebs: string[] = [];
  for (const eb of announced) {
    const res = await get(`${base}/v1/eb/${eb}`);
    const body = new Uint8Array(await res.arrayBuffer());
    if (res.status === 200 && toHex(blake2b256(body)) === eb) ebs.push(eb);
  }
  return { generatedAt: new Date().toISOString(), source: base, tip, rbs, ebs };
}

/**
 * Write payload files into `dir` (created): `txs.json` and/or `hashes.json`. Returns the paths.
 *
 * @example
 * ```ts
 * await writePayloads('load/payloads', { txs: await generateTxs({ count: 100 }) });
 * ```
 */
export async function writePayloads(dir: string, p: { txs?: TxPayloads; hashes?: HashPayloads }): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  if (p.txs) {
    const path = join(dir, 'txs.json');
    await writeFile(path, `${JSON.stringify(p.txs)}\n`);
    written.push(path);
  }
  if (p.hashes) {
    const path = join(dir, 'hashes.json');
    await writeFile(path, `${JSON.stringify(p.hashes, null, 1)}\n`);
    written.push(path);
  }
  return written;
}

/**
 * Read the payload files a harness run needs from `dir` (missing files give empty lists; the
 * plan says which lists it needs).
 *
 * @example
 * ```ts
 * const payloads = await readPayloads('load/payloads');
 * ```
 */
export async function readPayloads(dir: string): Promise<{ txs: string[]; ebs: string[]; rbs: string[] }> {
  const read = async <T>(name: string): Promise<T | null> => {
    const path = join(dir, name);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new LoadError('payloads', `cannot read ${path}`, { cause: e });
    }
    try {
      return JSON.parse(text) as T;
    } catch (e) {
      throw new LoadError('payloads', `${path} is not JSON`, { cause: e });
    }
  };
  const txs = await read<TxPayloads>('txs.json');
  const hashes = await read<HashPayloads>('hashes.json');
  const strings = (v: unknown, what: string): string[] => {
    if (v === undefined) return [];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new LoadError('payloads', `${what}: expected a list of strings`);
    return v as string[];
  };
  return { txs: strings(txs?.txs, 'txs.json txs'), ebs: strings(hashes?.ebs, 'hashes.json ebs'), rbs: strings(hashes?.rbs, 'hashes.json rbs') };
}

const HELP = `node --import tsx load/generate.ts [options]
  --txs N              signed txs to write to txs.json (default: one per genesis output when
                       --from is not given; 0 = none)
  --genesis FILE       a devnet genesis.json (seeds.json beside it), e.g. .leios/devnet/genesis.json;
                       default: the funds npm run devnet derives (8 funds x 512 outputs)
  --funds N            funds when deriving (default 8)
  --outputs-per-fund N outputs per fund when deriving (default 512)
  --outputs-per-tx K   payment outputs per tx (larger txs; default 1)
  --from URL           relay or storage node: write hashes.json with the RB and EB hashes of its chain
  --max-blocks N       RBs to walk back from the tip (default 500)
  --out DIR            output directory (default load/payloads)
`;

/** CLI entry. */
export async function generateMain(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      txs: { type: 'string' },
      genesis: { type: 'string' },
      funds: { type: 'string' },
      'outputs-per-fund': { type: 'string' },
      'outputs-per-tx': { type: 'string' },
      from: { type: 'string' },
      'max-blocks': { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const int = (v: string | undefined, name: string): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 0) throw new LoadError('config', `--${name}: expected a non-negative integer, got ${v}`);
    return n;
  };
  const out = resolve(values.out ?? DEFAULT_PAYLOAD_DIR);
  const funds = int(values.funds, 'funds');
  const outputsPerFund = int(values['outputs-per-fund'], 'outputs-per-fund');
  const outputsPerTx = int(values['outputs-per-tx'], 'outputs-per-tx');
  // --txs absent: one tx per genesis output, unless only hashes were asked for (--from)
  const count = int(values.txs, 'txs');
  const p: { txs?: TxPayloads; hashes?: HashPayloads } = {};
  if (count !== 0 && (count !== undefined || values.from === undefined)) {
    const opts: TxOptions = {
      ...(count === undefined ? {} : { count }),
      ...(values.genesis ? { genesisPath: values.genesis } : {}),
      ...(funds ? { funds } : {}),
      ...(outputsPerFund ? { outputsPerFund } : {}),
      ...(outputsPerTx ? { outputsPerTx } : {}),
    };
    const t0 = performance.now();
    p.txs = await generateTxs(opts);
    process.stdout.write(`signed ${p.txs.txs.length} txs (${p.txs.bytes} bytes) in ${Math.round(performance.now() - t0)} ms from ${p.txs.funds.source}\n`);
  }
  if (values.from) {
    const maxBlocks = int(values['max-blocks'], 'max-blocks');
    p.hashes = await collectHashes(values.from, maxBlocks === undefined ? {} : { maxBlocks });
    process.stdout.write(`collected ${p.hashes.rbs.length} RB and ${p.hashes.ebs.length} EB hashes from ${p.hashes.source} (tip #${p.hashes.tip.blockNumber})\n`);
  }
  for (const path of await writePayloads(out, p)) process.stdout.write(`wrote ${path}\n`);
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  generateMain(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`generate: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    },
  );
}
