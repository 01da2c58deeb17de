/**
 * Declarative mini-protocol state tables and the one generic checker both client and server
 * drivers use (Amaru / typed-protocols style).
 *
 * Primer: a mini-protocol is a state machine in which exactly one side has *agency* (may send) in
 * each state (PROTOCOL.md §9, §10). A {@link ProtocolTable} states, as data, every state, who has
 * agency there, which message moves to which state, how many requests a client may pipeline and
 * the §11 timeout of each state. {@link StateMachine} applies messages of either side to that
 * table and throws a {@link ProtocolViolation} (`<proto>:agency`, 1008) for a message sent without
 * agency or in the wrong state, and `<proto>:limit` for too many pipelined requests.
 *
 * Pipelining: a client may send further requests while the server still answers earlier ones.
 * The checker keeps those requests in a FIFO and applies each as soon as the replies bring the
 * conversation back to the table's pipeline root (replies come in order, §10.1, §10.2). Both ends
 * run the same model, so both agree on the state after every message.
 *
 * {@link Driver} is the base class of every client and server driver: it decodes a whole message,
 * checks it against the table, runs the §11 timer of the state when the *peer* has agency
 * (restarting on every arriving segment for large replies), and hands the typed message on.
 *
 * @module
 */
import { LeiosSharedError, ProtocolViolation, type WireProtocolName } from '../../errors/index';
import type { Priority } from '../../sched/index';
import {
  type Clock,
  type ProtocolNumber,
  protocolName,
  type Side,
  type TimerHandle,
  violation,
  type WireLimits,
} from '../common/index';

/** Which side may send in a state. */
export type Agency = Side | 'none';

/** §11 timeout of a state, run by the side waiting for the peer. */
export interface TimeoutSpec {
  readonly ms: number;
  /** Restart whenever a segment of the awaited (large) reply arrives: "of inactivity". */
  readonly restartOnSegment?: boolean;
}

/**
 * A mini-protocol as data.
 *
 * @example
 * ```ts
 * const keepAlive = defineProtocol({
 *   protocol: 'keep-alive', number: 8, initial: 'StClient',
 *   agency: { StClient: 'client', StServer: 'server', StDone: 'none' },
 *   transitions: [['StClient', 'KeepAlive', 'StServer'], ['StServer', 'Response', 'StClient'], ['StClient', 'Done', 'StDone']],
 *   timeouts: { StServer: { ms: 60_000 } },
 * });
 * ```
 */
export interface ProtocolTable<S extends string, K extends string> {
  readonly protocol: WireProtocolName;
  readonly number: ProtocolNumber;
  readonly initial: S;
  readonly agency: Readonly<Record<S, Agency>>;
  /** `[from, message key, to]`; the sender is the side with agency in `from`. */
  readonly transitions: ReadonlyArray<readonly [S, K, S]>;
  /** Client requests that may be sent ahead while earlier ones are being answered. */
  readonly pipeline?: { readonly limit: number; readonly root: S; readonly messages: readonly K[] };
  readonly timeouts: Readonly<Partial<Record<S, TimeoutSpec>>>;
}

/** Validate and freeze a table (programming errors throw at module load). */
export function defineProtocol<S extends string, K extends string>(t: ProtocolTable<S, K>): ProtocolTable<S, K> {
  if (!(t.initial in t.agency)) throw new Error(`${t.protocol}: unknown initial state`);
  const seen = new Set<string>();
  for (const [from, key, to] of t.transitions) {
    if (!(from in t.agency) || !(to in t.agency)) throw new Error(`${t.protocol}: unknown state in ${from}-${key}->${to}`);
    if (t.agency[from] === 'none') throw new Error(`${t.protocol}: transition out of terminal state ${from}`);
    const id = `${from}/${key}`;
    if (seen.has(id)) throw new Error(`${t.protocol}: duplicate transition ${id}`);
    seen.add(id);
  }
  if (t.pipeline) {
    if (t.agency[t.pipeline.root] !== 'client') throw new Error(`${t.protocol}: pipeline root must have client agency`);
    for (const k of t.pipeline.messages) {
      if (!seen.has(`${t.pipeline.root}/${k}`)) throw new Error(`${t.protocol}: pipelined ${k} not allowed in root`);
    }
  }
  return Object.freeze(t);
}

/**
 * The generic agency / state checker over a {@link ProtocolTable}.
 *
 * @example
 * ```ts
 * const m = new StateMachine(keepAlive);
 * m.apply('client', 'KeepAlive');
 * m.apply('client', 'KeepAlive'); // throws ProtocolViolation keep-alive:agency
 * ```
 */
export class StateMachine<S extends string, K extends string> {
  state: S;
  private readonly queue: K[] = [];
  private readonly next = new Map<string, S>();

  constructor(readonly table: ProtocolTable<S, K>) {
    this.state = table.initial;
    for (const [from, key, to] of table.transitions) this.next.set(`${from}/${key}`, to);
  }

