/**
 * The peer-to-peer wire layer of PROTOCOL.md §8–§11: the WebSocket multiplexer, the mini-protocol
 * codecs with their declarative state tables and client / server drivers, and the session that
 * ties them to a socket with §13 egress scheduling.
 *
 * Mini-protocol modules are also importable one by one (`@leios/shared/wire/leios-fetch` is not a
 * package subpath, so import from here); names are prefixed per protocol to avoid clashes.
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
