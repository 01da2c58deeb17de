/**
 * Errors of the node logic (mempool, chain selection, producer, voter).
 *
 * Primer: each refusal the node reports to its callers (the network layer, the HTTP API, tests)
 * is one class of the {@link NodeError} union with a stable `kind` and a `code`, so callers can
 * map it to a peer penalty, a problem+json `type` (PROTOCOL.md §12) or a trace event without
 * parsing messages. Bad input changes nothing (DESIGN.md §5): every check runs before any state
 * or database write. Programming errors (broken invariants) still throw a plain `Error`.
 *
 * @module
 */
import type { TxInvalidError, TxRule } from '@leios/shared/errors';

/** Why the mempool refused a tx (PROTOCOL.md §5.5, §12 `tx-invalid` / `mempool-full`). */
export type MempoolRejectCode = 'duplicate' | 'invalid' | 'full';

/**
 * A tx refused by the mempool. `duplicate` is not a fault of the sender (the tx is already held
 * or already on the chain); `invalid` carries the §5.2 rule; `full` maps to 503 `mempool-full`.
 *
 * @example
 * ```ts
 * try { await node.submitTx(bytes) } catch (e) {
 *   if (e instanceof MempoolRejectedError && e.code === 'invalid') reply422(e.rule)
 * }
 * ```
 */
export class MempoolRejectedError extends Error {
  readonly kind = 'mempool-rejected' as const;
  constructor(
    readonly code: MempoolRejectCode,
    readonly detail: string,
    /** The §5.2 rule for `invalid`. */
    readonly rule?: TxRule,
    options?: { cause?: unknown },
  ) {
    super(`mempool ${code}${rule ? ` (${rule})` : ''}: ${detail}`, options);
    this.name = 'MempoolRejectedError';
  }

  /** Wrap a ledger {@link TxInvalidError}. @example `MempoolRejectedError.invalid(e)` */
  static invalid(e: TxInvalidError): MempoolRejectedError {
    return new MempoolRejectedError('invalid', e.detail, e.rule, { cause: e });
  }
}

/** Why a header or block was refused (PROTOCOL.md §4.1, §4.2, §7.2). */
export type BlockRejectCode =
  /** Not the canonical CBOR of an RB header / block. */
  | 'malformed'
  /** A §4.1 header rule failed (signature, VRF, leadership, issuer, sizes, slot in the future). */
  | 'header-invalid'
  /** The parent is not known (the caller should fetch it or the chain around it). */
  | 'unknown-parent'
  /** block_number / slot / prev_hash disagree with the parent. */
  | 'not-connected'
  /** Body hash or size differs from the header, or `certified_eb` disagrees with the body. */
  | 'body-mismatch'
  /** A TxRB tx fails `apply` on the parent state (§4.2). */
  | 'tx-invalid'
  /** A certificate fails §6.5 or breaks the §7.2 inclusion rule. */
  | 'certificate-invalid'
  /** A certified closure spends a missing input at the no-validate level (§5.3). */
  | 'closure-invalid'
  /** The fork point is deeper than k blocks (§7.4). */
  | 'too-deep';

/**
 * A header or block the node refused. `context` names the block (hash hex, slot) and the rule.
 *
 * @example
 * ```ts
 * try { await node.receiveBlock(bytes) } catch (e) {
 *   if (e instanceof BlockRejectedError && e.code !== 'unknown-parent') penalise(peer)
 * }
 * ```
 */
export class BlockRejectedError extends Error {
  readonly kind = 'block-rejected' as const;
  constructor(
    readonly code: BlockRejectCode,
    readonly detail: string,
    readonly context: Readonly<Record<string, string | number | boolean>> = {},
    options?: { cause?: unknown },
  ) {
    super(`block ${code}: ${detail}`, options);
    this.name = 'BlockRejectedError';
  }
}

/** Why an EB or its txs were refused (PROTOCOL.md §4.3, §16 cases 2–3). */
export type EbRejectCode =
  | 'malformed'
  /** No known header announces this EB hash. */
  | 'unannounced'
  /** EB length differs from the announced `eb_size`. */
  | 'size-mismatch'
  /** A tx does not match its reference (hash or stated size). */
  | 'tx-mismatch';

/** An EB body or closure tx refused. @example `if (e instanceof EbRejectedError) penalise(peer)` */
export class EbRejectedError extends Error {
  readonly kind = 'eb-rejected' as const;
  constructor(
    readonly code: EbRejectCode,
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`eb ${code}: ${detail}`, options);
    this.name = 'EbRejectedError';
  }
}

/** Per-vote rejection types of PROTOCOL.md §12 (`POST /v1/votes`) and §6.3. */
export type VoteRejectType =
  | 'malformed'
  | 'unknown-rb'
  | 'no-eb'
  | 'unknown-seat'
  | 'keyless-seat'
  | 'bad-signature'
  | 'outside-window'
  | 'conflict';

/** A vote refused under §6.3. @example `new VoteRejectedError('keyless-seat', 'seat 3 has no key')` */
export class VoteRejectedError extends Error {
  readonly kind = 'vote-rejected' as const;
  constructor(
    readonly type: VoteRejectType,
    readonly detail: string,
  ) {
    super(`vote ${type}: ${detail}`);
    this.name = 'VoteRejectedError';
  }
}

/** A request the node cannot serve in its current state (stopped, not a pool, unknown object). */
export class NodeStateError extends Error {
  readonly kind = 'node-state' as const;
  constructor(
    readonly code: 'stopped' | 'not-found' | 'no-keys' | 'recovery-failed' | 'genesis-mismatch',
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`node ${code}: ${detail}`, options);
    this.name = 'NodeStateError';
  }
}

/** The error union of the node logic (part of the storage-node package union). */
export type NodeError = MempoolRejectedError | BlockRejectedError | EbRejectedError | VoteRejectedError | NodeStateError;
