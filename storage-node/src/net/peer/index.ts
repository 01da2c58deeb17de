/**
 * One peer session of a storage node over one open socket: the §8.3 handshake, then a client and
 * a server instance of chain-sync, block-fetch, tx-submission, LeiosNotify and LeiosFetch, plus
 * keep-alive (docs/session-roles.md), all driving one {@link LeiosNode}.
 *
 * Primer — what flows where:
 * - *Serving* (what the node holds goes to the peer): chain-sync follows the node's selected chain
 *   (a cursor per connection, rolled back when the node switches forks); block-fetch serves stored
 *   blocks; tx-submission offers the mempool in arrival order; LeiosNotify announces EB-carrying
 *   headers (P0), offers held EBs and complete closures (P1 fresh / P2 stale, P0 when certified on
 *   the selected chain) and diffuses votes, and on open offers every EB the node holds on its
 *   volatile chain (§10.1); LeiosFetch serves EB bytes and closure txs by bitmap.
 * - *Following* (what the peer has comes into the node): chain-sync headers go to
 *   `receiveHeader`, then their bodies are fetched (≤ 4 pipelined, delivered in order) into
 *   `receiveBlock`; BlockAnnouncements and Votes go straight to the node; BlockOffer and
 *   BlockTxsOffer go to the shared {@link FetchManager}, which decides what to fetch from which
 *   peer; tx-submission pulls the peer's txs into the mempool.
 *
 * Both roles run the same code: a storage node dialling a relay is the initiator; a node accepting
 * another node (tests, in-process networks) is the responder. Egress goes through the connection's
 * §13.1 scheduler; on a Node socket unsent bytes stay under 256 KiB (`bufferedAmount`). Every
 * queue is bounded (pending node work per session, chain-sync lookahead, the LeiosNotify offer
 * queue); overflow closes the session (1013 `overloaded`) rather than dropping P0/P1 data (§13.4).
 * Remote waits carry the §11 timeouts of the wire drivers; a timeout closes the connection.
 *
 * @module
 */
import type { EventEmitter } from 'node:events';
import { bytesEqual, toHex } from '@leios/shared/bytes';
import { blake2b256 } from '@leios/shared/crypto';
import { ProtocolViolation, type WireProtocolName } from '@leios/shared/errors';
import { VOTE_REJECTION_TYPES, voteTraceId } from '@leios/shared/obs';
import { decodeVote } from '@leios/shared/protocol';
import { PRAOS, type Priority, SchedulerOverloadError, VOTES } from '@leios/shared/sched';
import type { BlockNo, Hash32 } from '@leios/shared/types';
import {
  BLOCK_FETCH_PIPELINE,
  BlockFetchClient,
  BlockFetchServer,
  type ChainUpdate,
  ChainSyncClient,
  ChainSyncServer,
  checkBitmapForEb,
  type Clock,
  Connection,
  ConnectionClosedError,
  decodeLeiosNotify,
  type HandshakeAuthenticator,
  HandshakeClient,
  type HandshakeResult,
  HandshakeServer,
  indicesFromBitmap,
  type IntersectResult,
  KeepAliveClient,
  KeepAliveServer,
  LeiosFetchClient,
  LeiosFetchServer,
  LeiosNotifyClient,
  LeiosNotifyServer,
  type LocalVersionData,
  type Notification,
  type PeerSecret,
  type Point,
  type ProtocolInstance,
  raw,
  SEGMENT_HEADER,
  type ServerNotification,
  systemClock,
  type Tip,
  TxSubmissionClient,
  TxSubmissionServer,
} from '@leios/shared/wire';
import type { HeaderInfo } from '../../node/blocks';
import { BlockRejectedError, EbRejectedError, type LeiosNode, type LeiosNodeEvents, MempoolRejectedError } from '../../node/index';
import { NetError } from '../errors';
import { type FetchManager, leiosFetchPeer } from '../fetch/index';
import { meterEgress, type NetObserver, type TrafficClass, trafficClass } from '../observer/index';
import type { PeerSocket } from '../socket/index';
import { certifiedOnChain, ebPriority, wireLimitsFor } from './node';

export * from './node';

/** Close code when a bounded queue overflows (RFC 6455 1013 "try again later"). */
export const CLOSE_OVERLOADED = 1013;
/** Node calls (header, block, vote, tx deliveries) pending per session before it closes. */
export const MAX_PENDING_NODE_WORK = 4_096;
/** Tx ids asked per tx-submission request. */
const TX_IDS_PER_REQUEST = 16;
/** Txs per RequestTxs (§9: ≤ 64). */
const TXS_PER_REQUEST = 64;

