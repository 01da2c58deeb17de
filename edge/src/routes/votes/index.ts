/**
 * `POST /v1/votes`: submit a batch of votes (PROTOCOL.md §6.2, §6.3, §12).
 *
 * Primer: §12 precedence again: 415, then 413 for a body above 131,072 bytes or more than 1,024
 * votes (the count is the array head, read before anything else), then 400 `malformed-cbor` unless
 * the body is a canonical non-empty array of §6.2 votes (shared vote codec). A storage node then applies §6.3; its
 * `{"accepted","duplicates","buffered","rejected"}` reply is checked for shape (every rejected
 * index inside the batch, every type one of §12's) and passed on.
 *
 * Every batch also goes through the RelayHub's own §6.3 checks (RB known and announcing an EB,
 * seat, keyless, arrival window, one batch pairing check per RB): verified votes are re-diffused
 * to the relay's peers at once, and votes the hub rejected for good are reported with the hub's
 * type and not forwarded. The rest go to a storage node, whose verdict completes the answer
 * (indices mapped back). When no storage node answers, the hub's verdict alone is returned if it
 * decided every vote, else 503.
 *
 * @module
 */
import { CborReader, CborWriter, DecodeError } from '@leios/shared';
import { readVote } from '@leios/shared/protocol';
import { Hono } from 'hono';
import { readCborRequest } from '../../body/index';
import { LIMITS } from '../../config/index';
import { EdgeError } from '../../errors/index';
import { type AppEnv, deps, methodNotAllowed, POST_ONLY } from '../../http/index';
import { rateLimit } from '../../ratelimit/index';
import { describeFailures } from '../../upstream/index';
import { judgeForwarded, unwrapForwarded } from '../upstream-json';

/** §12 per-vote rejection types. */
export const VOTE_REJECTIONS = ['unknown-rb', 'no-eb', 'unknown-seat', 'keyless-seat', 'bad-signature', 'outside-window', 'conflict'] as const;

/** The §12 200 body. */
export interface VotesResult {
  accepted: number;
  duplicates: number;
  buffered: number;
  rejected: { index: number; type: (typeof VOTE_REJECTIONS)[number] }[];
}

/**
 * The number of votes in a `[+ vote]` body, or a problem (413 for more than 1,024, 400 otherwise).
 *
 * @example
 * ```ts
 * const n = countVotes(body); // throws EdgeError on a bad batch
 * ```
 */
export function countVotes(bytes: Uint8Array): number {
  return splitVotes(bytes).length;
}

/**
 * The exact bytes of each vote of a `[+ vote]` body (§1.3: forwarded and re-diffused unchanged),
 * or a problem (413 for more than 1,024, 400 otherwise).
 *
 * @example
 * ```ts
 * const raws = splitVotes(body);
 * ```
 */
export function splitVotes(bytes: Uint8Array): Uint8Array[] {
  const r = new CborReader(bytes);
  try {
    // The head alone says how many votes follow, so the count limit (413) is checked before any
    // vote is looked at (413 outranks 400 in §12).
    const n = r.readArray('votes', { min: 1 });
    if (n > LIMITS.votesCount) throw new EdgeError({ kind: 'too-large', detail: `${n} votes above ${LIMITS.votesCount}`, limit: LIMITS.votesCount });
    // §6.2 votes (top-stake committee mode, as the storage nodes accept them).
    const out: Uint8Array[] = [];
    for (let i = 0; i < n; i++) out.push(readVote(r, `votes[${i}]`).bytes);
    r.done('votes');
    return out;
  } catch (e) {
    if (e instanceof DecodeError) throw new EdgeError({ kind: 'malformed-cbor', detail: e.message });
    throw e;
  }
}

/** `[+ vote]` from exact vote bytes (the votes themselves are not re-encoded, §1.3). */
function wrapVotes(raws: readonly Uint8Array[]): Uint8Array {
  const w = new CborWriter().array(raws.length);
  for (const v of raws) w.raw(v);
  return w.finish();
}

