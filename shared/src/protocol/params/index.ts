/**
 * Protocol parameters (PROTOCOL.md §15) with their §3.1 bounds and derived values.
 *
 * Primer: one network is fixed by its genesis file (§3.1). Some parameters sit at the top level of
 * that file (slot length, epoch length, k, f, modes) and the Leios ones inside `protocolParams`;
 * code wants them in one flat record, so {@link ProtocolParams} holds both and
 * {@link PARAM_PATHS} remembers where each lives in the genesis JSON, so a bad value is reported
 * under the key an operator has to fix (`protocolParams.quorum`, `securityParam`, …).
 *
 * Fractions (f, τ) are exact rationals of bigints: every consensus decision that involves them
 * (leader threshold §3.5, quorum §6.5, stability window §3.4) must be bit-identical on all nodes,
 * so floats never appear.
 *
 * @module
 */
import { ValidationError } from '../../errors/index';

/** An exact non-negative rational `num/den` (den > 0). Not necessarily reduced. */
export interface Rational {
  readonly num: bigint;
  readonly den: bigint;
}

/** Committee selection mode (§6.1 top-stake, §6.7 fait-accompli). One network uses one mode. */
export type CommitteeMode = 'top-stake' | 'fait-accompli';
/** Ledger mode (§5.1 utxo, §5.6 opaque). */
export type LedgerMode = 'utxo' | 'opaque';

/**
 * All consensus parameters of one network, flattened (§3.1, §15). Sizes in bytes, durations in
 * milliseconds / slots / seconds as named.
 */
export interface ProtocolParams {
  /** Slot length in ms (§3.2). */
  readonly slotLengthMs: number;
  /** E: epoch length in slots. */
  readonly epochLength: number;
  /** k: security parameter in blocks (§7.4). */
  readonly securityParam: number;
  /** f: active slot coefficient, `0 < f <= 1/2` (§3.5). */
  readonly activeSlotCoeff: Rational;
  readonly committeeMode: CommitteeMode;
  readonly ledgerMode: LedgerMode;
  /** L_hdr, L_vote, L_diff in slots (§7.1). */
  readonly lHdr: number;
  readonly lVote: number;
  readonly lDiff: number;
  /** N_c: top-stake committee size (§6.1); seats are voter ids, so at most 65,536. */
  readonly committeeSize: number;
  /** FA_N: fait-accompli target committee size (§6.7). */
  readonly faCommitteeSize: number;
  /** τ: quorum threshold of total active stake, `1/2 < τ < 1` (§6.5). */
  readonly quorum: Rational;
  /** S_RB: max RB body bytes. */
  readonly maxRbBodySize: number;
  /** S_EB: max EB bytes. */
  readonly maxEbSize: number;
  /** S_EB_tx: max sum of tx sizes referenced by one EB. */
  readonly maxEbTxBytes: number;
  /** MAX_HEADER: max RB header bytes. */
  readonly maxHeaderSize: number;
  /** MAX_TX_SIZE. */
  readonly maxTxSize: number;
  /** Min fee `a + b·size` (§5.2). */
  readonly minFeeA: number;
  readonly minFeeB: number;
  /** MAX_REPLY_TXS / MAX_REPLY_BYTES (§10.3). */
  readonly maxReplyTxs: number;
  readonly maxReplyBytes: number;
  /** VOTE_RETENTION in seconds (§6.3). */
  readonly voteRetentionS: number;
  /** MAX_SKEW in ms (§3.2). */
  readonly maxSkewMs: number;
}

/** Names of the integer parameters (everything except the rationals and the modes). */
export type IntegerParam = Exclude<
  keyof ProtocolParams,
  'activeSlotCoeff' | 'quorum' | 'committeeMode' | 'ledgerMode'
>;

/**
 * Where each parameter lives in the genesis JSON (§3.1): the path a {@link ValidationError} names.
 *
 * @example
 * ```ts
 * PARAM_PATHS.quorum // 'protocolParams.quorum'
 * ```
 */
