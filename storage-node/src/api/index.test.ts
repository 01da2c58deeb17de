import {
  blake2b256,
  bytesEqual,
  CborReader,
  CborWriter,
  type Hash32,
  toHex,
} from '@leios/shared';
import { METRIC_NAMES, parseTraceLine } from '@leios/shared/obs';
import fc from 'fast-check';
import type { Hono } from 'hono';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { NodeMetrics, TraceWriter } from '../obs/index';
import {
  createApiApp,
  type EbTxsResult,
  type NodeApiBackend,
  type NodeStatus,
  problemRule,
  StatusSeries,
  type SubmitTxResult,
  type SubmitVotesResult,
  serveApi,
  type TipInfo,
  type TxSelection,
} from './index';

// ---------------------------------------------------------------------------------------------
// Fixture: an in-memory node holding real bytes (EB CBOR, txs, blocks), hashed with Blake2b-256.
// ---------------------------------------------------------------------------------------------

const MIN_FEE_A = 155_381n;
const MIN_FEE_B = 44n;
const MAX_TX_SIZE = 16_384;
const MAX_REPLY_BYTES = 4 * 2 ** 20;

interface TxSpec {
  inputs: Array<[Uint8Array, number]>;
  outputs: Array<[Uint8Array, bigint]>;
  fee: bigint;
  ttl: number;
  /** Extra witness padding to reach a target size. */
  pad?: number;
}

/** `tx = [body, witnesses]` (§5.1) built with the CBOR writer; returns the tx bytes and body bytes. */
function buildTx(spec: TxSpec): { tx: Uint8Array; body: Uint8Array } {
  const b = new CborWriter();
  b.array(4).array(spec.inputs.length);
  for (const [id, ix] of spec.inputs) b.array(2).bytes(id).uint(ix);
  b.array(spec.outputs.length);
  for (const [addr, amount] of spec.outputs) b.array(2).bytes(addr).uint(amount);
  b.uint(spec.fee).uint(spec.ttl);
  const body = b.finish();
  const w = new CborWriter();
  const pad = spec.pad ?? 0;
  w.array(2).raw(body).array(1).array(2).bytes(new Uint8Array(32).fill(7)).bytes(new Uint8Array(64 + pad).fill(9));
  return { tx: w.finish(), body };
}

/** A tx paying exactly the minimum fee for its own size (fee is part of the size: iterate). */
function paidTx(seed: number, pad = 0): { tx: Uint8Array; body: Uint8Array; input: [Uint8Array, number] } {
  const input: [Uint8Array, number] = [blake2b256(new Uint8Array([seed & 0xff, seed >> 8, 1])), seed % 3];
  let fee = 0n;
  for (;;) {
    const built = buildTx({ inputs: [input], outputs: [[new Uint8Array(28).fill(seed & 0xff), 1_000_000n]], fee, ttl: 10_000, pad });
    const need = MIN_FEE_A + MIN_FEE_B * BigInt(built.tx.length);
    if (fee >= need) return { ...built, input };
    fee = need;
  }
}

/** EB bytes `{ + hash32 => size }` in insertion order (§4.3). */
function buildEb(txs: readonly Uint8Array[]): Uint8Array {
  const w = new CborWriter();
  w.map(txs.length);
  for (const tx of txs) w.bytes(blake2b256(tx)).uint(tx.length);
  return w.finish();
}

/** `vote = [rb_hash, voter_id, signature]` (§6.2). */
function buildVote(rb: Uint8Array, seat: number): Uint8Array {
  return new CborWriter().array(3).bytes(rb).uint(seat).bytes(new Uint8Array(48).fill(seat & 0xff)).finish();
}

function votesBody(votes: readonly Uint8Array[]): Uint8Array {
  const w = new CborWriter();
  w.array(votes.length);
  for (const v of votes) w.raw(v);
  return w.finish();
}

const key = (u: Uint8Array): string => toHex(u);

class MemoryNode implements NodeApiBackend {
  readonly ebs = new Map<string, { bytes: Uint8Array; refs: Array<{ hash: Uint8Array; size: number }> }>();
  readonly txs = new Map<string, Uint8Array>();
  readonly rbs = new Map<string, Uint8Array>();
  /** RB hash → announces an EB? */
  readonly rbAnnounces = new Map<string, boolean>();
  readonly pools = new Map<number, Uint8Array>();
  readonly utxo = new Set<string>();
  readonly mempool = new Map<string, { txId: Hash32; txHash: Hash32; size: number }>();
  readonly votes = new Set<string>();
  readonly buffered: Uint8Array[] = [];
  mempoolCapacity = 1_000_000;
  committeeSize = 64;
  voteBufferCap = 4;
  wallEpoch = 3;
  tipInfo: TipInfo = { slot: null, blockNumber: 0, hash: null, epoch: 0 };
  readonly series = new StatusSeries({ bucketS: 5, windowS: 60 });

  /** Store an EB and (optionally) its txs; returns the EB hash. */
  addEb(txs: readonly Uint8Array[], holdTxs = true): Hash32 {
    const bytes = buildEb(txs);
    const hash = blake2b256(bytes);
    this.ebs.set(key(hash), { bytes, refs: txs.map((t) => ({ hash: blake2b256(t), size: t.length })) });
    if (holdTxs) for (const t of txs) this.txs.set(key(blake2b256(t)), t);
    return hash;
  }

