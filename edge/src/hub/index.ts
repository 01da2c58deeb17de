/**
 * RelayHub: the Durable Object that holds one relay's live peer sessions (DESIGN.md §1).
 *
 * Primer: every `GET /v1/ws` upgrade of a relay lands in the same RelayHub instance (named by
 * `RELAY_NAME`), which accepts the socket with the hibernation API (`ctx.acceptWebSocket`) and runs
 * one {@link Connection} (shared/src/wire: mux, §8.2 violations and close codes, §13.1 egress
 * scheduling) per socket, as the responder. Each connection starts with a {@link HandshakeServer}
 * (§8.3: magic, genesis hash and ledger mode from the relay's config) and a {@link KeepAliveServer},
 * and runs a {@link RelaySession} (../relay/session): server instances of chain-sync, block-fetch,
 * tx-submission, LeiosNotify and LeiosFetch from the start, client instances once the handshake
 * completed (none towards an `initiator_only` peer). All sessions share one {@link Relay}
 * (../relay), which checks and diffuses headers, blocks, EBs, votes and txs (§10.4, §13.4). The
 * relay learns each epoch's pools and nonce from the storage nodes (`GET /v1/epoch/{e}/pools`,
 * kept in the Cache API) and re-reads EB bytes and closure txs it offered but evicted from them.
 *
 * Access (issue 5 item 6). With `PEER_SECRETS` set, the handshake admits a client in one of two
 * ways (shared/src/wire/handshake/auth.ts `admit`): a valid HMAC auth element makes it a *peer*
 * (an authenticated storage node or relay: full duplex session, as before); no auth element makes
 * it *anonymous*; a bad one (unknown peer id, wrong MAC, stale, replayed) is refused with
 * `[2, [2, v, "auth"]]` and 1008 `handshake:refused`. An anonymous session is a *reader*: it may
 * read (chain-sync, block-fetch, LeiosNotify, LeiosFetch, keep-alive) and submit txs (the relay's
 * tx-submission client pulls them), and is never an upstream — the relay runs no other client
 * towards it, so a header, offer or vote it pushes closes it with 1008 `<proto>:agency` (§8.2).
 * Per client address (`CF-Connecting-IP`) anonymous sessions are capped in number (a handshake
 * over the cap is refused with `"anonymous-limit"`) and in messages and bytes per window (over
 * either, the session closes with 1008 `mux:limit`, §8.2 "limit breach"); a violation by an
 * anonymous session uses up its address's allowance for a window (../ratelimit/anonymous, limits
 * from `ANON_LIMITS`). Without `PEER_SECRETS` every session is a full peer (a private relay).
 *
 * Hibernation. Storage nodes send a keep-alive every 20 s (§9), but a Durable Object hibernates
 * after ~10 s without an incoming event, and hibernation discards memory: every session's
 * mini-protocol state and the relay core itself (header tree, blocks, EBs, votes, committees: tens
 * of MB that took seconds of CPU to build), so each quiet gap would cost every peer its session
 * (1012 `restart`, reconnect, re-sync). The alternatives do not fit the wire: rebuilding sessions
 * from socket attachments (≤ 2 KiB) cannot restore the relay core or the requests each side
 * already has outstanding (a peer's pending RequestNext, a pipelined LeiosFetch), and
 * `setWebSocketAutoResponse` answers only one exact request string with one fixed reply, while a
 * keep-alive segment carries a changing transmission time (§8.2) and a cookie the reply must echo
 * (§9). So the hub does not hibernate while it holds a live session: it keeps one pending timer
 * ({@link RESIDENCY_TIMER_MS}), which makes the object non-hibernateable (Durable Object lifecycle),
 * and the peers' own keep-alives are the incoming events that keep it from being evicted as idle.
 * With no session left the timer lapses and the object may hibernate. The runtime can still
 * evict it (deploys, moves): a message for a socket whose in-memory session is gone then closes
 * that socket with 1012 `restart`, and the peer reconnects and handshakes again. Each socket's
 * attachment ({@link SessionAttachment}) keeps what the operator API shows about it.
 *
 * A session must complete its handshake within 10 s (§11 handshake timeout) or the hub's alarm
 * closes it with 1008 `handshake:timeout`.
 *
 * @module
 */
