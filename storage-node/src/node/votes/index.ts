/**
 * Vote pool: the votes a node accepts, tallies and builds certificates from (PROTOCOL.md §6.2,
 * §6.3, §6.6).
 *
 * Primer: a vote `[rb_hash, voter_id, signature]` is accepted only for a known RB that announces
 * an EB, from a seat that exists and has a registered key in the committee of `epoch(s)`, inside
 * the diffusion window `[T(s + 3·L_hdr) − MAX_SKEW, T(s + 3·L_hdr + 2·L_vote))`, and with a valid
 * signature. All votes of one RB sign the same message, so a batch is verified with one pairing
 * check and bisected on failure (§2.3). A repeated (RB, seat) with the same signature is a
 * duplicate; with a different one both are checked alone and the valid one kept (the §2.3 batch
 * caveat). Votes for an RB not known yet are buffered (at most 4,096, at most L_vote slots) and
 * re-examined when its header arrives. The pool keeps a running signed-stake tally per RB, so
 * quorum (`τ_den·Σ ≥ τ_num·S`, §6.5) is known the moment it is reached.
 *
 * The node keeps its votes in memory: they matter for at most `3·L_hdr + 2·L_vote + L_diff`
 * slots after their RB, and a restarted node may simply not certify the EBs of that window.
 *
 * @module
 */
import { toHex } from '@leios/shared/bytes';
import {
  decodeSignature,
  type G1Point,
  resolveDuplicateVote,
  verifyVoteBatch,
  voteMessage,
} from '@leios/shared/crypto';
import { CryptoError } from '@leios/shared/errors';
import type { CertificateVote, Committee } from '@leios/shared/protocol';
import type { Hash32 } from '@leios/shared/types';
import type { VoteRejectType } from '../errors';

/** A decoded vote and its exact bytes. */
export interface DecodedVote {
  readonly rbHash: Hash32;
  readonly seat: number;
  readonly signature: Uint8Array;
  readonly bytes: Uint8Array;
}

/** Per-vote outcome (the §12 `POST /v1/votes` vocabulary). */
export type VoteOutcome = 'accepted' | 'duplicate' | 'buffered' | VoteRejectType;

/** What the pool needs to know about an RB. */
export interface VoteRbInfo {
  readonly slot: number;
  readonly announcesEb: boolean;
}

/** Dependencies of the vote pool. */
export interface VotePoolDeps {
  /** Decode vote bytes (throws on malformed input). */
  decode(bytes: Uint8Array): DecodedVote;
  /** A known RB header, or undefined. */
  rb(rbHash: Hash32): VoteRbInfo | undefined;
  /** The committee of the epoch of an RB slot. */
  committeeForSlot(slot: number): Committee;
  /** Whether a vote for an RB at `slot` arriving at `nowMs` is inside the §6.3 window. */
  inWindow(slot: number, nowMs: number): boolean;
  /** Max buffered votes for unknown RBs (default 4,096) and how long they wait (ms). */
  readonly bufferMax?: number;
  readonly bufferTtlMs: number;
}

interface HeldVote {
  readonly seat: number;
  readonly sig: G1Point;
  readonly bytes: Uint8Array;
}

interface RbTally {
  readonly rbHash: Hash32;
  readonly slot: number;
  readonly votes: Map<number, HeldVote>;
  weight: bigint;
  quorum: boolean;
}

/** Result of {@link VotePool.receive}. */
export interface ReceiveVotesResult {
  /** One outcome per input vote, in input order. */
  readonly outcomes: VoteOutcome[];
  /** Bytes of the newly accepted votes (to forward). */
  readonly accepted: Uint8Array[];
  /** RBs whose tally reached quorum with this batch. */
  readonly quorum: Hash32[];
}

/**
 * The vote pool.
 *
 * @example
 * ```ts
 * const pool = new VotePool({ decode, rb, committeeForSlot, inWindow, bufferTtlMs: 4 * slotMs });
 * const { outcomes, accepted } = pool.receive(voteBytes, Date.now());
 * if (pool.hasQuorum(parentHash)) buildCertificate(committee, parentHash, pool.votesFor(parentHash));
 * ```
 */