/**
 * Misbehaviour points per refused item. A peer relays what it validated itself, so one bad header
 * or block is already suspicious; votes and txs may be refused for reasons the peer could not see
 * (a race with a rollback), so only their malformed / forged cases count, and for less.
 */
export const PEER_PENALTY = { header: 25, block: 25, eb: 25, vote: 5, tx: 5 } as const;
/** Score at which the session is refused (1008 `<proto>:refused`). */
export const PEER_SCORE_LIMIT = 100;
/** Points forgiven per second, so an honest peer's rare bad item never adds up to a refusal. */
export const PEER_SCORE_DECAY_PER_S = 1;

/** A problem the session handled (peer sent data the node rejected, …). */
export interface SessionWarning {
  readonly peer: string;
  readonly what: string;
  readonly detail: string;
}

/** Options of {@link PeerSession}. */
export interface PeerSessionOptions {
  /** An open socket (§8.1 upgrade done). */
  socket: PeerSocket;
  /** Initiator: we opened the socket. */
  role: 'initiator' | 'responder';
  node: LeiosNode;
  fetch: FetchManager;
  /** Our §8.3 identity ({@link versionDataFor}). */
  versionData: LocalVersionData;
  /** Unique id of this connection (logs, fetch manager). */
  id: string;
  /** Initiator: prove the per-peer secret in the handshake (handshake/auth.ts). */
  auth?: PeerSecret;
  /** Responder: require clients to authenticate. */
  authenticator?: HandshakeAuthenticator;
  /** Keep-alive interval of the initiator's client (§9: 20 s); null disables the timer. */
  keepAliveMs?: number | null;
  clock?: Clock;
  onWarning?: (w: SessionWarning) => void;
  /** Metrics and §14.1 send / receive events (storage-node/src/net/observer). */
  observer?: NetObserver;
  /** The peer's node name in trace events (`sender` / `recipient`). Default: `id`. */
  peerName?: string;
}

function isClosed(e: unknown): boolean {
  return e instanceof ConnectionClosedError || (e as { kind?: string } | null)?.kind === 'connection-closed';
}

/**
 * A running peer session.
 *
 * @example
 * ```ts
 * const s = new PeerSession({ socket, role: 'initiator', node, fetch, versionData, id: 'relay-eu#1' });
 * await s.handshake;            // rejects with handshake:refused on a mismatch or bad secret
 * const err = await s.closed;   // ConnectionClosedError: code and reason
 * ```
 */
export class PeerSession {
  readonly id: string;
  readonly conn: Connection;
  /** Resolves when the handshake completed; rejects when it failed (the session is closed). */
  readonly handshake: Promise<HandshakeResult>;
  /** Resolves once the session ended, with the close code and reason. */
  readonly closed: Promise<ConnectionClosedError>;
  /** Keep-alive client (initiator only): its `rttMs` feeds relay choice. */
  keepAlive: KeepAliveClient | undefined;
  /** Counters for tests and metrics. */
  readonly stats = { headers: 0, blocks: 0, votes: 0, txs: 0, notifications: 0 };
  private scoreValue = 0;
  private scoredAt = 0;
  private readonly node: LeiosNode;
  private readonly fm: FetchManager;
  private readonly opts: PeerSessionOptions;
  private readonly notify = new LeiosNotifyServer();
  private readonly cleanups: Array<() => void> = [];
  private readonly tipWaiters = new Set<() => void>();
  private readonly txWaiters = new Set<() => void>();
  private pendingWork = 0;
  private ended = false;
  private readonly observer: NetObserver;
  private readonly peerName: string;
  /** Class of the inbound message being handled, set by handlers during a synchronous receive. */
  private inClass: TrafficClass | undefined;
  /** The inbound message being handled (its bytes name a received vote bundle). */
  private inMessage: Uint8Array | undefined;