export const PARAM_PATHS: { readonly [K in keyof ProtocolParams]: string } = {
  slotLengthMs: 'slotLengthMs',
  epochLength: 'epochLength',
  securityParam: 'securityParam',
  activeSlotCoeff: 'activeSlotCoeff',
  committeeMode: 'committeeMode',
  ledgerMode: 'ledgerMode',
  lHdr: 'protocolParams.lHdr',
  lVote: 'protocolParams.lVote',
  lDiff: 'protocolParams.lDiff',
  committeeSize: 'protocolParams.committeeSize',
  faCommitteeSize: 'protocolParams.faCommitteeSize',
  quorum: 'protocolParams.quorum',
  maxRbBodySize: 'protocolParams.maxRbBodySize',
  maxEbSize: 'protocolParams.maxEbSize',
  maxEbTxBytes: 'protocolParams.maxEbTxBytes',
  maxHeaderSize: 'protocolParams.maxHeaderSize',
  maxTxSize: 'protocolParams.maxTxSize',
  minFeeA: 'protocolParams.minFeeA',
  minFeeB: 'protocolParams.minFeeB',
  maxReplyTxs: 'protocolParams.maxReplyTxs',
  maxReplyBytes: 'protocolParams.maxReplyBytes',
  voteRetentionS: 'protocolParams.voteRetentionS',
  maxSkewMs: 'protocolParams.maxSkewMs',
};

/** The keys of the genesis `protocolParams` object, in the order of §3.1. */
export const LEIOS_PARAM_KEYS = [
  'lHdr',
  'lVote',
  'lDiff',
  'committeeSize',
  'faCommitteeSize',
  'quorum',
  'maxRbBodySize',
  'maxEbSize',
  'maxEbTxBytes',
  'maxHeaderSize',
  'maxTxSize',
  'minFeeA',
  'minFeeB',
  'maxReplyTxs',
  'maxReplyBytes',
  'voteRetentionS',
  'maxSkewMs',
] as const satisfies ReadonlyArray<keyof ProtocolParams>;

/**
 * Inclusive integer bounds of each integer parameter. §3.1 fixes `securityParam >= 1` and
 * `lHdr, lVote, lDiff >= 1`; the others are what the formats can carry: voter ids are
 * `uint .lt 65536` (§6.2), `eb_size` is `uint .size 4` (§4.1), and every length or size must be at
 * least 1 for the protocol to move at all.
 */
export const INTEGER_BOUNDS: { readonly [K in IntegerParam]: readonly [number, number] } = {
  slotLengthMs: [1, 86_400_000],
  epochLength: [1, Number.MAX_SAFE_INTEGER],
  securityParam: [1, Number.MAX_SAFE_INTEGER],
  lHdr: [1, 1_000_000],
  lVote: [1, 1_000_000],
  lDiff: [1, 1_000_000],
  committeeSize: [1, 65_536],
  faCommitteeSize: [1, 65_536],
  maxRbBodySize: [1, 0xffff_ffff],
  maxEbSize: [1, 0xffff_ffff],
  maxEbTxBytes: [1, Number.MAX_SAFE_INTEGER],
  maxHeaderSize: [1, 0xffff_ffff],
  maxTxSize: [1, 0xffff_ffff],
  minFeeA: [0, Number.MAX_SAFE_INTEGER],
  minFeeB: [0, Number.MAX_SAFE_INTEGER],
  maxReplyTxs: [1, Number.MAX_SAFE_INTEGER],
  maxReplyBytes: [1, Number.MAX_SAFE_INTEGER],
  voteRetentionS: [0, Number.MAX_SAFE_INTEGER],
  maxSkewMs: [0, Number.MAX_SAFE_INTEGER],
};

/**
 * Mainnet-like defaults of §15.
 *
 * @example
 * ```ts
 * stabilityWindow(MAINNET_PARAMS) // 129600
 * ```
 */
export const MAINNET_PARAMS: ProtocolParams = Object.freeze({
  slotLengthMs: 1000,
  epochLength: 432_000,
  securityParam: 2160,
  activeSlotCoeff: Object.freeze({ num: 1n, den: 20n }),
  committeeMode: 'top-stake',
  ledgerMode: 'utxo',
  lHdr: 1,
  lVote: 4,
  lDiff: 7,
  committeeSize: 900,
  faCommitteeSize: 600,
  quorum: Object.freeze({ num: 3n, den: 4n }),
  maxRbBodySize: 90_112,
  maxEbSize: 512_000,
  maxEbTxBytes: 12_000_000,
  maxHeaderSize: 1100,
  maxTxSize: 16_384,
  minFeeA: 155_381,
  minFeeB: 44,
  maxReplyTxs: 4096,
  maxReplyBytes: 4_194_304,
  voteRetentionS: 600,
  maxSkewMs: 1000,
});

/**
 * Devnet values of §15 (E = 1,200, k = 10, N_c = 64, FA_N = 32; the rest as mainnet).
 *
 * @example
 * ```ts
 * stabilityWindow(DEVNET_PARAMS) // 600
 * ```
 */
