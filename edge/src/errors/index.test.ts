import { describe, expect, it } from 'vitest';
import { type EdgeProblem, mostPrecedent, PROBLEM_STATUS, problemFromJson, problemResponse } from './index';

describe('problem responses', () => {
  it('maps every kind to RFC 9457 problem+json with no-store and a urn type', async () => {
    for (const kind of Object.keys(PROBLEM_STATUS) as (keyof typeof PROBLEM_STATUS)[]) {
      const p = { kind, detail: 'd', rule: 'expired', limit: 1, allow: ['GET'], retryAfterS: 3 } as unknown as EdgeProblem;
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
  });

  it('applies the §12 precedence 405, 415, 413, 400, 404, 422', () => {
    const p = (kind: EdgeProblem['kind']) => ({ kind, detail: '' }) as EdgeProblem;
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