  /** Store an `rb_block = [header, body]` (header stand-in bytes; the API only serves them). */
  addRb(slot: number, announcesEb: boolean): Hash32 {
    const header = new CborWriter().array(2).uint(slot).bool(announcesEb).finish();
    const hash = blake2b256(header);
    const block = new CborWriter().array(2).raw(header).array(2).array(0).null().finish();
    this.rbs.set(key(hash), block);
    this.rbAnnounces.set(key(hash), announcesEb);
    return hash;
  }

  async getEbBytes(hash: Hash32): Promise<Uint8Array | null> {
    return this.ebs.get(key(hash))?.bytes ?? null;
  }

  async getEbTxs(hash: Hash32, sel: TxSelection): Promise<EbTxsResult> {
    const eb = this.ebs.get(key(hash));
    if (eb === undefined) return { ok: false, kind: 'not-found', detail: 'unknown EB' };
    let bytes = 0;
    for (const i of sel.indices) {
      const ref = eb.refs[i];
      if (ref === undefined) return { ok: false, kind: 'bad-bitmap', detail: `index ${i} beyond the EB's ${eb.refs.length} entries` };
      bytes += ref.size;
    }
    if (bytes > MAX_REPLY_BYTES) return { ok: false, kind: 'bad-bitmap', detail: 'selection above MAX_REPLY_BYTES' };
    const out: Uint8Array[] = [];
    for (const i of sel.indices) {
      const tx = this.txs.get(key(eb.refs[i]!.hash));
      if (tx === undefined) return { ok: false, kind: 'txs-unavailable', detail: `tx ${i} not held` };
      out.push(tx);
    }
    return { ok: true, txs: out };
  }

  async getRbBlock(hash: Hash32): Promise<Uint8Array | null> {
    return this.rbs.get(key(hash)) ?? null;
  }

  async tip(): Promise<TipInfo> {
    return this.tipInfo;
  }

  async epochPools(e: number): Promise<Uint8Array | null> {
    return this.pools.get(e) ?? null;
  }

  currentEpoch(): number {
    return this.wallEpoch;
  }

  /** A small utxo-mode admission: shape, size, inputs, fee (the rules the route tests exercise). */
  async submitTx(tx: Uint8Array): Promise<SubmitTxResult> {
    let body: Uint8Array;
    let inputs: string[];
    let fee: bigint;
    try {
      const r = new CborReader(tx);
      r.readArray('tx', { len: 2 });
      body = r.readRaw('tx.body');
      r.skip('tx.witnesses');
      r.done('tx');
      const b = new CborReader(body);
      b.readArray('body', { len: 4 });
      const n = b.readArray('body.inputs', { min: 1 });
      inputs = [];
      for (let i = 0; i < n; i++) {
        b.readArray('input', { len: 2 });
        inputs.push(`${toHex(b.readBytes('input.txid', { len: 32 }))}#${b.readUint('input.index')}`);
      }
      b.skip('body.outputs');
      fee = b.readUint64('body.fee');
    } catch (e) {
      return { ok: false, kind: 'malformed-cbor', detail: e instanceof Error ? e.message : String(e) };
    }
    const txHash = blake2b256(tx);
    const txId = blake2b256(body);
    if (this.mempool.has(key(txHash))) return { ok: true, txId, txHash };
    if (tx.length > MAX_TX_SIZE) return { ok: false, kind: 'tx-invalid', rule: 'tx-too-large', detail: `${tx.length} B` };
    for (const i of inputs) if (!this.utxo.has(i)) return { ok: false, kind: 'tx-invalid', rule: 'input-missing', detail: i };
    const need = MIN_FEE_A + MIN_FEE_B * BigInt(tx.length);
    if (fee < need) return { ok: false, kind: 'tx-invalid', rule: 'fee-too-small', detail: `fee ${fee} < ${need}` };
    const used = [...this.mempool.values()].reduce((a, m) => a + m.size, 0);
    if (used + tx.length > this.mempoolCapacity) return { ok: false, kind: 'mempool-full', retryAfterS: 2, detail: 'mempool full' };
    this.mempool.set(key(txHash), { txId, txHash, size: tx.length });
    return { ok: true, txId, txHash };
  }

  async submitVotes(votes: readonly Uint8Array[]): Promise<SubmitVotesResult> {
    const out: SubmitVotesResult = { accepted: 0, duplicates: 0, buffered: 0, rejected: [] };
    votes.forEach((v, index) => {
      const r = new CborReader(v);
      r.readArray('vote', { len: 3 });
      const rb = toHex(r.readBytes('rb', { len: 32 }));
      const seat = r.readUint('seat');
      const announces = this.rbAnnounces.get(rb);
      if (announces === undefined) {
        if (this.buffered.length < this.voteBufferCap) {
          this.buffered.push(v);
          out.buffered++;
        } else out.rejected.push({ index, type: 'unknown-rb' });
      } else if (!announces) out.rejected.push({ index, type: 'no-eb' });
      else if (seat >= this.committeeSize) out.rejected.push({ index, type: 'unknown-seat' });
      else if (this.votes.has(`${rb}:${seat}`)) out.duplicates++;
      else {
        this.votes.add(`${rb}:${seat}`);
        out.accepted++;
      }
    });
    return out;
  }

