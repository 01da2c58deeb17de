/**
 * A peer session over one WebSocket (PROTOCOL.md §8): runs the mux, dispatches messages to the
 * registered mini-protocol instances, schedules egress by priority (§13.1), and closes with the
 * §8.2 code and reason on any violation.
 *
 * Primer: the session does not own a socket. It is given a {@link Transport} — three functions
 * that both a Durable Object's hibernatable WebSocket and a Node `ws` client can implement — and
 * is fed every incoming WebSocket message through {@link Connection.receive}. Incoming segments
 * are routed by mode: mode 0 (sent by the peer's *client* of that protocol) to the local server
 * instance, mode 1 to the local client instance; both may exist on one connection (duplex) unless
 * the initiator negotiated `initiator_only`. Until the handshake completes, only protocol 0 may
 * flow: any other incoming segment is `handshake:agency`, and local egress of other protocols is
 * held back.
 *
 * Egress goes through an {@link OutboundScheduler}. Where the runtime exposes its send buffer
 * (`bufferedAmount`, Node), the session keeps unsent bytes under 256 KiB (§13.1 rule 3) and polls
 * for room; where it does not (workerd), it hands out at most `bytesPerTurn` per event-loop turn in
 * 12,288-byte segments, so newly queued P0 data overtakes queued bulk replies at the next turn.
 *
 * @module
 */
import { ProtocolViolation } from '../../errors/index';
import { OutboundScheduler, type Priority, type SchedulerOptions } from '../../sched/index';
import {
  type Clock,
  DEFAULT_LIMITS,
  maxMessageSize,
  Protocol,
  type ProtocolNumber,
  protocolName,
  systemClock,
  violation,
  type WireLimits,
} from '../common/index';
import { ConnectionClosedError, type Negotiated, type ProtocolInstance, type ProtocolPort } from '../machine/index';
import { decodeSegments, MAX_SEGMENT_PAYLOAD, MAX_WS_MESSAGE, type Mode, SEGMENT_HEADER, StreamFramer } from '../mux/index';

/**
 * The socket as the session sees it.
 *
 * @example
 * ```ts
 * // Durable Object (hibernation API)
 * const t: Transport = { send: (b) => ws.send(b), close: (c, r) => ws.close(c, r) };
 * // Node `ws`
 * const t: Transport = { send: (b) => ws.send(b), close: (c, r) => ws.close(c, r), bufferedAmount: () => ws.bufferedAmount };
 * ```
 */
export interface Transport {
  send(bytes: Uint8Array): void;
  close(code: number, reason: string): void;
  /** Bytes handed to the socket and not yet written, where the runtime tells. */
  bufferedAmount?(): number;
}

/** Options of a {@link Connection}. */
export interface ConnectionOptions {
  transport: Transport;
  /** The side that opened the WebSocket (§8.1). */
  role: 'initiator' | 'responder';
  clock?: Clock;
  limits?: WireLimits;
  scheduler?: SchedulerOptions;
  /** Unsent bytes allowed in the socket buffer when `bufferedAmount` exists. Default 256 KiB. */
  maxUnsent?: number;
  /** Bytes sent per event-loop turn when `bufferedAmount` does not exist. Default 8 segments. */
  bytesPerTurn?: number;
  /** Poll interval (ms) while the socket buffer is full. Default 2. */
  drainPollMs?: number;
  /** How to yield to the event loop between paced turns. Default `setTimeout(fn, 0)`. */
  defer?: (fn: () => void) => void;
  /** Called once when the session ends, with the error that ended it (if any). */
  onClose?: (e: ConnectionClosedError) => void;
  /** Called for every violation, local (we detected it) or remote (close code from the peer). */
  onViolation?: (v: ProtocolViolation) => void;
}

/** Max bytes of other protocols' egress held back until the handshake completes. */
const MAX_HELD = 1 << 20;

/**
 * One multiplexed peer session.
 *
 * @example
 * ```ts
 * const conn = new Connection({ transport, role: 'initiator' });
 * conn.register(new HandshakeClient({ versions }));
 * conn.register(new KeepAliveClient());
 * ws.onmessage = (e) => conn.receive(e.data);
 * ws.onclose = (e) => conn.remoteClosed(e.code, e.reason);
 * ```
 */
