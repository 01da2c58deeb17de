/**
 * The sliced committee build (§6.1) equals the shared one, yields to the event loop between
 * slices, and the relay holds votes for an epoch whose committee is still building (bounded),
 * checking them with their arrival time once it is ready (§6.3). Runs in workerd.
 */
import { env } from 'cloudflare:workers';
import { toHex } from '@leios/shared';
import { DecodedKeyCache, PopCache } from '@leios/shared/crypto';
import { buildTopStakeCommittee, type Committee, encodeEpochPools, encodeVote, type PoolInput, stabilityWindow, voteWindowMs } from '@leios/shared/protocol';
import { describe, expect, it } from 'vitest';
import { type Env, parseConfig } from '../../config/index';
import { blockAt, BY_SEAT, ebOf, closureTxs, epochOf, findLeaderSlot, NET, slotNow, voteBy } from '../../testing/network';
import { Relay } from '../index';
import { buildCommitteeInSlices, type CommitteeBuildStats, committeeCaches } from './index';

const cfg = parseConfig(env as unknown as Env);
const quorum = cfg.params.quorum;

/** 26 pools: the three large ones and 23 small, one with another's PoP, one with a bad key, one keyless. */
function pools(): PoolInput[] {
  const ps = BY_SEAT.slice(0, 26).map((p) => p.input);
  const pick = (i: number) => ps[i]!;
  const out = [...ps];
  out[4] = { ...pick(4), voteKey: { vk: pick(4).voteKey!.vk, pop: pick(5).voteKey!.pop } };
  out[6] = { ...pick(6), voteKey: { vk: new Uint8Array(96).fill(7), pop: pick(6).voteKey!.pop } };
  out[8] = { ...pick(8), voteKey: null };
  return out;
}

const seatsOf = (c: Committee) => c.seats.map((s) => ({ pool: toHex(s.poolId), stake: s.stake, keyless: s.keyless, vk: s.voteKeyBytes ? toHex(s.voteKeyBytes) : null }));

describe('buildCommitteeInSlices', () => {
  it('gives the shared builder’s committee, a few keys per turn', async () => {
    const ps = pools();
    const params = { committeeSize: 20, quorum };
    let turns = 0;
    let stats: CommitteeBuildStats | undefined;
    const sliced = await buildCommitteeInSlices(ps, params, committeeCaches(20), {
      keysPerSlice: 3,
      yieldTurn: async () => {
        turns++;
        await new Promise((r) => setTimeout(r, 0));
      },
      onStats: (s) => {
        stats = s;
      },
    });
    const plain = buildTopStakeCommittee(ps, params, { keyCache: new DecodedKeyCache(64), popCache: new PopCache(64) });
    expect(seatsOf(sliced)).toEqual(seatsOf(plain));
    expect(sliced.totalStake).toBe(plain.totalStake);
    expect(sliced.seats.filter((s) => s.keyless !== null).map((s) => s.keyless).sort()).toEqual(['bad-key', 'bad-pop', 'no-key']);
    // 19 seated keys (one seat is keyless by registration), 3 per slice, plus the final turn.
    expect(stats?.keys).toBe(19);
    expect(stats?.slices).toBe(7);
    expect(turns).toBe(8);
  });

  it('lets other work run between slices, and reuses the caches for the next epoch', async () => {
    const ps = BY_SEAT.slice(0, 40).map((p) => p.input);
    const caches = committeeCaches(40);
    let ticks = 0;
    let done = false;
    const tick = () => {
      ticks++;
      if (!done) setTimeout(tick, 0);
    };
    setTimeout(tick, 0);
    const first: CommitteeBuildStats[] = [];
    await buildCommitteeInSlices(ps, { committeeSize: 40, quorum }, caches, { keysPerSlice: 2, onStats: (s) => first.push(s) });
    done = true;
    // A timer loop competing with the build got turns all along (a one-turn build would allow ~1).
    expect(ticks).toBeGreaterThanOrEqual(first[0]!.slices / 2);
    expect(first[0]!.keys).toBe(40);
    const again: CommitteeBuildStats[] = [];
    const c = await buildCommitteeInSlices(ps, { committeeSize: 40, quorum }, caches, { onStats: (s) => again.push(s) });
    expect(again[0]).toMatchObject({ keys: 0, slices: 0 });
    expect(c.size).toBe(40);
  });
});