import { DurableObject } from 'cloudflare:workers';
import { CborReader, DecodeError, type Hash32, toHex } from '@leios/shared';
import { ProtocolViolation } from '@leios/shared/errors';
import { type Access, type AnonymousAdmission, Connection, HandshakeAuthenticator, HandshakeServer, KeepAliveServer } from '@leios/shared/wire';
import { cacheKey, IMMUTABLE } from '../cache/index';
import { currentEpoch, type EdgeConfig, type Env, LIMITS, parseConfig } from '../config/index';
import { AnonymousBudget, type AnonymousStats } from '../ratelimit/anonymous/index';
import { Relay, type RelayStats, type VoteOutcome } from '../relay/index';
import { RelaySession } from '../relay/session';
import { checkEpochPools } from '../routes/epoch/index';
import { HttpUpstream } from '../upstream/index';
import { checkEb, checkRbBlock } from '../verify/index';
import { AlarmClock } from './clock';
import { BoundedContent } from './content';

/** §8.1 subprotocol of the peer WebSocket. */
export const SUBPROTOCOL = 'leios-mux.1';
/** §11 handshake timeout. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;
/** Memory bound of the hub's content caches (a Durable Object has 128 MB in total). */
export const HUB_CONTENT_BYTES = 32 * 1024 * 1024;
/** Close code for a session whose in-memory state was lost (RFC 6455 "service restart"). */
export const CLOSE_RESTART = 1012;
/**
 * Period of the residency timer held while any session is live (its length does not matter: a
 * pending timer of any length keeps the object from hibernating).
 */
export const RESIDENCY_TIMER_MS = 30_000;

/** What the hub keeps about a session in its socket's attachment (serializeAttachment). */
export interface SessionAttachment {
  v: 2;
  id: string;
  /** Remote address as seen by the edge (`CF-Connecting-IP`), for logs and rate limits. */
  ip: string | null;
  openedAtMs: number;
  handshakeDone: boolean;
  /** How the handshake admitted it (null until it completed). */
  access: Access | null;
  /** Authenticated peer id (when PEER_SECRETS is configured and the peer authenticated). */
  peerId: string | null;
  version: number | null;
}

/** A session whose protocol state is in memory. */
interface LiveSession {
  readonly conn: Connection;
  readonly relay: RelaySession;
  /** The rate-limit key (the client address). */
  readonly ip: string;
  /** Set when the handshake admitted it anonymously (holding one of `ip`'s slots): its traffic is charged to `ip`. */
  anonymous: boolean;
  /** `conn.bytesOut` already charged. */
  chargedOut: number;
}

/** Violation detail of a session closed by its address's anonymous rate limit. */
const RATE_LIMITED = 'anonymous rate limit: too many messages or bytes from this address in the window';

/** A snapshot of one session, for the operator API and tests. */
export type SessionInfo = Omit<SessionAttachment, 'v'> & { live: boolean };

/**
 * One structured log line (Workers Logs index JSON fields; `wrangler tail` shows them live).
 * Session lifecycle and violations only: a few lines per session, never per message.
 */
function log(fields: Record<string, unknown>): void {
  console.log(JSON.stringify({ at: 'relay-hub', ...fields }));
}

function attachmentOf(ws: WebSocket): SessionAttachment | null {
  const a: unknown = ws.deserializeAttachment();
  if (typeof a !== 'object' || a === null || (a as { v?: unknown }).v !== 2) return null;
  return a as SessionAttachment;
}

/**
 * The hub. Reached from the Worker by `env.RELAY_HUB.getByName(cfg.relayName)`.
 *
 * @example
 * ```ts
 * const hub = env.RELAY_HUB.getByName('eu');
 * const eb = await hub.getEb(hashHex); // Uint8Array | null
 * ```
 */
export class RelayHub extends DurableObject<Env> {
  private readonly ebs = new BoundedContent(HUB_CONTENT_BYTES / 2, 4_096);
  private readonly rbs = new BoundedContent(HUB_CONTENT_BYTES / 2, 16_384);
  private readonly live = new Map<WebSocket, LiveSession>();
  private cfg: EdgeConfig | undefined;
  private authn: HandshakeAuthenticator | undefined;
  private anonymous: AnonymousBudget | undefined;
  private relayCore: Relay | undefined;
  /** Long protocol timers (StIdle 3,600 s) on the alarm (./clock). */
  private readonly clock = new AlarmClock((at) => {
    void this.armAlarm(at);
  });
  /** The residency timer (see the module primer), pending while any session is live. */
  private residency: ReturnType<typeof setTimeout> | undefined;

