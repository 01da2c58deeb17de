/**
 * The whole network side of one storage node in one call: a {@link FetchManager} attached to the
 * node, and one {@link RelaySession} per configured relay (with its per-peer secret, if any).
 *
 * Primer: this is what a storage-node process starts after opening its node (the service layer
 * calls it with the relays of its config file). It owns everything it creates, and `close()`
 * tears it down in order: stop redialling and close the sessions (1000), then detach the fetch
 * manager from the node.
 *
 * @module
 */
import { fromHex } from '@leios/shared/bytes';
import type { Hash32 } from '@leios/shared/types';
import type { Clock } from '@leios/shared/wire';
import type { LeiosNode } from '../../node/index';
import type { BackoffOptions } from '../backoff/index';
import { FetchManager, type FetchLimits } from '../fetch/index';
import { attachFetchManager, nodeFetchTarget, type SessionWarning, versionDataFor } from '../peer/index';
import type { NetObserver } from '../observer/index';
import { RelaySession, type RelaySessionEvent } from '../session/index';
import type { Dialer } from '../socket/index';

/** One relay to dial. `secret` is the shared HMAC key (hex or bytes); it needs a `peerId`. */
export interface RelayTarget {
  readonly url: string;
  readonly peerId?: string;
  readonly secret?: string | Uint8Array;
}

/** Options of {@link startNetwork}. */
export interface NetworkOptions {
  node: LeiosNode;
  /** `H256(genesis file bytes)` (§3.1), for the handshake. */
  genesisHash: Hash32;
  relays: readonly RelayTarget[];
  fetchLimits?: Partial<FetchLimits>;
  backoff?: BackoffOptions;
  keepAliveMs?: number | null;
  dial?: Dialer;
  clock?: Clock;
  onEvent?: (relay: string, e: RelaySessionEvent) => void;
  onWarning?: (w: SessionWarning) => void;
  /** Metrics and §14.1 events of every session. */
  observer?: NetObserver;
}

/** A running network layer. */
export interface NodeNetworkHandle {
  readonly fetch: FetchManager;
  readonly relays: readonly RelaySession[];
  /** Relay sessions currently past the handshake. */
  connected(): number;
  close(): Promise<void>;
}

/**
 * Dial every relay and keep the sessions up.
 *
 * @example
 * ```ts
 * const net = startNetwork({ node, genesisHash: genesis.hash, relays: cfg.relays });
 * …
 * await net.close();
 * ```
 */
export function startNetwork(opts: NetworkOptions): NodeNetworkHandle {
  const { node } = opts;
  const warn = opts.onWarning;
  const fetch = new FetchManager({
    target: nodeFetchTarget(node, warn ? (w) => warn({ peer: '', ...w }) : undefined),
    ...(opts.fetchLimits ? { limits: opts.fetchLimits } : {}),
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(warn ? { onWarning: (w: { what: string; detail: string; peer?: string }) => warn({ peer: w.peer ?? '', what: w.what, detail: w.detail }) } : {}),
  });
  const detach = attachFetchManager(node, fetch);
  const versionData = versionDataFor(node, opts.genesisHash);
  const relays = opts.relays.map((r) => {
    if (r.secret !== undefined && !r.peerId) throw new RangeError(`relay ${r.url}: a secret needs a peerId`);
    const secret = typeof r.secret === 'string' ? fromHex(r.secret) : r.secret;
    const s = new RelaySession({
      url: r.url,
      node,
      fetch,
      versionData,
      ...(secret && r.peerId ? { auth: { peerId: r.peerId, secret } } : {}),
      ...(opts.backoff ? { backoff: opts.backoff } : {}),
      ...(opts.keepAliveMs !== undefined ? { keepAliveMs: opts.keepAliveMs } : {}),
      ...(opts.dial ? { dial: opts.dial } : {}),
      ...(opts.clock ? { clock: opts.clock } : {}),
      ...(opts.onEvent ? { onEvent: (e: RelaySessionEvent) => opts.onEvent?.(r.url, e) } : {}),
      ...(warn ? { onWarning: warn } : {}),
      ...(opts.observer ? { observer: opts.observer } : {}),
    });
    s.start();
    return s;
  });
  return {
    fetch,
    relays,
    connected: () => relays.filter((r) => r.current !== undefined && r.current.conn.negotiated !== undefined && !r.current.conn.closed).length,
    close: async () => {
      await Promise.all(relays.map((r) => r.close()));
      detach();
      fetch.close();
    },
  };
}
