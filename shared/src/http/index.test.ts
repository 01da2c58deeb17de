import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BodyTooLarge, isCbor, mostPrecedent, PROBLEM_STATUS, type Problem, problemBody, problemFromJson, problemResponse, problemRule, readBounded, readCborRequest } from './index';

describe('problem responses', () => {
  it('maps every kind to RFC 9457 problem+json with no-store and a urn type', async () => {
    for (const kind of Object.keys(PROBLEM_STATUS) as (keyof typeof PROBLEM_STATUS)[]) {
      const p = { kind, detail: 'd', rule: 'expired', limit: 1, allow: ['GET'], retryAfterS: 3 } as unknown as Problem;
      const res = problemResponse(p, '/x');
      expect(res.status).toBe(PROBLEM_STATUS[kind]);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(res.headers.get('cache-control')).toBe('no-store');
      const body = (await res.json()) as Record<string, unknown>;
      expect(body.type).toBe(`urn:leios:problem:${kind}`);
      expect(body.status).toBe(PROBLEM_STATUS[kind]);
      expect(typeof body.title).toBe('string');
      expect(body.detail).toBe('d');
      expect(body.instance).toBe('/x');
    }
  });

  it('adds Allow, Retry-After and the rule where the kind calls for them', async () => {
    expect(problemResponse({ kind: 'method-not-allowed', detail: '', allow: ['GET', 'HEAD'] }).headers.get('allow')).toBe('GET, HEAD');
    expect(problemResponse({ kind: 'rate-limited', detail: '', retryAfterS: 9 }).headers.get('retry-after')).toBe('9');
    const body = (await problemResponse({ kind: 'tx-invalid', detail: '', rule: 'bad-pop' }).json()) as { rule: string };
    expect(body.rule).toBe('bad-pop');
    expect(problemResponse({ kind: 'mempool-full', detail: '', retryAfterS: 0.2 }).headers.get('retry-after')).toBe('1');
  });

  it('reports a finer ledger rule under its §12 rule, and keeps the ledger name', () => {
    expect(problemRule('fee-too-small')).toBe('fee-too-small');
    expect(problemRule('duplicate-witness')).toBe('bad-signature');
    expect(problemRule('output-too-small')).toBe('value-not-conserved');
    expect(problemRule('unknown-pool')).toBe('bad-pop');
    expect(problemRule('already-applied')).toBe('input-missing');
    const body = problemBody({ kind: 'tx-invalid', detail: '', rule: problemRule('duplicate-witness'), ledgerRule: 'duplicate-witness' });
    expect(body).toMatchObject({ rule: 'bad-signature', ledgerRule: 'duplicate-witness' });
    expect(problemBody({ kind: 'tx-invalid', detail: '', rule: 'expired', ledgerRule: 'expired' }).ledgerRule).toBeUndefined();
  });

  it('applies the §12 precedence 405, 415, 413, 400, 404, 422', () => {
    const p = (kind: Problem['kind']) => ({ kind, detail: '' }) as Problem;
    expect(mostPrecedent([p('bad-hash'), p('too-large')])?.kind).toBe('too-large');
    expect(mostPrecedent([p('too-large'), p('unsupported-media-type')])?.kind).toBe('unsupported-media-type');
    expect(mostPrecedent([p('unsupported-media-type'), p('method-not-allowed')])?.kind).toBe('method-not-allowed');
    expect(mostPrecedent([p('tx-invalid'), p('not-found')])?.kind).toBe('not-found');
    expect(mostPrecedent([p('not-found'), p('malformed-cbor')])?.kind).toBe('malformed-cbor');
    expect(mostPrecedent([p('internal'), p('tx-invalid')])?.kind).toBe('tx-invalid');
    expect(mostPrecedent([])).toBeUndefined();
  });

  it('rebuilds only well-formed upstream problems of known kinds with their own status', () => {
    expect(problemFromJson(422, { type: 'urn:leios:problem:tx-invalid', detail: 'x', rule: 'expired' })).toEqual({ kind: 'tx-invalid', detail: 'x', rule: 'expired' });
    expect(problemFromJson(422, { type: 'urn:leios:problem:tx-invalid', rule: 'made-up' })).toBeUndefined();
    expect(problemFromJson(400, { type: 'urn:leios:problem:tx-invalid', rule: 'expired' })).toBeUndefined();
    expect(problemFromJson(404, { type: 'urn:leios:problem:no-such-kind' })).toBeUndefined();
    expect(problemFromJson(404, { type: 'about:blank' })).toBeUndefined();
    expect(problemFromJson(503, { type: 'urn:leios:problem:mempool-full' }, '12')).toEqual({ kind: 'mempool-full', detail: '', retryAfterS: 12 });
    expect(problemFromJson(503, { type: 'urn:leios:problem:mempool-full' }, 'soon')).toEqual({ kind: 'mempool-full', detail: '', retryAfterS: 1 });
  });
});

function streamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> & { pulled: () => number } {
  let i = 0;
  const s = new ReadableStream<Uint8Array>({
    pull(ctl) {
      const c = chunks[i++];
      if (c === undefined) ctl.close();
      else ctl.enqueue(c);
    },
  }, { highWaterMark: 0 }); // pull only when read, so `pulled` counts what the reader asked for
  return Object.assign(s, { pulled: () => i });
}

describe('readBounded', () => {
  it('returns exactly the bytes when within the limit, and fails past it', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 50 }), { maxLength: 10 }), fc.nat({ max: 400 }), async (chunks, limit) => {
        const total = chunks.reduce((s, c) => s + c.length, 0);
        const p = readBounded(streamOf(chunks), limit);
        if (total <= limit) {
          const got = await p;
          expect(Array.from(got)).toEqual(chunks.flatMap((c) => Array.from(c)));
        } else {
          await expect(p).rejects.toBeInstanceOf(BodyTooLarge);
        }
      }),
    );
  });

  it('stops pulling as soon as the limit is passed', async () => {
    const s = streamOf(Array.from({ length: 100 }, () => new Uint8Array(10)));
    await expect(readBounded(s, 25)).rejects.toBeInstanceOf(BodyTooLarge);
    expect(s.pulled()).toBeLessThanOrEqual(5);
  });

  it('fails on an over-long Content-Length before reading', async () => {
    const s = streamOf([new Uint8Array(1)]);
    await expect(readBounded(s, 10, '11')).rejects.toBeInstanceOf(BodyTooLarge);
    expect(s.pulled()).toBe(0);
  });
});

describe('readCborRequest', () => {
  class Failed extends Error {
    constructor(readonly problem: Problem) {
      super(problem.kind);
    }
  }
  const toError = (p: Problem) => new Failed(p);
  const req = (type: string | null, body: Uint8Array<ArrayBuffer>) =>
    new Request('https://x/', { method: 'POST', body, headers: type === null ? {} : { 'content-type': type } });

  it('checks the media type before the size (415 before 413)', async () => {
    const e = await readCborRequest(req('text/plain', new Uint8Array(100)), 10, toError).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(Failed);
    expect((e as Failed).problem.kind).toBe('unsupported-media-type');
    const big = await readCborRequest(req('application/cbor', new Uint8Array(100)), 10, toError).catch((x: unknown) => x);
    expect((big as Failed).problem).toEqual({ kind: 'too-large', detail: 'request body above 10 bytes', limit: 10 });
    const declared = new Request('https://x/', { method: 'POST', body: new Uint8Array(3), headers: { 'content-type': 'application/cbor', 'content-length': '99' } });
    expect(((await readCborRequest(declared, 10, toError).catch((x: unknown) => x)) as Failed).problem.kind).toBe('too-large');
    expect(await readCborRequest(req('Application/CBOR; x=y', new Uint8Array(3)), 10, toError)).toEqual(new Uint8Array(3));
  });

  it('recognises application/cbor only', () => {
    expect(isCbor('application/cbor')).toBe(true);
    expect(isCbor(' application/cbor ;charset=x')).toBe(true);
    expect(isCbor('application/cbor-seq')).toBe(false);
    expect(isCbor('application/json')).toBe(false);
    expect(isCbor(null)).toBe(false);
  });
});
