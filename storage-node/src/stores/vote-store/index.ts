/**
 * VoteStore: votes by (announcing RB hash, seat), with a running signed weight per RB and a
 * quorum event (PROTOCOL.md §6.2–§6.6).
 *
 * Primer: a vote is `[rb_hash, voter_id, signature]`; the caller has already checked the seat
 * and the BLS signature (§6.3) — signature verification is not this store's job. The store:
 * - refuses votes for an RB that is not a known header or announces no EB (`unknown-rb`, §6.3),
 *   and votes whose seat has no weight (`unknown-seat`);
 * - ignores duplicates (same RB and seat: the first one stays, §6.3);
 * - keeps, per RB, the signed stake in exact BigInt arithmetic and fires {@link QuorumEvent} the
 *   moment `τ_den · signed >= τ_num · S` first holds (S = total active stake, §6.1, §6.5), after
 *   the deciding vote is committed;
 * - persists every vote (raw bytes kept, §1.3), so {@link VoteStore.load} rebuilds the tallies of
 *   still-open RBs after a restart; votes older than VOTE_RETENTION (default 10 min) are evicted.
 *
 * @module
 */
import type { Hash32 } from '@leios/shared/types';
import { hashHex } from '@leios/shared/types';
import type { Database } from '../../db/index';
import { toNumber } from '../../db/index';
import { StorageError } from '../../errors/index';

/** Exact rational τ. */
export interface Quorum {
  readonly num: bigint;
  readonly den: bigint;
}

/** Committee weights for the epoch of one RB (from the committee module). */
export interface RbWeights {
  /** Stake of a seat, or undefined for an unknown seat. */
  seatWeight(seat: number): bigint | undefined;
  /** Total active stake S of the epoch (quorum compares against all of it, §6.1). */
  readonly totalStake: bigint;
  /** τ (default 3/4). */
  readonly quorum: Quorum;
}

/** A verified vote: decoded fields and the exact received bytes. */
export interface VoteInput {
  readonly rbHash: Hash32;
  readonly seat: number;
  /** 48-byte BLS signature (§6.2). */
  readonly signature: Uint8Array;
  readonly bytes: Uint8Array;
}

/** A stored vote. */
export interface StoredVote extends VoteInput {
  readonly receivedAt: number;
}

/** Fired once per RB when its signed weight first reaches quorum. */
export interface QuorumEvent {
  readonly rbHash: Hash32;
  readonly signedWeight: bigint;
  readonly totalStake: bigint;
  readonly votes: number;
}

/** Per-RB tally. */
export interface Tally {
  readonly signedWeight: bigint;
  readonly votes: number;
  readonly quorum: boolean;
}

/** VoteStore options. */
export interface VoteStoreOptions {
  /** Weights for an RB (its slot picks the epoch); undefined if its committee is unknown. */
  readonly weightOf: (rbHash: Hash32, rbSlot: number) => RbWeights | undefined;
  /** VOTE_RETENTION (default 600 s, PROTOCOL.md §15). */
  readonly retentionMs?: number;
  /** Clock (Unix ms). */
  readonly now?: () => number;
}

interface RbState {
  readonly slot: number;
  readonly weights: RbWeights;
  readonly seats: Set<number>;
  signed: bigint;
  quorum: boolean;
  lastVoteAt: number;
}

function keyOf(h: Uint8Array): string {
  return Buffer.from(h.buffer, h.byteOffset, h.byteLength).toString('latin1');
}

function reached(signed: bigint, w: RbWeights): boolean {
  return w.quorum.den * signed >= w.quorum.num * w.totalStake;
}

/**
 * The vote store.
 *
 * @example
 * ```ts
 * const votes = new VoteStore(database, { weightOf: (rb, slot) => committee.weightsFor(slot) });
 * await votes.load();                                  // after a restart
 * votes.onQuorum((e) => producer.certifiable(e.rbHash));
 * const r = await votes.add(vote);                     // 'added' | 'duplicate'
 * ```
 */
export class VoteStore {
  readonly retentionMs: number;
  private readonly weightOf: VoteStoreOptions['weightOf'];
  private readonly now: () => number;
  private readonly rbs = new Map<string, RbState>();
  private readonly listeners = new Set<(e: QuorumEvent) => void>();

  constructor(
    private readonly database: Database,
    opts: VoteStoreOptions,
  ) {
    this.weightOf = opts.weightOf;
    this.retentionMs = opts.retentionMs ?? 600_000;
    this.now = opts.now ?? Date.now;
  }

