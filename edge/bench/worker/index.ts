/**
 * Bench-only Worker entry (bench/wrangler.jsonc; never deployed): the relay Worker and its
 * RelayHub, built from the same modules, plus `/__bench/*` routes that give bench/run.ts its
 * same-run baselines inside the same workerd:
 *
 * - `PUT /__bench/static/{key}` holds bytes in isolate memory; `GET /__bench/static/{key}` serves
 *   them with no Cache API lookup, no hashing and no hub: the floor under a cached
 *   `GET /v1/eb/{hash}` of the same bytes.
 * - `POST /__bench/votes?reps=R&sample=S`, body `rb_hash(32) ‖ n:u16 ‖ n × bls_vk(96) ‖
 *   n × (len:u16 ‖ vote)`: decodes the committee keys first (untimed: the relay holds them decoded
 *   in its committee), then per repetition times what the relay's vote path does for one RB —
 *   decode every vote and signature (§6.2) and verify all with one pairing check (§2.3) — and
 *   one-by-one verification (decode + a pairing check each) of the first S votes.
 *
 * @module
 */
import { DecodedKeyCache, decodeSignature, type G2Point, type SignedVote, verifySingle, verifyVoteBatch, voteMessage } from '@leios/shared/crypto';
import { decodeVote } from '@leios/shared/protocol';
import type { Env } from '../../src/config/index';
import worker from '../../src/index';

export { RelayHub } from '../../src/hub/index';

const held = new Map<string, Uint8Array>();
const HELD_MAX_BYTES = 64 * 2 ** 20;
let heldBytes = 0;

function votesBench(body: Uint8Array, reps: number, sample: number): Response {
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const rbHash = body.subarray(0, 32);
  const n = dv.getUint16(32);
  let off = 34;
  const keys = new DecodedKeyCache(n + 1);
  const pks: G2Point[] = [];
  for (let i = 0; i < n; i++, off += 96) pks.push(keys.get(body.subarray(off, off + 96)));
  const votes: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const len = dv.getUint16(off);
    votes.push(body.subarray(off + 2, off + 2 + len));
    off += 2 + len;
  }
  const msg = voteMessage(rbHash);
  const batchMs: number[] = [];
  const singleMs: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    const signed: SignedVote[] = votes.map((raw) => {
      const v = decodeVote(raw);
      const pk = pks[v.voterId];
      if (pk === undefined) throw new Error(`seat ${v.voterId} beyond the committee`);
      return { pk, sig: decodeSignature(v.signature, 'vote.signature') };
    });
    const res = verifyVoteBatch(msg, signed);
    batchMs.push(performance.now() - t0);
    if (!res.allValid) throw new Error(`bench votes do not verify: ${res.invalid.length} invalid`);
    const t1 = performance.now();
    for (const raw of votes.slice(0, sample)) {
      const v = decodeVote(raw);
      const pk = pks[v.voterId];
      if (pk === undefined || !verifySingle(pk, msg, decodeSignature(v.signature, 'vote.signature'))) throw new Error('a bench vote fails alone');
    }
    singleMs.push(performance.now() - t1);
  }
  return Response.json({ votes: n, sample, batchMs, singleMs });
}

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(request.url);
    if (!url.pathname.startsWith('/__bench/')) return worker.fetch(request, env, ctx);
    const key = url.pathname.slice('/__bench/static/'.length);
    if (url.pathname.startsWith('/__bench/static/') && request.method === 'PUT') {
      const bytes = new Uint8Array(await request.arrayBuffer());
      if (heldBytes + bytes.length > HELD_MAX_BYTES) return new Response('full', { status: 507 });
      held.set(key, bytes);
      heldBytes += bytes.length;
      return new Response(null, { status: 204 });
    }
    if (url.pathname.startsWith('/__bench/static/') && request.method === 'GET') {
      const bytes = held.get(key);
      if (bytes === undefined) return new Response('not held', { status: 404 });
      return new Response(bytes, { headers: { 'content-type': 'application/cbor', 'cache-control': 'public, max-age=31536000, immutable' } });
    }
    if (url.pathname === '/__bench/votes' && request.method === 'POST') {
      const reps = Math.min(10, Number(url.searchParams.get('reps') ?? '3'));
      const sample = Math.min(200, Number(url.searchParams.get('sample') ?? '30'));
      return votesBench(new Uint8Array(await request.arrayBuffer()), reps, sample);
    }
    return new Response('unknown bench route', { status: 404 });
  },
} satisfies ExportedHandler<Env>;