  /** Who has agency now (a pipelined request waiting means the server has it). */
  get agency(): Agency {
    return this.table.agency[this.state];
  }

  /** Requests sent and not yet fully answered. */
  get outstanding(): number {
    return (this.table.pipeline && this.agency === 'server' ? 1 : 0) + this.queue.length;
  }

  /** Whether `sender` may send `key` now (no state change). */
  allowed(sender: Side, key: K): boolean {
    return this.check(sender, key) === null;
  }

  private check(sender: Side, key: K): { kind: 'agency' | 'limit'; detail: string } | null {
    const t = this.table;
    if (sender === 'client' && this.queue.length === 0 && this.agency === 'client') {
      return this.next.has(`${this.state}/${key}`) ? null : { kind: 'agency', detail: `${key} in ${this.state}` };
    }
    if (sender === 'client') {
      const p = t.pipeline;
      if (p?.messages.includes(key) && this.agency === 'server') {
        if (this.outstanding + 1 > p.limit) return { kind: 'limit', detail: `more than ${p.limit} pipelined requests` };
        return null;
      }
      return { kind: 'agency', detail: `client sent ${key} in ${this.state} (agency: ${this.agency})` };
    }
    if (this.agency !== 'server') return { kind: 'agency', detail: `server sent ${key} in ${this.state} (agency: ${this.agency})` };
    return this.next.has(`${this.state}/${key}`) ? null : { kind: 'agency', detail: `${key} in ${this.state}` };
  }

  /** Apply a message sent by `sender`; throws {@link ProtocolViolation} if not allowed. */
  apply(sender: Side, key: K): void {
    const err = this.check(sender, key);
    if (err) throw violation(this.table.protocol, err.kind, err.detail);
    if (sender === 'client' && this.agency === 'server') {
      this.queue.push(key);
      return;
    }
    this.state = this.next.get(`${this.state}/${key}`)!;
    // Replies came back to the root: the oldest pipelined request takes effect.
    while (this.queue.length > 0 && this.agency === 'client') {
      const k = this.queue.shift()!;
      const to = this.next.get(`${this.state}/${k}`);
      if (to === undefined) throw violation(this.table.protocol, 'agency', `pipelined ${k} not valid in ${this.state}`);
      this.state = to;
    }
  }
}

/** Raised on pending operations when their connection closes. */
export class ConnectionClosedError extends LeiosSharedError {
  readonly kind = 'connection-closed' as const;
  constructor(
    readonly code: number,
    readonly reason: string,
    /** The violation or error that made this side close, when it did. */
    readonly error?: Error,
  ) {
    super(`connection closed (${code}${reason ? ` ${reason}` : ''})`);
    this.name = 'ConnectionClosedError';
  }
}

/** The result of a completed handshake (§8.3). */
export interface Negotiated {
  readonly version: number;
  /** The initiator asked not to run server instances on its side (§8.2). */
  readonly initiatorOnly: boolean;
}

/** What a connection offers one protocol instance. */
export interface ProtocolPort {
  /** Queue one encoded message on this instance's egress stream. */
  send(bytes: Uint8Array, priority: Priority): void;
  /** Close the connection for this violation (`flush`: send what is queued first, e.g. a Refuse). */
  fail(v: ProtocolViolation, flush?: boolean): void;
  /** Close the connection for a local failure (a handler threw): 1011 `internal`. */
  abort(e: Error): void;
  /** Messages of this instance still queued for egress. */
  queued(): number;
  /** Handshake drivers report completion here; other protocols may run afterwards. */
  handshakeDone(n: Negotiated): void;
  readonly clock: Clock;
  readonly limits: WireLimits;
}

/** A client or server end of one mini-protocol, as the connection sees it. */
export interface ProtocolInstance {
  readonly protocol: ProtocolNumber;
  readonly side: Side;
  attach(port: ProtocolPort): void;
  /** One whole received message; throws ProtocolViolation. */
  receive(bytes: Uint8Array): void;
  /** A segment for this instance arrived (restarts inactivity timers). */
  segmentArrived(): void;
  /** All of this instance's queued egress left the scheduler. */
  egressDrained(): void;
  /** The connection closed. */
  closed(err: ConnectionClosedError): void;
}

/** The codec and table of a protocol, as one value. */
export interface ProtocolSpec<M extends { type: string }, S extends string, K extends string> {
  readonly table: ProtocolTable<S, K>;
  encode(m: M): Uint8Array;
  decode(bytes: Uint8Array, limits: WireLimits): M;
  /** Message key for the table (defaults to `m.type`). */
  key?(m: M): K;
}

/**
 * Base of every driver: decoding, checking, timers, sending.
 *
 * Subclasses implement {@link handle} for messages from the peer and call {@link send} for their
 * own; sending without agency is a local programming error and throws `Error`.
 */
