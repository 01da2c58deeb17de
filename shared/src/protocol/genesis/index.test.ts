import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { ascii, bytesEqual, concatBytes, toHex, u64be } from '../../bytes/index';
import { blake2b224, blake2b256 } from '../../crypto/blake2b';
import { blsSign, blsVerify, popVerify, voteMessage } from '../../crypto/bls/index';
import { ed25519Sign, ed25519Verify } from '../../crypto/ed25519';
import { DecodeError, ValidationError } from '../../errors/index';
import { DEVNET_PARAMS, stabilityWindow } from '../params/index';
import {
  type CreatedGenesis,
  contributesToNonce,
  createGenesis,
  decodeEpochPools,
  encodeEpochPools,
  epochNonceFixed,
  epochNonceFromBlocks,
  genesisClock,
  nextEpochNonce,
  PoolSnapshot,
  parseGenesis,
  parseStrictJson,
  poolsForEpoch,
  totalStake,
} from './index';

let created: CreatedGenesis;
beforeAll(() => {
  created = createGenesis({
    pools: [
      { stake: 1_000_000n, seed: 'pool-a' },
      { stake: '500000', seed: 'pool-b' },
      { stake: 250_000, seed: 'pool-c', voteKey: false },
    ],
    systemStart: Date.UTC(2026, 10, 24),
    funds: [{ seed: 'alice', amount: 5_000_000_000n, outputs: 2 }],
    stakeSchedule: [{ fromEpoch: 3, pools: [{ stake: 7n, seed: 'pool-a' }] }],
  });
});

/** The created genesis as an editable object. */
function doc(): Record<string, unknown> {
  return JSON.parse(created.text) as Record<string, unknown>;
}
const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));

function fieldOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof ValidationError) return e.field;
    throw e;
  }
  return 'ok';
}

/** Parse a variant of the created genesis after `edit`, returning the offending path or 'ok'. */
function variant(edit: (d: Record<string, unknown>) => void): string {
  const d = doc();
  edit(d);
  return fieldOf(() => parseGenesis(enc(d)));
}

type Json = Record<string, unknown>;
const pool0 = (d: Json) => (d.pools as Json[])[0]!;
const pp = (d: Json) => d.protocolParams as Json;

describe('genesis generator', () => {
  it('writes a genesis the parser accepts, with keys derived from seeds', () => {
    const g = created.genesis;
    expect(toHex(g.hash)).toBe(toHex(blake2b256(created.bytes)));
    expect(new TextDecoder().decode(created.bytes)).toBe(created.text);
    expect(g.systemStart).toBe('2026-11-24T00:00:00.000Z');
    expect(g.systemStartMs).toBe(Date.UTC(2026, 10, 24));
    expect(g.networkMagic).toBe(2026);
    expect(g.params).toEqual(DEVNET_PARAMS);
    expect(g.pools.map((p) => p.stake)).toEqual([1_000_000n, 500_000n, 250_000n]);
    expect(g.pools[2]!.voteKey).toBeNull();
    created.pools.forEach((s, i) => {
      const p = g.pools[i]!;
      expect(toHex(p.poolId)).toBe(toHex(s.poolId));
      expect(toHex(p.poolId)).toBe(toHex(blake2b224(s.coldVk)));
      expect(popVerify(p.vrfKey.vk, p.vrfKey.pop)).toBe(true);
      if (p.voteKey) expect(popVerify(p.voteKey.vk, p.voteKey.pop)).toBe(true);
    });
    // secrets match the public keys
    const a = created.pools[0]!;
    const msg = ascii('header');
    expect(ed25519Verify(ed25519Sign(a.coldSecretKey, msg), msg, g.pools[0]!.coldVk)).toBe(true);
    // deterministic: the same seeds give the same pools
    const again = createGenesis({ pools: [{ stake: 1n, seed: 'pool-a' }], systemStart: 0 });
    expect(toHex(again.pools[0]!.poolId)).toBe(toHex(a.poolId));
    expect(again.pools[0]!.voteSecretKey && toHex(again.pools[0]!.voteSecretKey)).toBe(a.voteSecretKey && toHex(a.voteSecretKey));
    // funds: two outputs of one pseudo tx owned by H224(alice vk)
    expect(g.initialUtxo.length).toBe(2);
    expect(toHex(g.initialUtxo[0]!.address)).toBe(toHex(blake2b224(created.funds[0]!.publicKey)));
    expect(g.initialUtxo.map((u) => u.index)).toEqual([0, 1]);
    expect(g.initialUtxo[1]!.amount).toBe(5_000_000_000n);
  });

  it('vote secret keys sign votes that verify under the genesis vote keys', () => {
    const s = created.pools[1]!;
    const h = new Uint8Array(32).fill(4);
    expect(blsVerify(created.genesis.pools[1]!.voteKey!.vk, voteMessage(h), blsSign(s.voteSecretKey!, voteMessage(h)))).toBe(true);
  });
});

