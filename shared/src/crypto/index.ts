/** Cryptographic primitives of PROTOCOL.md §2. @module */
export * from './blake2b';