export class Connection {
  readonly role: 'initiator' | 'responder';
  readonly clock: Clock;
  readonly limits: WireLimits;
  readonly scheduler: OutboundScheduler;
  private readonly transport: Transport;
  private readonly opts: ConnectionOptions;
  private readonly instances = new Map<number, ProtocolInstance>();
  private readonly framers = new Map<number, StreamFramer>();
  private held: Array<{ protocol: ProtocolNumber; mode: Mode; bytes: Uint8Array; priority: Priority }> = [];
  private heldBytes = 0;
  private pumpQueued = false;
  private pumpTimer: unknown;
  private closedWith: ConnectionClosedError | undefined;
  /** Set once the handshake completed. */
  negotiated: Negotiated | undefined;
  /** Bytes received / sent (WebSocket payload bytes). */
  bytesIn = 0;
  bytesOut = 0;

  constructor(opts: ConnectionOptions) {
    this.opts = opts;
    this.transport = opts.transport;
    this.role = opts.role;
    this.clock = opts.clock ?? systemClock;
    this.limits = opts.limits ?? DEFAULT_LIMITS;
    this.scheduler = new OutboundScheduler(opts.scheduler);
    this.scheduler.onDrained = (protocol, mode) => {
      this.instances.get(key(protocol, mode === 0 ? 'client' : 'server'))?.egressDrained();
    };
  }

  /** Whether the session has ended. */
  get closed(): boolean {
    return this.closedWith !== undefined;
  }

  /** Why the session ended. */
  get closeError(): ConnectionClosedError | undefined {
    return this.closedWith;
  }

  /**
   * Attach a protocol instance: a client instance sends in mode 0 and receives mode 1, a server
   * instance the reverse. One instance per (protocol, side).
   */
  register(inst: ProtocolInstance): void {
    const k = key(inst.protocol, inst.side);
    if (this.instances.has(k)) throw new Error(`connection: ${protocolName(inst.protocol)} ${inst.side} already registered`);
    if (this.negotiated?.initiatorOnly && this.role === 'responder' && inst.side === 'client') {
      throw new Error('connection: initiator_only was negotiated; the responder runs no clients');
    }
    this.instances.set(k, inst);
    inst.attach(this.portFor(inst));
  }

  private portFor(inst: ProtocolInstance): ProtocolPort {
    const mode: Mode = inst.side === 'client' ? 0 : 1;
    return {
      send: (bytes, priority) => this.enqueue(inst.protocol, mode, bytes, priority),
      fail: (v, flush) => this.fail(v, flush),
      abort: (e) => this.closeWith(1011, 'internal', e),
      queued: () =>
        this.scheduler.streamLength(inst.protocol, mode) +
        this.held.filter((h) => h.protocol === inst.protocol && h.mode === mode).length,
      handshakeDone: (n) => this.handshakeDone(n),
      clock: this.clock,
      limits: this.limits,
    };
  }

  private handshakeDone(n: Negotiated): void {
    if (this.negotiated) return;
    this.negotiated = n;
    if (n.initiatorOnly && this.role === 'responder') {
      // §8.2: with initiator_only the responder runs no client instances; retire any registered.
      for (const [k, inst] of [...this.instances]) {
        if (inst.side !== 'client') continue;
        this.instances.delete(k);
        inst.closed(new ConnectionClosedError(1000, 'initiator_only'));
      }
      this.held = this.held.filter((h) => h.mode === 1);
    }
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    for (const h of held) this.enqueue(h.protocol, h.mode, h.bytes, h.priority);
  }

  private enqueue(protocol: ProtocolNumber, mode: Mode, bytes: Uint8Array, priority: Priority): void {
    if (this.closedWith) throw this.closedWith;
    if (!this.negotiated && protocol !== Protocol.Handshake) {
      this.heldBytes += bytes.length;
      if (this.heldBytes > MAX_HELD) throw new Error('connection: too much egress before the handshake');
      this.held.push({ protocol, mode, bytes, priority });
      return;
    }
    this.scheduler.enqueue(protocol, mode, bytes, priority);
    this.schedulePump();
  }

  /**
   * Schedule egress of whatever the {@link scheduler} holds. Drivers' sends do this themselves;
   * call it after enqueueing on `scheduler` directly (tests, diagnostics).
   */
  flushSoon(): void {
    this.schedulePump();
  }

  private schedulePump(): void {
    if (this.pumpQueued || this.pumpTimer !== undefined) return;
    this.pumpQueued = true;
    queueMicrotask(() => {
      this.pumpQueued = false;
      this.pump();
    });
  }

