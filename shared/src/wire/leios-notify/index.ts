/**
 * LeiosNotify drivers (protocol 18, PROTOCOL.md §10.1, §13).
 *
 * The server keeps the notifications it owes this connection in an {@link OfferQueue} (§13.1
 * order, §13.4 bounds with drop-and-re-offer of stale offers) and answers each pipelined
 * RequestNext with the best one *at the moment it may send* — only when its previous notification
 * has left the egress scheduler — so a header that arrives while stale offers are waiting goes out
 * next instead of queueing behind them. Consecutive queued votes are batched into one Votes
 * message (≤ 1,024 votes, ≤ 131,072 B). A BlockTxsOffer never overtakes the BlockOffer of its EB.
 *
 * The client keeps up to 64 RequestNext in flight and hands every notification to a callback.
 *
 * @module
 */
import { toHex } from '../../bytes/index';
import { OfferQueue, type OfferQueueOptions, P1Rank, PRAOS, type Priority } from '../../sched/index';
import { type EbPoint, MAX_VOTES, MAX_VOTES_MESSAGE, type RawItem } from '../common/index';
import { type ConnectionClosedError, Driver } from '../machine/index';
import {
  LEIOS_NOTIFY_PIPELINE,
  type LeiosNotifyMessage,
  type LeiosNotifyState,
  leiosNotifySpec,
} from './messages';

export * from './messages';

type K = LeiosNotifyMessage['type'];

/** One item a server owes a connection. Votes are queued one by one and batched when sent. */
export type Notification =
  | { type: 'BlockAnnouncement'; header: RawItem }
  | { type: 'BlockOffer'; point: EbPoint; ebSize: number }
  | { type: 'BlockTxsOffer'; point: EbPoint }
  | { type: 'Vote'; vote: RawItem };

/** A notification as the client receives it. */
export type ServerNotification = Exclude<LeiosNotifyMessage, { type: 'RequestNext' } | { type: 'Done' }>;

/** Room for the message envelope around a batch of votes. */
const VOTES_ENVELOPE = 8;

/**
 * LeiosNotify server.
 *
 * @example
 * ```ts
 * const notify = new LeiosNotifyServer();
 * conn.register(notify);
 * notify.notify({ type: 'BlockAnnouncement', header: raw(hdr) }, PRAOS);
 * notify.notify({ type: 'BlockOffer', point, ebSize }, leiosPriority({ ebSlot: point.slot, currentSlot, params }));
 * notify.notify({ type: 'Vote', vote: raw(v) }, VOTES);
 * ```
 */
export class LeiosNotifyServer extends Driver<LeiosNotifyMessage, LeiosNotifyState, K> {
  readonly queue: OfferQueue<Notification>;
  /** EB hashes whose BlockOffer went out on this connection (bounded FIFO). */
  private readonly offered = new Set<string>();
  /** EB hashes whose BlockTxsOffer went out on this connection (bounded FIFO). */
  private readonly offeredTxs = new Set<string>();
  private readonly maxOffered: number;

  constructor(opts: { queue?: OfferQueueOptions; maxRememberedOffers?: number } = {}) {
    super('server', leiosNotifySpec);
    this.queue = new OfferQueue(opts.queue);
    this.maxOffered = opts.maxRememberedOffers ?? 65_536;
  }

  /**
   * Queue a notification for this peer. Throws SchedulerOverloadError when P0/P1 overflow
   * (§13.4: never dropped, so the session owner must close the connection).
   */
  notify(n: Notification, priority: Priority): void {
    if (this.closedWith) return;
    this.queue.push(n, priority);
    this.pump();
  }

  /**
   * Whether this connection was offered the EB bytes (`block`) or its txs (`txs`): §10.2 lets a
   * client fetch only what was offered on the connection, so a LeiosFetch server handler asks
   * here before serving (and answers `null`, closing with `leios-fetch:unheld`, otherwise).
   */
  wasOffered(what: 'block' | 'txs', ebHash: Uint8Array): boolean {
    return (what === 'block' ? this.offered : this.offeredTxs).has(toHex(ebHash));
  }

