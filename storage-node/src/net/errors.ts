/**
 * Errors of the storage node's network layer (storage-node/src/net).
 *
 * Primer: wire-level failures are already typed by shared/src/wire (ProtocolViolation with the
 * §8.2 close code, ConnectionClosedError). What is left for this layer is what a session owner
 * reports about a peer as a whole: a dial that failed, a handshake the peer refused, a peer that
 * served data the node rejected, or a bounded queue that would have to drop P0/P1 data. One class
 * with a stable `code`, like StorageError.
 *
 * @module
 */

/** Why a network operation failed. */
export type NetErrorCode =
  /** TCP / WebSocket upgrade failed or timed out. */
  | 'dial-failed'
  /** The peer refused our handshake, or we refused theirs (§8.3, close 1008 handshake:refused). */
  | 'handshake-refused'
  /** The session ended (closed by either side). */
  | 'closed'
  /** A bounded queue would have to drop data it must not drop (§13.4): the session is closed. */
  | 'overloaded'
  /** The peer served data the node rejected (invalid header, block, EB or tx). */
  | 'bad-peer-data';

/**
 * The one error class of storage-node/src/net.
 *
 * @example
 * ```ts
 * session.on('error', (e) => { if (e.code === 'handshake-refused') log.warn(e.message); });
 * ```
 */
export class NetError extends Error {
  readonly kind = 'net' as const;
  constructor(
    readonly code: NetErrorCode,
    readonly detail: string,
    readonly context: Readonly<Record<string, string | number | boolean>> = {},
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${detail}`, options);
    this.name = 'NetError';
  }
}
