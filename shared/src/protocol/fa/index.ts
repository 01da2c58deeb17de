/**
 * Fait-accompli committee mode, wFA^LS (PROTOCOL.md §6.7; optional, `committeeMode =
 * fait-accompli`; top-stake §6.1 stays the default and a network uses one mode only).
 *
 * Primer: per epoch, {@link buildFaCommittee} gives the largest pools n1 *persistent* seats (weight =
 * stake) and leaves `n2 = n − n1` seats of weight `ρ_{i*}/n2` to local sortition among the other
 * pools with a registered vote key (`committee.ts`). Per election (the announcing RB's slot), a
 * candidate signs `"LEIOS-ELIG" || η || u64be(slot)`; `σ = H256(sig)/2^256` and its stake fix its
 * seat count k, a Poisson(λ) draw decided exactly in BigInt (`sortition.ts`). Votes come in two
 * shapes, persistent by seat and non-persistent by pool with the eligibility signature attached;
 * certificates list persistent signers as a bitfield and non-persistent ones with their
 * eligibility signatures (`codec.ts`). Verification and building follow the §6.7 order
 * (`certificate.ts`). Everything is pure and exact (no floats, no Node-only API), so it runs in
 * workerd and Node alike.
 *
 * @example
 * ```ts
 * import { buildFaCommittee, faLocalSortition, createNonPersistentFaVote, buildFaCertificate } from '@leios/shared/protocol';
 * const committee = buildFaCommittee(pools, { faCommitteeSize: 32, quorum: { num: 3n, den: 4n } });
 * const s = faLocalSortition(committee, myPoolId, voteSk, eta, rb.slot);
 * if (s && s.seats >= 1) votes.push(createNonPersistentFaVote(voteSk, rb.hash, myPoolId, s.eligSig));
 * const r = buildFaCertificate(committee, { rbHash: rb.hash, slot: rb.slot, ebHash, eta }, votes);
 * ```
 *
 * @module
 */
export * from './certificate';
export * from './codec';
export * from './committee';
export * from './sortition';
