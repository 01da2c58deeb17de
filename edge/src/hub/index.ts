/**
 * RelayHub: the Durable Object that holds one relay's live peer sessions (DESIGN.md §1).
 *
 * Primer: every `GET /v1/ws` upgrade of a relay lands in the same RelayHub instance (named by
 * `RELAY_NAME`), which accepts the socket with the hibernation API (`ctx.acceptWebSocket`) and runs
 * one {@link Connection} (shared/src/wire: mux, §8.2 violations and close codes, §13.1 egress
 * scheduling) per socket, as the responder. Each connection starts with a {@link HandshakeServer}
 * (§8.3: magic, genesis hash and ledger mode from the relay's config; when `PEER_SECRETS` is set,
 * the peer must also authenticate with its per-peer HMAC key) and a {@link KeepAliveServer}; the
 * other mini-protocols register here as shared/src/wire provides them.
 *
 * State that must survive a hibernation wake-up is in each socket's attachment
 * ({@link SessionAttachment}, ≤ 2 KiB); the mini-protocol state machines are in memory only. A
 * message arriving for a socket whose in-memory session is gone (the object was evicted) closes
 * that socket with 1012 `restart`, so the peer reconnects and handshakes again: the relay keeps
 * nothing that must survive, and peers already reconnect after any network failure. The
 * recently pushed EB and RB bytes the hub holds are likewise a bounded in-memory cache.
 *
 * A session must complete its handshake within 10 s (§11 handshake timeout) or the hub's alarm
 * closes it with 1008 `handshake:timeout`.
 *
 * @module
 */
import { DurableObject } from 'cloudflare:workers';
import { type Hash32, toHex } from '@leios/shared';
import { Connection, HandshakeAuthenticator, HandshakeServer, KeepAliveServer } from '@leios/shared/wire';
import { type EdgeConfig, type Env, parseConfig } from '../config/index';
import { checkEb, checkRbBlock } from '../verify/index';
import { BoundedContent } from './content';

/** §8.1 subprotocol of the peer WebSocket. */
export const SUBPROTOCOL = 'leios-mux.1';
/** §11 handshake timeout. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;
/** Memory bound of the hub's content caches (a Durable Object has 128 MB in total). */
export const HUB_CONTENT_BYTES = 32 * 1024 * 1024;
/** Close code for a session whose in-memory state was lost (RFC 6455 "service restart"). */
export const CLOSE_RESTART = 1012;

/** What the hub remembers about a session across hibernation (serializeAttachment). */
export interface SessionAttachment {
  v: 1;
  id: string;
  /** Remote address as seen by the edge (`CF-Connecting-IP`), for logs and rate limits. */
  ip: string | null;
  openedAtMs: number;
  handshakeDone: boolean;
  /** Authenticated peer id (when PEER_SECRETS is configured). */
  peerId: string | null;
  version: number | null;
}

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
  if (typeof a !== 'object' || a === null || (a as { v?: unknown }).v !== 1) return null;
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
  private readonly live = new Map<WebSocket, Connection>();
  private cfg: EdgeConfig | undefined;
  private authn: HandshakeAuthenticator | undefined;

  private config(): EdgeConfig {
    if (this.cfg === undefined) {
      const cfg = parseConfig(this.env);
      this.cfg = cfg;
      // One authenticator per hub: its replay cache must see every connection (wire/handshake/auth).
      if (cfg.peerSecrets.size > 0) {
        this.authn = new HandshakeAuthenticator({ serverId: cfg.relayName, secretFor: (id) => cfg.peerSecrets.get(id) });
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
      v: 1,
      id: crypto.randomUUID(),
      ip: request.headers.get('cf-connecting-ip'),
      openedAtMs: Date.now(),
      handshakeDone: false,
      peerId: null,
      version: null,
    };
    this.ctx.acceptWebSocket(server, [attachment.id]);
    server.serializeAttachment(attachment);

    const conn = new Connection({
      role: 'responder',
      transport: { send: (b) => server.send(b), close: (code, reason) => server.close(code, reason) },
      onClose: (e) => {
        this.live.delete(server);
        log({ event: 'session-closed', session: attachment.id, code: e.code, reason: e.reason, bytesIn: conn.bytesIn, bytesOut: conn.bytesOut });
      },
      onViolation: (v) => log({ event: 'violation', session: attachment.id, reason: v.reason, detail: v.detail.slice(0, 200) }),
    });
    const hs = new HandshakeServer({
      data: { networkMagic: cfg.networkMagic, genesisHash: cfg.genesisHash as Hash32, ledgerMode: cfg.ledgerMode === 'utxo' ? 0 : 1 },
      ...(this.authn ? { auth: this.authn } : {}),
    });
    conn.register(hs);
    conn.register(new KeepAliveServer());
    this.live.set(server, conn);
    hs.result.then(
      (r) => {
        const a = attachmentOf(server);
        if (a === null || conn.closed) return;
        server.serializeAttachment({ ...a, handshakeDone: true, peerId: r.peerId ?? null, version: r.version });
        log({ event: 'session-ready', session: attachment.id, peer: r.peerId ?? null, version: r.version, initiatorOnly: r.initiatorOnly });
      },
      () => undefined, // a refused or closed handshake has already closed the socket with its reason
    );
    await this.armHandshakeAlarm(attachment.openedAtMs + HANDSHAKE_TIMEOUT_MS);
    log({ event: 'session-opened', session: attachment.id, ip: attachment.ip });
    return new Response(null, { status: 101, webSocket: client, headers: { 'sec-websocket-protocol': SUBPROTOCOL } });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const conn = this.live.get(ws);
    if (conn === undefined) {
      // The object was evicted since this socket opened: its session state is gone.
      this.closeSocket(ws, CLOSE_RESTART, 'restart');
      return;
    }
    conn.receive(message);
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    this.live.get(ws)?.remoteClosed(code, reason);
    this.live.delete(ws);
    // Complete the closing handshake (a no-op where the runtime already replied to the close).
    this.closeSocket(ws, code === 1005 || code === 1006 ? 1000 : code, reason);
  }

  override async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    this.live.get(ws)?.remoteClosed(1006, error instanceof Error ? error.message.slice(0, 100) : 'error');
    this.live.delete(ws);
  }

  /** §11: close sessions whose handshake did not complete in time; re-arm for the others. */
  override async alarm(): Promise<void> {
    const now = Date.now();
    let next = Number.POSITIVE_INFINITY;
    for (const ws of this.ctx.getWebSockets()) {
      const s = attachmentOf(ws);
      if (s === null || s.handshakeDone) continue;
      const deadline = s.openedAtMs + HANDSHAKE_TIMEOUT_MS;
      if (deadline > now) {
        next = Math.min(next, deadline);
        continue;
      }
      const conn = this.live.get(ws);
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
    return this.ebs.get(hashHex) ?? null;
  }

  /** RB block bytes held by the hub, by RB hash hex (RPC). */
  getRb(hashHex: string): Uint8Array | null {
    return this.rbs.get(hashHex) ?? null;
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

  private async armHandshakeAlarm(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }
}
