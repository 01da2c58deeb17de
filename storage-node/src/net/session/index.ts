/**
 * Long-lived relay sessions of a storage node: dial a relay, run a {@link PeerSession} over the
 * socket, and redial with bounded exponential backoff whenever it ends; and the responder side
 * (accept peers on a `ws` server and run the same session code).
 *
 * Primer: a storage node keeps one {@link RelaySession} per configured relay URL
 * (`ws://…/v1/ws`, subprotocol `leios-mux.1`, §8.1). Each connection attempt is a fresh
 * {@link PeerSession} with a fresh id, so the fetch manager never confuses a request made on a dead
 * connection with one on its successor. Failures of any kind — the dial, the handshake (refused
 * with 1008 `handshake:refused`), a protocol violation, the relay restarting (1012) — end in the
 * same place: wait `min(30 s, 250 ms · 2^n)` with jitter, dial again. A session that stayed up for
 * `stableMs` resets the backoff. `close()` stops the loop, closes the live session with 1000 and
 * resolves when it is gone.
 *
 * The sessions are transport-agnostic: they dial through a {@link Dialer} (default: the `ws`
 * package) that yields a {@link PeerSocket}, so the same code runs over workerd sockets or in
 * memory.
 *
 * @module
 */
import type { Clock, HandshakeAuthenticator, LocalVersionData, PeerSecret } from '@leios/shared/wire';
import { systemClock } from '@leios/shared/wire';
import type { WebSocketServer } from 'ws';
import type { LeiosNode } from '../../node/index';
import { Backoff, type BackoffOptions } from '../backoff/index';
import type { FetchManager } from '../fetch/index';
import type { NetObserver } from '../observer/index';
import { PeerSession, type SessionWarning } from '../peer/index';
import { acceptPeers, type Dialer, memorySocketPair, type PeerSocket, wsDialer } from '../socket/index';

/** What happened to a relay session (logs, metrics, tests). */
export type RelaySessionEvent =
  | { type: 'connecting'; attempt: number }
  | { type: 'dial-failed'; detail: string }
  | { type: 'open'; peer: string; version: number }
  | { type: 'refused'; peer: string; detail: string }
  | { type: 'closed'; peer: string; code: number; reason: string }
  | { type: 'waiting'; delayMs: number };

/** Options of a {@link RelaySession}. */
export interface RelaySessionOptions {
  /** `ws://host:port/v1/ws` (or wss). */
  url: string;
  node: LeiosNode;
  fetch: FetchManager;
  versionData: LocalVersionData;
  /** Per-peer secret for the handshake HMAC (issue 5 item 6). */
  auth?: PeerSecret;
  /** Label of the relay in peer ids and logs. Default: the URL. */
  name?: string;
  dial?: Dialer;
  backoff?: BackoffOptions;
  /** A session open at least this long resets the backoff. Default 10 s. */
  stableMs?: number;
  keepAliveMs?: number | null;
  clock?: Clock;
  onEvent?: (e: RelaySessionEvent) => void;
  onWarning?: (w: SessionWarning) => void;
  /** Metrics and §14.1 events of every session ({@link NetObserver}); `name` is the peer's name. */
  observer?: NetObserver;
}

/**
 * A dial-and-redial session to one relay.
 *
 * @example
 * ```ts
 * const relay = new RelaySession({ url: 'ws://127.0.0.1:8787/v1/ws', node, fetch, versionData, auth });
 * relay.start();
 * …
 * await relay.close();
 * ```
 */
export class RelaySession {
  /** The live session, if any. */
  current: PeerSession | undefined;
  /** Connection attempts that reached an open socket. */
  connects = 0;
  /** Sessions that completed the handshake. */
  opened = 0;
  private readonly opts: RelaySessionOptions;
  private readonly backoff: Backoff;
  private readonly clock: Clock;
  private readonly dial: Dialer;
  private readonly name: string;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private sleepTimer: unknown;
  private wake: (() => void) | undefined;
  private openWaiters: Array<(s: PeerSession) => void> = [];