  constructor(opts: PeerSessionOptions) {
    this.opts = opts;
    this.id = opts.id;
    this.node = opts.node;
    this.fm = opts.fetch;
    this.observer = opts.observer ?? {};
    this.peerName = opts.peerName ?? opts.id;
    const socket = opts.socket;
    let resolveClosed!: (e: ConnectionClosedError) => void;
    this.closed = new Promise((r) => {
      resolveClosed = r;
    });
    this.conn = new Connection({
      transport: {
        send: (b) => socket.send(b),
        close: (c, r) => socket.close(c, r),
        ...(socket.bufferedAmount ? { bufferedAmount: () => socket.bufferedAmount!() } : {}),
      },
      role: opts.role,
      clock: opts.clock ?? systemClock,
      limits: wireLimitsFor(opts.node),
      onClose: (e) => {
        this.shutdown();
        resolveClosed(e);
      },
      ...(this.observer.violation ? { onViolation: (v: ProtocolViolation) => this.observer.violation?.(v.protocol, v.violation) } : {}),
    });
    const onBytes = this.observer.bytes;
    if (onBytes) meterEgress(this.conn, (cls, n) => onBytes('out', cls, n));
    socket.onMessage((d) => this.conn.receive(d));
    socket.onClose((code, reason) => this.conn.remoteClosed(code, reason));

    let hs: { result: Promise<HandshakeResult> };
    if (opts.role === 'initiator') {
      const c = new HandshakeClient({ data: opts.versionData, initiatorOnly: false, ...(opts.auth ? { auth: opts.auth } : {}) });
      hs = c;
      this.conn.register(this.metered(c, 'praos'));
    } else {
      const s = new HandshakeServer({ data: opts.versionData, ...(opts.authenticator ? { auth: opts.authenticator } : {}) });
      hs = s;
      this.conn.register(this.metered(s, 'praos'));
    }
    // Servers only answer, so they may be attached before the handshake completes.
    this.registerServers();
    this.handshake = hs.result.then(
      (r) => {
        if (!this.conn.closed) this.startClients(r);
        return r;
      },
      (e: unknown) => {
        throw isClosed(e) || e instanceof ProtocolViolation
          ? new NetError('handshake-refused', e instanceof Error ? e.message : String(e), { peer: this.id }, { cause: e })
          : e;
      },
    );
    this.handshake.catch(() => {}); // the owner awaits it if it cares; `closed` reports the end
  }

  /** Misbehaviour score now (decayed), see {@link PEER_PENALTY}. */
  get score(): number {
    return Math.max(0, this.scoreValue - ((this.conn.clock.now() - this.scoredAt) / 1000) * PEER_SCORE_DECAY_PER_S);
  }

  /**
   * Add `points` for something the peer sent that the node refused; past {@link PEER_SCORE_LIMIT}
   * close the session as a §8.2 policy violation, 1008 `<protocol>:refused` (the relay session
   * then redials with backoff, a listener forgets the peer).
   */
  penalise(protocol: WireProtocolName, what: string, points: number, detail: string): void {
    if (this.ended || this.conn.closed) return;
    const score = this.score + points;
    this.scoreValue = score;
    this.scoredAt = this.conn.clock.now();
    this.warn(`penalty:${what}`, `+${points} → ${score.toFixed(1)}: ${detail}`);
    if (score >= PEER_SCORE_LIMIT) {
      this.conn.fail(new ProtocolViolation(protocol, 'refused', 1008, `peer misbehaviour score ${score.toFixed(1)} ≥ ${PEER_SCORE_LIMIT} (last: ${what}: ${detail})`));
    }
  }

  /** Score a refusal by the node: only errors that mean the peer sent bad data count. */
  private judge(protocol: WireProtocolName, what: string, e: unknown): void {
    const detail = e instanceof Error ? e.message : String(e);
    if (e instanceof BlockRejectedError) {
      // unknown-parent: the peer is ahead of us, not wrong
      if (e.code !== 'unknown-parent') this.penalise(protocol, what, what === 'block' ? PEER_PENALTY.block : PEER_PENALTY.header, detail);
    } else if (e instanceof EbRejectedError) {
      // unannounced: the announcing header went away under us (rollback), not the peer's fault
      if (e.code !== 'unannounced') this.penalise(protocol, what, PEER_PENALTY.eb, detail);
    } else if (e instanceof MempoolRejectedError) {
      // a tx that does not even decode; valid-but-inapplicable txs race with blocks
      if (e.code === 'invalid' && e.rule === undefined) this.penalise(protocol, what, PEER_PENALTY.tx, detail);
    }
  }

  /** Last keep-alive RTT (ms). */
  get rttMs(): number | undefined {
    return this.keepAlive?.rttMs;
  }

  /** Close the session from this side. */
  close(code = 1000, reason = ''): void {
    this.conn.close(code, reason);
  }

  private warn(what: string, detail: string): void {
    this.opts.onWarning?.({ peer: this.id, what, detail });
  }

  /**
   * Count the inbound bytes of `inst` (§14.2 `leios_bytes_total{direction="in"}`): each whole
   * message with the headers of the segments that carried it, in the class a handler set during
   * the synchronous receive ({@link inClass}), else `fallback`. Our senders never put two messages
   * in one segment, so over our own peers the sum over classes equals `conn.bytesIn`.
   */
  private metered<T extends ProtocolInstance>(inst: T, fallback: TrafficClass): T {
    const onBytes = this.observer.bytes;
    if (!onBytes) return inst;
    let segments = 0;
    const segmentArrived = inst.segmentArrived.bind(inst);
    const receive = inst.receive.bind(inst);
    inst.segmentArrived = () => {
      segments++;
      segmentArrived();
    };
    inst.receive = (m: Uint8Array) => {
      this.inClass = undefined;
      this.inMessage = m;
      try {
        receive(m);
      } finally {
        onBytes('in', this.inClass ?? fallback, m.length + SEGMENT_HEADER * segments);
        segments = 0;
        this.inClass = undefined;
        this.inMessage = undefined;
      }
    };
    return inst;
  }

