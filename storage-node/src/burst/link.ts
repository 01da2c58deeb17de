/**
 * A shaped network link between two threads: a {@link PeerSocket} over a `MessagePort` with a
 * one-way latency and a serialisation rate, and a `bufferedAmount` that reports the bytes still
 * "on the wire" at the sender.
 *
 * Primer: §13.1 prioritisation only matters where bytes queue: a sender whose link is busy with
 * bulk P2 replies must still get a Praos header out quickly (strict class priority per segment,
 * and rule 3: at most 256 KiB of unsent bytes handed to the socket). An in-memory socket that
 * delivers everything at once hides all of that. This link models a sender's uplink: each message
 * leaves at `max(now, previous departure) + bytes / rate` and arrives `latencyMs` later, and
 * until it has left it counts in `bufferedAmount`, exactly what a Node `ws` socket reports, so
 * the connection's rule-3 budget and its drain polling run as in production. Receivers deliver in
 * arrival order on their own thread's timers. Time is `performance.timeOrigin + performance.now()`,
 * the same clock in every thread of the process.
 *
 * @module
 */
import type { MessagePort } from 'node:worker_threads';
import { SocketEnd } from '../net/socket/index';

/** Link parameters (per direction). */
export interface LinkShape {
  /** One-way propagation delay. */
  readonly latencyMs: number;
  /** Serialisation rate of the sender's uplink, bytes per second. */
  readonly bytesPerS: number;
}

/** Wire format between the two ends (structured-cloned by the port). */
type LinkMessage = { t: 'd'; at: number; b: Uint8Array } | { t: 'c'; at: number; code: number; reason: string };

/**
 * Wall-clock milliseconds with sub-millisecond resolution, comparable across threads.
 *
 * @example
 * ```ts
 * const t0 = nowMs();
 * ```
 */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * One end of a shaped link; the other end is the same class over the paired port.
 *
 * @example
 * ```ts
 * const { port1, port2 } = new MessageChannel();
 * const a = new ShapedSocket(port1, { latencyMs: 25, bytesPerS: 12_500_000 }); // in thread A
 * const b = new ShapedSocket(port2, { latencyMs: 25, bytesPerS: 12_500_000 }); // in thread B
 * ```
 */
export class ShapedSocket extends SocketEnd {
  private busyUntil = 0;
  /** Messages not yet serialised onto the wire: departure time and size, oldest first. */
  private readonly leaving: Array<{ done: number; n: number }> = [];
  private leavingHead = 0;
  private leavingBytes = 0;
  private readonly inbox: LinkMessage[] = [];
  private inboxHead = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Bytes sent and received through this end. */
  sentBytes = 0;
  receivedBytes = 0;

  constructor(
    private readonly port: MessagePort,
    readonly shape: LinkShape,
  ) {
    super();
    if (!(shape.bytesPerS > 0) || !(shape.latencyMs >= 0)) throw new RangeError('ShapedSocket: bytesPerS > 0 and latencyMs >= 0');
    port.on('message', (m: LinkMessage) => this.arrive(m));
  }

  send(bytes: Uint8Array): void {
    if (this.closedWith) return;
    const now = nowMs();
    const done = Math.max(now, this.busyUntil) + (bytes.length * 1000) / this.shape.bytesPerS;
    this.busyUntil = done;
    this.leaving.push({ done, n: bytes.length });
    this.leavingBytes += bytes.length;
    this.sentBytes += bytes.length;
    const copy = bytes.slice();
    this.port.postMessage({ t: 'd', at: done + this.shape.latencyMs, b: copy } satisfies LinkMessage, [copy.buffer]);
  }

  bufferedAmount(): number {
    const now = nowMs();
    while (this.leavingHead < this.leaving.length && this.leaving[this.leavingHead]!.done <= now) {
      this.leavingBytes -= this.leaving[this.leavingHead]!.n;
      this.leavingHead++;
    }
    if (this.leavingHead > 1024 && this.leavingHead * 2 > this.leaving.length) {
      this.leaving.splice(0, this.leavingHead);
      this.leavingHead = 0;
    }
    return this.leavingBytes;
  }

  close(code: number, reason: string): void {
    if (this.closedWith) return;
    const at = Math.max(nowMs(), this.busyUntil) + this.shape.latencyMs;
    this.port.postMessage({ t: 'c', at, code, reason } satisfies LinkMessage);
    this.end(code, reason);
  }

  protected override end(code: number, reason: string): boolean {
    if (!super.end(code, reason)) return false;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.port.close();
    return true;
  }

  private arrive(m: LinkMessage): void {
    if (this.closedWith) return;
    this.inbox.push(m);
    this.arm();
  }

  private arm(): void {
    if (this.timer !== undefined || this.inboxHead >= this.inbox.length) return;
    const wait = this.inbox[this.inboxHead]!.at - nowMs();
    this.timer = setTimeout(() => this.flush(), Math.max(0, wait));
  }

  private flush(): void {
    this.timer = undefined;
    const now = nowMs();
    // timers fire up to ~1 ms early or late; deliver what is due, in order
    while (this.inboxHead < this.inbox.length && this.inbox[this.inboxHead]!.at <= now + 0.5) {
      const m = this.inbox[this.inboxHead++]!;
      if (m.t === 'c') {
        this.end(m.code, m.reason);
        return;
      }
      this.receivedBytes += m.b.length;
      this.receive(m.b);
      if (this.closedWith) return;
    }
    if (this.inboxHead > 1024 && this.inboxHead * 2 > this.inbox.length) {
      this.inbox.splice(0, this.inboxHead);
      this.inboxHead = 0;
    }
    this.arm();
  }
}