describe('genesis parser (§3.1)', () => {
  it('accepts the example shape and hashes the exact bytes', () => {
    // the same document with different whitespace is a different network
    const compact = enc(doc());
    const g = parseGenesis(compact);
    expect(toHex(g.hash)).toBe(toHex(blake2b256(compact)));
    expect(toHex(g.hash)).not.toBe(toHex(created.genesis.hash));
  });

  it('refuses bad values, naming the offending key', () => {
    expect(variant((d) => { pp(d).quorum = '1/2'; })).toBe('protocolParams.quorum');
    expect(variant((d) => { pp(d).quorum = 0.75; })).toBe('protocolParams.quorum');
    expect(variant((d) => { pp(d).lHdr = 0; })).toBe('protocolParams.lHdr');
    expect(variant((d) => { pp(d).lVote = 0; })).toBe('protocolParams.lVote');
    expect(variant((d) => { pp(d).lDiff = 0; })).toBe('protocolParams.lDiff');
    expect(variant((d) => { pp(d).maxEbSize = '512000'; })).toBe('protocolParams.maxEbSize');
    expect(variant((d) => { pp(d).extra = 1; })).toBe('protocolParams.extra');
    expect(variant((d) => { delete pp(d).maxSkewMs; })).toBe('protocolParams.maxSkewMs');
    expect(variant((d) => { d.securityParam = 0; })).toBe('securityParam');
    expect(variant((d) => { d.activeSlotCoeff = '3/5'; })).toBe('activeSlotCoeff');
    expect(variant((d) => { d.activeSlotCoeff = '0/1'; })).toBe('activeSlotCoeff');
    expect(variant((d) => { d.committeeMode = 'random'; })).toBe('committeeMode');
    expect(variant((d) => { d.ledgerMode = 3; })).toBe('ledgerMode');
    expect(variant((d) => { d.unknown = true; })).toBe('unknown');
    expect(variant((d) => { delete d.initialUtxo; })).toBe('initialUtxo');
    expect(variant((d) => { delete d.stakeSchedule; })).toBe('ok');
    expect(variant((d) => { d.networkMagic = -1; })).toBe('networkMagic');
    expect(variant((d) => { d.networkMagic = '2026'; })).toBe('networkMagic');
    expect(variant((d) => { d.initialNonce = 'AB'.repeat(32); })).toBe('initialNonce');
    expect(variant((d) => { d.initialNonce = 'ab'.repeat(31); })).toBe('initialNonce');
  });

  it('requires systemStart as RFC 3339 UTC with milliseconds ending in Z', () => {
    for (const bad of ['2026-11-24T00:00:00Z', '2026-11-24T00:00:00.000+00:00', '2026-11-24 00:00:00.000Z', '2026-02-30T00:00:00.000Z', '2026-11-24T00:00:00.0000Z', 1_700_000_000_000]) {
      expect(variant((d) => { d.systemStart = bad; })).toBe('systemStart');
    }
    expect(variant((d) => { d.systemStart = '2030-01-02T03:04:05.678Z'; })).toBe('ok');
  });

  it('checks pools: lowercase hex, decimal-string stake, poolId = H224(coldVk), no duplicates', () => {
    expect(variant((d) => { pool0(d).stake = 1000000; })).toBe('pools[0].stake');
    expect(variant((d) => { pool0(d).stake = '01000'; })).toBe('pools[0].stake');
    expect(variant((d) => { pool0(d).stake = '-5'; })).toBe('pools[0].stake');
    expect(variant((d) => { pool0(d).stake = (1n << 64n).toString(); })).toBe('pools[0].stake');
    expect(variant((d) => { pool0(d).coldVk = (pool0(d).coldVk as string).toUpperCase(); })).toBe('pools[0].coldVk');
    expect(variant((d) => { pool0(d).poolId = (d.pools as Json[])[1]!.poolId; })).toBe('pools[0].poolId');
    expect(variant((d) => { (d.pools as Json[])[1] = pool0(d); })).toBe('pools[1].poolId');
    expect(variant((d) => { (pool0(d).vrfKey as Json).pop = 'ab'; })).toBe('pools[0].vrfKey.pop');
    expect(variant((d) => { (pool0(d).voteKey as Json).extra = 'x'; })).toBe('pools[0].voteKey.extra');
    expect(variant((d) => { pool0(d).voteKey = null; })).toBe('ok');
    expect(variant((d) => { delete pool0(d).voteKey; })).toBe('pools[0].voteKey');
    expect(variant((d) => { d.pools = []; })).toBe('pools');
    expect(variant((d) => { for (const p of d.pools as Json[]) p.stake = '0'; })).toBe('pools');
  });

  it('checks stakeSchedule and initialUtxo', () => {
    const sched = (d: Json) => d.stakeSchedule as Json[];
    expect(variant((d) => { sched(d)[0]!.fromEpoch = 0; })).toBe('stakeSchedule[0].fromEpoch');
    expect(variant((d) => { sched(d).push({ ...sched(d)[0]! }); })).toBe('stakeSchedule[1].fromEpoch');
    expect(variant((d) => { (sched(d)[0]!.pools as Json[])[0]!.stake = 7; })).toBe('stakeSchedule[0].pools[0].stake');
    const u = (d: Json) => (d.initialUtxo as Json[])[0]!;
    expect(variant((d) => { u(d).amount = 5; })).toBe('initialUtxo[0].amount');
    expect(variant((d) => { u(d).amount = '0'; })).toBe('initialUtxo[0].amount');
    expect(variant((d) => { u(d).index = 1; })).toBe('initialUtxo[1]');
    expect(variant((d) => { u(d).address = 'ab'; })).toBe('initialUtxo[0].address');
    expect(variant((d) => { u(d).txId = (u(d).txId as string).toUpperCase(); })).toBe('initialUtxo[0].txId');
  });

  it('refuses duplicate keys, bad UTF-8 and bad JSON', () => {
    const text = created.text.replace('"networkMagic": 2026,', '"networkMagic": 2026,\n  "networkMagic": 7,');
    expect(fieldOf(() => parseGenesis(new TextEncoder().encode(text)))).toBe('networkMagic');
    const nested = created.text.replace('"lHdr": 1,', '"lHdr": 1, "lHdr": 1,');
    expect(fieldOf(() => parseGenesis(new TextEncoder().encode(nested)))).toBe('protocolParams.lHdr');
    expect(fieldOf(() => parseStrictJson(enc({ a: [{ b: 1 }, { b: 2, c: { d: 1 } }] })))).toBe('ok');
    expect(fieldOf(() => parseStrictJson(new TextEncoder().encode('{"a":[{"b":1},{"b":2,"c":{"d":1,"d":2}}]}')))).toBe('a[1].c.d');
    expect(fieldOf(() => parseStrictJson(new TextEncoder().encode('{"a\\"b":1,"a\\"b":2}')))).toBe('a"b');
    expect(fieldOf(() => parseGenesis(Uint8Array.of(0x7b, 0xff, 0x7d)))).toBe('genesis');
    expect(fieldOf(() => parseGenesis(new TextEncoder().encode('{"a":')))).toBe('genesis');
    expect(fieldOf(() => parseGenesis(new TextEncoder().encode('[]')))).toBe('genesis');
  });

  it('fuzz: arbitrary bytes and JSON only raise ValidationError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        expect(fieldOf(() => parseGenesis(b))).not.toBe('ok');
      }),
    );
    fc.assert(
      fc.property(fc.json(), (j) => {
        fieldOf(() => parseGenesis(new TextEncoder().encode(j)));
      }),
    );
    // mutate one character of a valid genesis
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 0x20, max: 0x7e }), (pos, ch) => {
        const t = created.text;
        const i = pos % t.length;
        const m = t.slice(0, i) + String.fromCharCode(ch) + t.slice(i + 1);
        fieldOf(() => parseGenesis(new TextEncoder().encode(m)));
      }),
      { numRuns: 300 },
    );
  });
});