  constructor(opts: RelaySessionOptions) {
    this.opts = opts;
    this.backoff = new Backoff(opts.backoff);
    this.clock = opts.clock ?? systemClock;
    this.dial = opts.dial ?? wsDialer();
    this.name = opts.name ?? opts.url;
  }

  /** Start dialling (idempotent). */
  start(): void {
    if (this.loop || this.stopped) return;
    this.loop = this.run();
  }

  /** Resolves with the next session whose handshake completes (the live one if open). */
  whenOpen(): Promise<PeerSession> {
    const c = this.current;
    if (c && this.isOpen(c)) return Promise.resolve(c);
    return new Promise((r) => this.openWaiters.push(r));
  }

  private readonly openSessions = new WeakSet<PeerSession>();
  private isOpen(s: PeerSession): boolean {
    return this.openSessions.has(s) && !s.conn.closed;
  }

  /** Stop redialling, close the live session (1000) and wait until it has ended. */
  async close(): Promise<void> {
    this.stopped = true;
    if (this.sleepTimer !== undefined) this.clock.clearTimer(this.sleepTimer);
    this.wake?.();
    this.current?.close(1000, 'closing');
    await this.loop;
  }

  private emit(e: RelaySessionEvent): void {
    this.opts.onEvent?.(e);
  }

  private sleep(ms: number): Promise<void> {
    this.emit({ type: 'waiting', delayMs: ms });
    return new Promise((resolve) => {
      this.wake = resolve;
      this.sleepTimer = this.clock.setTimer(ms, () => {
        this.sleepTimer = undefined;
        resolve();
      });
    });
  }

  private async run(): Promise<void> {
    let attempt = 0;
    while (!this.stopped) {
      this.emit({ type: 'connecting', attempt: ++attempt });
      let socket: PeerSocket;
      try {
        socket = await this.dial(this.opts.url);
      } catch (e) {
        this.emit({ type: 'dial-failed', detail: e instanceof Error ? e.message : String(e) });
        if (this.stopped) break;
        await this.sleep(this.backoff.next());
        continue;
      }
      if (this.stopped) {
        socket.close(1000, 'closing');
        break;
      }
      this.connects++;
      const s = new PeerSession({
        socket,
        role: 'initiator',
        node: this.opts.node,
        fetch: this.opts.fetch,
        versionData: this.opts.versionData,
        id: `${this.name}#${this.connects}`,
        ...(this.opts.auth ? { auth: this.opts.auth } : {}),
        ...(this.opts.keepAliveMs !== undefined ? { keepAliveMs: this.opts.keepAliveMs } : {}),
        clock: this.clock,
        ...(this.opts.onWarning ? { onWarning: this.opts.onWarning } : {}),
        ...(this.opts.observer ? { observer: this.opts.observer, peerName: this.name } : {}),
      });
      this.current = s;
      const openedAt = this.clock.now();
      s.handshake.then(
        (r) => {
          this.opened++;
          this.openSessions.add(s);
          this.emit({ type: 'open', peer: s.id, version: r.version });
          for (const w of this.openWaiters.splice(0)) w(s);
        },
        (e: unknown) => this.emit({ type: 'refused', peer: s.id, detail: e instanceof Error ? e.message : String(e) }),
      );
      const end = await s.closed;
      this.current = undefined;
      this.emit({ type: 'closed', peer: s.id, code: end.code, reason: end.reason });
      if (this.stopped) break;
      if (this.openSessions.has(s) && this.clock.now() - openedAt >= (this.opts.stableMs ?? 10_000)) this.backoff.reset();
      await this.sleep(this.backoff.next());
    }
  }
}

/** Options of {@link servePeers}. */
export interface ServePeersOptions {
  wss: WebSocketServer;
  node: LeiosNode;
  fetch: FetchManager;
  versionData: LocalVersionData;
  /** Require clients to authenticate with a per-peer secret. */
  authenticator?: HandshakeAuthenticator;
  /** Label of this listener in peer ids. Default `in`. */
  name?: string;
  /** Concurrent sessions; more are closed with 1013. Default 64. */
  maxSessions?: number;
  clock?: Clock;
  onWarning?: (w: SessionWarning) => void;
  /** Metrics and §14.1 events of every session; peers are named by their session id. */
  observer?: NetObserver;
}