describe('votes wait for a committee that is still building (§6.3)', () => {
  it('buffers them (bounded), then checks them with their arrival time', { timeout: 60_000 }, async () => {
    const params = { ...cfg.params, committeeSize: 24 };
    const lead = findLeaderSlot(slotNow() - 200, slotNow() - 20);
    const epoch = epochOf(lead.slot);
    const b = blockAt({ slot: lead.slot, leader: lead, blockNumber: 1, prevHash: null, eb: ebOf(closureTxs(2)) });
    const clock = { systemStartMs: cfg.systemStartMs, slotLengthMs: params.slotLengthMs };
    const window = voteWindowMs(clock, lead.slot, params);
    let nowMs = clock.systemStartMs + lead.slot * params.slotLengthMs + 10; // the header's slot: not from the future
    const logs: Record<string, unknown>[] = [];
    const relay = new Relay({
      params,
      systemStartMs: cfg.systemStartMs,
      now: () => nowMs,
      log: (f) => logs.push(f),
      loadEpoch: async (e) => (e === epoch || e === epoch + 1 ? encodeEpochPools(e, NET.nonce, NET.pools.map((p) => p.input)) : null),
    });
    expect(await relay.ingestHeader(b.header.bytes, null, { root: true, proto: 'chain-sync' })).toBe(true);
    const data = relay.epochs.peek(epoch);
    expect(data?.built).toBeUndefined(); // its build has started (the header announces an EB), not finished

    nowMs = window.startMs + 10;
    // 23 good votes, one signed with another seat's key, and one for a seat beyond N.
    const good = Array.from({ length: 23 }, (_, seat) => voteBy(seat, b.header.hash));
    const forged = voteBy(23, b.header.hash, true);
    const beyond = encodeVote({ rbHash: b.header.hash, voterId: 500, signature: good[0]!.subarray(-48) });
    const out = await relay.ingestVotes([...good, forged, beyond], null);
    expect(out.every((o) => o.kind === 'buffered')).toBe(true);
    expect(relay.votesAwaitingCommittee).toBe(25);
    // The window closes before the committee is ready: the votes still count as in time.
    nowMs = window.endMs + 60_000;

    await data!.committee();
    const end = Date.now() + 20_000;
    while (relay.votesAwaitingCommittee > 0 || relay.stats.votesVerified + relay.stats.votesRejected < 25) {
      if (Date.now() > end) throw new Error(`votes not processed: ${JSON.stringify(relay.stats)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(relay.stats.votesVerified).toBe(23);
    expect(relay.stats.votesRejected).toBe(2);
    expect(relay.heldVotes(toHex(b.header.hash))).toBe(23);
    expect(logs.some((l) => l.event === 'committee-built' && l.epoch === epoch && (l.slices as number) > 1)).toBe(true);
  });

  it('holds at most 4,096 votes per relay while building', { timeout: 60_000 }, async () => {
    const params = { ...cfg.params, committeeSize: 8 };
    const lead = findLeaderSlot(slotNow() - 200, slotNow() - 20);
    const epoch = epochOf(lead.slot);
    const b = blockAt({ slot: lead.slot, leader: lead, blockNumber: 1, prevHash: null, eb: ebOf(closureTxs(1)) });
    const window = voteWindowMs({ systemStartMs: cfg.systemStartMs, slotLengthMs: params.slotLengthMs }, lead.slot, params);
    let nowMs = cfg.systemStartMs + lead.slot * params.slotLengthMs + 10;
    const relay = new Relay({
      params,
      systemStartMs: cfg.systemStartMs,
      now: () => nowMs,
      loadEpoch: async (e) => (e === epoch ? encodeEpochPools(e, NET.nonce, NET.pools.map((p) => p.input)) : null),
    });
    expect(await relay.ingestHeader(b.header.bytes, null, { root: true, proto: 'chain-sync' })).toBe(true);
    nowMs = window.startMs + 10;
    // Seats beyond N: cheap to reject once the committee is known (no signature decoding).
    const sig = voteBy(0, b.header.hash).subarray(-48);
    const votes = Array.from({ length: 4_097 }, (_, i) => encodeVote({ rbHash: b.header.hash, voterId: 100 + i, signature: sig }));
    const out = await relay.ingestVotes(votes, null);
    expect(out.filter((o) => o.kind === 'buffered').length).toBe(4_096);
    expect(out[4_096]).toEqual({ kind: 'rejected', type: 'unknown-rb' });
    await relay.epochs.peek(epoch)!.committee();
    const end = Date.now() + 20_000;
    while (relay.stats.votesRejected < 4_097) {
      if (Date.now() > end) throw new Error(`votes not processed: ${JSON.stringify(relay.stats)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(relay.votesAwaitingCommittee).toBe(0);
    expect(relay.stats.votesVerified).toBe(0);
  });
});

describe('the next epoch’s committee is built ahead of time (§12)', () => {
  it('loads epoch e+1 and builds its committee once a header is past start(e) + E − W, not before', { timeout: 60_000 }, async () => {
    const params = { ...cfg.params, committeeSize: 24 };
    const E = params.epochLength;
    const W = stabilityWindow(params);
    const e = epochOf(slotNow()) - 1;
    const early = findLeaderSlot(e * E + 1, e * E + E - W - 1);
    const late = findLeaderSlot(e * E + E - W + 1, (e + 1) * E - 1);
    const loaded: number[] = [];
    let nowMs = 0;
    const relay = new Relay({
      params,
      systemStartMs: cfg.systemStartMs,
      now: () => nowMs,
      loadEpoch: async (x) => {
        loaded.push(x);
        return encodeEpochPools(x, NET.nonce, NET.pools.map((p) => p.input));
      },
    });
    const at = (slot: number) => cfg.systemStartMs + slot * params.slotLengthMs + 10;
    const b1 = blockAt({ slot: early.slot, leader: early, blockNumber: 1, prevHash: null, txs: [] });
    nowMs = at(early.slot);
    expect(await relay.ingestHeader(b1.header.bytes, null, { root: true, proto: 'chain-sync' })).toBe(true);
    await new Promise((r) => setTimeout(r, 50));
    expect(loaded).toEqual([e]);
    const b2 = blockAt({ slot: late.slot, leader: late, blockNumber: 2, prevHash: b1.header.hash, txs: [] });
    nowMs = at(late.slot);
    expect(await relay.ingestHeader(b2.header.bytes, null, { root: false, proto: 'chain-sync' })).toBe(true);
    const end = Date.now() + 20_000;
    while (relay.epochs.peek(e + 1)?.built === undefined) {
      if (Date.now() > end) throw new Error(`epoch ${e + 1} committee not built; loaded ${loaded.join(',')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(loaded).toEqual([e, e + 1]);
    expect(relay.epochs.peek(e + 1)?.built?.size).toBe(24);
    // Headers without an EB build no committee for their own epoch.
    expect(relay.epochs.peek(e)?.built).toBeUndefined();
  });
});
