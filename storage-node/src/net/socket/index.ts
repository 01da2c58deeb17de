/**
 * The socket a peer session runs over, as a five-member interface, with adapters for the Node `ws`
 * package (dialling and accepting) and an in-memory pair.
 *
 * Primer: the session logic (storage-node/src/net/peer) must run unchanged over a `ws` client
 * socket (a storage node dialling a relay), a `ws` server socket (a node accepting a peer, used in
 * tests), an in-memory pair (in-process test networks), and later a workerd WebSocket. So it only
 * sees a {@link PeerSocket}: `send`, `close`, an optional `bufferedAmount` (where the runtime
 * exposes its send buffer, the §13.1 rule 3 budget of 256 KiB unsent bytes is enforced through
 * it), and two one-shot handler setters for incoming messages and the close. A socket handed to a
 * session is already open (PROTOCOL.md §8.1: the WebSocket upgrade with subprotocol
 * `leios-mux.1` has completed).
 *
 * Incoming data is passed as received: binary frames as `Uint8Array`, text frames as `string`
 * (the session closes those with 1003 `mux:malformed`, §8.1).
 *
 * @module
 */
import WebSocket, { type RawData, type WebSocketServer } from 'ws';

/** §8.1 subprotocol of the peer WebSocket. */
export const SUBPROTOCOL = 'leios-mux.1';
/** §8.1 / §11: the largest WebSocket message. */
export const MAX_WS_MESSAGE_BYTES = 1 << 20;

/**
 * An open peer socket.
 *
 * @example
 * ```ts
 * // workerd / browser-style WebSocket
 * const s: PeerSocket = {
 *   send: (b) => ws.send(b),
 *   close: (c, r) => ws.close(c, r),
 *   onMessage: (fn) => ws.addEventListener('message', (e) => fn(e.data)),
 *   onClose: (fn) => ws.addEventListener('close', (e) => fn(e.code, e.reason)),
 * };
 * ```
 */
export interface PeerSocket {
  send(bytes: Uint8Array): void;
  /** Close from this side; `onClose` still fires once. */
  close(code: number, reason: string): void;
  /** Bytes handed to the socket and not yet written (absent where the runtime does not tell). */
  bufferedAmount?(): number;
  /** Set the message handler (one handler; a later call replaces it). */
  onMessage(fn: (data: Uint8Array | ArrayBuffer | string) => void): void;
  /** Set the close handler; called once, with the close code and reason. */
  onClose(fn: (code: number, reason: string) => void): void;
}

/** Opens a socket to `url`; resolves once the WebSocket is open, rejects on failure. */
export type Dialer = (url: string) => Promise<PeerSocket>;

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return data;
}

/**
 * Wrap an open `ws` WebSocket. Messages that arrive before a handler is set are buffered (a
 * bounded number: the peer cannot send much before our handshake reply anyway).
 *
 * @example
 * ```ts
 * wss.on('connection', (ws) => runPeer({ socket: wsSocket(ws), role: 'responder', … }));
 * ```
 */
export function wsSocket(ws: WebSocket): PeerSocket {
  let onMsg: ((d: Uint8Array | string) => void) | undefined;
  let onCl: ((code: number, reason: string) => void) | undefined;
  const early: Array<Uint8Array | string> = [];
  let closed: { code: number; reason: string } | undefined;
  ws.on('message', (data, isBinary) => {
    const d = isBinary ? toBytes(data) : toBytes(data).toString();
    if (onMsg) onMsg(d);
    else if (early.length < 64) early.push(d);
    else ws.close(1008, 'mux:limit');
  });
  ws.on('close', (code, reason) => {
    closed = { code, reason: reason.toString() };
    onCl?.(closed.code, closed.reason);
  });
  // 'error' always precedes 'close' in ws; without a listener it would crash the process.
  ws.on('error', () => {});
  return {
    send: (b) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(b);
    },
    close: (code, reason) => {
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(code, reason);
    },
    bufferedAmount: () => ws.bufferedAmount,
    onMessage: (fn) => {
      onMsg = fn;
      for (const d of early.splice(0)) fn(d);
    },
    onClose: (fn) => {
      onCl = fn;
      if (closed) fn(closed.code, closed.reason);
    },
  };
}

/** Options of {@link wsDialer}. */
export interface WsDialerOptions {
  /** Time allowed for TCP + the HTTP upgrade. Default 10 s (§11 handshake timeout). */
  openTimeoutMs?: number;
  /** Extra request headers (e.g. a bearer token of a fronting proxy). */
  headers?: Record<string, string>;
}

/**
 * A {@link Dialer} over the `ws` package: subprotocol `leios-mux.1`, messages capped at 1 MiB
 * (a larger one closes with 1009, §8.1), no compression (segments are mostly hashes and
 * signatures, and compression would defeat the `bufferedAmount` budget).
 *
 * @example
 * ```ts
 * const socket = await wsDialer()('ws://127.0.0.1:8787/v1/ws');
 * ```
 */
