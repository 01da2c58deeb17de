/**
 * Bounded body reading and the `application/cbor` check (PROTOCOL.md §12; DESIGN.md §5 "bounded
 * everything").
 *
 * Primer: `await request.arrayBuffer()` buffers whatever a client (or a misbehaving storage node)
 * sends. {@link readBounded} instead refuses an over-long `Content-Length` before reading and,
 * for chunked or lying senders, counts bytes while streaming and cancels the stream the moment the
 * limit is passed, so at most `limit` bytes plus one chunk are ever held.
 *
 * @module
 */
import { EdgeError } from '../errors/index';

/** Thrown by {@link readBounded} when a body exceeds its limit. */
export class BodyTooLarge extends Error {
  constructor(
    readonly limit: number,
    readonly seen: number,
  ) {
    super(`body above ${limit} bytes (${seen}+ seen)`);
    this.name = 'BodyTooLarge';
  }
}

/**
 * Read a body stream into one array, failing with {@link BodyTooLarge} past `limit` bytes.
 * `declaredLength` (a `Content-Length` value) lets an over-long body fail before any read.
 *
 * @example
 * ```ts
 * const bytes = await readBounded(res.body, 512_064, res.headers.get('content-length'));
 * ```
 */
export async function readBounded(
  body: ReadableStream<Uint8Array> | null,
  limit: number,
  declaredLength?: string | null,
): Promise<Uint8Array> {
  if (declaredLength != null && /^[0-9]+$/.test(declaredLength) && Number(declaredLength) > limit) {
    await body?.cancel().catch(() => undefined);
    throw new BodyTooLarge(limit, Number(declaredLength));
  }
  if (body === null) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      throw new BodyTooLarge(limit, total);
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

/**
 * Whether a `Content-Type` value is `application/cbor` (parameters allowed, case-insensitive).
 *
 * @example
 * ```ts
 * isCbor('application/cbor; charset=binary') // true
 * ```
 */
export function isCbor(contentType: string | null): boolean {
  if (contentType === null) return false;
  const media = contentType.split(';', 1)[0]!.trim().toLowerCase();
  return media === 'application/cbor';
}

/**
 * The request body of a CBOR POST route, in §12 precedence: 415 unless `application/cbor`, then
 * 413 above `limit` (enforced while reading). An empty body is returned as an empty array (the
 * route's decoder then reports it as malformed CBOR, 400).
 *
 * @example
 * ```ts
 * const txBytes = await readCborRequest(c.req.raw, LIMITS.txBody);
 * ```
 */
export async function readCborRequest(req: Request, limit: number): Promise<Uint8Array> {
  if (!isCbor(req.headers.get('content-type'))) {
    await req.body?.cancel().catch(() => undefined);
    throw new EdgeError({
      kind: 'unsupported-media-type',
      detail: `request bodies must be application/cbor, got ${req.headers.get('content-type') ?? 'none'}`,
    });
  }
  try {
    return await readBounded(req.body, limit, req.headers.get('content-length'));
  } catch (e) {
    if (e instanceof BodyTooLarge) {
      throw new EdgeError({ kind: 'too-large', detail: `request body above ${limit} bytes`, limit });
    }
    throw e;
  }
}
