/**
 * Feeds a node's events into its §14.2 metrics and its §14.1 trace file.
 *
 * Primer: the node logic reports what happens as typed events (`header`, `block`, `tip`,
 * `quorum`, …) and as raw trace records from its hot paths; it does not know about Prometheus or
 * the trace file. This module is the bridge: each node event becomes the metric observations the
 * catalogue names (PROTOCOL.md §14.2), and each trace record is checked against the shared §14.1
 * catalogue before it is written, so a file only ever holds events the Leios trace tools parse.
 * Records the catalogue does not accept are counted in {@link TraceBridge.rejected} by type and
 * reported once per type through `onWarning` (never silently dropped). The network layer reports
 * through {@link netObserver}: wire bytes by class, votes received over LeiosNotify, peers'
 * protocol violations, and the §14.1 send / receive events with both node names.
 *
 * @module
 */
import { toHex } from '@leios/shared/bytes';
import { TRACE_EVENTS, type TraceEvent, VIOLATION_KINDS, validateTraceEvent, WIRE_PROTOCOLS } from '@leios/shared/obs';
import type { HeaderInfo } from '../node/blocks';
import type { NetObserver } from '../net/observer/index';
import type { LeiosNode, TraceEvent as NodeTraceEvent } from '../node/index';
import type { NodeMetrics, TraceWriter } from '../obs/index';

/** The bridge from node trace records to the trace writer. */
export interface TraceBridge {
  /** Pass as the node's `trace` option. */
  readonly sink: (e: NodeTraceEvent) => void;
  /** Records refused by the §14.1 catalogue, by type. */
  readonly rejected: Map<string, number>;
  /** Validate and write one event from another source (the network layer), now. */
  readonly emit: (message: Record<string, unknown>) => void;
  /**
   * Set once the network layer traces receipts itself (with the sending peer): the node's own
   * `EBReceived` is then left out rather than written twice.
   */
  networkReceipts: boolean;
}

/**
 * Normalise one node trace record to a §14.1 event, or return an error message.
 *
 * @example
 * ```ts
 * normaliseTrace({ type: 'QuorumReached', node: 'n0', id, rb, slot: 3, weight: '3/4' }, 1.2) // adds latency_s
 * ```
 */