  /** §13.1 class of an item about the EB `hash` at `slot` (P0 once certified on the selected chain). */
  private ebClass(hash: Uint8Array, slot: number): TrafficClass {
    const info = this.node.ebInfo(hash);
    return trafficClass(ebPriority(this.node, slot, info ? certifiedOnChain(this.node, info.rbHash) : false));
  }

  /**
   * Wrap the port `inst` gets so every message it sends is seen by `onSend` first (LeiosFetch
   * request classes, LeiosNotify vote bundles).
   */
  private onSend(inst: ProtocolInstance, onSend: (bytes: Uint8Array, priority: Priority) => void): void {
    const attach = inst.attach.bind(inst);
    inst.attach = (port) =>
      attach({
        ...port,
        send: (bytes, priority) => {
          onSend(bytes, priority);
          port.send(bytes, priority);
        },
      });
  }

  private trace(e: Parameters<NonNullable<NetObserver['trace']>>[0]): void {
    this.observer.trace?.(e);
  }

  /** §14.1 VTBundleSent / VTBundleReceived of one LeiosNotify Votes message. */
  private voteBundle(message: Uint8Array, votes: readonly Uint8Array[]): { id: string; ids: string[] } {
    const ids: string[] = [];
    for (const v of votes) {
      try {
        const d = decodeVote(v);
        ids.push(voteTraceId(toHex(d.rbHash), d.voterId));
      } catch {
        // a malformed vote has no id; the node rejects it and says why
      }
    }
    // The bundle id is the hash of the message bytes, the same on both ends of the connection.
    return { id: toHex(blake2b256(message)), ids };
  }

  private shutdown(): void {
    if (this.ended) return;
    this.ended = true;
    for (const c of this.cleanups.splice(0)) c();
    for (const w of [...this.tipWaiters, ...this.txWaiters]) w();
    this.tipWaiters.clear();
    this.txWaiters.clear();
    this.fm.removePeer(this.id);
  }

  /** Subscribe to a node event for the life of the session. */
  private listen<K extends keyof LeiosNodeEvents>(event: K, fn: (...args: LeiosNodeEvents[K]) => void): void {
    const emitter = this.node as unknown as EventEmitter<LeiosNodeEvents>;
    emitter.on(event as never, fn as never);
    this.cleanups.push(() => emitter.off(event as never, fn as never));
  }

  /** Run node work with the session's pending-work bound (§13.4: overflow closes, never drops). */
  private work(what: string, fn: () => Promise<void>, protocol?: WireProtocolName): Promise<void> {
    if (this.ended) return Promise.resolve();
    if (this.pendingWork >= MAX_PENDING_NODE_WORK) {
      this.warn('overloaded', `${this.pendingWork} node calls pending`);
      this.conn.close(CLOSE_OVERLOADED, 'overloaded');
      return Promise.resolve();
    }
    this.pendingWork++;
    return fn()
      .catch((e: unknown) => {
        if (isClosed(e)) return;
        this.warn(what, e instanceof Error ? e.message : String(e));
        if (protocol) this.judge(protocol, what, e);
      })
      .finally(() => {
        this.pendingWork--;
      });
  }

  private offer(n: Notification, priority: Priority): void {
    if (this.ended) return;
    try {
      this.notify.notify(n, priority);
    } catch (e) {
      if (e instanceof SchedulerOverloadError) {
        this.warn('overloaded', e.message);
        this.conn.close(CLOSE_OVERLOADED, 'overloaded');
      } else throw e;
    }
  }

  // ------------------------------------------------------------------------------------------
  // Servers

  private tip(): Tip {
    const h = this.node.tipHeader();
    return h ? { point: { slot: h.slot, hash: h.hash }, blockNo: h.blockNo } : { point: null, blockNo: 0 as BlockNo };
  }

  private waitFor(set: Set<() => void>): Promise<void> {
    return new Promise((resolve) => {
      if (this.ended) {
        resolve();
        return;
      }
      set.add(resolve);
    });
  }