export const DEVNET_PARAMS: ProtocolParams = Object.freeze({
  ...MAINNET_PARAMS,
  epochLength: 1200,
  securityParam: 10,
  committeeSize: 64,
  faCommitteeSize: 32,
});

/** Node-local limits of §15 that are not part of genesis (they do not affect consensus). */
export interface LocalLimits {
  /** LEIOS_MEM_CAP in bytes (§13.3). */
  readonly leiosMemCap: number;
  /** BURST_THRESHOLD in EBs (§13.3). */
  readonly burstThreshold: number;
}

/** §15 mainnet LEIOS_MEM_CAP 1 GiB, BURST_THRESHOLD 20. */
export const MAINNET_LOCAL_LIMITS: LocalLimits = Object.freeze({ leiosMemCap: 2 ** 30, burstThreshold: 20 });
/** §15 devnet LEIOS_MEM_CAP 256 MiB, BURST_THRESHOLD 20. */
export const DEVNET_LOCAL_LIMITS: LocalLimits = Object.freeze({ leiosMemCap: 256 * 2 ** 20, burstThreshold: 20 });

// ---------------------------------------------------------------------------------------------
// Rationals

const RATIONAL_RE = /^(0|[1-9][0-9]*)\/([1-9][0-9]*)$/;

/**
 * Parse a genesis rational string `"num/den"` (decimal, no signs, no spaces, den > 0).
 *
 * @example
 * ```ts
 * parseRational('3/4', 'protocolParams.quorum') // { num: 3n, den: 4n }
 * ```
 */
export function parseRational(v: unknown, field: string): Rational {
  if (typeof v !== 'string') throw new ValidationError(field, 'expected a rational string "num/den"');
  const m = RATIONAL_RE.exec(v);
  if (!m || v.length > 80) throw new ValidationError(field, `expected a rational "num/den", got ${JSON.stringify(v.slice(0, 80))}`);
  return { num: BigInt(m[1]!), den: BigInt(m[2]!) };
}

/** `"num/den"` text of a rational (as it appears in genesis). @example `formatRational({num: 1n, den: 20n}) // '1/20'` */
export function formatRational(r: Rational): string {
  return `${r.num}/${r.den}`;
}

/**
 * The relay's `PROTOCOL_PARAMS` variable for a network: every consensus parameter a relay checks
 * headers, votes and certificates with (f, k, the committee mode and the whole genesis
 * `protocolParams` object), by genesis key name, rationals as `"num/den"`. Slot length, epoch
 * length and ledger mode travel in their own variables. A relay given fewer would check against
 * the devnet defaults and refuse a network with, say, another f (every header "not leader").
 *
 * @example
 * ```ts
 * protocolParamsVar(genesis.params) // '{"securityParam":10,"activeSlotCoeff":"1/20",...}'
 * ```
 */
export function protocolParamsVar(p: ProtocolParams): string {
  const out: Record<string, string | number> = {
    securityParam: p.securityParam,
    activeSlotCoeff: formatRational(p.activeSlotCoeff),
    committeeMode: p.committeeMode,
  };
  for (const k of LEIOS_PARAM_KEYS) out[k] = k === 'quorum' ? formatRational(p.quorum) : p[k];
  return JSON.stringify(out);
}

/** Sign of `a − b` (−1, 0, 1) by cross-multiplication. @example `compareRational(q, HALF) > 0` */
export function compareRational(a: Rational, b: Rational): number {
  const l = a.num * b.den;
  const r = b.num * a.den;
  return l < r ? -1 : l > r ? 1 : 0;
}

const ZERO: Rational = { num: 0n, den: 1n };
const HALF: Rational = { num: 1n, den: 2n };
const ONE: Rational = { num: 1n, den: 1n };

// ---------------------------------------------------------------------------------------------
// Validation

function checkInteger(name: IntegerParam, v: unknown): number {
  const [lo, hi] = INTEGER_BOUNDS[name];
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
    throw new ValidationError(PARAM_PATHS[name], `expected an integer, got ${typeof v === 'number' ? v : typeof v}`);
  }
  if (v < lo || v > hi) throw new ValidationError(PARAM_PATHS[name], `must be in [${lo}, ${hi}], got ${v}`);
  return v;
}