export function wsDialer(opts: WsDialerOptions = {}): Dialer {
  return (url) =>
    new Promise<PeerSocket>((resolve, reject) => {
      const ws = new WebSocket(url, SUBPROTOCOL, {
        handshakeTimeout: opts.openTimeoutMs ?? 10_000,
        maxPayload: MAX_WS_MESSAGE_BYTES,
        perMessageDeflate: false,
        ...(opts.headers ? { headers: opts.headers } : {}),
      });
      ws.binaryType = 'nodebuffer';
      const socket = wsSocket(ws);
      const fail = (e: Error) => {
        ws.off('open', onOpen);
        reject(e);
      };
      const onOpen = () => {
        ws.off('error', fail);
        if (ws.protocol !== SUBPROTOCOL) {
          ws.close(1002, 'mux:malformed');
          reject(new Error(`${url}: server did not select subprotocol ${SUBPROTOCOL}`));
          return;
        }
        resolve(socket);
      };
      ws.once('open', onOpen);
      ws.once('error', fail);
    });
}

/**
 * Route the `leios-mux.1` upgrades of a `ws` server to `accept` (other subprotocols are refused
 * during the upgrade).
 *
 * @example
 * ```ts
 * const wss = new WebSocketServer({ port: 0, path: '/v1/ws', handleProtocols: selectSubprotocol, maxPayload: MAX_WS_MESSAGE_BYTES });
 * acceptPeers(wss, (socket) => runPeer({ socket, role: 'responder', … }));
 * ```
 */
export function acceptPeers(wss: WebSocketServer, accept: (socket: PeerSocket, remote: string | undefined) => void): void {
  wss.on('connection', (ws, req) => {
    ws.binaryType = 'nodebuffer';
    accept(wsSocket(ws), req.socket.remoteAddress);
  });
}

/** `handleProtocols` for a `ws` server: pick `leios-mux.1` or refuse the upgrade. */
export function selectSubprotocol(protocols: Set<string>): string | false {
  return protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false;
}

/**
 * Two linked in-memory sockets (asynchronous delivery, like a network). `close` on one end fires
 * `onClose` on both.
 *
 * @example
 * ```ts
 * const [a, b] = memorySocketPair();
 * runPeer({ socket: a, role: 'initiator', … }); runPeer({ socket: b, role: 'responder', … });
 * ```
 */
export function memorySocketPair(): [MemorySocket, MemorySocket] {
  const a = new MemorySocket();
  const b = new MemorySocket();
  a.peer = b;
  b.peer = a;
  return [a, b];
}

/**
 * The receiving half shared by this package's in-process sockets ({@link MemorySocket}, the burst
 * harness's shaped links): one message handler and one close handler; messages that arrive before
 * the message handler is set are kept, in order, until it is (a session sets it at once, so few
 * ever wait); the close is recorded once, and a close handler set afterwards still hears of it.
 * Subclasses send, and call {@link SocketEnd.receive} / {@link SocketEnd.end} as data and the
 * close arrive.
 *
 * @example
 * ```ts
 * class LoopSocket extends SocketEnd {
 *   send(b: Uint8Array) { queueMicrotask(() => this.receive(b)); }
 *   close(code: number, reason: string) { this.end(code, reason); }
 * }
 * ```
 */
export abstract class SocketEnd implements PeerSocket {
  private msg: ((d: Uint8Array | ArrayBuffer | string) => void) | undefined;
  private cl: ((code: number, reason: string) => void) | undefined;
  private readonly early: Uint8Array[] = [];
  /** The close code and reason, once closed (from either side). */
  closedWith: { code: number; reason: string } | undefined;

  abstract send(bytes: Uint8Array): void;
  abstract close(code: number, reason: string): void;

  onMessage(fn: (d: Uint8Array | ArrayBuffer | string) => void): void {
    this.msg = fn;
    for (const b of this.early.splice(0)) fn(b);
  }

  onClose(fn: (code: number, reason: string) => void): void {
    this.cl = fn;
    if (this.closedWith) fn(this.closedWith.code, this.closedWith.reason);
  }

  /** An arrived message: to the handler, or kept until there is one; dropped once closed. */
  protected receive(b: Uint8Array): void {
    if (this.closedWith) return;
    if (this.msg) this.msg(b);
    else this.early.push(b);
  }

  /** Record the close and tell the handler; false (and nothing done) when already closed. */
  protected end(code: number, reason: string): boolean {
    if (this.closedWith) return false;
    this.closedWith = { code, reason };
    this.cl?.(code, reason);
    return true;
  }
}

/** One end of {@link memorySocketPair}. */
export class MemorySocket extends SocketEnd {
  peer: MemorySocket | undefined;
  /** Messages sent (count and bytes), for tests. */
  sentMessages = 0;
  sentBytes = 0;

  send(bytes: Uint8Array): void {
    if (this.closedWith) return;
    this.sentMessages++;
    this.sentBytes += bytes.length;
    const copy = bytes.slice();
    const p = this.peer;
    queueMicrotask(() => p?.receive(copy));
  }

  close(code: number, reason: string): void {
    if (this.closedWith) return;
    this.end(code, reason);
    const p = this.peer;
    queueMicrotask(() => p?.end(code, reason));
  }

  bufferedAmount(): number {
    return 0;
  }
}
