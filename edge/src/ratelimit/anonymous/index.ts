/**
 * Per-address budgets of anonymous WebSocket sessions (issue 5 item 6): how many an address may
 * hold open, and how many messages and bytes they may move per window.
 *
 * Primer: every `/v1/ws` session of a relay lands in its one RelayHub, so the hub sees all of an
 * address's sessions and can count exactly in memory — unlike the HTTP routes, whose per-IP
 * limits are the Workers ratelimit bindings (../index.ts). The hub asks {@link AnonymousBudget}
 * at three points:
 * - *handshake* ({@link AnonymousBudget.admit}): an anonymous client is refused (`"anonymous-limit"`)
 *   when its address already holds `sessionsPerIp` sessions, the hub holds `sessions`, or the
 *   address has used up its allowance in the current window;
 * - *every incoming WebSocket message* ({@link AnonymousBudget.charge}): the message and the bytes
 *   sent to the session since the last charge count against the address; over either allowance,
 *   the session is closed (1008 `mux:limit`, PROTOCOL.md §8.2 "limit breach"). Egress is driven by
 *   the client's own requests, so charging it at the next request bounds it too (by the §11
 *   pipelining limits);
 * - *a protocol violation* ({@link AnonymousBudget.exhaust}): the address's allowance for the
 *   window is used up, so its other anonymous sessions close at their next message and new ones
 *   are refused until the window ends — the penalty for, e.g., trying to push headers or votes.
 *
 * Windows are fixed, per address, starting at the address's first message after the last one
 * ended. Memory is bounded: at most `maxAddresses` addresses are remembered; beyond that the least
 * recently seen address without an open session is forgotten (an address with one is never, and
 * `sessions` < `maxAddresses` guarantees there is always one to forget).
 *
 * @module
 */
import type { AnonymousLimits } from '../../config/index';

/** Refuse reason of a handshake turned away by the budget (§8.3 `[2, [2, v, reason]]`). */
export const ANONYMOUS_LIMIT = 'anonymous-limit';

/** Counters for metrics (the hub's `relayStats()`). */
export interface AnonymousStats {
  /** Anonymous sessions admitted since start. */
  admitted: number;
  /** Anonymous handshakes refused (`"anonymous-limit"`). */
  refused: number;
  /** Sessions closed for going over a window's messages or bytes. */
  rateLimited: number;
  /** Addresses penalised for a protocol violation of an anonymous session. */
  penalised: number;
}

interface AddressState {
  sessions: number;
  windowStart: number;
  messages: number;
  bytes: number;
}

/**
 * The budgets of all anonymous addresses of one hub.
 *
 * @example
 * ```ts
 * const budget = new AnonymousBudget(cfg.anonymous);
 * if (budget.admit(ip) === null) { ... }          // at the handshake: null = admitted
 * if (!budget.charge(ip, 1, bytes)) conn.close(1008, 'mux:limit');
 * budget.release(ip);                              // when the session ends
 * ```
 */
export class AnonymousBudget {
  private readonly addrs = new Map<string, AddressState>();
  private open = 0;
  private readonly now: () => number;
  private readonly maxAddresses: number;
  readonly stats: AnonymousStats = { admitted: 0, refused: 0, rateLimited: 0, penalised: 0 };

  constructor(
    readonly limits: AnonymousLimits,
    opts: { now?: () => number; maxAddresses?: number } = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.maxAddresses = Math.max(opts.maxAddresses ?? 4_096, limits.sessions + 1);
  }

  /** Anonymous sessions open now. */
  get sessions(): number {
    return this.open;
  }

  /** Addresses remembered now (bounded by `maxAddresses`). */
  get addresses(): number {
    return this.addrs.size;
  }

  /**
   * Reserve a session for `ip`: null when admitted (then call {@link release} when it ends), else
   * the refuse reason.
   */
  admit(ip: string): string | null {
    const a = this.touch(ip);
    const spent = a.messages >= this.limits.messages || a.bytes >= this.limits.bytes;
    if (this.open >= this.limits.sessions || a.sessions >= this.limits.sessionsPerIp || spent) {
      this.stats.refused++;
      return ANONYMOUS_LIMIT;
    }
    a.sessions++;
    this.open++;
    this.stats.admitted++;
    return null;
  }

  /** A session admitted by {@link admit} ended. */
  release(ip: string): void {
    const a = this.addrs.get(ip);
    if (a === undefined || a.sessions === 0) return;
    a.sessions--;
    this.open--;
  }

  /**
   * Count `messages` and `bytes` against `ip`'s window; false when the address is over either
   * allowance (the caller closes the session, and counts it with {@link rateLimited}).
   */
  charge(ip: string, messages: number, bytes: number): boolean {
    const a = this.touch(ip);
    a.messages += messages;
    a.bytes += bytes;
    return a.messages <= this.limits.messages && a.bytes <= this.limits.bytes;
  }

  /** A session of `ip` was closed by {@link charge}'s verdict (metrics). */
  rateLimited(): void {
    this.stats.rateLimited++;
  }

  /** Use up `ip`'s allowance for a whole window from now (penalty for a violation). */
  exhaust(ip: string): void {
    const a = this.touch(ip);
    this.stats.penalised++;
    a.windowStart = this.now();
    a.messages = this.limits.messages + 1;
  }

  /** The address's state, its window rolled over if due, marked most recently seen. */
  private touch(ip: string): AddressState {
    const now = this.now();
    let a = this.addrs.get(ip);
    if (a === undefined) {
      if (this.addrs.size >= this.maxAddresses) this.forgetOne();
      a = { sessions: 0, windowStart: now, messages: 0, bytes: 0 };
    } else {
      this.addrs.delete(ip); // re-inserted below: Map order = least recently seen first
      if (now - a.windowStart >= this.limits.windowMs) {
        a.windowStart = now;
        a.messages = 0;
        a.bytes = 0;
      }
    }
    this.addrs.set(ip, a);
    return a;
  }

  private forgetOne(): void {
    for (const [k, a] of this.addrs) {
      if (a.sessions === 0) {
        this.addrs.delete(k);
        return;
      }
    }
  }
}