describe('stake per epoch (§3.3) and pool snapshots', () => {
  it('applies stakeSchedule from its epoch on, and vote-key overrides', () => {
    const g = created.genesis;
    expect(poolsForEpoch(g, 0)).toBe(g.pools);
    expect(poolsForEpoch(g, 2)).toBe(g.pools);
    expect(poolsForEpoch(g, 3).map((p) => p.stake)).toEqual([7n]);
    expect(poolsForEpoch(g, 100).map((p) => p.stake)).toEqual([7n]);
    expect(totalStake(poolsForEpoch(g, 0))).toBe(1_750_000n);
    const newKey = { vk: new Uint8Array(96).fill(1), pop: new Uint8Array(48).fill(2) };
    const over = poolsForEpoch(g, 0, new Map([[toHex(g.pools[2]!.poolId), newKey]]));
    expect(over[2]!.voteKey).toBe(newKey);
    expect(over[0]).toBe(g.pools[0]);
  });

  it('PoolSnapshot verifies VRF PoPs once and refuses bad ones', () => {
    const g = created.genesis;
    const bad = { ...g.pools[1]!, vrfKey: { vk: g.pools[1]!.vrfKey.vk, pop: g.pools[0]!.vrfKey.pop } };
    const snap = new PoolSnapshot(0 as never, g.initialNonce, [g.pools[0]!, bad]);
    expect(snap.totalStake).toBe(1_500_000n);
    expect(snap.leaderVrfKey(g.pools[0]!.poolId)).not.toBeNull();
    expect(snap.leaderVrfKey(g.pools[1]!.poolId)).toBeNull();
    expect(snap.leaderVrfKey(g.pools[2]!.poolId)).toBeNull();
    expect(snap.pool(g.pools[2]!.poolId)).toBeUndefined();
  });

  it('round-trips the [e, η_e, [* pool]] document (§12) and rejects malformed ones', () => {
    const g = created.genesis;
    const bytes = encodeEpochPools(4, g.initialNonce, g.pools);
    const d = decodeEpochPools(bytes);
    expect(d.epoch).toBe(4);
    expect(toHex(d.nonce)).toBe(toHex(g.initialNonce));
    expect(d.pools.length).toBe(3);
    expect(toHex(encodeEpochPools(d.epoch, d.nonce, d.pools))).toBe(toHex(bytes));
    expect(d.pools[2]!.voteKey).toBeNull();
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 0, max: 255 }), (pos, b) => {
        const m = bytes.slice();
        m[pos % m.length] = b;
        try {
          decodeEpochPools(m);
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('genesisClock gives T(s)', () => {
    expect(genesisClock(created.genesis)).toEqual({ systemStartMs: Date.UTC(2026, 10, 24), slotLengthMs: 1000 });
  });
});

describe('epoch nonce (§3.4)', () => {
  it('folds outputs as specified', () => {
    const eta = new Uint8Array(32).fill(9);
    const o1 = new Uint8Array(32).fill(1);
    const o2 = new Uint8Array(32).fill(2);
    const a = blake2b256(concatBytes(blake2b256(concatBytes(eta, o1)), o2));
    const expected = blake2b256(concatBytes(ascii('LEIOS-NONCE'), a, u64be(6)));
    expect(toHex(nextEpochNonce(eta, 5, [o1, o2]))).toBe(toHex(expected));
    // no block: η_{e+1} = H256("LEIOS-NONCE" || η_e || u64be(e+1))
    expect(toHex(nextEpochNonce(eta, 0, []))).toBe(toHex(blake2b256(concatBytes(ascii('LEIOS-NONCE'), eta, u64be(1)))));
    // order matters
    expect(bytesEqual(nextEpochNonce(eta, 5, [o2, o1]), expected)).toBe(false);
  });

  it('uses only blocks of epoch e before the stability cutoff E − W', () => {
    const p = DEVNET_PARAMS; // E = 1200, W = 600
    expect(stabilityWindow(p)).toBe(600);
    expect(contributesToNonce(0, p)).toBe(true);
    expect(contributesToNonce(599, p)).toBe(true);
    expect(contributesToNonce(600, p)).toBe(false);
    expect(contributesToNonce(1799, p)).toBe(true);
    expect(contributesToNonce(1800, p)).toBe(false);
    const eta = new Uint8Array(32);
    const out = (i: number) => new Uint8Array(32).fill(i);
    const blocks = [
      { slot: 1100, vrfOutput: out(1) }, // epoch 0
      { slot: 1210, vrfOutput: out(2) }, // epoch 1, before cutoff
      { slot: 1799, vrfOutput: out(3) }, // epoch 1, last contributing slot
      { slot: 1800, vrfOutput: out(4) }, // epoch 1, after cutoff
      { slot: 2400, vrfOutput: out(5) }, // epoch 2
    ];
    expect(toHex(epochNonceFromBlocks(eta, 1, blocks, p))).toBe(toHex(nextEpochNonce(eta, 1, [out(2), out(3)])));
  });

  it('knows when η_e is fixed (§12)', () => {
    const p = DEVNET_PARAMS;
    expect(epochNonceFixed(0, null, p)).toBe(true);
    expect(epochNonceFixed(1, null, p)).toBe(false);
    expect(epochNonceFixed(1, 599, p)).toBe(false);
    expect(epochNonceFixed(1, 600, p)).toBe(true);
    expect(epochNonceFixed(2, 1200, p)).toBe(false);
    expect(epochNonceFixed(1, 1200, p)).toBe(true);
    expect(epochNonceFixed(3, 1200 + 599, p)).toBe(false);
    expect(epochNonceFixed(3, 1200 + 1199, p)).toBe(false);
    expect(epochNonceFixed(2, 1799, p)).toBe(false);
    expect(epochNonceFixed(2, 1800, p)).toBe(true);
  });
});