  /** The relay core of this hub (created on first use). */
  relay(): Relay {
    if (this.relayCore === undefined) {
      const cfg = this.config();
      const upstream = new HttpUpstream(cfg.upstreamUrls, cfg.upstreamTimeoutMs);
      this.relayCore = new Relay({
        params: cfg.params,
        systemStartMs: cfg.systemStartMs,
        log,
        loadEpoch: (e) => this.loadEpochPools(cfg, upstream, e),
        upstream: {
          eb: async (hex) => {
            const out = await upstream.request({ method: 'GET', path: `/v1/eb/${hex}`, maxBytes: LIMITS.maxEbSize }, (r) =>
              r.status === 200 ? { ok: true, value: r.body } : { ok: false, detail: `status ${r.status}` },
            );
            return out.ok ? out.value : null;
          },
          ebTxs: async (hex, bitmap) => {
            const out = await upstream.request(
              { method: 'POST', path: `/v1/eb/${hex}/txs`, body: bitmap, contentType: 'application/cbor', maxBytes: LIMITS.maxEbTxsReply },
              (r) => {
                if (r.status !== 200) return { ok: false, detail: `status ${r.status}` };
                try {
                  const rd = new CborReader(r.body);
                  const n = rd.readArray('txs', { max: cfg.params.maxReplyTxs });
                  const txs: Uint8Array[] = [];
                  for (let i = 0; i < n; i++) txs.push(rd.readRaw(`txs[${i}]`, cfg.params.maxTxSize));
                  rd.done('txs');
                  return { ok: true, value: txs };
                } catch (e) {
                  if (e instanceof DecodeError) return { ok: false, detail: e.message };
                  throw e;
                }
              },
            );
            return out.ok ? out.value : null;
          },
        },
      });
    }
    return this.relayCore;
  }

  /**
   * `[e, η_e, [* pool]]` of epoch e: the Cache API (immutable once served, §12), else a storage node.
   * Null when none knows it (404: nonce not fixed) or none answered.
   */
  private async loadEpochPools(cfg: EdgeConfig, upstream: HttpUpstream, e: number): Promise<Uint8Array | null> {
    const key = cacheKey(`https://${cfg.relayName}.hub.leios.internal/`, `/v1/epoch/${e}/pools`);
    const hit = await caches.default.match(key);
    if (hit !== undefined) return new Uint8Array(await hit.arrayBuffer());
    const out = await upstream.request({ method: 'GET', path: `/v1/epoch/${e}/pools`, maxBytes: LIMITS.maxPoolsReply }, (r) => {
      if (r.status !== 200) return { ok: false, detail: `status ${r.status}` };
      const bad = checkEpochPools(r.body, e);
      return bad === null ? { ok: true, value: r.body } : { ok: false, detail: bad };
    });
    if (!out.ok) {
      log({ event: 'epoch-unavailable', epoch: e, failures: out.failures.length });
      return null;
    }
    const past = e < currentEpoch(cfg, Date.now());
    await caches.default.put(key, new Response(out.value, { headers: { 'content-type': 'application/cbor', 'cache-control': past ? IMMUTABLE : 'public, max-age=60' } }));
    return out.value;
  }

  private config(): EdgeConfig {
    if (this.cfg === undefined) {
      const cfg = parseConfig(this.env);
      this.cfg = cfg;
      // One authenticator per hub: its replay cache must see every connection (wire/handshake/auth).
      if (cfg.peerSecrets.size > 0) {
        this.authn = new HandshakeAuthenticator({ serverId: cfg.relayName, secretFor: (id) => cfg.peerSecrets.get(id) });
        this.anonymous = new AnonymousBudget(cfg.anonymous);
      }
    }
    return this.cfg;
  }

