/**
 * Errors of @leios/shared.
 *
 * Primer: every failure this package reports is one member of the {@link SharedError} union, each
 * with a stable `kind` discriminant so callers can `switch` exhaustively, and each carrying the
 * context needed to act on it (the field path of a bad CBOR item, the parameter name of a bad
 * genesis value, the rule of an invalid tx). Nothing in this package throws a bare `Error` for
 * bad input; programming errors (broken invariants) may still throw `Error`.
 *
 * @module
 */

/** Base class: gives every shared error a `kind`, a message and optional structured context. */
export abstract class LeiosSharedError extends Error {
  abstract readonly kind: string;
}

/**
 * Bytes that are not the canonical CBOR of the expected shape, or that breach a cap (PROTOCOL.md §1.2, §11).
 *
 * @example
 * ```ts
 * try { decodeEb(bytes) } catch (e) { if (e instanceof DecodeError) console.log(e.path, e.reason) }
 * ```
 */
export class DecodeError extends LeiosSharedError {
  readonly kind = 'decode' as const;
  /**
   * @param path dotted path of the offending field, e.g. `rb_header.leader_vrf.proof`
   * @param reason short machine-readable reason (`non-canonical`, `too-long`, `type`, `trailing`, …)
   * @param offset byte offset in the input where the problem was detected
   */
  constructor(
    readonly path: string,
    readonly reason: DecodeReason,
    readonly detail: string,
    readonly offset: number,
  ) {
    super(`${path}: ${reason}: ${detail} (at byte ${offset})`);
    this.name = 'DecodeError';
  }
}

/** Why a decode failed. `limit` means a cap from PROTOCOL.md §11 or a size rule was exceeded. */
export type DecodeReason =
  | 'truncated'
  | 'non-canonical'
  | 'indefinite'
  | 'type'
  | 'limit'
  | 'trailing'
  | 'duplicate-key'
  | 'key-order'
  | 'value'
  | 'unsupported';

/**
 * A value outside its allowed domain (branded-type parse, genesis / parameter validation).
 *
 * @example
 * ```ts
 * new ValidationError('protocolParams.quorum', 'must be in (1/2, 1)')
 * ```
 */
export class ValidationError extends LeiosSharedError {
  readonly kind = 'validation' as const;
  constructor(
    readonly field: string,
    readonly detail: string,
  ) {
    super(`${field}: ${detail}`);
    this.name = 'ValidationError';
  }
}

/** A cryptographic object that fails its checks (bad point encoding, failed verification, …). */
export class CryptoError extends LeiosSharedError {
  readonly kind = 'crypto' as const;
  constructor(
    readonly what: string,
    readonly reason: string,
  ) {
    super(`${what}: ${reason}`);
    this.name = 'CryptoError';
  }
}

/**
 * Certificate verification failures, named as in cardano-base `cardano-crypto-leios` (PROTOCOL.md
 * §6.5). The last five only arise in fait-accompli mode (§6.7): the certificate names another
 * election or EB than the parent's (`ElectionMismatch`, `EbMismatch`), or a non-persistent pool is
 * not a candidate, has an eligibility signature that does not verify, or holds no seat (k = 0).
 */
export type CertificateErrorName =
  | 'MalformedSigners'
  | 'SignerWithoutKey'
  | 'InsufficientWeight'
  | 'InvalidSignature'
  | 'ElectionMismatch'
  | 'EbMismatch'
  | 'NotCandidate'
  | 'InvalidEligibility'
  | 'NotEligible';

/** A certificate that fails §6.5 (or §6.7) verification; `error` is the first rule that failed. */
export class CertificateError extends LeiosSharedError {
  readonly kind = 'certificate' as const;
  constructor(
    readonly error: CertificateErrorName,
    readonly detail: string,
  ) {
    super(`${error}: ${detail}`);
    this.name = 'CertificateError';
  }
}

/**
 * The exact fait-accompli seat count (PROTOCOL.md §6.7) stayed undecided after the bound on Taylor
 * terms: `σ·e^λ` lies closer to a partial sum `A_k` than the bracket `[L_m, U_m]` could separate.
 * For a hash-derived σ this has negligible probability; the bound keeps a crafted input from
 * running the BigInt arithmetic away.
 *
 * @example
 * ```ts
 * try { faSeatCount(lambda, sigma, n2) } catch (e) { if (e instanceof SortitionError) log(e.terms) }
 * ```
 */
export class SortitionError extends LeiosSharedError {
  readonly kind = 'sortition' as const;
  constructor(
    /** λ and σ as `num/den` strings, for the log. */
    readonly lambda: string,
    readonly sigma: string,
    /** The term bound m that was reached. */
    readonly terms: number,
  ) {
    super(`fa sortition undecided for λ = ${lambda}, σ = ${sigma} after m = ${terms} terms`);
    this.name = 'SortitionError';
  }
}

/** Ledger rule names of PROTOCOL.md §5.2 / §12 (`tx-invalid` `rule`). */
export type TxRule =
  | 'input-missing'
  | 'duplicate-input'
  | 'witness-missing'
  | 'bad-signature'
  | 'value-not-conserved'
  | 'fee-too-small'
  | 'expired'
  | 'tx-too-large'
  | 'bad-pop'
  | 'output-too-small'
  | 'unknown-pool'
  | 'duplicate-witness'
  | 'already-applied';

/** A transaction that fails a §5.2 rule. */
export class TxInvalidError extends LeiosSharedError {
  readonly kind = 'tx-invalid' as const;
  constructor(
    readonly rule: TxRule,
    readonly detail: string,
  ) {
    super(`tx-invalid (${rule}): ${detail}`);
    this.name = 'TxInvalidError';
  }
}

/** A mini-protocol violation (PROTOCOL.md §8.2): maps to a WebSocket close code and reason. */
export class ProtocolViolation extends LeiosSharedError {
  readonly kind = 'protocol-violation' as const;
  constructor(
    readonly protocol: WireProtocolName,
    readonly violation: ViolationKind,
    /** 1002 (malformed) or 1008 (policy: limit, agency, state, unheld, timeout, refused), 1003 / 1009 */
    readonly closeCode: 1002 | 1003 | 1008 | 1009,
    readonly detail: string,
  ) {
    super(`${protocol}:${violation}: ${detail}`);
    this.name = 'ProtocolViolation';
  }
  /** The close reason text, `"<proto>:<kind>"`. */
  get reason(): string {
    return `${this.protocol}:${this.violation}`;
  }
}

export type WireProtocolName =
  | 'mux'
  | 'handshake'
  | 'chain-sync'
  | 'block-fetch'
  | 'tx-submission'
  | 'keep-alive'
  | 'leios-notify'
  | 'leios-fetch';

export type ViolationKind = 'malformed' | 'unknown-protocol' | 'agency' | 'limit' | 'unheld' | 'timeout' | 'refused';

/**
 * The one error union of @leios/shared. Two members are declared beside the code that raises
 * them (they need its types): the scheduler's overload error (§13.4: P0/P1 never dropped, so
 * sustained overload fails loudly) and the wire layer's closed-connection error.
 */
export type SharedError =
  | DecodeError
  | ValidationError
  | CryptoError
  | CertificateError
  | SortitionError
  | TxInvalidError
  | ProtocolViolation
  | import('../sched/scheduler').SchedulerOverloadError
  | import('../wire/machine/index').ConnectionClosedError;