  async status(): Promise<NodeStatus> {
    const [rbHex, eb] = [...this.ebs.entries()][0] ?? ['', undefined];
    return {
      node: 'mem-0',
      slot: 42,
      timeS: 42.5,
      slotLengthMs: 1000,
      tip: { slot: this.tipInfo.slot, blockNumber: this.tipInfo.blockNumber, hash: this.tipInfo.hash && toHex(this.tipInfo.hash), epoch: 0 },
      quorum: 0.75,
      quorumFraction: '3/4',
      mempool: { txs: this.mempool.size, bytes: [...this.mempool.values()].reduce((a, m) => a + m.size, 0) },
      recentRbs:
        eb === undefined
          ? []
          : [
              {
                hash: rbHex,
                slot: 40,
                blockNumber: 7,
                sizeBytes: 1200,
                txCount: 3,
                certifies: null,
                eb: {
                  hash: rbHex,
                  sizeBytes: eb.bytes.length,
                  txCount: eb.refs.length,
                  txBytes: eb.refs.reduce((a, r) => a + r.size, 0),
                  state: 'certified',
                  voteSeats: 50,
                  voteWeight: 0.8,
                  certifiedBy: 'ee'.repeat(32),
                  closureLatencyS: 0.4,
                },
              },
            ],
      openEbs: [],
      certifiedEbCount: this.series.certifiedCount,
      certifiedThroughput: this.series.throughput(42.5),
      ebDiffusionLatency: this.series.latency(),
    };
  }
}

// ---------------------------------------------------------------------------------------------

interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  [k: string]: unknown;
}

async function expectProblem(res: Response, status: number, kind: string): Promise<Problem> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  expect(res.headers.get('cache-control')).toBe('no-store');
  const p = JSON.parse(text) as Problem;
  expect(p.type).toBe(`urn:leios:problem:${kind}`);
  expect(p.status).toBe(status);
  expect(typeof p.title).toBe('string');
  expect(typeof p.detail).toBe('string');
  return p;
}

const CBOR = { 'content-type': 'application/cbor' };

async function post(app: Hono, path: string, body: Uint8Array | string, headers: Record<string, string> = CBOR): Promise<Response> {
  return await app.request(path, { method: 'POST', body, headers });
}

/** A request body streamed in chunks with no Content-Length (chunked upload). */
function streamed(total: number, chunk = 4096): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(ctl) {
      if (sent >= total) return ctl.close();
      const n = Math.min(chunk, total - sent);
      sent += n;
      ctl.enqueue(new Uint8Array(n).fill(0xa0));
    },
  });
}

function bitmapBytes(entries: Array<[number, bigint]>, indefinite = false): Uint8Array {
  const w = new CborWriter();
  if (indefinite) w.indefiniteMap();
  else w.map(entries.length);
  for (const [k, v] of entries) w.uint(k).uint(v);
  if (indefinite) w.end();
  return w.finish();
}

function decodeTxArray(bytes: Uint8Array): Uint8Array[] {
  const r = new CborReader(bytes);
  const n = r.readArray('txs');
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) out.push(r.readRaw(`txs[${i}]`));
  r.done('txs');
  return out;
}

let node: MemoryNode;
let metrics: NodeMetrics;
let trace: TraceWriter;
let app: Hono;
let txs: Uint8Array[];
let ebHash: Hash32;
let rbHash: Hash32;

beforeEach(() => {
  node = new MemoryNode();
  metrics = new NodeMetrics();
  trace = TraceWriter.memory({ systemStartMs: 0 });
  app = createApiApp({ backend: node, metrics, trace, events: { keepAliveMs: 50 } });
  txs = Array.from({ length: 130 }, (_, i) => paidTx(i).tx);
  ebHash = node.addEb(txs);
  rbHash = node.addRb(10, true);
});