export abstract class Driver<M extends { type: string }, S extends string, K extends string>
  implements ProtocolInstance
{
  readonly protocol: ProtocolNumber;
  readonly name: WireProtocolName;
  protected readonly machine: StateMachine<S, K>;
  private portRef: ProtocolPort | undefined;
  private timer: TimerHandle | undefined;
  private timerState: S | undefined;
  protected closedWith: ConnectionClosedError | undefined;

  constructor(
    readonly side: Side,
    protected readonly spec: ProtocolSpec<M, S, K>,
  ) {
    this.protocol = spec.table.number;
    this.name = protocolName(spec.table.number);
    this.machine = new StateMachine(spec.table);
  }

  /** The peer's side. */
  get peer(): Side {
    return this.side === 'client' ? 'server' : 'client';
  }

  /** Current state of the conversation. */
  get state(): S {
    return this.machine.state;
  }

  protected get port(): ProtocolPort {
    if (!this.portRef) throw new Error(`${this.name} ${this.side}: not attached to a connection`);
    return this.portRef;
  }

  private keyOf(m: M): K {
    return this.spec.key ? this.spec.key(m) : (m.type as K);
  }

  attach(port: ProtocolPort): void {
    this.portRef = port;
    this.armTimer();
    this.onAttach();
  }

  /** Called once attached (clients may start sending here). */
  protected onAttach(): void {}

  receive(bytes: Uint8Array): void {
    const m = this.spec.decode(bytes, this.port.limits);
    this.machine.apply(this.peer, this.keyOf(m));
    this.armTimer();
    this.handle(m);
  }

  /** A message from the peer that the table allowed. */
  protected abstract handle(m: M): void;

  /** Whether this side may send `m` now. */
  canSend(m: M): boolean {
    return !this.closedWith && this.machine.allowed(this.side, this.keyOf(m));
  }

  protected send(m: M, priority: Priority): void {
    if (this.closedWith) throw this.closedWith;
    const k = this.keyOf(m);
    if (!this.machine.allowed(this.side, k)) {
      throw new Error(`${this.name} ${this.side}: may not send ${k} in ${this.machine.state}`);
    }
    this.machine.apply(this.side, k);
    this.port.send(this.spec.encode(m), priority);
    this.armTimer();
  }

  /** Close the connection with `v` (e.g. a semantic check of a handler failed). */
  protected fail(v: ProtocolViolation): void {
    this.port.fail(v);
  }

  /** A handler promise failed: a violation closes with its code, anything else with 1011. */
  protected handlerFailed(e: unknown): void {
    if (this.closedWith) return;
    if (e instanceof ProtocolViolation) this.port.fail(e);
    else this.port.abort(asError(e));
  }

  segmentArrived(): void {
    const t = this.timerState !== undefined ? this.spec.table.timeouts[this.timerState] : undefined;
    if (t?.restartOnSegment) this.startTimer(this.timerState!, t);
  }

  egressDrained(): void {}

  closed(err: ConnectionClosedError): void {
    this.clearTimer();
    if (this.closedWith) return;
    this.closedWith = err;
    this.onClosed(err);
  }

  /** Reject pending operations. */
  protected onClosed(_err: ConnectionClosedError): void {}

  private clearTimer(): void {
    if (this.timer !== undefined) this.portRef?.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.timerState = undefined;
  }

  private startTimer(state: S, t: TimeoutSpec): void {
    this.clearTimer();
    this.timerState = state;
    this.timer = this.port.clock.setTimer(t.ms, () => {
      this.timer = undefined;
      this.port.fail(violation(this.name, 'timeout', `no ${this.peer} message within ${t.ms} ms in ${state}`));
    });
  }

  /** (Re)start the §11 timer of the current state if the peer has agency there. */
  protected armTimer(): void {
    if (!this.portRef || this.closedWith) return;
    const s = this.machine.state;
    const t = this.spec.table.timeouts[s];
    if (t && this.machine.agency === this.peer) this.startTimer(s, t);
    else this.clearTimer();
  }
}

/**
 * Sends replies in request order although their handlers may finish out of order (§10.1, §10.2:
 * replies come in order). Each slot is filled by a promise; filled slots at the head are flushed.
 */
export class OrderedReplies<T> {
  private readonly slots: Array<{ done: boolean; value?: T }> = [];

  constructor(private readonly flush: (value: T) => void) {}

  /** Reserve the next reply slot and fill it when `p` resolves (rejections go to `onError`). */
  push(p: Promise<T> | T, onError: (e: unknown) => void): void {
    const slot: { done: boolean; value?: T } = { done: false };
    this.slots.push(slot);
    Promise.resolve(p).then(
      (v) => {
        slot.done = true;
        slot.value = v;
        this.drain();
      },
      (e) => onError(e),
    );
  }

  private drain(): void {
    while (this.slots.length > 0 && this.slots[0]!.done) {
      const s = this.slots.shift()!;
      this.flush(s.value as T);
    }
  }

  /** Number of replies not yet flushed. */
  get length(): number {
    return this.slots.length;
  }
}

/** Turn an unexpected handler error into a violation-free close reason (1011-style). */
export function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

