/**
 * Keep-alive drivers (protocol 8, PROTOCOL.md §9): the client pings every 20 s and measures the
 * round-trip time; the server answers each KeepAlive with the same cookie.
 *
 * @module
 */
import { PRAOS } from '../../sched/index';
import { violation } from '../common/index';
import { type ConnectionClosedError, Driver } from '../machine/index';
import { type KeepAliveMessage, type KeepAliveState, keepAliveSpec } from './messages';

export * from './messages';

type K = KeepAliveMessage['type'];

/** Default interval between pings (§9). */
export const KEEP_ALIVE_INTERVAL_MS = 20_000;

/**
 * Keep-alive client.
 *
 * @example
 * ```ts
 * const ka = new KeepAliveClient({ intervalMs: 20_000 });
 * conn.register(ka);          // pings every 20 s once attached
 * const rtt = await ka.ping(); // or ping by hand
 * ```
 */
export class KeepAliveClient extends Driver<KeepAliveMessage, KeepAliveState, K> {
  private cookie = 0;
  private pending: { cookie: number; sentAt: number; resolve: (rtt: number) => void; reject: (e: Error) => void } | undefined;
  private interval: unknown;
  /** Last measured round-trip time in ms. */
  rttMs: number | undefined;

  constructor(private readonly opts: { intervalMs?: number | null } = {}) {
    super('client', keepAliveSpec);
  }

  protected override onAttach(): void {
    const ms = this.opts.intervalMs === undefined ? KEEP_ALIVE_INTERVAL_MS : this.opts.intervalMs;
    if (ms !== null) this.schedule(ms);
  }

  private schedule(ms: number): void {
    this.interval = this.port.clock.setTimer(ms, () => {
      if (this.closedWith) return;
      if (!this.pending) this.ping().catch(() => {});
      this.schedule(ms);
    });
  }

  /** Send a KeepAlive and resolve with the round-trip time (ms). One at a time. */
  ping(): Promise<number> {
    if (this.pending) return Promise.reject(new Error('keep-alive: a ping is already outstanding'));
    this.cookie = (this.cookie + 1) & 0xffff;
    const cookie = this.cookie;
    return new Promise((resolve, reject) => {
      this.pending = { cookie, sentAt: this.port.clock.now(), resolve, reject };
      this.send({ type: 'KeepAlive', cookie }, PRAOS);
    });
  }

  /** End the protocol. */
  done(): void {
    this.send({ type: 'Done' }, PRAOS);
  }

  protected handle(m: KeepAliveMessage): void {
    if (m.type !== 'Response') return;
    const p = this.pending;
    if (!p || p.cookie !== m.cookie) {
      // The close rejects the pending ping with the ConnectionClosedError.
      this.fail(violation('keep-alive', 'agency', `response cookie ${m.cookie}, expected ${p?.cookie}`));
      return;
    }
    this.pending = undefined;
    this.rttMs = this.port.clock.now() - p.sentAt;
    p.resolve(this.rttMs);
  }

  protected override onClosed(err: ConnectionClosedError): void {
    if (this.interval !== undefined) this.port.clock.clearTimer(this.interval);
    this.pending?.reject(err);
    this.pending = undefined;
  }
}

/**
 * Keep-alive server: answers every KeepAlive at Praos priority.
 *
 * @example
 * ```ts
 * conn.register(new KeepAliveServer());
 * ```
 */
export class KeepAliveServer extends Driver<KeepAliveMessage, KeepAliveState, K> {
  constructor() {
    super('server', keepAliveSpec);
  }

  protected handle(m: KeepAliveMessage): void {
    if (m.type === 'KeepAlive') this.send({ type: 'Response', cookie: m.cookie }, PRAOS);
  }
}
