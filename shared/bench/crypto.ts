/**
 * Crypto benchmarks for @leios/shared (called by bench/run.ts; results in bench/results/shared.json).
 *
 * Every figure comes with a baseline measured in the same run and a ratio, so a number read in
 * isolation cannot mislead:
 * - one vote verified alone (decode + one pairing check) vs @noble/curves' own verify from bytes;
 * - 900 votes on one RB, decoded from bytes and checked with ONE pairing (§2.3) vs one-by-one
 *   verification (a measured sample of 30, extrapolated to 900);
 * - bisection of 900 votes with one bad signature;
 * - certificate verification with N_c = 900 and 75% signing against the 100 ms budget, with the
 *   committee's decoded keys cached, vs the same without the cache (keys decoded per certificate);
 * - committee build (900 PoPs in one random-scalar batch) vs one-by-one PoP checks (sampled);
 * - Blake2b-256 throughput on 1 MiB inputs for the active backend vs @noble/hashes.
 *
 * Setup (keys, PoPs, signatures) is not timed. Whole run: roughly 30–60 s on a 2-core machine.
 */
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { blake2b } from '@noble/hashes/blake2.js';
import { blake2b256, blake2bBackend } from '../src/crypto/blake2b';
import {
  BLS_R,
  type BlsKeyPair,
  blsKeyGen,
  blsSign,
  blsStats,
  decodePublicKey,
  decodeSignature,
  encodeSignature,
  hashToG1,
  popProve,
  popVerify,
  type SignedVote,
  verifySingle,
  verifyVoteBatch,
  voteMessage,
} from '../src/crypto/bls/index';
import { decodeCertificate, encodeCertificate, signersBitfield, verifyCertificate } from '../src/protocol/certificate/index';
import { buildTopStakeCommittee, type PoolInput } from '../src/protocol/committee/index';
import type { PoolId } from '../src/types/index';

const N_C = 900;
const SIGNING = 675; // 75%
const CERT_BUDGET_MS = 100;

const round = (x: number, d = 3): number => Number(x.toFixed(d));

/** Mean ms per call of `f` over `n` calls after one warm-up call. */
function timeMs(f: (i: number) => unknown, n: number): number {
  f(-1);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) f(i);
  return (performance.now() - t0) / n;
}

function seed(tag: number, i: number): Uint8Array {
  const s = new Uint8Array(32);
  s[0] = tag;
  s[1] = i >> 8;
  s[2] = i & 0xff;
  return s;
}

function rbHash(i: number): Uint8Array {
  const h = new Uint8Array(32).fill(0x3c);
  h[0] = i >> 8;
  h[1] = i & 0xff;
  return h;
}