export class VotePool {
  private readonly tallies = new Map<string, RbTally>();
  private buffer: { vote: DecodedVote; at: number }[] = [];

  constructor(private readonly deps: VotePoolDeps) {}

  /** Number of RBs with votes. */
  get rbCount(): number {
    return this.tallies.size;
  }
  /** Buffered votes for unknown RBs. */
  get buffered(): number {
    return this.buffer.length;
  }

  /** Accept, reject or buffer a batch of votes (§6.3). */
  receive(votes: readonly Uint8Array[], nowMs: number): ReceiveVotesResult {
    const outcomes: VoteOutcome[] = new Array(votes.length);
    const decoded: (DecodedVote | undefined)[] = votes.map((b, i) => {
      try {
        return this.deps.decode(b);
      } catch {
        outcomes[i] = 'malformed';
        return undefined;
      }
    });
    return this.process(decoded, outcomes, nowMs);
  }

  /** Add our own (already valid) vote. Returns whether it was new. */
  addOwn(vote: DecodedVote, nowMs: number): boolean {
    const r = this.process([vote], [], nowMs, true);
    return r.outcomes[0] === 'accepted';
  }

  /**
   * Re-add votes this node verified before a restart (read back from its own database): no
   * window or signature check again, the tallies and quorum flags are rebuilt.
   */
  restore(votes: readonly DecodedVote[], nowMs: number): ReceiveVotesResult {
    return this.process(votes, [], nowMs, true);
  }

  /** Re-examine buffered votes of an RB whose header just became known. */
  onHeader(rbHash: Hash32, nowMs: number): ReceiveVotesResult {
    const key = toHex(rbHash);
    const mine = this.buffer.filter((b) => toHex(b.vote.rbHash) === key && nowMs - b.at <= this.deps.bufferTtlMs);
    this.buffer = this.buffer.filter((b) => toHex(b.vote.rbHash) !== key);
    return this.process(
      mine.map((b) => b.vote),
      [],
      nowMs,
    );
  }

  /** Whether the votes held for `rbHash` reach quorum. */
  hasQuorum(rbHash: Uint8Array): boolean {
    return this.tallies.get(toHex(rbHash))?.quorum ?? false;
  }

  /** Signed stake held for `rbHash`, and the number of seats. */
  tally(rbHash: Uint8Array): { weight: bigint; seats: number } {
    const t = this.tallies.get(toHex(rbHash));
    return { weight: t?.weight ?? 0n, seats: t?.votes.size ?? 0 };
  }

  /** Held votes for `rbHash` as certificate inputs (decoded signatures, seat order). */
  votesFor(rbHash: Uint8Array): CertificateVote[] {
    const t = this.tallies.get(toHex(rbHash));
    if (!t) return [];
    return [...t.votes.values()].sort((a, b) => a.seat - b.seat).map((v) => ({ seat: v.seat, signature: v.sig }));
  }

  /** Exact bytes of the held votes for `rbHash`. */
  voteBytesFor(rbHash: Uint8Array): Uint8Array[] {
    const t = this.tallies.get(toHex(rbHash));
    return t ? [...t.votes.values()].map((v) => v.bytes) : [];
  }

  /** Whether a vote for (rbHash, seat) is held. */
  has(rbHash: Uint8Array, seat: number): boolean {
    return this.tallies.get(toHex(rbHash))?.votes.has(seat) ?? false;
  }

  /** Drop tallies of RBs older than `minSlot` and expired buffered votes. */
  prune(minSlot: number, nowMs: number): void {
    for (const [k, t] of this.tallies) if (t.slot < minSlot) this.tallies.delete(k);
    this.buffer = this.buffer.filter((b) => nowMs - b.at <= this.deps.bufferTtlMs);
  }