function checkRationalShape(name: 'activeSlotCoeff' | 'quorum', v: unknown): Rational {
  if (
    typeof v !== 'object' ||
    v === null ||
    typeof (v as Rational).num !== 'bigint' ||
    typeof (v as Rational).den !== 'bigint' ||
    (v as Rational).num < 0n ||
    (v as Rational).den <= 0n
  ) {
    throw new ValidationError(PARAM_PATHS[name], 'expected a rational {num, den} with den > 0');
  }
  return v as Rational;
}

/**
 * Check every parameter against its bounds (§3.1: `1/2 < quorum < 1`, `0 < f <= 1/2`,
 * `securityParam >= 1`, `lHdr, lVote, lDiff >= 1`; format limits for the rest) and return it.
 * Throws a {@link ValidationError} naming the genesis path of the first offending parameter.
 *
 * @example
 * ```ts
 * validateProtocolParams({ ...DEVNET_PARAMS, quorum: { num: 1n, den: 2n } });
 * // throws ValidationError('protocolParams.quorum', 'must satisfy 1/2 < quorum < 1, got 1/2')
 * ```
 */
export function validateProtocolParams(p: ProtocolParams): ProtocolParams {
  for (const name of Object.keys(INTEGER_BOUNDS) as IntegerParam[]) checkInteger(name, p[name]);
  const f = checkRationalShape('activeSlotCoeff', p.activeSlotCoeff);
  if (compareRational(f, ZERO) <= 0 || compareRational(f, HALF) > 0) {
    throw new ValidationError(PARAM_PATHS.activeSlotCoeff, `must satisfy 0 < f <= 1/2, got ${formatRational(f)}`);
  }
  const q = checkRationalShape('quorum', p.quorum);
  if (compareRational(q, HALF) <= 0 || compareRational(q, ONE) >= 0) {
    throw new ValidationError(PARAM_PATHS.quorum, `must satisfy 1/2 < quorum < 1, got ${formatRational(q)}`);
  }
  if (p.committeeMode !== 'top-stake' && p.committeeMode !== 'fait-accompli') {
    throw new ValidationError(PARAM_PATHS.committeeMode, `expected "top-stake" or "fait-accompli", got ${JSON.stringify(p.committeeMode)}`);
  }
  if (p.ledgerMode !== 'utxo' && p.ledgerMode !== 'opaque') {
    throw new ValidationError(PARAM_PATHS.ledgerMode, `expected "utxo" or "opaque", got ${JSON.stringify(p.ledgerMode)}`);
  }
  // An RB header, an EB reference and a tx must each fit in what carries them.
  if (p.maxTxSize > p.maxEbTxBytes) {
    throw new ValidationError(PARAM_PATHS.maxTxSize, `must not exceed maxEbTxBytes (${p.maxEbTxBytes})`);
  }
  if (p.maxTxSize > p.maxReplyBytes) {
    throw new ValidationError(PARAM_PATHS.maxReplyBytes, `must be at least maxTxSize (${p.maxTxSize})`);
  }
  return p;
}

// ---------------------------------------------------------------------------------------------
// Derived values

/**
 * Nonce stability window `W = ceil(3k/f)` in slots (§3.4, §15).
 *
 * @example
 * ```ts
 * stabilityWindow(MAINNET_PARAMS) // 129600
 * ```
 */
export function stabilityWindow(p: Pick<ProtocolParams, 'securityParam' | 'activeSlotCoeff'>): number {
  const { num, den } = p.activeSlotCoeff;
  const n = 3n * BigInt(p.securityParam) * den;
  return Number((n + num - 1n) / num);
}

/**
 * Fresh window `3·L_hdr + L_vote + L_diff` in slots (§13.1): EBs whose slot is within it of the
 * current slot are P1 traffic. Equal to the earliest certifying child offset of §7.2.
 *
 * @example
 * ```ts
 * freshWindow(DEVNET_PARAMS) // 14
 * ```
 */
export function freshWindow(p: Pick<ProtocolParams, 'lHdr' | 'lVote' | 'lDiff'>): number {
  return 3 * p.lHdr + p.lVote + p.lDiff;
}

/**
 * Minimum mempool capacity in bytes, `2·(S_RB + S_EB_tx)` (§5.5).
 *
 * @example
 * ```ts
 * mempoolCapacity(MAINNET_PARAMS) // 24180224
 * ```
 */
export function mempoolCapacity(p: Pick<ProtocolParams, 'maxRbBodySize' | 'maxEbTxBytes'>): number {
  return 2 * (p.maxRbBodySize + p.maxEbTxBytes);
}