  /** Subscribe to quorum events. @example `const off = votes.onQuorum((e) => …)` */
  onQuorum(listener: (e: QuorumEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Store one verified vote. Returns `'duplicate'` (nothing changes) for a repeat (RB, seat).
   * Throws `unknown-rb`, `unknown-seat` or `invalid` and writes nothing.
   *
   * @example `if ((await votes.add(v)) === 'added') forward(v)`
   */
  async add(vote: VoteInput): Promise<'added' | 'duplicate'> {
    const { added } = await this.addMany([vote]);
    return added === 1 ? 'added' : 'duplicate';
  }

  /**
   * Store a batch of verified votes (e.g. one LeiosNotify Votes message) in one statement.
   * All votes are checked first; one bad vote refuses the whole batch.
   *
   * @example `const { added, duplicates } = await votes.addMany(batch)`
   */
  async addMany(batch: readonly VoteInput[]): Promise<{ added: number; duplicates: number }> {
    const fresh: { vote: VoteInput; st: RbState; weight: bigint }[] = [];
    const inBatch = new Set<string>();
    for (const v of batch) {
      if (v.signature.length !== 48) throw new StorageError('invalid', `vote signature has ${v.signature.length} bytes, expected 48`);
      if (!Number.isSafeInteger(v.seat) || v.seat < 0 || v.seat > 65535) throw new StorageError('invalid', `voter_id ${v.seat} out of range`);
      const st = await this.rbState(v.rbHash);
      const weight = st.weights.seatWeight(v.seat);
      if (weight === undefined) {
        throw new StorageError('unknown-seat', `seat ${v.seat} has no weight for RB ${hashHex(v.rbHash)}`, {
          rb: hashHex(v.rbHash),
          seat: v.seat,
        });
      }
      const k = `${keyOf(v.rbHash)}:${v.seat}`;
      if (st.seats.has(v.seat) || inBatch.has(k)) continue;
      inBatch.add(k);
      fresh.push({ vote: v, st, weight });
    }
    if (fresh.length === 0) return { added: 0, duplicates: batch.length };
    const at = this.now();
    const rows = await this.insert(fresh.map((f) => f.vote), at);
    const inserted = new Set(rows.map((r) => `${keyOf(r.rb_hash)}:${r.seat}`));
    const events: QuorumEvent[] = [];
    for (const f of fresh) {
      if (!inserted.has(`${keyOf(f.vote.rbHash)}:${f.vote.seat}`)) continue; // raced with another add
      if (f.st.seats.has(f.vote.seat)) continue;
      f.st.seats.add(f.vote.seat);
      f.st.signed += f.weight;
      f.st.lastVoteAt = at;
      if (!f.st.quorum && reached(f.st.signed, f.st.weights)) {
        f.st.quorum = true;
        events.push({ rbHash: f.vote.rbHash, signedWeight: f.st.signed, totalStake: f.st.weights.totalStake, votes: f.st.seats.size });
      }
    }
    for (const e of events) for (const l of this.listeners) l(e);
    return { added: inserted.size, duplicates: batch.length - inserted.size };
  }

  /** The running tally of an RB, if any vote is held. @example `votes.tally(rbHash)?.quorum` */
  tally(rbHash: Hash32): Tally | undefined {
    const st = this.rbs.get(keyOf(rbHash));
    if (!st || st.seats.size === 0) return undefined;
    return { signedWeight: st.signed, votes: st.seats.size, quorum: st.quorum };
  }

  /** All stored votes for an RB, by seat (for certificate building, §6.6). @example `await votes.votesFor(h)` */
  async votesFor(rbHash: Hash32): Promise<StoredVote[]> {
    const rows = await this.database.raw.query<{ seat: number; signature: Uint8Array; bytes: Uint8Array; received_at: unknown }>(
      'select seat, signature, bytes, received_at from votes where rb_hash = $1 order by seat',
      [rbHash],
    );
    return rows.map((r) => ({ rbHash, seat: r.seat, signature: r.signature, bytes: r.bytes, receivedAt: toNumber(r.received_at) }));
  }

  /**
   * Delete votes older than the retention period and forget RBs with no vote left.
   * Returns how many votes went.
   *
   * @example `setInterval(() => votes.evict(), 30_000)`
   */
  async evict(): Promise<number> {
    const cutoff = this.now() - this.retentionMs;
    const gone = await this.database.raw.query<{ rb_hash: Uint8Array; seat: number }>(
      'delete from votes where received_at < $1 returning rb_hash, seat',
      [cutoff],
    );
    for (const g of gone) {
      const st = this.rbs.get(keyOf(g.rb_hash));
      if (!st?.seats.delete(g.seat)) continue;
      const w = st.weights.seatWeight(g.seat);
      if (w !== undefined) st.signed -= w;
    }
    for (const [k, st] of this.rbs) if (st.seats.size === 0 || st.lastVoteAt < cutoff) this.rbs.delete(k);
    return gone.length;
  }

  /**
   * Rebuild tallies from the database (votes within the retention period) after a restart.
   * No quorum events fire for RBs already at quorum: read {@link VoteStore.tally}.
   * Returns the number of votes loaded.
   *
   * @example `await votes.load()`
   */
  async load(): Promise<number> {
    const cutoff = this.now() - this.retentionMs;
    const rows = await this.database.raw.query<{ rb_hash: Uint8Array; seat: number; received_at: unknown }>(
      'select rb_hash, seat, received_at from votes where received_at >= $1 order by received_at',
      [cutoff],
    );
    let n = 0;
    for (const r of rows) {
      let st: RbState;
      try {
        st = await this.rbState(r.rb_hash as Hash32);
      } catch {
        continue; // committee no longer known: the vote cannot count (it stays until evicted)
      }
      const w = st.weights.seatWeight(r.seat);
      if (w === undefined || st.seats.has(r.seat)) continue;
      st.seats.add(r.seat);
      st.signed += w;
      st.lastVoteAt = Math.max(st.lastVoteAt, toNumber(r.received_at));
      st.quorum = reached(st.signed, st.weights);
      n++;
    }
    return n;
  }

  private async rbState(rbHash: Hash32): Promise<RbState> {
    const k = keyOf(rbHash);
    const cached = this.rbs.get(k);
    if (cached) return cached;
    const [h] = await this.database.raw.query<{ slot: unknown; eb_hash: Uint8Array | null }>(
      'select slot, eb_hash from rb_headers where hash = $1',
      [rbHash],
    );
    if (!h) throw new StorageError('unknown-rb', `vote for unknown RB ${hashHex(rbHash)}`, { rb: hashHex(rbHash) });
    if (!h.eb_hash) throw new StorageError('unknown-rb', `vote for RB ${hashHex(rbHash)}, which announces no EB`, { rb: hashHex(rbHash) });
    const slot = toNumber(h.slot);
    const weights = this.weightOf(rbHash, slot);
    if (!weights) throw new StorageError('unknown-rb', `no committee known for RB ${hashHex(rbHash)} at slot ${slot}`, { rb: hashHex(rbHash) });
    const st: RbState = { slot, weights, seats: new Set(), signed: 0n, quorum: false, lastVoteAt: this.now() };
    this.rbs.set(k, st);
    return st;
  }

  private async insert(vs: readonly VoteInput[], at: number): Promise<{ rb_hash: Uint8Array; seat: number }[]> {
    if (vs.length === 1) {
      const v = vs[0]!;
      return this.database.raw.query(
        `insert into votes (rb_hash, seat, signature, bytes, received_at) values ($1, $2, $3, $4, $5)
         on conflict do nothing returning rb_hash, seat`,
        [v.rbHash, v.seat, v.signature, v.bytes, at],
      );
    }
    // One statement for the batch: hashes and signatures as fixed-width blobs, vote bytes with lengths.
    const hashes = new Uint8Array(vs.length * 32);
    const sigs = new Uint8Array(vs.length * 48);
    let total = 0;
    for (const v of vs) total += v.bytes.length;
    const blob = new Uint8Array(total);
    let p = 0;
    vs.forEach((v, i) => {
      hashes.set(v.rbHash, i * 32);
      sigs.set(v.signature, i * 48);
      blob.set(v.bytes, p);
      p += v.bytes.length;
    });
    return this.database.raw.query(
      `insert into votes (rb_hash, seat, signature, bytes, received_at)
       select substring($1::bytea from ((ord - 1) * 32 + 1)::int4 for 32), seat,
              substring($2::bytea from ((ord - 1) * 48 + 1)::int4 for 48),
              substring($3::bytea from (off + 1)::int4 for len), $6::int8
         from (select seat, len, ord, sum(len) over (order by ord) - len as off
                 from unnest($4::int4[], $5::int4[]) with ordinality as u(seat, len, ord)) s
       on conflict do nothing returning rb_hash, seat`,
      [hashes, sigs, blob, vs.map((v) => v.seat), vs.map((v) => v.bytes.length), at],
    );
  }
}