  private registerServers(): void {
    const node = this.node;
    const cursor = new ChainCursor(node);
    this.listen('tip', () => {
      for (const w of this.tipWaiters) w();
      this.tipWaiters.clear();
    });
    this.conn.register(
      this.metered(new ChainSyncServer({
        findIntersect: async (points) => cursor.intersect(points, this.tip()),
        next: () => {
          const quick = cursor.nextInMemory(this.tip());
          if (quick) return quick;
          return (async () => {
            for (;;) {
              if (this.ended) throw new ConnectionClosedError(1000, 'closed');
              const u = await cursor.next(this.tip());
              if (u) return u;
              await this.waitFor(this.tipWaiters);
            }
          })();
        },
      }), 'praos'),
    );
    this.conn.register(
      this.metered(
        new BlockFetchServer({
          range: async (from, to) => {
            const blocks = await blockRange(node, from, to);
            if (blocks && this.observer.trace) {
              for (const b of blocks) {
                this.trace({ type: 'RBSent', sender: node.name, recipient: this.peerName, id: toHex(b.hash), slot: b.slot, msg_size_bytes: b.bytes.length });
              }
            }
            return blocks?.map((b) => b.bytes) ?? null;
          },
        }),
        'praos',
      ),
    );

    // tx-submission: the mempool in arrival order, one cursor per connection
    let txCursor = -1;
    this.listen('tx', () => {
      for (const w of this.txWaiters) w();
      this.txWaiters.clear();
    });
    this.conn.register(
      this.metered(new TxSubmissionServer({
        txIds: async (blocking, req) => {
          for (;;) {
            const ids = [];
            for (const e of node.mempool.entriesAfter(txCursor)) {
              if (ids.length >= req) break;
              ids.push({ id: e.refHash, size: e.size });
              txCursor = e.seq;
            }
            if (ids.length > 0 || !blocking) return ids;
            if (this.ended) throw new ConnectionClosedError(1000, 'closed');
            await this.waitFor(this.txWaiters);
          }
        },
        txs: async (ids) => ids.flatMap((id) => node.mempool.getByRef(id)?.bytes ?? []),
      }), 'fresh'),
    );
    this.conn.register(this.metered(new KeepAliveServer(), 'praos'));

    if (this.observer.trace) {
      this.onSend(this.notify, (bytes, _priority) => {
        // [4, [+ vote]]: only Votes messages are decoded (§9 LeiosNotify tag 4)
        if (bytes[0] !== 0x82 || bytes[1] !== 0x04) return;
        const m = decodeLeiosNotify(bytes, this.conn.limits);
        if (m.type !== 'Votes') return;
        const b = this.voteBundle(bytes, m.votes.map((v) => v.bytes));
        this.trace({ type: 'VTBundleSent', sender: node.name, recipient: this.peerName, ...b, slot: node.currentSlot(), msg_size_bytes: bytes.length });
      });
    }
    // inbound: the peer client's RequestNext / Done, which it sends as P0
    this.conn.register(this.metered(this.notify, 'praos'));
    this.listen('header', (h: HeaderInfo) => {
      // §10.4: announcements are useful only within 3·L_hdr of the header's slot
      if (h.ebAnnouncement && node.currentSlot() - h.slot <= 3 * node.params.lHdr) {
        this.offer({ type: 'BlockAnnouncement', header: raw(h.bytes) }, PRAOS);
      }
    });
    this.listen('eb', (e: { ebHash: Hash32; rbHash: Hash32; slot: number; size: number }) => {
      this.offer(
        { type: 'BlockOffer', point: { slot: e.slot as never, hash: e.ebHash }, ebSize: e.size },
        ebPriority(node, e.slot, certifiedOnChain(node, e.rbHash)),
      );
    });
    this.listen('eb-txs', (e: { ebHash: Hash32; rbHash: Hash32; slot: number }) => {
      this.offer({ type: 'BlockTxsOffer', point: { slot: e.slot as never, hash: e.ebHash } }, ebPriority(node, e.slot, certifiedOnChain(node, e.rbHash)));
    });
    this.listen('votes', (vs: Uint8Array[]) => {
      for (const v of vs) this.offer({ type: 'Vote', vote: raw(v) }, VOTES);
    });

    const limits = wireLimitsFor(node);
    this.conn.register(
      this.metered(new LeiosFetchServer({
        block: async (point) => {
          this.inClass = this.ebClass(point.hash, point.slot); // runs within the request's receive
          const eb = await node.ebStore.getEb(point.hash);
          if (!eb) return null;
          this.trace({ type: 'EBSent', sender: node.name, recipient: this.peerName, id: toHex(point.hash), slot: eb.slot, msg_size_bytes: eb.bytes.length });
          return { eb: eb.bytes, priority: ebPriority(node, eb.slot, certifiedOnChain(node, eb.rbHash)) };
        },
        blockTxs: async (point, bitmap) => {
          this.inClass = this.ebClass(point.hash, point.slot);
          const eb = await node.ebStore.getEb(point.hash);
          if (!eb) return null;
          const refs = await node.ebStore.refs(point.hash);
          checkBitmapForEb(
            bitmap,
            refs.map((r) => r.size),
            limits,
          );
          const txs = await node.ebStore.getTxsAt(point.hash, indicesFromBitmap(bitmap));
          if (txs.some((t) => t === undefined)) return null;
          return { txs: txs as Uint8Array[], priority: ebPriority(node, eb.slot, certifiedOnChain(node, eb.rbHash)) };
        },
      }), 'fresh'),
    );
  }

