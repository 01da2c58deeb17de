/**
 * The peer-to-peer wire layer of PROTOCOL.md §8–§11: the WebSocket multiplexer, the mini-protocol
 * codecs with their declarative state tables and client / server drivers, and the session that
 * ties them to a socket with §13 egress scheduling.
 *
 * Import from the subpath `@leios/shared/wire` (the root entry does not re-export this layer).
 * Names carry their protocol (`LeiosFetchClient`, `encodeChainSync`, …) so nothing clashes with
 * the root exports. Test helpers live in `@leios/shared/wire/testing` (in-memory handshaken pairs, fuzz oracle)
 * and `./testing/arb` (fast-check arbitraries; test code only).
 *
 * @module
 */
export * from './common/index';
export * from './connection/index';
export * from './handshake/index';
export * from './keep-alive/index';
export * from './machine/index';
export * from './mux/index';
export * from './block-fetch/index';
export * from './chain-sync/index';
export * from './leios-fetch/index';
export * from './leios-notify/index';
export * from './tx-submission/index';
