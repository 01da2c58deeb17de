/**
 * `GET /api/events`: the node's trace events as a Server-Sent Events stream (dashboard live log).
 *
 * Primer: a browser tab that stops reading (backgrounded, slow link) must not make the node
 * buffer without bound, and a crowd of tabs must not multiply the work. So each client gets a
 * fixed-size queue: when it is full the oldest queued event is dropped and the client is told how
 * many it missed (`event: dropped`); the number of concurrent clients is capped (429 beyond it);
 * an idle stream carries a comment every `keepAliveMs` so proxies keep it open. A new client first
 * receives up to `replay` recent events from the trace ring, then live ones, in order.
 *
 * @module
 */
import type { TraceLine } from '@leios/shared/obs';
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { TraceWriter } from '../obs/index';
import { ApiError } from './problem';

/** Limits of the event stream. */
export interface EventStreamLimits {
  /** Concurrent SSE clients (default 16). */
  maxClients: number;
  /** Events queued per client before the oldest are dropped (default 512). */
  queuePerClient: number;
  /** Recent events sent on connect (default 200, capped by the queue size). */
  replay: number;
  /** Idle keep-alive comment interval (default 15 s). */
  keepAliveMs: number;
}

export const EVENT_STREAM_LIMITS: EventStreamLimits = Object.freeze({ maxClients: 16, queuePerClient: 512, replay: 200, keepAliveMs: 15_000 });

/**
 * A handler streaming `trace`'s events, bounded by `limits`.
 *
 * @example
 * ```ts
 * app.get('/api/events', eventStream(trace, EVENT_STREAM_LIMITS));
 * ```
 */
export function eventStream(trace: TraceWriter, limits: EventStreamLimits): (c: Context) => Response {
  let clients = 0;
  return (c) => {
    // Hono answers HEAD with the GET handler and drops the body without cancelling it, which
    // would leave a subscription and a client slot behind: answer HEAD with headers only.
    if (c.req.method === 'HEAD') return c.body(null, 200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    if (clients >= limits.maxClients) {
      throw new ApiError({ kind: 'rate-limited', detail: `at most ${limits.maxClients} event streams at once`, retryAfterS: 5 });
    }
    clients++;
    const queue: TraceLine[] = trace.recent(Math.min(limits.replay, limits.queuePerClient));
    let dropped = 0;
    let wake: (() => void) | null = null;
    const unsubscribe = trace.subscribe((line) => {
      if (queue.length >= limits.queuePerClient) {
        queue.shift();
        dropped++;
      }
      queue.push(line);
      wake?.();
    });
    return streamSSE(c, async (stream) => {
      stream.onAbort(() => {
        wake?.();
      });
      try {
        while (!stream.aborted && !stream.closed) {
          if (queue.length === 0) {
            let timer: ReturnType<typeof setTimeout> | undefined;
            await new Promise<void>((resolve) => {
              wake = resolve;
              timer = setTimeout(resolve, limits.keepAliveMs);
            });
            clearTimeout(timer);
            wake = null;
            if (queue.length === 0 && !stream.aborted) await stream.write(': keep-alive\n\n');
            continue;
          }
          if (dropped > 0) {
            const n = dropped;
            dropped = 0;
            await stream.writeSSE({ event: 'dropped', data: String(n) });
          }
          const line = queue.shift();
          if (line !== undefined) await stream.writeSSE({ event: 'trace', data: JSON.stringify(line) });
        }
      } finally {
        unsubscribe();
        clients--;
      }
    });
  };
}