  /** §10.1: on open, offer what the node holds on its volatile chain. */
  private offerHeld(): void {
    const node = this.node;
    for (const e of node.tree.selectedChain()) {
      const h = e.data.header;
      const ann = h.ebAnnouncement;
      if (!ann) continue;
      if (node.currentSlot() - h.slot <= 3 * node.params.lHdr) this.offer({ type: 'BlockAnnouncement', header: raw(h.bytes) }, PRAOS);
      const info = node.ebInfo(ann.hash);
      if (!info?.held || info.invalid) continue;
      const prio = ebPriority(node, h.slot, certifiedOnChain(node, h.hash));
      const point = { slot: h.slot, hash: ann.hash };
      this.offer({ type: 'BlockOffer', point, ebSize: ann.size }, prio);
      if (info.complete) this.offer({ type: 'BlockTxsOffer', point }, prio);
    }
  }

  // ------------------------------------------------------------------------------------------
  // Clients

  private startClients(r: HandshakeResult): void {
    // A responder runs no clients towards an initiator_only peer (§8.2).
    if (this.opts.role === 'responder' && r.initiatorOnly) return;
    this.offerHeld();
    if (this.opts.role === 'initiator') {
      this.keepAlive = new KeepAliveClient({ intervalMs: this.opts.keepAliveMs === undefined ? 20_000 : this.opts.keepAliveMs });
      this.conn.register(this.metered(this.keepAlive, 'praos'));
    }
    const bf = new BlockFetchClient();
    this.conn.register(this.metered(bf, 'praos'));
    const cs = new ChainSyncClient();
    this.conn.register(this.metered(cs, 'praos'));
    void this.follow(cs, bf).catch((e: unknown) => {
      if (!isClosed(e)) this.warn('chain-sync', e instanceof Error ? e.message : String(e));
    });
    const lf = new LeiosFetchClient();
    if (this.observer.bytes) {
      // Replies come in request order (§9 LeiosFetch): each is in the class of its request.
      const requested: TrafficClass[] = [];
      this.onSend(lf, (bytes, priority) => {
        if (requested.length < 1024 && !(bytes[0] === 0x81)) requested.push(trafficClass(priority)); // [tag] alone is Done
      });
      const receive = lf.receive.bind(lf);
      lf.receive = (m) => {
        this.inClass = requested.shift();
        receive(m);
      };
    }
    this.conn.register(this.metered(lf, 'fresh'));
    this.conn.register(this.metered(new LeiosNotifyClient({ onNotification: (n) => this.onNotification(n) }), 'fresh'));
    const ts = new TxSubmissionClient();
    this.conn.register(this.metered(ts, 'fresh'));
    void this.pullTxs(ts).catch((e: unknown) => {
      if (!isClosed(e)) this.warn('tx-submission', e instanceof Error ? e.message : String(e));
    });
    const peer = { ...leiosFetchPeer(this.id, lf, () => this.keepAlive?.rttMs), rejected: (what: string, e: unknown) => this.judge('leios-fetch', what, e) };
    if (this.observer.trace) {
      const requestBlock = peer.requestBlock;
      peer.requestBlock = async (point, priority) => {
        const bytes = await requestBlock(point, priority);
        this.trace({ type: 'EBReceived', sender: this.peerName, recipient: this.node.name, id: toHex(point.hash), slot: point.slot });
        return bytes;
      };
    }
    this.fm.addPeer(peer);
  }

