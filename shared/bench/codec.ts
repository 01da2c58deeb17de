/**
 * Codec benchmarks: the specialised EB decoder (PROTOCOL.md §4.3) against a general-purpose CBOR
 * decoder (cbor-x) on the same bytes in the same run, plus RB header / block and vote decoding.
 *
 * The EB of 16,000 references (~592 KB with 3-byte size heads) is larger than S_EB (512,000 B), so
 * our decoder runs with `maxEbSize` raised to 1 MB for that case; the largest EB that fits the
 * §15 caps (13,800 references of tx sizes ≥ 256 B) is measured too with the real caps.
 * `ours` is the full strict decode (canonical checks, duplicate detection, size rules, views);
 * the EB hash is lazy and measured separately (`hash_ms`), since cbor-x computes none.
 *
 * cbor-x's default `decode` throws on byte-string map keys ("Invalid property name type object"),
 * so the comparison uses a cbor-x `Decoder` with `mapsAsObjects: false`, which returns a `Map`.
 */
import { Decoder } from 'cbor-x';
import { blake2b256 } from '../src/crypto/blake2b';
import { CborReader, CborWriter } from '../src/cbor/index';
import { DEFAULT_EB_LIMITS, decodeEb, encodeEb } from '../src/protocol/eb/index';
import { buildRb, decodeRbBlock } from '../src/protocol/rb/index';
import { encodeVote, readVote } from '../src/protocol/vote/index';

/** Deterministic pseudo-random bytes (xorshift32) so every run measures the same inputs. */
function prng(seed: number): (n: number) => Uint8Array {
  let x = seed >>> 0 || 1;
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      out[i] = x & 0xff;
    }
    return out;
  };
}

function makeEb(count: number, seed: number, limits = DEFAULT_EB_LIMITS): Uint8Array {
  const rnd = prng(seed);
  const refs = [];
  for (let i = 0; i < count; i++) {
    const s = rnd(2);
    // sizes 256..1279: 3-byte heads, 37 bytes per entry; Σ ≈ 12.3 M for 16,000 refs
    refs.push({ hash: rnd(32), size: 256 + (((s[0]! << 8) | s[1]!) % 1024) });
  }
  return encodeEb(refs, limits);
}

/** ms per op of `fn`, median of `rounds` rounds, each long enough to time (≥ 50 ms). */
function timeIt(fn: () => unknown, rounds = 7): number {
  for (let i = 0; i < 20; i++) fn();
  let reps = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) fn();
    if (performance.now() - t0 >= 50) break;
    reps *= 2;
  }
  const per: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) fn();
    per.push((performance.now() - t0) / reps);
  }
  per.sort((a, b) => a - b);
  return per[Math.floor(per.length / 2)]!;
}

const round = (x: number, d = 4) => Number(x.toFixed(d));

const cborx = new Decoder({ mapsAsObjects: false });

function ebCase(count: number, limits: typeof DEFAULT_EB_LIMITS): Record<string, unknown> {
  const bytes = makeEb(count, 0x1e105 + count, limits);
  // sanity: both decoders accept the input and see every entry
  if (decodeEb(bytes, limits).count !== count) throw new Error('bench: decodeEb count mismatch');
  if ((cborx.decode(bytes) as Map<unknown, unknown>).size !== count) throw new Error('bench: cbor-x count mismatch');
  const ours = timeIt(() => decodeEb(bytes, limits));
  const cborxMs = timeIt(() => cborx.decode(bytes));
  const hash = timeIt(() => blake2b256(bytes));
  return {
    refs: count,
    bytes: bytes.length,
    caps: limits === DEFAULT_EB_LIMITS ? '§15 (S_EB 512,000, S_EB_tx 12,000,000)' : `maxEbSize ${limits.maxEbSize}, maxEbTxBytes ${limits.maxEbTxBytes}`,
    ours_ms: round(ours),
    cborx_ms: round(cborxMs),
    ratio_ours_over_cborx: round(ours / cborxMs, 3),
    hash_ms: round(hash),
  };
}

/** A TxRB filling S_RB with 400-byte opaque txs (decoded with its header, body and tx spans). */
function rbCase(): Record<string, unknown> {
  const rnd = prng(0xb10c);
  const txs: Uint8Array[] = [];
  for (let i = 0; i < 220; i++) txs.push(new CborWriter(420).bytes(rnd(397)).finish());
  const rb = buildRb(
    { blockNumber: 10, slot: 5000, prevHash: rnd(32), vrfOutput: rnd(32), vrfProof: rnd(48), ebAnnouncement: { ebHash: rnd(32), ebSize: 500_000 }, txs, certificate: null },
    rnd(32),
  );
  const bytes = rb.bytes;
  // the header hash is part of decoding (eager); the body hash is lazy and not taken here
  const ours = timeIt(() => decodeRbBlock(bytes));
  const cborxMs = timeIt(() => cborx.decode(bytes));
  return { txs: txs.length, bytes: bytes.length, ours_ms: round(ours), cborx_ms: round(cborxMs), ratio_ours_over_cborx: round(ours / cborxMs, 3) };
}

/** A LeiosNotify Votes payload of 1,024 votes (§10.1), each kept as its byte span. */
function votesCase(): Record<string, unknown> {
  const rnd = prng(0x70735);
  const rbHash = rnd(32);
  const w = new CborWriter(1024 * 90).array(1024);
  for (let i = 0; i < 1024; i++) w.raw(encodeVote({ rbHash, voterId: i, signature: rnd(48) }));
  const bytes = w.finish();
  const decodeAll = () => {
    const r = new CborReader(bytes);
    const n = r.readArray('votes', { min: 1, max: 1024 });
    const out = new Array(n);
    for (let i = 0; i < n; i++) out[i] = readVote(r, 'votes[]');
    r.done('votes');
    return out;
  };
  const ours = timeIt(decodeAll);
  const cborxMs = timeIt(() => cborx.decode(bytes));
  return { votes: 1024, bytes: bytes.length, ours_ms: round(ours), cborx_ms: round(cborxMs), ratio_ours_over_cborx: round(ours / cborxMs, 3) };
}

export async function benchCodec(): Promise<Record<string, unknown>> {
  const raised = { ...DEFAULT_EB_LIMITS, maxEbSize: 1_000_000, maxEbTxBytes: 1_000_000_000 };
  return {
    eb_decode_16000: ebCase(16_000, raised),
    eb_decode_max_under_S_EB: ebCase(Math.floor((DEFAULT_EB_LIMITS.maxEbSize - 3) / 37), DEFAULT_EB_LIMITS),
    rb_block_decode: rbCase(),
    votes_1024_decode: votesCase(),
  };
}
