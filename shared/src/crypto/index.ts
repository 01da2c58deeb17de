/** Cryptographic primitives of PROTOCOL.md §2. @module */
export * from './blake2b';
export * from './ed25519';
export * from './bls/index';
