/**
 * The storage node's network layer (issue 5 item 5): relay sessions over WebSockets that run
 * every mini-protocol of PROTOCOL.md §9–§10 in both directions and drive a {@link LeiosNode}, the
 * fetch decision loop shared by all sessions (§13.1 rule 4, §13.3), reconnect backoff, and the
 * socket abstraction that keeps the session code transport-agnostic.
 *
 * @example
 * ```ts
 * const fetch = new FetchManager({ target: nodeFetchTarget(node) });
 * attachFetchManager(node, fetch);
 * const relay = new RelaySession({ url, node, fetch, versionData: versionDataFor(node, genesis.hash), auth });
 * relay.start();
 * ```
 *
 * @module
 */
export * from './backoff/index';
export * from './errors';
export * from './fetch/index';
export * from './network/index';
export * from './observer/index';
export * from './peer/index';
export * from './session/index';
export * from './socket/index';