export function normaliseTrace(
  message: Record<string, unknown>,
  slotStartS: (slot: number) => number,
  nowS: number,
  onExtraField?: (type: string, field: string) => void,
): TraceEvent | string {
  let m = message;
  const spec = typeof m.type === 'string' && Object.hasOwn(TRACE_EVENTS, m.type) ? TRACE_EVENTS[m.type as keyof typeof TRACE_EVENTS] : undefined;
  if (m.type === 'EBReceived' && m.sender === undefined) {
    // The node learns an EB from "the network" (the fetch manager picks the relay): it does not
    // know which peer delivered it.
    m = { ...m, sender: 'unknown' };
  }
  if (spec) {
    // Fields outside the catalogue (e.g. a node-local `build_ms`) would make the line unreadable
    // to the trace tools: leave them out, and say so once.
    const extra = Object.keys(m).filter((k) => k !== 'type' && !Object.hasOwn(spec, k));
    if (extra.length > 0) {
      m = Object.fromEntries(Object.entries(m).filter(([k]) => !extra.includes(k)));
      for (const f of extra) onExtraField?.(String(message.type), f);
    }
  }
  if (m.type === 'QuorumReached' && m.latency_s === undefined && typeof m.slot === 'number') {
    // §14.1: latency from T(s) of the announcing RB
    m = { ...m, latency_s: Math.max(0, nowS - slotStartS(m.slot)) };
  }
  try {
    return validateTraceEvent(m);
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/**
 * A trace sink for the node that validates and writes to `trace`, and records the latency
 * histograms that come from trace records (EB closure latency, certificates built, EB drops).
 *
 * @example
 * ```ts
 * const bridge = traceBridge(trace, metrics, (w) => log.warn(w));
 * const node = await LeiosNode.create({ …, trace: bridge.sink });
 * ```
 */
export function traceBridge(
  trace: TraceWriter,
  metrics: NodeMetrics,
  slotStartS: (slot: number) => number,
  onWarning: (msg: string) => void,
): TraceBridge {
  const rejected = new Map<string, number>();
  const extraSeen = new Set<string>();
  // The node traces CertGenerated before the CertRB's hash exists (no `id`): hold it until the
  // RBGenerated that endorses the same EB names the block, then write both (§14.1 order kept:
  // the certificate is built before the block that carries it).
  let pendingCert: { time_s: number; message: Record<string, unknown> } | null = null;
  const sink = (e: NodeTraceEvent): void => {
    const m = e.message as Record<string, unknown>;
    // The network layer traces each EB receipt with the peer's name as it arrives: the node's own
    // record of the same receipt (after validation) would write it twice.
    if (m.type === 'EBReceived' && bridge.networkReceipts) return;
    if (m.type === 'CertGenerated') metrics.inc('leios_certificates_built_total');
    if (m.type === 'CertGenerated' && m.id === undefined) {
      pendingCert = { time_s: e.time_s, message: m };
      return;
    }
    if (m.type === 'RBGenerated' && pendingCert !== null) {
      const endorsed = (m.endorsement as { eb?: { id?: unknown } } | null)?.eb?.id;
      const held = pendingCert;
      pendingCert = null;
      if (endorsed === held.message.eb) write({ ...held.message, id: m.id }, held.time_s);
    }
    write(m, e.time_s);
  };
  const write = (m: Record<string, unknown>, timeS: number): void => {
    switch (m.type) {
      case 'EBTxsReceived':
        if (typeof m.latency_s === 'number') metrics.observe('leios_eb_closure_latency_seconds', {}, m.latency_s);
        break;
      case 'EBDropped':
        if (m.reason === 'too-early' || m.reason === 'no-quorum' || m.reason === 'superseded') metrics.inc('leios_eb_dropped_total', { reason: m.reason });
        break;
    }
    const ev = normaliseTrace(m, slotStartS, timeS, (type, field) => {
      const k = `${type}.${field}`;
      if (!extraSeen.has(k)) {
        extraSeen.add(k);
        onWarning(`trace event ${type} carries ${field}, which PROTOCOL.md §14.1 does not list; it is left out of the trace file`);
      }
    });
    if (typeof ev === 'string') {
      const type = String(m.type);
      const n = rejected.get(type) ?? 0;
      rejected.set(type, n + 1);
      if (n === 0) onWarning(`trace event ${type} does not match PROTOCOL.md §14.1 (${ev}); such events are not written`);
      return;
    }
    trace.emit(ev);
  };
  const bridge: TraceBridge = { sink, rejected, emit: (m) => write(m, trace.timeS()), networkReceipts: false };
  return bridge;
}

/**
 * The network layer's observer over a node's metrics and trace bridge (§14.2 `leios_bytes_total`,
 * `leios_votes_*_total{source="ws"}`, `leios_protocol_violations_total`; §14.1 RB / EB / vote
 * bundle send and receive events).
 *
 * @example
 * ```ts
 * const observer = netObserver(metrics, bridge);
 * new RelaySession({ …, observer });
 * ```
 */
export function netObserver(metrics: NodeMetrics, bridge: TraceBridge): NetObserver {
  bridge.networkReceipts = true;
  const protocols: readonly string[] = WIRE_PROTOCOLS;
  const kinds: readonly string[] = VIOLATION_KINDS;
  return {
    bytes: (direction, cls, n) => metrics.inc('leios_bytes_total', { direction, class: cls }, n),
    votes: (r) => {
      metrics.inc('leios_votes_received_total', { source: 'ws' }, r.received);
      if (r.verified > 0) metrics.inc('leios_votes_verified_total', { source: 'ws' }, r.verified);
      for (const reason of r.rejected) metrics.inc('leios_votes_rejected_total', { source: 'ws', reason });
    },
    violation: (protocol, kind) => {
      // the wire layer's names are the catalogue's (§8.2); anything else is a bug to hear about
      if (protocols.includes(protocol) && kinds.includes(kind)) {
        metrics.inc('leios_protocol_violations_total', {
          protocol: protocol as (typeof WIRE_PROTOCOLS)[number],
          kind: kind as (typeof VIOLATION_KINDS)[number],
        });
      }
    },
    trace: (e) => bridge.emit(e),
  };
}

/**
 * Subscribe the §14.2 metrics to a node's events; returns the unsubscribe function.
 *
 * @example
 * ```ts
 * const off = observeNode(node, metrics);
 * ```
 */
export function observeNode(node: LeiosNode, metrics: NodeMetrics, ownPools: readonly Uint8Array[]): () => void {
  const slotStartMs = (slot: number) => node.clock.slotStart(slot);
  const now = () => node.clock.timeS() * 1000 + node.genesis.systemStartMs;
  const mine = new Set(ownPools.map((p) => toHex(p)));
  const isOwn = (h: HeaderInfo): boolean => mine.has(toHex(h.issuer));
  const onHeader = (h: HeaderInfo): void => {
    if (isOwn(h)) return;
    metrics.observe('leios_praos_block_diffusion_seconds', { stage: 'header' }, Math.max(0, (now() - slotStartMs(h.slot)) / 1000));
  };
  const onBlock = (h: HeaderInfo): void => {
    if (isOwn(h)) return;
    metrics.observe('leios_praos_block_diffusion_seconds', { stage: 'body' }, Math.max(0, (now() - slotStartMs(h.slot)) / 1000));
  };
  const onTip = (c: { tip: HeaderInfo | null; rolledBack: HeaderInfo[]; adopted: HeaderInfo[] }): void => {
    if (c.tip) metrics.set('leios_chain_tip_slot', {}, c.tip.slot);
    if (c.rolledBack.length > 0) metrics.inc('leios_rollbacks_total', {}, c.rolledBack.length);
    for (const h of c.adopted) {
      // A CertRB on the selected chain that we did not build passed §6.5 verification in the node.
      if (h.certifiedEb && !isOwn(h)) metrics.inc('leios_certificates_verified_total', { result: 'ok' });
    }
    updateMempool();
  };
  const onQuorum = (rbHash: Uint8Array): void => {
    metrics.inc('leios_quorum_reached_total');
    const h = node.header(rbHash);
    if (h) metrics.observe('leios_quorum_latency_seconds', {}, Math.max(0, (now() - slotStartMs(h.slot)) / 1000));
  };
  const updateMempool = (): void => {
    metrics.set('leios_mempool_bytes', {}, node.mempool.bytes);
    metrics.set('leios_mempool_txs', {}, node.mempool.size);
  };
  node.on('header', onHeader);
  node.on('block', onBlock);
  node.on('tip', onTip);
  node.on('quorum', onQuorum);
  node.on('tx', updateMempool);
  return () => {
    node.off('header', onHeader);
    node.off('block', onBlock);
    node.off('tip', onTip);
    node.off('quorum', onQuorum);
    node.off('tx', updateMempool);
  };
}
