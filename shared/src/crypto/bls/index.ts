/**
 * BLS12-381 MinSig for Leios votes, certificates, PoPs and the leader VRF (PROTOCOL.md §2.3,
 * §2.4, §3.5).
 *
 * Primer: `core` has keys, strict decoding (the identity is always rejected), sign / verify with
 * the POP-scheme DSTs, PoPs, aggregation and a decoded-key cache; `batch` checks many votes on
 * one RB with one pairing and bisects failures; `messages` builds the exact signed bytes;
 * `vrf` is the leader VRF and the exact BigInt leader check.
 *
 * @example
 * ```ts
 * import { blsKeyGen, blsSign, decodeSignature, verifyVoteBatch, voteMessage } from '@leios/shared/crypto';
 * const { secretKey, publicPoint } = blsKeyGen(seed);
 * const m = voteMessage(rbHash);
 * const sig = decodeSignature(blsSign(secretKey, m));
 * verifyVoteBatch(m, [{ pk: publicPoint, sig }]).invalid // []
 * ```
 *
 * @module
 */
export * from './batch';
export * from './core';
export * from './messages';
export * from './vrf';
