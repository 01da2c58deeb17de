import { describe, expect, it } from 'vitest';
import { EdgeError, PROBLEM_STATUS, problemResponse } from './index';

// The catalogue's own tests are in shared/src/http; here: the relay's error class over it.
describe('EdgeError', () => {
  it('carries its problem and the status of its kind, and renders as problem+json', async () => {
    const e = new EdgeError({ kind: 'rate-limited', detail: 'slow down', retryAfterS: 2 });
    expect(e.status).toBe(429);
    expect(e.message).toBe('rate-limited: slow down');
    const res = problemResponse(e.problem, '/v1/tx');
    expect(res.status).toBe(PROBLEM_STATUS['rate-limited']);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(await res.json()).toMatchObject({ type: 'urn:leios:problem:rate-limited', instance: '/v1/tx' });
  });
});