const isUint = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * Check a storage node's votes reply for a batch of `n` votes.
 *
 * @example
 * ```ts
 * parseVotesResult({ accepted: 1, duplicates: 0, buffered: 0, rejected: [] }, 1)
 * ```
 */
export function parseVotesResult(json: unknown, n: number): VotesResult | undefined {
  if (typeof json !== 'object' || json === null) return undefined;
  const o = json as Record<string, unknown>;
  if (!isUint(o.accepted) || !isUint(o.duplicates) || !isUint(o.buffered) || !Array.isArray(o.rejected)) return undefined;
  const rejected: VotesResult['rejected'] = [];
  for (const x of o.rejected as unknown[]) {
    if (typeof x !== 'object' || x === null) return undefined;
    const { index, type } = x as Record<string, unknown>;
    if (!isUint(index) || index >= n || typeof type !== 'string' || !(VOTE_REJECTIONS as readonly string[]).includes(type)) return undefined;
    rejected.push({ index, type: type as VotesResult['rejected'][number]['type'] });
  }
  if (o.accepted + o.duplicates + o.buffered + rejected.length !== n) return undefined;
  return { accepted: o.accepted, duplicates: o.duplicates, buffered: o.buffered, rejected };
}

/**
 * The votes route, mounted at `/v1/votes`.
 *
 * @example
 * ```ts
 * app.route('/v1/votes', votesRoutes);
 * ```
 */
export const votesRoutes = new Hono<AppEnv>()
  .post('/', rateLimit('POST_LIMITER'), async (c) => {
    const d = deps(c);
    const bytes = await readCborRequest(c.req.raw, LIMITS.votesBody);
    const raws = splitVotes(bytes);
    const hub = await d.hub().submitVotes(raws);
    // Votes the hub rejected for good stay here; the rest (including ones it only buffered) go on.
    const final = (o: (typeof hub)[number]) => o.kind === 'rejected' && o.type !== 'unknown-rb' && o.type !== 'malformed';
    const forward = raws.map((_, i) => i).filter((i) => !final(hub[i]!));
    const result: VotesResult = { accepted: 0, duplicates: 0, buffered: 0, rejected: [] };
    hub.forEach((o, i) => {
      if (final(o) && o.kind === 'rejected' && o.type !== 'malformed') result.rejected.push({ index: i, type: o.type as VotesResult['rejected'][number]['type'] });
    });
    if (forward.length > 0) {
      const body = forward.length === raws.length ? bytes : wrapVotes(forward.map((i) => raws[i]!));
      const out = await d.upstream.request(
        { method: 'POST', path: '/v1/votes', body, contentType: 'application/cbor', maxBytes: LIMITS.maxJsonReply },
        judgeForwarded(200, (json) => parseVotesResult(json, forward.length), ['malformed-cbor', 'too-large']),
      );
      if (!out.ok) {
        // Without a storage node, the hub's verdict stands only if it decided every vote.
        if (forward.some((i) => hub[i]!.kind !== 'accepted' && hub[i]!.kind !== 'duplicate')) {
          throw new EdgeError({ kind: 'upstream-unavailable', detail: `no storage node took the votes: ${describeFailures(out.failures)}` });
        }
        for (const i of forward) {
          if (hub[i]!.kind === 'accepted') result.accepted++;
          else result.duplicates++;
        }
      } else {
        const node = unwrapForwarded(out.value);
        result.accepted += node.accepted;
        result.duplicates += node.duplicates;
        result.buffered += node.buffered;
        for (const r of node.rejected) result.rejected.push({ index: forward[r.index]!, type: r.type });
      }
    }
    result.rejected.sort((a, b) => a.index - b.index);
    return c.json(result, 200, { 'cache-control': 'no-store' });
  })
  .all('/', methodNotAllowed(POST_ONLY));