  private remember(set: Set<string>, hash: Uint8Array): void {
    if (set.size >= this.maxOffered) set.delete(set.values().next().value as string);
    set.add(toHex(hash));
  }

  protected handle(m: LeiosNotifyMessage): void {
    if (m.type === 'RequestNext') this.pump();
    else if (m.type === 'Done') this.queue.clear();
  }

  override egressDrained(): void {
    this.pump();
  }

  /** Send the best notification if a request is waiting and the previous reply has left. */
  private pump(): void {
    if (this.closedWith || this.state !== 'StBusy' || this.port.queued() > 0) return;
    const first = this.queue.shift();
    if (!first) return;
    let { item, priority } = first;
    if (item.type === 'BlockTxsOffer' && !this.offered.has(toHex(item.point.hash))) {
      const h = toHex(item.point.hash);
      const offer = this.queue.take((n) => n.type === 'BlockOffer' && toHex(n.point.hash) === h);
      if (offer) {
        this.queue.push(item, priority); // keeps its place among equals later
        ({ item, priority } = offer);
      }
    }
    if (item.type === 'Vote') {
      const votes: RawItem[] = [item.vote];
      let size = VOTES_ENVELOPE + item.vote.bytes.length;
      const more = this.queue.shiftWhile((o) => {
        if (o.item.type !== 'Vote' || o.priority.cls !== priority.cls) return false;
        if (size + o.item.vote.bytes.length > MAX_VOTES_MESSAGE) return false;
        size += o.item.vote.bytes.length;
        return true;
      }, MAX_VOTES - 1);
      for (const o of more) if (o.item.type === 'Vote') votes.push(o.item.vote);
      this.send({ type: 'Votes', votes }, priority.cls === 1 ? { cls: 1, rank: P1Rank.Votes } : priority);
      return;
    }
    if (item.type === 'BlockOffer') this.remember(this.offered, item.point.hash);
    else if (item.type === 'BlockTxsOffer') this.remember(this.offeredTxs, item.point.hash);
    this.send(item, priority);
  }

  protected override onClosed(_err: ConnectionClosedError): void {
    this.queue.clear();
  }
}

/**
 * LeiosNotify client: keeps `pipeline` (≤ 64) RequestNext in flight.
 *
 * @example
 * ```ts
 * conn.register(new LeiosNotifyClient({ onNotification: (n) => relay.ingest(n) }));
 * ```
 */
export class LeiosNotifyClient extends Driver<LeiosNotifyMessage, LeiosNotifyState, K> {
  private stopped = false;
  private readonly depth: number;
  private inFlight = 0;

  constructor(
    private readonly opts: {
      onNotification: (n: ServerNotification) => void;
      pipeline?: number;
    },
  ) {
    super('client', leiosNotifySpec);
    this.depth = Math.min(opts.pipeline ?? LEIOS_NOTIFY_PIPELINE, LEIOS_NOTIFY_PIPELINE);
  }

  protected override onAttach(): void {
    this.fill();
  }

  private fill(): void {
    while (!this.stopped && !this.closedWith && this.inFlight < this.depth) {
      this.send({ type: 'RequestNext' }, PRAOS);
      this.inFlight++;
    }
  }

  protected handle(m: LeiosNotifyMessage): void {
    if (m.type === 'RequestNext' || m.type === 'Done') return;
    this.inFlight--;
    this.opts.onNotification(m);
    this.fill();
    if (this.stopped && this.inFlight === 0 && this.canSend({ type: 'Done' })) this.send({ type: 'Done' }, PRAOS);
  }

  /** Stop requesting; sends Done once every outstanding request was answered. */
  stop(): void {
    this.stopped = true;
    if (this.inFlight === 0 && this.canSend({ type: 'Done' })) this.send({ type: 'Done' }, PRAOS);
  }
}