  /** Hand scheduled segments to the transport within the §13.1 rule 3 budget. */
  private pump(unbounded = false): void {
    if (this.closedWith && !unbounded) return;
    const t = this.transport;
    const hasBuffer = typeof t.bufferedAmount === 'function';
    let budget = unbounded
      ? Number.POSITIVE_INFINITY
      : hasBuffer
        ? (this.opts.maxUnsent ?? 256 * 1024) - t.bufferedAmount!()
        : (this.opts.bytesPerTurn ?? 8 * MAX_SEGMENT_PAYLOAD);
    const time = Math.floor(this.clock.now() * 1000) >>> 0;
    while (budget > 0 && this.scheduler.pending) {
      const cap = Math.min(MAX_WS_MESSAGE, Math.max(budget, SEGMENT_HEADER + MAX_SEGMENT_PAYLOAD));
      const parts: Uint8Array[] = [];
      let size = 0;
      while (size + SEGMENT_HEADER + MAX_SEGMENT_PAYLOAD <= cap) {
        const seg = this.scheduler.next();
        if (!seg) break;
        const buf = new Uint8Array(SEGMENT_HEADER + seg.payload.length);
        const v = new DataView(buf.buffer);
        v.setUint32(0, time);
        v.setUint16(4, (seg.mode << 15) | seg.protocol);
        v.setUint16(6, seg.payload.length);
        buf.set(seg.payload, SEGMENT_HEADER);
        parts.push(buf);
        size += buf.length;
      }
      if (size === 0) break;
      const msg = parts.length === 1 ? parts[0]! : concat(parts, size);
      this.bytesOut += msg.length;
      try {
        t.send(msg);
      } catch (e) {
        // The socket is gone under us: end the session (1006 = closed abnormally).
        if (!this.closedWith) this.shutdown(new ConnectionClosedError(1006, 'send failed', e instanceof Error ? e : undefined));
        return;
      }
      budget -= msg.length;
    }
    if (!this.scheduler.pending || this.closedWith) return;
    if (hasBuffer) {
      this.pumpTimer = this.clock.setTimer(this.opts.drainPollMs ?? 2, () => {
        this.pumpTimer = undefined;
        this.pump();
      });
    } else {
      this.pumpTimer = true;
      (this.opts.defer ?? ((fn) => setTimeout(fn, 0)))(() => {
        this.pumpTimer = undefined;
        this.pump();
      });
    }
  }

  /**
   * Feed one incoming WebSocket message. Violations close the session (never throw).
   *
   * @example
   * ```ts
   * ws.addEventListener('message', (e) => conn.receive(e.data));
   * ```
   */
  receive(data: Uint8Array | ArrayBuffer | string): void {
    if (this.closedWith) return;
    try {
      if (typeof data === 'string') throw new ProtocolViolation('mux', 'malformed', 1003, 'text frame');
      const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
      this.bytesIn += bytes.length;
      for (const seg of decodeSegments(bytes)) {
        if (this.closedWith) return;
        if (!this.negotiated && seg.protocol !== Protocol.Handshake) {
          throw violation('handshake', 'agency', `${protocolName(seg.protocol)} segment before the handshake completed`);
        }
        const name = protocolName(seg.protocol);
        if (seg.mode === 0 && this.role === 'initiator' && this.negotiated?.initiatorOnly) {
          throw violation(name, 'agency', 'client segment towards an initiator_only initiator');
        }
        // mode 0 = from the peer's client → our server instance; mode 1 → our client instance.
        const side = seg.mode === 0 ? 'server' : 'client';
        const inst = this.instances.get(key(seg.protocol, side));
        if (!inst) throw violation(name, 'agency', `no local ${side} for ${name}`);
        const fk = key(seg.protocol, side);
        let f = this.framers.get(fk);
        if (!f) {
          f = new StreamFramer(seg.protocol, seg.mode, maxMessageSize(seg.protocol, seg.mode === 0 ? 'client' : 'server', this.limits));
          this.framers.set(fk, f);
        }
        inst.segmentArrived();
        for (const m of f.push(seg.payload)) {
          if (this.closedWith) return;
          inst.receive(m);
        }
      }
    } catch (e) {
      if (e instanceof ProtocolViolation) this.fail(e);
      else this.closeWith(1011, 'internal', e instanceof Error ? e : new Error(String(e)));
    }
  }