export async function benchCrypto(): Promise<Record<string, unknown>> {
  // ---- setup (untimed) -----------------------------------------------------------------------
  const keys: BlsKeyPair[] = Array.from({ length: N_C }, (_, i) => blsKeyGen(seed(0xbe, i)));
  const pops = keys.map((k) => popProve(k.secretKey));
  const pools: PoolInput[] = keys.map((k, i) => {
    const id = new Uint8Array(28);
    id[0] = i >> 8;
    id[1] = i & 0xff;
    return {
      poolId: id as PoolId,
      coldVk: new Uint8Array(32),
      stake: BigInt(1_000_000 + i),
      vrfKey: { vk: k.publicKey, pop: pops[i]! },
      voteKey: { vk: k.publicKey, pop: pops[i]! },
    };
  });
  const msg0 = voteMessage(rbHash(0));
  const voteSigs = keys.map((k) => blsSign(k.secretKey, msg0));
  const pkPoints = keys.map((k) => k.publicPoint);
  const results: Record<string, unknown> = {};

  // ---- one vote ------------------------------------------------------------------------------
  {
    hashToG1(msg0); // the vote message of an RB is hashed once and cached, as in the node
    const n = 20;
    const ours = timeMs((i) => {
      const j = (i + N_C) % N_C;
      if (!verifySingle(pkPoints[j]!, msg0, decodeSignature(voteSigs[j]!))) throw new Error('bench: bad vote');
    }, n);
    const nobleHm = bls12_381.G1.hashToCurve(msg0, { DST: 'BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_POP_' });
    const noble = timeMs((i) => {
      const j = (i + N_C) % N_C;
      if (!bls12_381.shortSignatures.verify(voteSigs[j]!, nobleHm, pkPoints[j]!)) throw new Error('bench: bad vote');
    }, n);
    results.blsVerifyVote = {
      what: 'one vote: decode the 48-byte signature + one pairing check (key decoded, message hash cached)',
      msPerOp: round(ours),
      baseline: { what: '@noble/curves shortSignatures.verify from signature bytes, same inputs', msPerOp: round(noble) },
      ratioToBaseline: round(ours / noble),
    };
  }

  // ---- 900 votes on one RB, from bytes -------------------------------------------------------
  {
    const runs = 3;
    let decodeMs = 0;
    let checkMs = 0;
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now();
      const votes: SignedVote[] = voteSigs.map((s, i) => ({ pk: pkPoints[i]!, sig: decodeSignature(s) }));
      const t1 = performance.now();
      const res = verifyVoteBatch(msg0, votes);
      const t2 = performance.now();
      if (!res.allValid || res.pairings !== 1) throw new Error('bench: batch should pass with one pairing');
      decodeMs += t1 - t0;
      checkMs += t2 - t1;
    }
    const batchMs = (decodeMs + checkMs) / runs;
    const sample = 30;
    const oneByOne = timeMs((i) => {
      const j = (i + 7 * sample) % N_C;
      if (!verifySingle(pkPoints[j]!, msg0, decodeSignature(voteSigs[j]!))) throw new Error('bench: bad vote');
    }, sample);
    results.fastAggregateVerify900 = {
      what: '900 votes for one RB: decode 900 signatures from bytes + ONE pairing check (§2.3)',
      ms: round(batchMs, 1),
      decodeMs: round(decodeMs / runs, 1),
      pairingCheckMs: round(checkMs / runs, 1),
      baseline: {
        what: `one-by-one verify (decode + pairing), ${sample} measured, extrapolated to 900`,
        ms: round(oneByOne * N_C, 1),
      },
      speedup: round((oneByOne * N_C) / batchMs, 1),
    };

    // bisection: one bad vote among 900
    const bad = 451;
    const votes: SignedVote[] = voteSigs.map((s, i) => ({ pk: pkPoints[i]!, sig: decodeSignature(s) }));
    votes[bad] = { pk: pkPoints[bad]!, sig: decodeSignature(blsSign(keys[bad]!.secretKey, voteMessage(rbHash(1)))) };
    const t0 = performance.now();
    const res = verifyVoteBatch(msg0, votes);
    const ms = performance.now() - t0;
    if (res.invalid.length !== 1 || res.invalid[0] !== bad) throw new Error('bench: bisection missed the bad vote');
    results.bisect900OneBad = {
      what: '900 decoded votes, one bad: single check fails, bisection isolates it',
      ms: round(ms, 1),
      pairings: res.pairings,
      baseline: { what: '900 one-by-one pairing checks (extrapolated from the sample above)', ms: round(oneByOne * N_C, 1) },
      speedup: round((oneByOne * N_C) / ms, 1),
    };
  }

  // ---- committee build: 900 PoPs ---------------------------------------------------------------
  const quorum = { num: 3n, den: 4n };
  const t0 = performance.now();
  const committee = buildTopStakeCommittee(pools, { committeeSize: N_C, quorum });
  const buildMs = performance.now() - t0;
  if (committee.seats.some((s) => s.keyless !== null)) throw new Error('bench: unexpected keyless seat');
  {
    const sample = 30;
    const one = timeMs((i) => {
      const j = (i + 100) % N_C;
      if (!popVerify(keys[j]!.publicKey, pops[j]!)) throw new Error('bench: bad pop');
    }, sample);
    results.committeeBuild900 = {
      what: 'top-stake committee of 900: decode 900 keys and PoPs, one random-scalar PoP batch',
      ms: round(buildMs, 1),
      baseline: { what: `one-by-one popVerify from bytes, ${sample} measured, extrapolated to 900`, ms: round(one * N_C, 1) },
      speedup: round((one * N_C) / buildMs, 2),
    };
  }

  // ---- certificate verify: N_c = 900, 75% signing -----------------------------------------------
  {
    // seats 0..674 sign. The aggregate equals (Σ sk_i)·H(m), so certificates over many distinct RB
    // hashes (a cold hash-to-curve each, as for a CertRB whose votes this node never saw) are cheap
    // to make.
    const seats = Array.from({ length: SIGNING }, (_, i) => i);
    const keyOfSeat: number[] = [];
    pools.forEach((p, i) => {
      const seat = committee.seatOfPool(p.poolId);
      if (seat !== undefined) keyOfSeat[seat] = i;
    });
    const signerKeys = seats.map((s) => keyOfSeat[s]!);
    let skSum = 0n;
    for (const k of signerKeys) {
      let x = 0n;
      for (const b of keys[k]!.secretKey) x = (x << 8n) | BigInt(b);
      skSum = (skSum + x) % BLS_R;
    }
    const signers = signersBitfield(seats, committee.size);
    // noble's hasher directly, so the verifier's hash cache stays cold for these messages
    const fresh = Array.from({ length: 12 }, (_, i) => {
      const h = rbHash(1000 + i);
      const sig = bls12_381.G1.hashToCurve(voteMessage(h), { DST: 'BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_POP_' });
      return { h, bytes: encodeCertificate(signers, encodeSignature(sig.multiply(skSum))) };
    });
    const before = blsStats().pairings;
    const msPer = timeMs((i) => {
      const c = fresh[i + 1]!;
      const v = verifyCertificate(decodeCertificate(c.bytes), committee, c.h);
      if (v.seats.length !== SIGNING) throw new Error('bench: wrong signer count');
    }, fresh.length - 1);
    const pairings = blsStats().pairings - before;
    // baseline: the same check without the committee's cached keys (decode each signer key)
    const keyBytes = seats.map((s) => committee.seat(s)!.voteKeyBytes!);
    const c0 = fresh[0]!;
    const tb = performance.now();
    let agg = decodePublicKey(keyBytes[0]!);
    for (let k = 1; k < keyBytes.length; k++) agg = agg.add(decodePublicKey(keyBytes[k]!));
    const ok = verifySingle(agg, voteMessage(c0.h), decodeSignature(decodeCertificate(c0.bytes).signature));
    const baselineMs = performance.now() - tb;
    if (!ok) throw new Error('bench: baseline certificate check failed');
    // the aggregate key alone, both ways on the same seats: 674 additions of the signers' cached
    // keys, or the committee's total (summed once, before timing) minus the 225 non-signers
    // (interleaved rounds, medians: a busy neighbour slows both alike)
    committee.aggregateKey(seats);
    const naive: number[] = [];
    const viaTotal: number[] = [];
    for (let r = 0; r < 15; r++) {
      naive.push(
        timeMs(() => {
          let a = committee.seat(seats[0]!)!.voteKey!;
          for (let k = 1; k < seats.length; k++) a = a.add(committee.seat(seats[k]!)!.voteKey!);
        }, 1),
      );
      viaTotal.push(timeMs(() => committee.aggregateKey(seats), 1));
    }
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
    const naiveSumMs = med(naive);
    const aggregateKeyMs = med(viaTotal);
    results.certificateVerify900 = {
      what: 'verifyCertificate, N_c = 900, 675 signers: decode cert + sig, aggregate key (committee total minus 225 non-signers), cold hash-to-G1, one pairing',
      aggregateKey: { ms: round(aggregateKeyMs, 2), naiveSumOfSignersMs: round(naiveSumMs, 2), speedup: round(naiveSumMs / aggregateKeyMs, 2) },
      msPerOp: round(msPer, 1),
      pairingsPerOp: round(pairings / fresh.length, 2), // timed calls plus the warm-up call
      budgetMs: CERT_BUDGET_MS,
      underBudget: msPer < CERT_BUDGET_MS,
      baseline: { what: 'same check decoding the 675 signer keys from bytes (no key cache)', ms: round(baselineMs, 1) },
      speedup: round(baselineMs / msPer, 1),
    };
  }

  // ---- Blake2b-256 on 1 MiB --------------------------------------------------------------------
  {
    const mib = new Uint8Array(1 << 20);
    for (let i = 0; i < mib.length; i++) mib[i] = (i * 2654435761) >>> 24;
    const n = 20;
    const active = timeMs(() => blake2b256(mib), n);
    const noble = timeMs(() => blake2b(mib, { dkLen: 32 }), n);
    const mbps = (ms: number) => round(1 / (ms / 1000), 1);
    results.blake2b256_1MiB = {
      what: 'Blake2b-256 of 1 MiB inputs (MiB/s)',
      backend: blake2bBackend().name,
      mibPerS: mbps(active),
      baseline: { what: '@noble/hashes blake2b directly', mibPerS: mbps(noble) },
      ratioToBaseline: round(noble / active, 2),
    };
  }

  return results;
}