/** The responder side: live sessions and a close. */
export interface PeerListener {
  readonly sessions: ReadonlySet<PeerSession>;
  /** Close every session (1001 going away) and wait until they ended. */
  close(): Promise<void>;
}

/**
 * Accept peers on a `ws` server (created with `handleProtocols: selectSubprotocol`) and run a
 * responder {@link PeerSession} per socket.
 *
 * @example
 * ```ts
 * const wss = new WebSocketServer({ port: 0, path: '/v1/ws', handleProtocols: selectSubprotocol, maxPayload: MAX_WS_MESSAGE_BYTES });
 * const listener = servePeers({ wss, node, fetch, versionData });
 * ```
 */
export function servePeers(opts: ServePeersOptions): PeerListener {
  const sessions = new Set<PeerSession>();
  let n = 0;
  const max = opts.maxSessions ?? 64;
  acceptPeers(opts.wss, (socket, remote) => {
    if (sessions.size >= max) {
      socket.close(1013, 'overloaded');
      return;
    }
    const s = new PeerSession({
      socket,
      role: 'responder',
      node: opts.node,
      fetch: opts.fetch,
      versionData: opts.versionData,
      id: `${opts.name ?? 'in'}#${++n}@${remote ?? '?'}`,
      ...(opts.authenticator ? { authenticator: opts.authenticator } : {}),
      clock: opts.clock ?? systemClock,
      ...(opts.onWarning ? { onWarning: opts.onWarning } : {}),
      ...(opts.observer ? { observer: opts.observer } : {}),
    });
    sessions.add(s);
    void s.closed.then(() => sessions.delete(s));
  });
  return {
    sessions,
    close: async () => {
      const all = [...sessions];
      for (const s of all) s.close(1001, 'going away');
      await Promise.all(all.map((s) => s.closed));
    },
  };
}

/** One side of {@link linkPeers}. */
export interface LinkSide {
  node: LeiosNode;
  fetch: FetchManager;
  observer?: NetObserver;
  onWarning?: (w: SessionWarning) => void;
}

/** Two nodes linked in memory by {@link linkPeers}. */
export interface PeerLink {
  /** `a`'s session (initiator) and `b`'s (responder). */
  readonly a: PeerSession;
  readonly b: PeerSession;
  /** Both handshakes done. */
  readonly ready: Promise<void>;
  close(): void;
}

/**
 * Link two nodes in one process with the production session code over an in-memory socket pair
 * (test networks and benchmarks; the successor of node/testkit/link.ts).
 *
 * @example
 * ```ts
 * const link = linkPeers({ node: n1, fetch: f1 }, { node: n2, fetch: f2 }, versionData);
 * await link.ready;
 * ```
 */
export function linkPeers(a: LinkSide, b: LinkSide, versionData: LocalVersionData, opts: { name?: string; keepAliveMs?: number | null } = {}): PeerLink {
  const [sa, sb] = memorySocketPair();
  const name = opts.name ?? `${a.node.name}-${b.node.name}`;
  const pa = new PeerSession({
    socket: sa,
    role: 'initiator',
    node: a.node,
    fetch: a.fetch,
    versionData,
    id: `${name}/a`,
    keepAliveMs: opts.keepAliveMs ?? null,
    peerName: b.node.name,
    ...(a.observer ? { observer: a.observer } : {}),
    ...(a.onWarning ? { onWarning: a.onWarning } : {}),
  });
  const pb = new PeerSession({
    socket: sb,
    role: 'responder',
    node: b.node,
    fetch: b.fetch,
    versionData,
    id: `${name}/b`,
    peerName: a.node.name,
    ...(b.observer ? { observer: b.observer } : {}),
    ...(b.onWarning ? { onWarning: b.onWarning } : {}),
  });
  return {
    a: pa,
    b: pb,
    ready: Promise.all([pa.handshake, pb.handshake]).then(() => undefined),
    close: () => pa.close(1000, 'done'),
  };
}