  /** Close because of a violation (ours to report). */
  fail(v: ProtocolViolation, flush = false): void {
    if (this.closedWith) return;
    this.opts.onViolation?.(v);
    if (flush) this.pump(true);
    this.closeWith(v.closeCode, v.reason, v);
  }

  /**
   * Close the session from this side.
   *
   * @example
   * ```ts
   * conn.close(1000, 'bye');
   * ```
   */
  close(code = 1000, reason = ''): void {
    this.closeWith(code, reason);
  }

  private closeWith(code: number, reason: string, cause?: Error): void {
    if (this.closedWith) return;
    this.shutdown(new ConnectionClosedError(code, reason, cause));
    try {
      this.transport.close(code, reason);
    } catch {
      // The socket may already be gone; the session is closed either way and onClose reports it.
    }
  }

  /** The peer (or the runtime) closed the socket. */
  remoteClosed(code: number, reason: string): void {
    if (this.closedWith) return;
    this.shutdown(new ConnectionClosedError(code, reason));
  }

  private shutdown(err: ConnectionClosedError): void {
    this.closedWith = err;
    this.scheduler.clear();
    this.held = [];
    if (this.pumpTimer !== undefined && this.pumpTimer !== true) this.clock.clearTimer(this.pumpTimer);
    for (const inst of this.instances.values()) inst.closed(err);
    this.opts.onClose?.(err);
  }
}

function key(protocol: number, side: 'client' | 'server'): number {
  return (protocol << 1) | (side === 'client' ? 1 : 0);
}

function concat(parts: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Two linked in-memory transports (tests, in-process peers). Delivery is asynchronous
 * (microtasks), as over a socket; `close` on one side reports `remoteClosed` on the other.
 *
 * @example
 * ```ts
 * const [ta, tb] = memoryTransportPair();
 * const a = new Connection({ transport: ta, role: 'initiator' });
 * const b = new Connection({ transport: tb, role: 'responder' });
 * ta.connect(a); tb.connect(b);
 * ```
 */
export function memoryTransportPair(): [MemoryTransport, MemoryTransport] {
  const a = new MemoryTransport();
  const b = new MemoryTransport();
  a.peer = b;
  b.peer = a;
  return [a, b];
}

/** One end of {@link memoryTransportPair}. */
export class MemoryTransport implements Transport {
  peer: MemoryTransport | undefined;
  private target: Connection | undefined;
  /** Every WebSocket message sent, for inspection. */
  readonly sent: Uint8Array[] = [];
  closedWith: { code: number; reason: string } | undefined;
  /** Set to intercept outgoing messages instead of delivering them. */
  tap: ((bytes: Uint8Array) => void) | undefined;

  /** The connection that owns this end (it receives what the peer end sends). */
  connect(c: Connection): void {
    this.target = c;
  }

  send(bytes: Uint8Array): void {
    if (this.closedWith) return;
    this.sent.push(bytes);
    if (this.tap) {
      this.tap(bytes);
      return;
    }
    const dst = this.peer?.target;
    queueMicrotask(() => dst?.receive(bytes));
  }

  close(code: number, reason: string): void {
    if (this.closedWith) return;
    this.closedWith = { code, reason };
    const dst = this.peer?.target;
    if (this.peer) this.peer.closedWith = { code, reason };
    queueMicrotask(() => dst?.remoteClosed(code, reason));
  }

  bufferedAmount(): number {
    return 0;
  }
}

/**
 * An initiator and a responder session linked in memory.
 *
 * @example
 * ```ts
 * const { a, b } = connectionPair({ clock }, { clock });
 * a.register(new KeepAliveClient()); b.register(new KeepAliveServer());
 * ```
 */
export function connectionPair(
  aOpts: Omit<ConnectionOptions, 'transport' | 'role'> = {},
  bOpts: Omit<ConnectionOptions, 'transport' | 'role'> = {},
): { a: Connection; b: Connection; ta: MemoryTransport; tb: MemoryTransport } {
  const [ta, tb] = memoryTransportPair();
  const a = new Connection({ ...aOpts, transport: ta, role: 'initiator' });
  const b = new Connection({ ...bOpts, transport: tb, role: 'responder' });
  ta.connect(a);
  tb.connect(b);
  return { a, b, ta, tb };
}
