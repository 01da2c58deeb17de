/**
 * Relay sessions of a storage node: the adapter from the service to storage-node/src/net.
 *
 * Primer: one {@link FetchManager} per node (fetch decisions span every relay, §13.1 rule 4), and
 * one {@link RelaySession} per configured relay, each redialling with backoff whenever its
 * session ends (a relay restart is routine, architecture.md). Session events go to the logger at
 * debug level except the ones an operator acts on (refused handshakes, warnings). Kept apart from
 * index.ts and imported lazily, so the service composes and tests without the network layer.
 *
 * @module
 */
import { fromHex } from '@leios/shared/bytes';
import { attachFetchManager, FetchManager, nodeFetchTarget, RelaySession, versionDataFor } from '../net/index';
import type { NetworkContext, NodeNetwork } from './index';

/**
 * Dial every configured relay and keep the sessions up.
 *
 * @example
 * ```ts
 * const net = await connectRelays({ node, genesis, relays, metrics, logger });
 * net.connected(); // sessions past the handshake
 * await net.close();
 * ```
 */
export async function connectRelays(ctx: NetworkContext): Promise<NodeNetwork> {
  const { node, genesis, logger } = ctx;
  const warn = (w: { what: string; detail: string; peer?: string }) => logger.warn({ what: w.what, peer: w.peer }, w.detail);
  const fetch = new FetchManager({
    target: nodeFetchTarget(node, warn),
    onWarning: warn,
    // §13.3 / §14.2: the gauge follows the fetch manager's count of pending stale EBs
    onBurst: (b) => {
      ctx.metrics.set('leios_burst_active', {}, b.active ? 1 : 0);
      logger.info({ pending: b.pending }, b.active ? 'burst: stale EBs pending above BURST_THRESHOLD' : 'burst over');
    },
  });
  const detach = attachFetchManager(node, fetch);
  const versionData = versionDataFor(node, genesis.hash);
  const sessions = ctx.relays.map((r, i) => {
    const name = `relay-${i}`;
    const s = new RelaySession({
      url: r.url,
      node,
      fetch,
      versionData,
      name,
      ...(r.peerId && r.secret ? { auth: { peerId: r.peerId, secret: fromHex(r.secret) } } : {}),
      onEvent: (e) => {
        if (e.type === 'open') logger.info({ relay: r.url, peer: e.peer }, 'relay session open');
        else if (e.type === 'refused') logger.warn({ relay: r.url, peer: e.peer }, `relay refused the handshake: ${e.detail}`);
        else if (e.type === 'closed') logger.info({ relay: r.url, code: e.code, reason: e.reason }, 'relay session closed');
        else if (e.type === 'dial-failed') logger.debug({ relay: r.url }, `dial failed: ${e.detail}`);
      },
      onWarning: warn,
      observer: ctx.observer,
    });
    s.start();
    return s;
  });
  return {
    connected: () => sessions.filter((s) => s.current !== undefined && !s.current.conn.closed).length,
    async close() {
      await Promise.all(sessions.map((s) => s.close()));
      detach();
    },
  };
}