describe('GET /v1/eb/{hash}', () => {
  it('serves the stored EB bytes, whose Blake2b-256 is the hash, as immutable CBOR (§16 check 34)', async () => {
    const res = await app.request(`/v1/eb/${toHex(ebHash)}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/cbor');
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(res.headers.get('etag')).toBe(`"${toHex(ebHash)}"`);
    const body = new Uint8Array(await res.arrayBuffer());
    expect(bytesEqual(body, node.ebs.get(toHex(ebHash))!.bytes)).toBe(true);
    expect(toHex(blake2b256(body))).toBe(toHex(ebHash));
  });

  it('answers HEAD with headers only and a matching If-None-Match with 304', async () => {
    const head = await app.request(`/v1/eb/${toHex(ebHash)}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('etag')).toBe(`"${toHex(ebHash)}"`);
    expect((await head.arrayBuffer()).byteLength).toBe(0);
    const cond = await app.request(`/v1/eb/${toHex(ebHash)}`, { headers: { 'if-none-match': `"x", "${toHex(ebHash)}"` } });
    expect(cond.status).toBe(304);
    expect(cond.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const miss = await app.request(`/v1/eb/${toHex(ebHash)}`, { headers: { 'if-none-match': '"other"' } });
    expect(miss.status).toBe(200);
  });

  it('gives 404 not-found for an unknown hash (§16 check 34)', async () => {
    const p = await expectProblem(await app.request(`/v1/eb/${'00'.repeat(32)}`), 404, 'not-found');
    expect(p.title).toBe('Not found');
    expect(p.instance).toBe(`/v1/eb/${'00'.repeat(32)}`);
  });

  it('gives 400 bad-hash for anything but 64 lowercase hex characters', async () => {
    for (const h of [toHex(ebHash).toUpperCase(), toHex(ebHash).slice(2), `${toHex(ebHash)}00`, 'zz'.repeat(32)]) {
      await expectProblem(await app.request(`/v1/eb/${h}`), 400, 'bad-hash');
    }
  });

  it('gives 405 with Allow for other methods, before any other check', async () => {
    const res = await app.request('/v1/eb/not-a-hash', { method: 'DELETE' });
    const p = await expectProblem(res, 405, 'method-not-allowed');
    expect(res.headers.get('allow')).toBe('GET, HEAD');
    expect(p.allow).toEqual(['GET', 'HEAD']);
    // POST with an unsupported media type: 405 still outranks 415
    await expectProblem(await post(app, `/v1/eb/${toHex(ebHash)}`, 'x', { 'content-type': 'text/plain' }), 405, 'method-not-allowed');
  });
});

describe('POST /v1/eb/{hash}/txs', () => {
  const path = (): string => `/v1/eb/${toHex(ebHash)}/txs`;

  it('returns tx 0 for {0: 0x8000000000000000} and tx 127 for {1: 1} (§16 check 32)', async () => {
    const r0 = await post(app, path(), bitmapBytes([[0, 0x8000000000000000n]]));
    expect(r0.status).toBe(200);
    expect(r0.headers.get('content-type')).toBe('application/cbor');
    const got0 = decodeTxArray(new Uint8Array(await r0.arrayBuffer()));
    expect(got0).toHaveLength(1);
    expect(bytesEqual(got0[0]!, txs[0]!)).toBe(true);
    const r127 = await post(app, path(), bitmapBytes([[1, 1n]], true));
    const got127 = decodeTxArray(new Uint8Array(await r127.arrayBuffer()));
    expect(got127.map((t) => toHex(blake2b256(t)))).toEqual([toHex(blake2b256(txs[127]!))]);
  });

  it('returns any selection as the exact stored txs in ascending index order (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.integer({ min: 0, max: 129 }), { minLength: 1, maxLength: 40 }), fc.boolean(), async (sel, indef) => {
        const words = new Map<number, bigint>();
        for (const i of sel) words.set(i >> 6, (words.get(i >> 6) ?? 0n) | (1n << BigInt(63 - (i & 63))));
        const entries = [...words.entries()].sort((a, b) => a[0] - b[0]);
        const res = await post(app, path(), bitmapBytes(entries, indef));
        expect(res.status).toBe(200);
        const got = decodeTxArray(new Uint8Array(await res.arrayBuffer()));
        const want = [...sel].sort((a, b) => a - b).map((i) => txs[i]!);
        expect(got.length).toBe(want.length);
        got.forEach((t, k) => {
          expect(bytesEqual(t, want[k]!)).toBe(true);
        });
      }),
      { numRuns: 40 },
    );
  });

  it('refuses bitmaps breaking §10.3 with 400 bad-bitmap, and non-CBOR with 400 malformed-cbor', async () => {
    const bad: Array<[Uint8Array, string]> = [
      [bitmapBytes([[1, 1n], [0, 1n]]), 'bad-bitmap'], // descending keys
      [bitmapBytes([[0, 1n], [0, 2n]]), 'bad-bitmap'], // repeated key
      [bitmapBytes([[0, 0n]]), 'bad-bitmap'], // zero value
      [bitmapBytes([]), 'bad-bitmap'], // empty
      [bitmapBytes([], true), 'bad-bitmap'], // empty indefinite
      [bitmapBytes(Array.from({ length: 1025 }, (_, i): [number, bigint] => [i, 1n])), 'bad-bitmap'], // 1,025 entries (§16 check 31)
      [bitmapBytes(Array.from({ length: 1025 }, (_, i): [number, bigint] => [i, 1n]), true), 'bad-bitmap'],
      [bitmapBytes([[2, 0x8000000000000000n]]), 'bad-bitmap'], // index 128 < 130: fine … see below
      [bitmapBytes([[3, 1n]]), 'bad-bitmap'], // index 255 beyond the EB's 130 entries
      [new Uint8Array([0xa1, 0x00]), 'malformed-cbor'], // truncated
      [new Uint8Array([0xa1, 0x01, 0x01, 0x00]), 'malformed-cbor'], // trailing byte
      [new Uint8Array([0xa1, 0x18, 0x01, 0x01]), 'malformed-cbor'], // non-minimal key head
      [new Uint8Array([0x81, 0x01]), 'malformed-cbor'], // an array
      [bitmapBytes([[70_000, 1n]]), 'bad-bitmap'], // key above uint .size 2
      [Uint8Array.of(0xb9, 0x07, 0xd0, 0x00, 0x01), 'bad-bitmap'], // head claims 2,000 entries
      [bitmapBytes(Array.from({ length: 65 }, (_, i): [number, bigint] => [i, (1n << 64n) - 1n])), 'bad-bitmap'], // 4,160 txs > MAX_REPLY_TXS
      [new Uint8Array(0), 'malformed-cbor'], // empty body
    ];
    for (const [body, kind] of bad) {
      const res = await post(app, path(), body);
      if (body.length === 11 && body[1] === 0x02) {
        // {2: MSB} selects index 128, which the 130-entry EB has
        expect(res.status).toBe(200);
        continue;
      }
      await expectProblem(res, 400, kind);
    }
  });

  it('gives 404 not-found for an unknown EB and txs-unavailable for a tx not held', async () => {
    await expectProblem(await post(app, `/v1/eb/${'11'.repeat(32)}/txs`, bitmapBytes([[0, 1n]])), 404, 'not-found');
    const partial = node.addEb([paidTx(900).tx, paidTx(901).tx], false);
    const p = await expectProblem(await post(app, `/v1/eb/${toHex(partial)}/txs`, bitmapBytes([[0, 1n << 62n]])), 404, 'txs-unavailable');
    expect(p.detail).toMatch(/not held/);
  });

  it('enforces 415 then 413 (16,384 B, also while streaming) then 400 then 404', async () => {
    await expectProblem(await post(app, path(), bitmapBytes([[0, 1n]]), { 'content-type': 'application/json' }), 415, 'unsupported-media-type');
    await expectProblem(await post(app, path(), bitmapBytes([[0, 1n]]), {}), 415, 'unsupported-media-type');
    const big = new Uint8Array(16_385).fill(0xa0);
    const p = await expectProblem(await post(app, path(), big), 413, 'too-large');
    expect(p.limit).toBe(16_384);
    // no Content-Length: the limit is enforced on the stream
    const res = await app.request(path(), { method: 'POST', body: streamed(100_000), headers: CBOR, duplex: 'half' } as RequestInit);
    await expectProblem(res, 413, 'too-large');
    // exactly at the limit is read (and then refused as CBOR, not as too large)
    await expectProblem(await post(app, path(), new Uint8Array(16_384).fill(0xff)), 400, 'malformed-cbor');
    // precedence: bad hash + bad media type → 415; bad hash + too large → 413; bad hash + good bitmap → 400
    const badHash = '/v1/eb/XYZ/txs';
    await expectProblem(await post(app, badHash, bitmapBytes([[0, 1n]]), { 'content-type': 'text/plain' }), 415, 'unsupported-media-type');
    await expectProblem(await post(app, badHash, big), 413, 'too-large');
    await expectProblem(await post(app, badHash, bitmapBytes([[0, 1n]])), 400, 'bad-hash');
    // unknown EB + malformed bitmap → 400 (400 outranks 404)
    await expectProblem(await post(app, `/v1/eb/${'11'.repeat(32)}/txs`, bitmapBytes([[0, 0n]])), 400, 'bad-bitmap');
    // GET on the txs route → 405
    const r405 = await app.request(path());
    await expectProblem(r405, 405, 'method-not-allowed');
    expect(r405.headers.get('allow')).toBe('POST');
  });
});

