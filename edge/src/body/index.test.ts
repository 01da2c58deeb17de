import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EdgeError } from '../errors/index';
import { BodyTooLarge, isCbor, readBounded, readCborRequest } from './index';

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
  const req = (type: string | null, body: Uint8Array) =>
    new Request('https://x/', { method: 'POST', body, headers: type === null ? {} : { 'content-type': type } });

  it('checks the media type before the size (415 before 413)', async () => {
    const e = await readCborRequest(req('text/plain', new Uint8Array(100)), 10).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(EdgeError);
    expect((e as EdgeError).problem.kind).toBe('unsupported-media-type');
    const big = await readCborRequest(req('application/cbor', new Uint8Array(100)), 10).catch((x: unknown) => x);
    expect((big as EdgeError).problem.kind).toBe('too-large');
    expect(await readCborRequest(req('Application/CBOR; x=y', new Uint8Array(3)), 10)).toEqual(new Uint8Array(3));
  });

  it('recognises application/cbor only', () => {
    expect(isCbor('application/cbor')).toBe(true);
    expect(isCbor(' application/cbor ;charset=x')).toBe(true);
    expect(isCbor('application/cbor-seq')).toBe(false);
    expect(isCbor('application/json')).toBe(false);
    expect(isCbor(null)).toBe(false);
  });
});
