/**
 * Errors of @leios/storage-node.
 *
 * Primer: every failure the storage node reports for bad input or a refused write is a
 * {@link StorageError} with a stable `code` discriminant, so callers (relay sessions, the HTTP API,
 * node logic) can `switch` on it exhaustively and map it to a penalty, a close code or a problem+json
 * `type`. DESIGN.md §5: bad input gets a clear, typed error and changes nothing — every store
 * checks its input before it opens a database transaction, so a thrown StorageError means nothing
 * was written. Programming errors (broken invariants) may still throw a plain `Error`.
 *
 * @module
 */
import type { ApiError } from '../api/problem';
import type { ConfigError } from '../config/index';
import type { NetError } from '../net/errors';
import type { NodeError } from '../node/errors';
import type { ConfigFileError } from '../service/config';

/** Why a storage operation was refused. */
export type StorageErrorCode =
  /** Bytes whose Blake2b-256 differs from the hash they were stored under (PROTOCOL.md §1.3, §2.1). */
  | 'hash-mismatch'
  /** Bytes whose length differs from the size stated for them (an EB reference, a header's body_size; §4.3). */
  | 'size-mismatch'
  /** An object above a size cap (S_EB, S_EB_tx, MAX_TX_SIZE; PROTOCOL.md §15). */
  | 'too-large'
  /** Structurally invalid input that is not a size or hash problem (empty EB, bad index, bad seat…). */
  | 'invalid'
  /** A vote (or other object) for an RB that is unknown or announces no EB (PROTOCOL.md §6.3). */
  | 'unknown-rb'
  /** A vote whose seat has no weight in the committee of its RB's epoch (PROTOCOL.md §6.3). */
  | 'unknown-seat'
  /** A block that does not extend the current tip (wrong parent or block number). */
  | 'not-connected'
  /** A rollback deeper than the volatile suffix of k blocks (PROTOCOL.md §7.4). */
  | 'rollback-too-deep'
  /** The bound on uncertified EB storage is reached: the EB is refused rather than filling the disk. */
  | 'storage-full'
  /** Too many CertRBs already wait for their closures. */
  | 'staging-full'
  /** A CertRB's closure did not complete within its wait. */
  | 'staging-timeout'
  /** A staged CertRB was withdrawn (chain switch) before its closure completed. */
  | 'staging-cancelled'
  /** The requested object is not stored. */
  | 'not-found'
  /** The database cannot be reached or refused the connection. */
  | 'db-unavailable';

/**
 * The one error class of the storage layer.
 *
 * @example
 * ```ts
 * try {
 *   await ebs.addClosureTxs(ebHash, items);
 * } catch (e) {
 *   if (e instanceof StorageError && e.code === 'hash-mismatch') penalise(peer, e.message);
 *   else throw e;
 * }
 * ```
 */
export class StorageError extends Error {
  readonly kind = 'storage' as const;
  /**
   * @param code stable machine-readable reason
   * @param detail human-readable explanation naming the object (hash prefix, index, sizes)
   * @param context structured values for logs and traces
   */
  constructor(
    readonly code: StorageErrorCode,
    readonly detail: string,
    readonly context: Readonly<Record<string, string | number | bigint | boolean>> = {},
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${detail}`, options);
    this.name = 'StorageError';
  }
}

/** True if `e` is a {@link StorageError}, optionally with the given code. @example `isStorageError(e, 'not-found')` */
export function isStorageError(e: unknown, code?: StorageErrorCode): e is StorageError {
  return e instanceof StorageError && (code === undefined || e.code === code);
}

/**
 * The error union of @leios/storage-node: every typed failure any part of the package reports.
 * The classes stay in their modules (the node's rejections in node/errors.ts, the config file in
 * config/ and service/config.ts, the network layer in net/errors.ts, the HTTP API's problems in
 * api/problem.ts); only the union lives here, imported as types so this module, which the stores
 * and the node import, depends on none of them. Switch on `kind` (every member but ApiError has
 * one; ApiError carries its problem `kind` in `problem`).
 *
 * @example
 * ```ts
 * function describe(e: StorageNodeError): string {
 *   if (e.name === 'ApiError') return e.message;
 *   switch (e.kind) { case 'storage': return e.code; case 'net': return e.code; … }
 * }
 * ```
 */
export type StorageNodeError = StorageError | NodeError | ConfigError | ConfigFileError | NetError | ApiError;

/** The `kind` discriminants of the union (all members but ApiError). */
export type StorageNodeErrorKind = Exclude<StorageNodeError, ApiError>['kind'];

// Every kind of the union, checked against it at compile time: a member added to the union without
// its kind here does not compile.
const KINDS = {
  storage: true,
  net: true,
  config: true,
  'config-file': true,
  'mempool-rejected': true,
  'block-rejected': true,
  'eb-rejected': true,
  'vote-rejected': true,
  'node-state': true,
} as const satisfies Record<StorageNodeErrorKind, true>;

/**
 * True if `e` is one of the package's typed errors ({@link StorageNodeError}), optionally of one
 * `kind`. Plain `Error`s (programming errors, broken invariants) are not.
 *
 * @example
 * ```ts
 * catch (e) { if (isStorageNodeError(e, 'block-rejected')) penalise(peer, e.code); else throw e; }
 * ```
 */
export function isStorageNodeError<K extends StorageNodeErrorKind>(e: unknown, kind: K): e is Extract<StorageNodeError, { kind: K }>;
export function isStorageNodeError(e: unknown): e is StorageNodeError;
export function isStorageNodeError(e: unknown, kind?: StorageNodeErrorKind): boolean {
  if (!(e instanceof Error)) return false;
  const k = (e as { kind?: unknown }).kind;
  if (typeof k === 'string' && Object.hasOwn(KINDS, k)) return kind === undefined || k === kind;
  // ApiError has no `kind` of its own (its problem has one)
  return kind === undefined && e.name === 'ApiError' && typeof (e as { problem?: unknown }).problem === 'object';
}
