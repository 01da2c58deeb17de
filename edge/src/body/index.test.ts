import { describe, expect, it } from 'vitest';
import { EdgeError } from '../errors/index';
import { readCborRequest } from './index';

// The bounded reader's own tests are in shared/src/http; here: it fails with the relay's error.
describe('readCborRequest (relay)', () => {
  it('reports 415 and 413 as EdgeError', async () => {
    const req = (type: string, n: number) => new Request('https://x/', { method: 'POST', body: new Uint8Array(n), headers: { 'content-type': type } });
    const e415 = await readCborRequest(req('text/plain', 1), 10).catch((x: unknown) => x);
    expect(e415).toBeInstanceOf(EdgeError);
    expect((e415 as EdgeError).status).toBe(415);
    const e413 = await readCborRequest(req('application/cbor', 11), 10).catch((x: unknown) => x);
    expect((e413 as EdgeError).status).toBe(413);
  });
});
