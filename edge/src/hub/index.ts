/**
 * RelayHub: the Durable Object that holds one relay's live peer sessions (DESIGN.md §1).
 *
 * Primer: every `GET /v1/ws` upgrade of a relay lands in the same RelayHub instance (named by
 * `RELAY_NAME`), which accepts the socket with the hibernation API (`ctx.acceptWebSocket`), so an
 * idle hub costs nothing and its sockets survive hibernation. Per-session state that must survive
 * a wake-up lives in the socket's attachment ({@link SessionAttachment}, ≤ 2 KiB); everything else
 * the hub holds (recently pushed EB and RB bytes) is an in-memory, bounded cache that may vanish at
 * any eviction, because the relay keeps nothing that must survive.
 *
 * Transport rules of §8.1–§8.2 are enforced here on every message (see ./transport); the
 * mini-protocols (handshake, chain-sync, LeiosNotify, LeiosFetch, …) plug in once
 * shared/src/wire lands. Until the handshake completes, any segment of another protocol closes the
 * session with 1008 `handshake:agency` (§8.2), handshake bytes are held in a buffer bounded by §11
 * (4,096 + 12,288 B), and a session that has not completed its handshake within 10 s (§11
 * StConfirm) is closed with 1008 `handshake:timeout` by the hub's alarm.
 *
 * @module
 */
import { DurableObject } from 'cloudflare:workers';
import { toHex } from '@leios/shared';
import type { Env } from '../config/index';
import { checkEb, checkRbBlock } from '../verify/index';
import { BoundedContent } from './content';
import { PROTOCOL_NUMBERS, splitSegments, type Violation } from './transport';

/** §8.1 subprotocol of the peer WebSocket. */
export const SUBPROTOCOL = 'leios-mux.1';
/** §11: handshake messages are ≤ 4,096 B; ingress buffer per (protocol, mode) = max message + 12,288 B. */
export const HANDSHAKE_BUFFER_BYTES = 4_096 + 12_288;
/** §11 handshake timeout. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;
/** Memory bound of the hub's content caches (a Durable Object has 128 MB in total). */
export const HUB_CONTENT_BYTES = 32 * 1024 * 1024;

/** What the hub remembers about a session across hibernation (serializeAttachment). */
export interface SessionAttachment {
  v: 1;
  id: string;
  /** Remote address as seen by the edge (`CF-Connecting-IP`), for logs and rate limits. */
  ip: string | null;
  openedAtMs: number;
  handshakeDone: boolean;
  /** Bytes of handshake payload received so far (the bytes themselves are in memory only). */
  handshakeBytes: number;
}

/** A snapshot of one session, for the operator API and tests. */
export interface SessionInfo {
  id: string;
  ip: string | null;
  openedAtMs: number;
  handshakeDone: boolean;
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
  /** Handshake payload per session id, until the handshake codec consumes it. */
  private readonly handshakeIngress = new Map<string, Uint8Array[]>();

  /** Accept a peer WebSocket (the Worker has already checked the upgrade and subprotocol). */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket') {
      return new Response('expected a WebSocket upgrade', { status: 426 });
    }
    const pair = new WebSocketPair();
    const client = pair[0];
    const server = pair[1];
    const attachment: SessionAttachment = {
      v: 1,
      id: crypto.randomUUID(),
      ip: request.headers.get('cf-connecting-ip'),
      openedAtMs: Date.now(),
      handshakeDone: false,
      handshakeBytes: 0,
    };
    this.ctx.acceptWebSocket(server, [attachment.id]);
    server.serializeAttachment(attachment);
    await this.armHandshakeAlarm(attachment.openedAtMs + HANDSHAKE_TIMEOUT_MS);
    return new Response(null, { status: 101, webSocket: client, headers: { 'sec-websocket-protocol': SUBPROTOCOL } });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const session = attachmentOf(ws);
    if (session === null) return this.close(ws, { code: 1011, reason: 'hub:internal' });
    const segments = splitSegments(message);
    if (!Array.isArray(segments)) return this.close(ws, segments, session);
    for (const seg of segments) {
      if (!session.handshakeDone) {
        // §8.2: nothing but the handshake before it completes; the peer (initiator) speaks first.
        if (seg.protocol !== PROTOCOL_NUMBERS.handshake || seg.fromResponder) {
          return this.close(ws, { code: 1008, reason: 'handshake:agency' }, session);
        }
        session.handshakeBytes += seg.payload.length;
        if (session.handshakeBytes > HANDSHAKE_BUFFER_BYTES) {
          return this.close(ws, { code: 1008, reason: 'handshake:limit' }, session);
        }
        const buf = this.handshakeIngress.get(session.id) ?? [];
        buf.push(seg.payload.slice());
        this.handshakeIngress.set(session.id, buf);
        ws.serializeAttachment(session);
      }
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    const session = attachmentOf(ws);
    if (session !== null) this.handshakeIngress.delete(session.id);
    // Complete the closing handshake (a no-op where the runtime already replied to the close).
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    } catch {
      // Already closed by the runtime: nothing left to do.
    }
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    const session = attachmentOf(ws);
    if (session !== null) this.handshakeIngress.delete(session.id);
  }

  /** §11: close sessions whose handshake did not complete in time; re-arm for the others. */
  override async alarm(): Promise<void> {
    const now = Date.now();
    let next = Number.POSITIVE_INFINITY;
    for (const ws of this.ctx.getWebSockets()) {
      const s = attachmentOf(ws);
      if (s === null || s.handshakeDone) continue;
      const deadline = s.openedAtMs + HANDSHAKE_TIMEOUT_MS;
      if (deadline <= now) this.close(ws, { code: 1008, reason: 'handshake:timeout' }, s);
      else next = Math.min(next, deadline);
    }
    if (Number.isFinite(next)) await this.ctx.storage.setAlarm(next);
  }

  /** Live sessions (RPC; for the operator API and tests). */
  sessions(): SessionInfo[] {
    const out: SessionInfo[] = [];
    for (const ws of this.ctx.getWebSockets()) {
      const s = attachmentOf(ws);
      if (s !== null) out.push({ id: s.id, ip: s.ip, openedAtMs: s.openedAtMs, handshakeDone: s.handshakeDone });
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

  private close(ws: WebSocket, v: Violation, session?: SessionAttachment): void {
    if (session !== undefined) this.handshakeIngress.delete(session.id);
    try {
      ws.close(v.code, v.reason);
    } catch {
      // The socket is already closing; the peer has what it needs.
    }
  }

  private async armHandshakeAlarm(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }
}