  /** Chain-sync client: headers into the node, then their bodies (≤ 4 pipelined, in order). */
  private async follow(cs: ChainSyncClient, bf: BlockFetchClient): Promise<void> {
    const node = this.node;
    await cs.findIntersect(intersectPoints(node));
    let headers: Promise<unknown> = Promise.resolve();
    let deliveries: Promise<unknown> = Promise.resolve();
    const window: Promise<unknown>[] = [];
    while (!this.ended) {
      const u = await cs.requestNext();
      if (u.type !== 'RollForward') continue; // the node's chain selection handles rollbacks
      const bytes = u.header.bytes.slice();
      const hash = blake2b256(bytes);
      this.stats.headers++;
      const known = headers.then(async () => {
        let ok = false;
        await this.work(
          'header',
          async () => {
            await node.receiveHeader(bytes);
            ok = true;
          },
          'chain-sync',
        );
        if (ok) this.fm.noteRbFrom(this.id, hash);
        return ok;
      });
      headers = known;
      const fetched = known.then(async (ok) => {
        if (!ok || this.ended || (await node.blockBytes(hash))) return null;
        const h = node.header(hash);
        if (!h) return null;
        const p = { slot: h.slot, hash };
        return bf.requestRange(p, p);
      });
      const done = deliveries.then(async () => {
        const blocks = await fetched.catch((e: unknown) => {
          if (!isClosed(e)) this.warn('block-fetch', e instanceof Error ? e.message : String(e));
          return null;
        });
        for (const b of blocks ?? []) {
          this.stats.blocks++;
          if (this.observer.trace) {
            const slot = node.header(hash)?.slot;
            if (slot !== undefined) this.trace({ type: 'RBReceived', sender: this.peerName, recipient: node.name, id: toHex(hash), slot });
          }
          await this.work('block', () => node.receiveBlock(b.bytes.slice()), 'block-fetch');
        }
      });
      deliveries = done;
      window.push(done);
      // bounded lookahead: ≤ BLOCK_FETCH_PIPELINE bodies outstanding
      if (window.length >= BLOCK_FETCH_PIPELINE) await window.shift();
    }
  }

  private onNotification(n: ServerNotification): void {
    this.stats.notifications++;
    const node = this.node;
    switch (n.type) {
      case 'BlockAnnouncement': {
        this.inClass = 'praos';
        const bytes = n.header.bytes.slice();
        void this.work('announcement', async () => {
          try {
            await node.receiveHeader(bytes);
          } catch (e) {
            // a header on a chain not followed yet: chain-sync brings its ancestors
            if (e instanceof BlockRejectedError && e.code === 'unknown-parent') return;
            throw e;
          }
        }, 'leios-notify');
        break;
      }
      case 'BlockOffer':
        this.inClass = this.ebClass(n.point.hash, n.point.slot);
        this.fm.offerBlock(this.id, n.point, n.ebSize);
        break;
      case 'BlockTxsOffer':
        this.inClass = this.ebClass(n.point.hash, n.point.slot);
        this.fm.offerTxs(this.id, n.point);
        break;
      case 'Votes': {
        this.inClass = 'fresh';
        const votes = n.votes.map((v) => v.bytes.slice());
        this.stats.votes += votes.length;
        if (this.observer.trace && this.inMessage) {
          this.trace({ type: 'VTBundleReceived', sender: this.peerName, recipient: node.name, ...this.voteBundle(this.inMessage, votes), slot: node.currentSlot() });
        }
        void this.work('votes', async () => {
          const r = await node.receiveVotes(votes);
          this.observer.votes?.({
            received: votes.length,
            verified: r.outcomes.filter((o) => o === 'accepted' || o === 'duplicate').length,
            rejected: r.outcomes.filter((o): o is (typeof VOTE_REJECTION_TYPES)[number] => (VOTE_REJECTION_TYPES as readonly string[]).includes(o)),
          });
          // forged or undecodable votes are the sender's doing; the others may be timing (§6.3)
          const bad = r.outcomes.filter((o) => o === 'malformed' || o === 'bad-signature').length;
          if (bad > 0) this.penalise('leios-notify', 'votes', bad * PEER_PENALTY.vote, `${bad} of ${votes.length} votes malformed or badly signed`);
        });
        break;
      }
    }
  }

  /** Tx-submission client: pull the peer's txs into the mempool. */
  private async pullTxs(ts: TxSubmissionClient): Promise<void> {
    const node = this.node;
    let ack = 0;
    while (!this.ended) {
      // blocking: the server answers when it has something (no timeout, §11)
      const ids = await ts.requestTxIds(true, ack, TX_IDS_PER_REQUEST);
      ack = ids.length;
      const want = ids.filter((i) => !node.mempool.hasRef(i.id)).map((i) => i.id);
      for (let k = 0; k < want.length; k += TXS_PER_REQUEST) {
        const txs = await ts.requestTxs(want.slice(k, k + TXS_PER_REQUEST));
        for (const t of txs) {
          this.stats.txs++;
          await this.work('tx', async () => {
            try {
              await node.submitTx(t.bytes.slice());
            } catch (e) {
              if (e instanceof MempoolRejectedError && e.code === 'duplicate') return;
              throw e;
            }
          }, 'tx-submission');
        }
      }
    }
  }
}