  /** Accept a peer WebSocket (the Worker has already checked the upgrade and subprotocol). */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket') {
      return new Response('expected a WebSocket upgrade', { status: 426 });
    }
    const cfg = this.config();
    const pair = new WebSocketPair();
    const client = pair[0];
    const server = pair[1];
    const attachment: SessionAttachment = {
      v: 2,
      id: crypto.randomUUID(),
      ip: request.headers.get('cf-connecting-ip'),
      openedAtMs: Date.now(),
      handshakeDone: false,
      access: null,
      peerId: null,
      version: null,
    };
    this.ctx.acceptWebSocket(server, [attachment.id]);
    server.serializeAttachment(attachment);
    const ip = attachment.ip ?? 'unknown';
    const budget = this.anonymous;

    const conn = new Connection({
      role: 'responder',
      clock: this.clock,
      // No bufferedAmount in workerd: the connection paces egress per event-loop turn (§13.1 rule 3).
      transport: { send: (b) => server.send(b), close: (code, reason) => server.close(code, reason) },
      onClose: (e) => {
        session.stop();
        this.live.delete(server);
        if (live.anonymous) budget?.release(ip);
        this.residencyCheck();
        log({ event: 'session-closed', session: attachment.id, code: e.code, reason: e.reason, bytesIn: conn.bytesIn, bytesOut: conn.bytesOut });
      },
      onViolation: (v) => {
        log({ event: 'violation', session: attachment.id, reason: v.reason, detail: v.detail.slice(0, 200) });
        // An anonymous session that breaks the protocol (e.g. pushes a header or a vote) costs its
        // address a window (../ratelimit/anonymous); a rate-limit close has spent it already.
        if (live.anonymous && v.detail !== RATE_LIMITED) budget?.exhaust(ip);
      },
    });
    const session = new RelaySession(this.relay(), conn, attachment.id, log);
    const live: LiveSession = { conn, relay: session, ip, anonymous: false, chargedOut: 0 };
    // Anonymous clients: refused where anonymous access is off, else admitted within the budget.
    // Marked anonymous here, synchronously: segments after the handshake in the same WebSocket
    // message are processed before `hs.result` settles.
    const anonymous: AnonymousAdmission =
      budget === undefined || budget.limits.sessionsPerIp === 0
        ? 'refuse'
        : () => {
            const refusal = budget.admit(ip);
            live.anonymous = refusal === null;
            return refusal;
          };
    const hs = new HandshakeServer({
      data: { networkMagic: cfg.networkMagic, genesisHash: cfg.genesisHash as Hash32, ledgerMode: cfg.ledgerMode === 'utxo' ? 0 : 1 },
      ...(this.authn ? { auth: this.authn, anonymous } : {}),
    });
    conn.register(hs);
    conn.register(new KeepAliveServer());
    session.registerServers();
    this.live.set(server, live);
    this.residencyCheck();
    hs.result.then(
      (r) => {
        const a = attachmentOf(server);
        if (a === null || conn.closed) return;
        session.start(r.initiatorOnly, r.access !== 'anonymous');
        server.serializeAttachment({ ...a, handshakeDone: true, access: r.access, peerId: r.peerId ?? null, version: r.version });
        log({ event: 'session-ready', session: attachment.id, access: r.access, peer: r.peerId ?? null, version: r.version, initiatorOnly: r.initiatorOnly });
      },
      () => undefined, // a refused or closed handshake has already closed the socket with its reason
    );
    await this.armAlarm(attachment.openedAtMs + HANDSHAKE_TIMEOUT_MS);
    log({ event: 'session-opened', session: attachment.id, ip: attachment.ip });
    return new Response(null, { status: 101, webSocket: client, headers: { 'sec-websocket-protocol': SUBPROTOCOL } });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const s = this.live.get(ws);
    if (s === undefined) {
      // The object was evicted since this socket opened: its session state is gone.
      this.closeSocket(ws, CLOSE_RESTART, 'restart');
      return;
    }
    if (s.anonymous && this.anonymous !== undefined) {
      // This message and what was sent to the session since the last one count against its address.
      const size = typeof message === 'string' ? message.length : message.byteLength;
      const out = s.conn.bytesOut - s.chargedOut;
      s.chargedOut = s.conn.bytesOut;
      if (!this.anonymous.charge(s.ip, 1, size + out)) {
        this.anonymous.rateLimited();
        s.conn.fail(new ProtocolViolation('mux', 'limit', 1008, RATE_LIMITED));
        return;
      }
    }
    s.conn.receive(message);
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    this.live.get(ws)?.conn.remoteClosed(code, reason);
    this.live.delete(ws);
    // Complete the closing handshake (a no-op where the runtime already replied to the close).
    this.closeSocket(ws, code === 1005 || code === 1006 ? 1000 : code, reason);
  }

  override async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    this.live.get(ws)?.conn.remoteClosed(1006, error instanceof Error ? error.message.slice(0, 100) : 'error');
    this.live.delete(ws);
  }

  /** Hold the residency timer while any session is live; let it lapse when none is. */
  private residencyCheck(): void {
    if (this.live.size === 0) {
      if (this.residency !== undefined) clearTimeout(this.residency);
      this.residency = undefined;
      return;
    }
    if (this.residency !== undefined) return;
    this.residency = setTimeout(() => {
      this.residency = undefined;
      this.residencyCheck();
    }, RESIDENCY_TIMER_MS);
  }

  /** Whether the residency timer is pending (RPC; tests). */
  resident(): boolean {
    return this.residency !== undefined;
  }

  /** §11: close sessions whose handshake did not complete in time; fire long timers; re-arm. */
  override async alarm(): Promise<void> {
    const now = Date.now();
    let next = this.clock.fireDue(now);
    for (const ws of this.ctx.getWebSockets()) {
      const s = attachmentOf(ws);
      if (s === null || s.handshakeDone) continue;
      const deadline = s.openedAtMs + HANDSHAKE_TIMEOUT_MS;
      if (deadline > now) {
        next = Math.min(next, deadline);
        continue;
      }
      const conn = this.live.get(ws)?.conn;
      if (conn !== undefined) conn.close(1008, 'handshake:timeout');
      else this.closeSocket(ws, 1008, 'handshake:timeout');
    }
    if (Number.isFinite(next)) await this.ctx.storage.setAlarm(next);
  }

  /** Sessions of this hub (RPC; for the operator API and tests). */
  sessions(): SessionInfo[] {
    const out: SessionInfo[] = [];
    for (const ws of this.ctx.getWebSockets()) {
      const s = attachmentOf(ws);
      if (s === null) continue;
      const { v: _v, ...rest } = s;
      out.push({ ...rest, live: this.live.has(ws) });
    }
    return out;
  }

  /** EB bytes held by the hub, by hash hex (RPC). */
  getEb(hashHex: string): Uint8Array | null {
    return this.relayCore?.eb(hashHex)?.view?.bytes ?? this.ebs.get(hashHex) ?? null;
  }

  /** RB block bytes held by the hub, by RB hash hex (RPC). */
  getRb(hashHex: string): Uint8Array | null {
    return this.relayCore?.block(hashHex) ?? this.rbs.get(hashHex) ?? null;
  }

  /**
   * Votes submitted over HTTP (`POST /v1/votes`, RPC): the §6.3 checks and batch verification of
   * the relay, verified ones re-diffused to every peer. One outcome per vote.
   */
  async submitVotes(votes: Uint8Array[]): Promise<VoteOutcome[]> {
    return this.relay().ingestVotes(votes, null);
  }

  /**
   * Load an epoch's pools and build its committee now (RPC, operators and tests): decoding 900
   * vote keys and verifying their PoPs takes ~10 s of CPU, done in slices of a few keys per
   * event-loop turn (../relay/committee) so sessions keep running meanwhile. Resolves when the
   * committee is ready, with the time taken (ms), its size and whether the epoch is known.
   */
  async prepareEpoch(epoch: number): Promise<{ known: boolean; ms: number; seats: number }> {
    const t0 = Date.now();
    const data = await this.relay().epochs.get(epoch);
    const committee = await data?.committee();
    return { known: data !== null, ms: Date.now() - t0, seats: committee?.size ?? 0 };
  }

  /** A tx a storage node admitted (`POST /v1/tx`, RPC): into the recent-tx buffer for peers. */
  submitTx(tx: Uint8Array): boolean {
    return this.relay().addTx(tx, null);
  }

  /** The relay's best header, or null when it holds none (RPC, for `GET /v1/tip`). */
  tip(): { slot: number; blockNumber: number; hash: string; epoch: number } | null {
    return this.relayCore?.tipInfo() ?? null;
  }

  /** Relay counters, session penalties and anonymous-access counters (RPC; operators and tests). */
  relayStats(): RelayStats & {
    sessions: { id: string; penalty: number; anonymous: boolean }[];
    headers: number;
    txs: number;
    anonymous: AnonymousStats & { open: number };
  } {
    const r = this.relay();
    const b = this.anonymous;
    return {
      ...r.stats,
      sessions: [...this.live.values()].map((s) => ({ id: s.relay.id, penalty: s.relay.penalty, anonymous: s.anonymous })),
      headers: r.tree.size,
      txs: r.txs.size,
      anonymous: { ...(b?.stats ?? { admitted: 0, refused: 0, rateLimited: 0, penalised: 0 }), open: b?.sessions ?? 0 },
    };
  }

  /**
   * Hold EB bytes a peer delivered (LeiosFetch Block), after checking them against their hash;
   * returns why they were refused, or null when held.
   */
  holdEb(hash: Uint8Array, bytes: Uint8Array): string | null {
    const bad = checkEb(bytes, hash);
    if (bad !== null) return bad;
    this.ebs.put(toHex(hash), bytes);
    return null;
  }

  /** Hold an RB block a peer delivered (block-fetch), after checking header and body hashes. */
  holdRb(hash: Uint8Array, bytes: Uint8Array): string | null {
    const bad = checkRbBlock(bytes, hash);
    if (bad !== null) return bad;
    this.rbs.put(toHex(hash), bytes);
    return null;
  }

  private closeSocket(ws: WebSocket, code: number, reason: string): void {
    try {
      ws.close(code, reason);
    } catch {
      // Already closed: the peer has what it needs.
    }
  }

  private async armAlarm(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }
}
