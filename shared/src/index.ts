/**
 * @leios/shared: the protocol core both tiers use. Pure TypeScript with no Node-only APIs, so it
 * runs in workerd (edge relays) and Node (storage nodes).
 *
 * The root entry re-exports the core; the mini-protocol layer is imported from its own subpath,
 * `@leios/shared/wire`, because its message-level limits share names with the object-level ones
 * (e.g. `MAX_VOTE_SIZE`) and callers should say which they mean.
 *
 * @module
 */
export * from './bytes/index';
export * from './cbor/index';
export * from './crypto/index';
export * from './errors/index';
export * from './types/index';
export * from './protocol/index';
export * from './ledger/index';
export * from './sched/index';
export * from './obs/index';
