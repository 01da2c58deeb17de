/**
 * Relay sessions of a storage node: the adapter from the service to storage-node/src/net.
 *
 * Primer: kept apart from index.ts (and imported lazily) so the service can be composed and
 * tested without the network layer, and so the only file that knows the net layer's API is this
 * one.
 *
 * @module
 */
import type { NetworkContext, NodeNetwork } from './index';

/**
 * Dial every configured relay and keep the sessions up.
 *
 * @example
 * ```ts
 * const net = await connectRelays({ node, genesis, relays, metrics, logger });
 * await net.close();
 * ```
 */
export async function connectRelays(ctx: NetworkContext): Promise<NodeNetwork> {
  throw new Error(`relay sessions are not available yet (storage-node/src/net has no session runner); ${ctx.relays.length} relay(s) configured`);
}