  private process(
    decoded: readonly (DecodedVote | undefined)[],
    outcomes: VoteOutcome[],
    nowMs: number,
    own = false,
  ): ReceiveVotesResult {
    // group candidates by RB for one batch check each
    const groups = new Map<string, { rb: VoteRbInfo; committee: Committee; items: { i: number; v: DecodedVote; sig: G1Point }[] }>();
    decoded.forEach((v, i) => {
      if (!v) return;
      const rb = this.deps.rb(v.rbHash);
      if (!rb) {
        const max = this.deps.bufferMax ?? 4096;
        this.buffer = this.buffer.filter((b) => nowMs - b.at <= this.deps.bufferTtlMs);
        if (this.buffer.length < max) {
          this.buffer.push({ vote: v, at: nowMs });
          outcomes[i] = 'buffered';
        } else outcomes[i] = 'unknown-rb';
        return;
      }
      if (!rb.announcesEb) {
        outcomes[i] = 'no-eb';
        return;
      }
      const committee = this.deps.committeeForSlot(rb.slot);
      const seat = committee.seat(v.seat);
      if (!seat) {
        outcomes[i] = 'unknown-seat';
        return;
      }
      if (seat.voteKey === null) {
        outcomes[i] = 'keyless-seat';
        return;
      }
      if (!own && !this.deps.inWindow(rb.slot, nowMs)) {
        outcomes[i] = 'outside-window';
        return;
      }
      let sig: G1Point;
      try {
        sig = decodeSignature(v.signature, 'vote.signature');
      } catch (e) {
        if (!(e instanceof CryptoError)) throw e;
        outcomes[i] = 'bad-signature';
        return;
      }
      const held = this.tallies.get(toHex(v.rbHash))?.votes.get(v.seat);
      if (held) {
        if (held.sig.equals(sig)) {
          outcomes[i] = 'duplicate';
          return;
        }
        // §2.3 caveat: a different signature for a held (RB, seat): check both alone
        const r = resolveDuplicateVote(seat.voteKey, voteMessage(v.rbHash), held.sig, sig);
        if (r.keep !== 'incoming') {
          outcomes[i] = 'conflict';
          return;
        }
        this.remove(v.rbHash, v.seat, committee);
      }
      const key = toHex(v.rbHash);
      let g = groups.get(key);
      if (!g) {
        g = { rb, committee, items: [] };
        groups.set(key, g);
      }
      // one candidate per seat within a batch: later copies are duplicates or conflicts
      const twin = g.items.find((x) => x.v.seat === v.seat);
      if (twin) {
        outcomes[i] = twin.sig.equals(sig) ? 'duplicate' : 'conflict';
        return;
      }
      g.items.push({ i, v, sig });
    });

    const accepted: Uint8Array[] = [];
    const quorum: Hash32[] = [];
    for (const g of groups.values()) {
      const rbHash = g.items[0]!.v.rbHash;
      const batch = g.items.map((x) => ({ pk: g.committee.seat(x.v.seat)!.voteKey!, sig: x.sig }));
      const bad = new Set(own ? [] : verifyVoteBatch(voteMessage(rbHash), batch).invalid);
      let t = this.tallies.get(toHex(rbHash));
      if (!t) {
        t = { rbHash, slot: g.rb.slot, votes: new Map(), weight: 0n, quorum: false };
        this.tallies.set(toHex(rbHash), t);
      }
      g.items.forEach((x, j) => {
        if (bad.has(j)) {
          outcomes[x.i] = 'bad-signature';
          return;
        }
        t.votes.set(x.v.seat, { seat: x.v.seat, sig: x.sig, bytes: x.v.bytes });
        t.weight += g.committee.seat(x.v.seat)!.stake;
        outcomes[x.i] = 'accepted';
        accepted.push(x.v.bytes);
      });
      if (!t.quorum && g.committee.meetsQuorum(t.weight)) {
        t.quorum = true;
        quorum.push(rbHash);
      }
    }
    return { outcomes, accepted, quorum };
  }

  private remove(rbHash: Hash32, seat: number, committee: Committee): void {
    const t = this.tallies.get(toHex(rbHash));
    const v = t?.votes.get(seat);
    if (!t || !v) return;
    t.votes.delete(seat);
    t.weight -= committee.seat(seat)!.stake;
    t.quorum = committee.meetsQuorum(t.weight);
  }
}