/** Points for FindIntersect: the tip, then exponentially older selected blocks, then origin. */
export function intersectPoints(node: LeiosNode): Point[] {
  const chain = node.tree.selectedChain();
  const out: Point[] = [];
  for (let back = 0, step = 1; chain.length - 1 - back >= 0 && out.length < 63; back += step, step *= 2) {
    const e = chain[chain.length - 1 - back]!;
    out.push({ slot: e.header.slot, hash: e.header.hash });
  }
  out.push(null);
  return out;
}

/** A chain-sync server cursor over the node's selected chain (memory first, then the ChainDB). */
class ChainCursor {
  private at: { hash: Hash32; blockNo: number } | null = null;

  constructor(private readonly node: LeiosNode) {}

  private async onChain(hash: Hash32): Promise<boolean> {
    if (this.node.tree.has(hash)) return this.node.tree.isSelected(hash);
    return this.node.chainDb.isOnChain(hash);
  }

  private async headerOf(hash: Hash32): Promise<{ blockNo: number; prevHash: Hash32 | null; slot: number } | undefined> {
    return this.node.header(hash) ?? (await this.node.chainDb.getHeader(hash));
  }

  async intersect(points: readonly Point[], tip: Tip): Promise<IntersectResult> {
    for (const p of points) {
      if (p === null) {
        this.at = null;
        return { found: true, point: null, tip };
      }
      if (await this.onChain(p.hash)) {
        const h = await this.headerOf(p.hash);
        if (!h) continue;
        this.at = { hash: p.hash, blockNo: h.blockNo };
        return { found: true, point: p, tip };
      }
    }
    return { found: false, tip };
  }

  /** The next update when it can be answered from memory; null at the tip; undefined otherwise. */
  nextInMemory(tip: Tip): ChainUpdate | null | undefined {
    const tree = this.node.tree;
    if (this.at && !(tree.has(this.at.hash) && tree.isSelected(this.at.hash))) return undefined;
    const chain = tree.selectedChain();
    const first = chain[0];
    const want = (this.at?.blockNo ?? 0) + 1;
    if (want > tip.blockNo) return null;
    const e = first ? chain[want - first.header.blockNo] : undefined;
    if (!e) return undefined;
    this.at = { hash: e.header.hash, blockNo: e.header.blockNo };
    return { type: 'RollForward', header: raw(e.data.header.bytes), tip };
  }

  /** The next update (rollback, or the next header of the chain), or null at the tip. */
  async next(tip: Tip): Promise<ChainUpdate | null> {
    if (this.at && !(await this.onChain(this.at.hash))) {
      // roll the client back to the deepest ancestor of its cursor on the selected chain
      let h = await this.headerOf(this.at.hash);
      let hash: Hash32 | null = this.at.hash;
      while (hash && h && !(await this.onChain(hash))) {
        hash = h.prevHash;
        h = hash ? await this.headerOf(hash) : undefined;
      }
      if (hash && h) {
        this.at = { hash, blockNo: h.blockNo };
        return { type: 'RollBackward', point: { slot: h.slot as never, hash }, tip };
      }
      this.at = null;
      return { type: 'RollBackward', point: null, tip };
    }
    const quick = this.nextInMemory(tip);
    if (quick !== undefined) return quick;
    const want = (this.at?.blockNo ?? 0) + 1;
    const p = await this.node.chainDb.pointAt(want);
    const h = p ? await this.node.chainDb.getHeader(p.hash) : undefined;
    if (!p || !h) return null;
    if (this.at && (!h.prevHash || !bytesEqual(h.prevHash, this.at.hash))) return this.next(tip); // raced a switch
    this.at = { hash: p.hash, blockNo: p.blockNo };
    return { type: 'RollForward', header: raw(h.bytes), tip };
  }
}

/** Block-fetch: the blocks `from..to` (≤ 100, following parent links back from `to`). */
async function blockRange(node: LeiosNode, from: Point, to: Point): Promise<{ hash: Hash32; slot: number; bytes: Uint8Array }[] | null> {
  if (!from || !to) return null;
  const hashes: { hash: Hash32; slot: number }[] = [];
  let h: Hash32 | null = to.hash;
  for (let i = 0; i < 100 && h; i++) {
    const hdr: { prevHash: Hash32 | null; slot: number } | undefined = node.header(h) ?? (await node.chainDb.getHeader(h));
    if (!hdr) return null;
    hashes.push({ hash: h, slot: hdr.slot });
    if (bytesEqual(h, from.hash)) break;
    h = hdr.prevHash;
  }
  const last = hashes[hashes.length - 1];
  if (!last || !bytesEqual(last.hash, from.hash)) return null;
  const out: { hash: Hash32; slot: number; bytes: Uint8Array }[] = [];
  for (const x of hashes.reverse()) {
    const b = await node.blockBytes(x.hash);
    if (!b) return null;
    out.push({ ...x, bytes: b });
  }
  return out;
}
