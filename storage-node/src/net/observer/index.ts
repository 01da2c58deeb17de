/**
 * What the network layer reports to whoever observes it: wire bytes by §13.1 class, votes received
 * over LeiosNotify and the node's verdict on them, protocol violations of peers, and the §14.1
 * send / receive trace events (PROTOCOL.md §14.1, §14.2).
 *
 * Primer: storage-node/src/net must not depend on Prometheus or on the trace file (it also runs in
 * tests and benchmarks with neither), so it reports through a small {@link NetObserver} of
 * optional callbacks; the service implements it over its NodeMetrics and TraceWriter
 * (service/observe.ts). Every callback is optional and an absent observer costs nothing on the hot
 * path: the session only instruments its connection when a callback that needs it is present.
 *
 * Egress bytes are exact: {@link meterEgress} counts each segment (8-byte header + payload) as it
 * leaves the connection's §13.1 scheduler, which knows the segment's class. Ingress carries no
 * class on the wire, so the session attributes each reassembled message (and its segment headers)
 * to the class of what it carries (see PeerSession): Praos protocols are `praos`, tx-submission and
 * votes `fresh`, EB items the {@link Priority} of their EB.
 *
 * @module
 */
import type { TraceEventOf, VOTE_REJECTION_TYPES } from '@leios/shared/obs';
import type { Priority } from '@leios/shared/sched';
import { type Connection, SEGMENT_HEADER } from '@leios/shared/wire';

/** §13.1 class label of `leios_bytes_total`. */
export type TrafficClass = 'praos' | 'fresh' | 'stale';

/** The §14.1 events the network layer emits. */
export type NetTraceEvent =
  | TraceEventOf<'RBSent'>
  | TraceEventOf<'RBReceived'>
  | TraceEventOf<'EBSent'>
  | TraceEventOf<'EBReceived'>
  | TraceEventOf<'VTBundleSent'>
  | TraceEventOf<'VTBundleReceived'>;

/** The node's verdict on one batch of votes received from a peer. */
export interface VoteBatchOutcome {
  /** Votes in the batch. */
  readonly received: number;
  /** Votes whose signature verified (accepted or already held). */
  readonly verified: number;
  /** One §12 rejection type per rejected vote. */
  readonly rejected: readonly (typeof VOTE_REJECTION_TYPES)[number][];
}

/**
 * Callbacks of the network layer, all optional.
 *
 * @example
 * ```ts
 * const observer: NetObserver = { bytes: (dir, cls, n) => counters[`${dir}/${cls}`] += n };
 * new PeerSession({ …, observer });
 * ```
 */
export interface NetObserver {
  /** `n` wire bytes (segment headers included) went `direction` in class `cls`. */
  bytes?(direction: 'in' | 'out', cls: TrafficClass, n: number): void;
  /** A LeiosNotify Votes message was handed to the node, with its outcome. */
  votes?(outcome: VoteBatchOutcome): void;
  /** We closed a session because the peer violated a mini-protocol (§8.2 reason). */
  violation?(protocol: string, kind: string): void;
  /** A §14.1 send / receive event. */
  trace?(event: NetTraceEvent): void;
}

/** The `leios_bytes_total` class of a scheduler priority. @example `trafficClass(PRAOS) // 'praos'` */
export function trafficClass(p: Priority | { readonly cls: 0 | 1 | 2 }): TrafficClass {
  return p.cls === 0 ? 'praos' : p.cls === 1 ? 'fresh' : 'stale';
}

/**
 * Count every egress segment of `conn` by its §13.1 class, as it leaves the scheduler. The sum over
 * classes equals `conn.bytesOut` (a WebSocket message is a concatenation of segments). The
 * scheduler belongs to shared/src/wire, which has no per-class counters, so its `next` is wrapped
 * on this one instance.
 *
 * @example
 * ```ts
 * meterEgress(session.conn, (cls, n) => metrics.inc('leios_bytes_total', { direction: 'out', class: cls }, n));
 * ```
 */
export function meterEgress(conn: Connection, onBytes: (cls: TrafficClass, n: number) => void): void {
  const s = conn.scheduler;
  const next = s.next.bind(s);
  s.next = () => {
    const seg = next();
    if (seg) onBytes(trafficClass(seg), SEGMENT_HEADER + seg.payload.length);
    return seg;
  };
}
