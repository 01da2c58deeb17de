/**
 * Bounded reading of CBOR request bodies (PROTOCOL.md §12; DESIGN.md §5 "bounded everything").
 *
 * Primer: `await request.arrayBuffer()` buffers whatever a client sends. {@link readCborBody}
 * checks the media type first (415 precedes 413 in §12), refuses an over-long `Content-Length`
 * before reading a byte, and otherwise counts bytes while streaming and cancels the stream as soon
 * as the limit is passed, so at most `limit` bytes plus one chunk are ever held (a chunked or
 * lying sender cannot get around the cap).
 *
 * @module
 */
import { ApiError } from './problem';

/**
 * Whether a `Content-Type` value is `application/cbor` (parameters allowed, case-insensitive).
 *
 * @example
 * ```ts
 * isCbor('application/cbor; charset=binary') // true
 * ```
 */
export function isCbor(contentType: string | null | undefined): boolean {
  if (contentType == null) return false;
  return contentType.split(';', 1)[0]!.trim().toLowerCase() === 'application/cbor';
}

async function discard(body: ReadableStream<Uint8Array> | null): Promise<void> {
  // The client is told why (415/413); the rest of its upload is not wanted. A failed cancel only
  // means the stream was already closed.
  if (body !== null && !body.locked) await body.cancel().catch(() => undefined);
}

/**
 * The body of a CBOR POST, in §12 order: 415 `unsupported-media-type` unless `application/cbor`,
 * then 413 `too-large` above `limit` (enforced while reading). An empty body is returned as an
 * empty array; the route's decoder reports it as malformed CBOR (400).
 *
 * @example
 * ```ts
 * const bytes = await readCborBody(c.req.raw, 65_536);
 * ```
 */
export async function readCborBody(req: Request, limit: number): Promise<Uint8Array> {
  const contentType = req.headers.get('content-type');
  if (!isCbor(contentType)) {
    await discard(req.body);
    throw new ApiError({
      kind: 'unsupported-media-type',
      detail: `request bodies must be application/cbor, got ${contentType ?? 'none'}`,
    });
  }
  const tooLarge = (): ApiError => new ApiError({ kind: 'too-large', detail: `request body above ${limit} bytes`, limit });
  const declared = req.headers.get('content-length');
  if (declared !== null && /^[0-9]+$/.test(declared) && Number(declared) > limit) {
    await discard(req.body);
    throw tooLarge();
  }
  if (req.body === null) return new Uint8Array(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.byteLength;
  }
  return out;
}
