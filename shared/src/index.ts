/**
 * @leios/shared: the protocol core both tiers use. Pure TypeScript with no Node-only APIs, so it
 * runs in workerd (edge relays) and Node (storage nodes).
 *
 * @module
 */
export * from './bytes/index';
export * from './cbor/index';
export * from './crypto/index';
export * from './errors/index';
export * from './types/index';