describe('GET /v1/rb/{hash}, /v1/tip, /v1/epoch/{e}/pools', () => {
  it('serves stored rb_block bytes as immutable CBOR', async () => {
    const res = await app.request(`/v1/rb/${toHex(rbHash)}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(res.headers.get('content-type')).toBe('application/cbor');
    const body = new Uint8Array(await res.arrayBuffer());
    expect(bytesEqual(body, node.rbs.get(toHex(rbHash))!)).toBe(true);
    const r = new CborReader(body);
    r.readArray('rb_block', { len: 2 });
    expect(toHex(blake2b256(r.readRaw('header')))).toBe(toHex(rbHash));
    await expectProblem(await app.request(`/v1/rb/${toHex(ebHash)}`), 404, 'not-found');
    await expectProblem(await app.request('/v1/rb/12'), 400, 'bad-hash');
  });

  it('reports the tip, and the empty chain as §12 states', async () => {
    let res = await app.request('/v1/tip');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('cache-control')).toBe('public, max-age=1');
    expect(await res.json()).toEqual({ slot: null, blockNumber: 0, hash: null, epoch: 0 });
    node.tipInfo = { slot: 1205, blockNumber: 61, hash: rbHash, epoch: 1 };
    res = await app.request('/v1/tip');
    expect(await res.json()).toEqual({ slot: 1205, blockNumber: 61, hash: toHex(rbHash), epoch: 1 });
    await expectProblem(await post(app, '/v1/tip', new Uint8Array([0])), 405, 'method-not-allowed');
  });

  it('serves epoch pools with the cache lifetime of §12', async () => {
    const pools = (e: number): Uint8Array => new CborWriter().array(3).uint(e).bytes(blake2b256(new Uint8Array([e]))).array(0).finish();
    for (const e of [2, 3, 4]) node.pools.set(e, pools(e));
    const past = await app.request('/v1/epoch/2/pools');
    expect(past.status).toBe(200);
    expect(past.headers.get('content-type')).toBe('application/cbor');
    expect(past.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(bytesEqual(new Uint8Array(await past.arrayBuffer()), pools(2))).toBe(true);
    expect((await app.request('/v1/epoch/3/pools')).headers.get('cache-control')).toBe('public, max-age=60');
    expect((await app.request('/v1/epoch/4/pools')).headers.get('cache-control')).toBe('public, max-age=60');
    await expectProblem(await app.request('/v1/epoch/5/pools'), 404, 'not-found');
    for (const e of ['01', 'x', '-1', '1e3', '9999999999999999']) await expectProblem(await app.request(`/v1/epoch/${e}/pools`), 400, 'bad-epoch');
  });
});

describe('POST /v1/tx', () => {
  it('admits a tx with 202 {txId, txHash}, idempotently', async () => {
    const { tx, body, input } = paidTx(1);
    node.utxo.add(`${toHex(input[0])}#${input[1]}`);
    for (let i = 0; i < 2; i++) {
      const res = await post(app, '/v1/tx', tx);
      expect(res.status).toBe(202);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(await res.json()).toEqual({ txId: toHex(blake2b256(body)), txHash: toHex(blake2b256(tx)) });
    }
    expect(node.mempool.size).toBe(1);
  });

  it('gives 422 tx-invalid with the rule (§16 check 35: fee-too-small)', async () => {
    const { input } = paidTx(2);
    node.utxo.add(`${toHex(input[0])}#${input[1]}`);
    const cheap = buildTx({ inputs: [input], outputs: [[new Uint8Array(28), 5n]], fee: 1000n, ttl: 99 }).tx;
    const p = await expectProblem(await post(app, '/v1/tx', cheap), 422, 'tx-invalid');
    expect(p.rule).toBe('fee-too-small');
    expect(p.title).toBe('Transaction invalid');
    const orphan = paidTx(3).tx;
    expect((await expectProblem(await post(app, '/v1/tx', orphan), 422, 'tx-invalid')).rule).toBe('input-missing');
  });

  it('gives 422 tx-too-large between MAX_TX_SIZE and the 65,536 B body limit, 413 above it', async () => {
    const { tx } = paidTx(4, 20_000);
    expect(tx.length).toBeGreaterThan(16_384);
    expect((await expectProblem(await post(app, '/v1/tx', tx), 422, 'tx-invalid')).rule).toBe('tx-too-large');
    const huge = paidTx(5, 70_000).tx;
    expect((await expectProblem(await post(app, '/v1/tx', huge), 413, 'too-large')).limit).toBe(65_536);
  });

  it('gives 400 for non-canonical or trailing bytes and for the wrong shape', async () => {
    const { tx } = paidTx(6);
    await expectProblem(await post(app, '/v1/tx', Uint8Array.of(...tx, 0)), 400, 'malformed-cbor');
    await expectProblem(await post(app, '/v1/tx', Uint8Array.of(0x98, 0x02, 0x01, 0x02)), 400, 'malformed-cbor');
    await expectProblem(await post(app, '/v1/tx', Uint8Array.of(0x01)), 400, 'malformed-cbor');
    await expectProblem(await post(app, '/v1/tx', tx, { 'content-type': 'application/octet-stream' }), 415, 'unsupported-media-type');
    await expectProblem(await app.request('/v1/tx'), 405, 'method-not-allowed');
  });

  it('gives 503 mempool-full with Retry-After', async () => {
    const { tx, input } = paidTx(7);
    node.utxo.add(`${toHex(input[0])}#${input[1]}`);
    node.mempoolCapacity = 10;
    const res = await post(app, '/v1/tx', tx);
    await expectProblem(res, 503, 'mempool-full');
    expect(res.headers.get('retry-after')).toBe('2');
  });

  it('maps finer ledger rules onto the §12 list, keeping the ledger name', () => {
    expect(problemRule('fee-too-small')).toBe('fee-too-small');
    expect(problemRule('duplicate-witness')).toBe('bad-signature');
    expect(problemRule('already-applied')).toBe('input-missing');
  });
});

describe('POST /v1/votes', () => {
  it('checks each vote and reports accepted, duplicates, buffered and rejected by index', async () => {
    const noEbRb = node.addRb(11, false);
    const unknown = blake2b256(new Uint8Array([1, 2, 3]));
    const votes = [
      buildVote(rbHash, 0),
      buildVote(rbHash, 1),
      buildVote(rbHash, 1), // duplicate
      buildVote(noEbRb, 2), // no-eb
      buildVote(rbHash, 64), // unknown-seat
      ...Array.from({ length: 5 }, (_, i) => buildVote(unknown, i)), // 4 buffered, then unknown-rb
    ];
    const res = await post(app, '/v1/votes', votesBody(votes));
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.json()).toEqual({
      accepted: 2,
      duplicates: 1,
      buffered: 4,
      rejected: [
        { index: 3, type: 'no-eb' },
        { index: 4, type: 'unknown-seat' },
        { index: 9, type: 'unknown-rb' },
      ],
    });
    expect(bytesEqual(node.buffered[0]!, votes[5]!)).toBe(true);
    expect(await metrics.value('leios_votes_received_total', { source: 'http' })).toBe(10);
  });

  it('gives 413 for more than 1,024 votes or more than 131,072 B, and 400 for malformed votes', async () => {
    const many = Array.from({ length: 1025 }, (_, i) => buildVote(rbHash, i % 64));
    const p = await expectProblem(await post(app, '/v1/votes', votesBody(many)), 413, 'too-large');
    expect(p.detail).toMatch(/more than 1024 votes \(.*1025/);
    // a head claiming 2,000 votes over a short body: 413 outranks the 400 it also deserves
    await expectProblem(await post(app, '/v1/votes', Uint8Array.of(0x99, 0x07, 0xd0, 0x83)), 413, 'too-large');
    const ok = await post(app, '/v1/votes', votesBody(many.slice(0, 1024)));
    expect(ok.status).toBe(200);
    await expectProblem(await post(app, '/v1/votes', new Uint8Array(131_073)), 413, 'too-large');
    await expectProblem(await post(app, '/v1/votes', votesBody([])), 400, 'malformed-cbor');
    const short = new CborWriter().array(3).bytes(rbHash).uint(1).bytes(new Uint8Array(47)).finish();
    await expectProblem(await post(app, '/v1/votes', votesBody([buildVote(rbHash, 1), short])), 400, 'malformed-cbor');
    const bigSeat = new CborWriter().array(3).bytes(rbHash).uint(65_536).bytes(new Uint8Array(48)).finish();
    await expectProblem(await post(app, '/v1/votes', votesBody([bigSeat])), 400, 'malformed-cbor');
    await expectProblem(await post(app, '/v1/votes', votesBody([buildVote(rbHash, 1)]), { 'content-type': 'text/plain' }), 415, 'unsupported-media-type');
    // a problem changes nothing: no vote of a refused request was stored
    expect(node.votes.size).toBe(64);
  });
});

describe('metrics, status, events, dashboard', () => {
  it('serves every catalogue metric on /metrics with the registry content type', async () => {
    metrics.set('leios_mempool_txs', {}, 3);
    const res = await app.request('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(metrics.contentType);
    const text = await res.text();
    for (const n of METRIC_NAMES) expect(text).toContain(`# TYPE ${n} `);
    expect(text).toContain('leios_mempool_txs 3');
  });

  it('answers unknown routes with a 404 problem', async () => {
    await expectProblem(await app.request('/v2/whatever'), 404, 'not-found');
  });

  it('turns a failing backend into 500 internal without leaking the error', async () => {
    const logged: unknown[] = [];
    const failing = Object.assign(Object.create(node) as MemoryNode, {
      tip: async (): Promise<TipInfo> => {
        throw new Error('database exploded: secret');
      },
    });
    const logger = { error: (o: unknown) => logged.push(o) } as unknown as import('pino').Logger;
    const a = createApiApp({ backend: failing, metrics, trace, logger });
    const p = await expectProblem(await a.request('/v1/tip'), 500, 'internal');
    expect(JSON.stringify(p)).not.toContain('secret');
    expect(logged).toHaveLength(1);
  });

  it('serves the status snapshot as JSON', async () => {
    node.series.recordCertified(12, 250_000);
    node.series.recordEbLatency(12, 0.3);
    const res = await app.request('/api/status');
    expect(res.status).toBe(200);
    const s = (await res.json()) as NodeStatus;
    expect(s.node).toBe('mem-0');
    expect(s.certifiedEbCount).toBe(1);
    expect(s.recentRbs[0]?.eb?.state).toBe('certified');
    // 250 kB certified in the 10–15 s bucket of 5 s: 50 TxkB/s
    expect(s.certifiedThroughput.find((p) => p.t_s === 15)?.value).toBe(50);
    expect(s.ebDiffusionLatency).toEqual([{ t_s: 12, value: 0.3 }]);
  });

  it('returns recent trace events as JSON, newest last, bounded by limit', async () => {
    for (let i = 0; i < 5; i++) trace.emit({ type: 'Slot', node: 'mem-0', slot: i });
    const res = await app.request('/api/trace?limit=2');
    expect(res.status).toBe(200);
    const { events } = (await res.json()) as { events: unknown[] };
    expect(events.map((e) => parseTraceLine(JSON.stringify(e)).message)).toEqual([
      { type: 'Slot', node: 'mem-0', slot: 3 },
      { type: 'Slot', node: 'mem-0', slot: 4 },
    ]);
    expect(((await (await app.request('/api/trace')).json()) as { events: unknown[] }).events).toHaveLength(5);
    const h = await app.request('/healthz');
    expect(await h.json()).toEqual({ ok: true });
  });

  it('streams replayed and live trace events over SSE', async () => {
    trace.emit({ type: 'Slot', node: 'mem-0', slot: 1 });
    const res = await app.request('/api/events');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    let buf = '';
    const nextEvent = async (): Promise<{ event: string; data: string }> => {
      for (;;) {
        const i = buf.indexOf('\n\n');
        if (i >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          if (block.startsWith(':')) continue; // keep-alive comment
          const event = /^event: (.*)$/m.exec(block)?.[1] ?? '';
          const data = /^data: (.*)$/m.exec(block)?.[1] ?? '';
          return { event, data };
        }
        const { value, done } = await reader.read();
        if (done) throw new Error('stream ended');
        buf += dec.decode(value, { stream: true });
      }
    };
    const first = await nextEvent();
    expect(first.event).toBe('trace');
    expect(parseTraceLine(first.data).message).toEqual({ type: 'Slot', node: 'mem-0', slot: 1 });
    trace.emit({ type: 'EBDropped', node: 'mem-0', id: toHex(ebHash), reason: 'no-quorum' });
    const second = await nextEvent();
    expect(parseTraceLine(second.data).message.type).toBe('EBDropped');
    await reader.cancel();
    // the subscription ends with the client
    await new Promise((r) => setTimeout(r, 20));
    expect(trace.subscriberCount).toBe(0);
  });

  it('bounds each client: a client that does not read loses the oldest events and is told so', async () => {
    const a = createApiApp({ backend: node, metrics, trace, events: { queuePerClient: 5, replay: 0, keepAliveMs: 50 } });
    const res = await a.request('/api/events');
    const reader = res.body!.getReader();
    for (let i = 0; i < 100; i++) trace.emit({ type: 'Slot', node: 'mem-0', slot: i });
    let text = '';
    const dec = new TextDecoder();
    while (!text.includes('"slot":99')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += dec.decode(value, { stream: true });
    }
    await reader.cancel();
    const dropped = [...text.matchAll(/^event: dropped\ndata: (\d+)$/gm)].reduce((s, m) => s + Number(m[1]), 0);
    const delivered = [...text.matchAll(/^event: trace$/gm)].length;
    expect(dropped).toBeGreaterThan(0);
    expect(delivered + dropped).toBe(100);
    expect(delivered).toBeLessThanOrEqual(7);
  });

  it('caps concurrent event streams with 429', async () => {
    const a = createApiApp({ backend: node, metrics, trace, events: { maxClients: 2, keepAliveMs: 50 } });
    const r1 = await a.request('/api/events');
    const r2 = await a.request('/api/events');
    // HEAD takes no slot and leaves no subscription behind
    for (let i = 0; i < 3; i++) expect((await a.request('/api/events', { method: 'HEAD' })).status).toBe(200);
    const r3 = await a.request('/api/events');
    await expectProblem(r3, 429, 'rate-limited');
    expect(r3.headers.get('retry-after')).toBe('5');
    await r1.body!.cancel();
    await new Promise((r) => setTimeout(r, 20));
    const r4 = await a.request('/api/events');
    expect(r4.status).toBe(200);
    await r2.body!.cancel();
    await r4.body!.cancel();
    await new Promise((r) => setTimeout(r, 20));
    expect(trace.subscriberCount).toBe(0);
  });

  it('serves the dashboard with every asset inline and nothing off-host', async () => {
    const res = await app.request('/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(res.headers.get('content-security-policy')).toContain("connect-src 'self'");
    const html = await res.text();
    // no external URL anywhere (src, href, url(), fetch, EventSource)
    expect(html).not.toMatch(/https?:\/\//i);
    expect(html).not.toMatch(/(src|href)\s*=\s*["']?\/\//i);
    expect(html).not.toMatch(/<script[^>]+src=/i);
    expect(html).not.toMatch(/<link[^>]+rel=["']?stylesheet/i);
    expect(html).not.toContain('/*__STYLE__*/');
    expect(html).not.toContain('/*__SCRIPT__*/');
    for (const id of ['certified-eb-count', 'mempool-txs', 'mempool-bytes', 'throughput-plot', 'latency-plot', 'vote-tallies', 'event-log']) {
      expect(html).toContain(`data-testid="${id}"`);
    }
    // rows are built by the script with these test ids and states
    expect(html).toContain("tr.dataset.testid = 'eb-row'");
    expect(html).toContain('tr.dataset.state = eb.state');
    expect(html).toContain("tr.dataset.testid = 'rb-row'");
    expect(html).toContain("fetch('/api/status'");
    expect(html).toContain("new EventSource('/api/events')");
    // the inline script is syntactically valid JavaScript
    const script = /<script>([\s\S]*)<\/script>/.exec(html)?.[1] ?? '';
    expect(script.length).toBeGreaterThan(1000);
    expect(() => new Function(script)).not.toThrow();
  });
});

describe('StatusSeries', () => {
  it('buckets certified bytes into TxkB/s with zeros for idle buckets, within the window', () => {
    const s = new StatusSeries({ bucketS: 10, windowS: 30 });
    s.recordCertified(1, 100_000);
    s.recordCertified(9, 100_000);
    s.recordCertified(25, 50_000);
    expect(s.throughput(31)).toEqual([
      { t_s: 10, value: 20 },
      { t_s: 20, value: 0 },
      { t_s: 30, value: 5 },
    ]);
    // later: the first bucket has left the window
    expect(s.throughput(45).map((p) => p.t_s)).toEqual([20, 30, 40]);
    expect(s.certifiedCount).toBe(3);
  });

  it('keeps a bounded number of latency points', () => {
    const s = new StatusSeries({ maxLatencyPoints: 3 });
    for (let i = 0; i < 10; i++) s.recordEbLatency(i, i / 10);
    expect(s.latency().map((p) => p.t_s)).toEqual([7, 8, 9]);
  });
});

describe('serveApi (real HTTP)', () => {
  let server: Awaited<ReturnType<typeof serveApi>>;
  let base: string;
  let served: MemoryNode;
  beforeAll(async () => {
    served = new MemoryNode();
    const t = TraceWriter.memory({ systemStartMs: 0 });
    server = await serveApi(createApiApp({ backend: served, metrics: new NodeMetrics(), trace: t, events: { keepAliveMs: 100 } }), { port: 0 });
    base = `http://127.0.0.1:${server.port}`;
  });
  afterAll(async () => {
    await server.close();
  });

  it('serves bytes, problems and metrics over a socket', async () => {
    const h = served.addEb([paidTx(1).tx, paidTx(2).tx]);
    const res = await fetch(`${base}/v1/eb/${toHex(h)}`);
    expect(res.status).toBe(200);
    expect(toHex(blake2b256(new Uint8Array(await res.arrayBuffer())))).toBe(toHex(h));
    const nf = await fetch(`${base}/v1/eb/${'00'.repeat(32)}`);
    expect(nf.status).toBe(404);
    expect(nf.headers.get('content-type')).toBe('application/problem+json');
    const m = await fetch(`${base}/metrics`);
    expect(await m.text()).toContain('leios_chain_tip_slot');
  });

  it('refuses an oversized chunked upload with 413 without reading it all', async () => {
    const res = await fetch(`${base}/v1/tx`, { method: 'POST', body: streamed(10 * 2 ** 20, 16_384), headers: CBOR, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(413);
    expect(((await res.json()) as Problem).type).toBe('urn:leios:problem:too-large');
  });

  it('closes while an event stream is open', async () => {
    const res = await fetch(`${base}/api/events`);
    expect(res.status).toBe(200);
    const s2 = await serveApi(createApiApp({ backend: served, metrics: new NodeMetrics(), trace: TraceWriter.memory({ systemStartMs: 0 }) }), { port: 0 });
    const open = await fetch(`http://127.0.0.1:${s2.port}/api/events`);
    expect(open.status).toBe(200);
    await s2.close();
    await res.body?.cancel();
  });
});
