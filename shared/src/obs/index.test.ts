import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors/index';
import {
  formatTraceLine,
  METRIC_NAMES,
  METRICS,
  metricLabelNames,
  parseTraceLine,
  TRACE_EVENT_TYPES,
  TRACE_EVENTS,
  type TraceEvent,
  validateTraceEvent,
  voteTraceId,
} from './index';

const H = 'ab'.repeat(32);
const H2 = 'cd'.repeat(32);
const POOL = '12'.repeat(28);

/** One valid example of every event type (the compiler checks each against the union). */
const EXAMPLES: TraceEvent[] = [
  { type: 'Slot', node: 'n0', slot: 3 },
  {
    type: 'RBGenerated',
    producer: 'n0',
    slot: 10,
    id: H,
    size_bytes: 900,
    tx_payload_bytes: 700,
    parent: { id: H2 },
    endorsement: { eb: { id: H2 } },
    eb_announced: H,
  },
  {
    type: 'RBGenerated',
    producer: 'n0',
    slot: 1,
    id: H,
    size_bytes: 90,
    tx_payload_bytes: 0,
    parent: null,
    endorsement: null,
    eb_announced: null,
  },
  { type: 'EBGenerated', producer: 'n0', slot: 10, id: H, size_bytes: 400, tx_count: 10, tx_payload_bytes: 9000 },
  { type: 'RBSent', sender: 'n0', recipient: 'r0', id: H, slot: 10, msg_size_bytes: 1200 },
  { type: 'RBReceived', sender: 'r0', recipient: 'n1', id: H, slot: 10 },
  { type: 'EBSent', sender: 'n0', recipient: 'r0', id: H, slot: 10, msg_size_bytes: 400 },
  { type: 'EBReceived', sender: 'r0', recipient: 'n1', id: H, slot: 10 },
  { type: 'NoEBGenerated', node: 'n0', slot: 11 },
  { type: 'VTBundleGenerated', producer: 'n1', slot: 13, id: 'n1-13', size_bytes: 87, votes: { [H]: 1 } },
  { type: 'VTBundleSent', sender: 'n1', recipient: 'r0', id: 'n1-13', ids: [voteTraceId(H, 5)], slot: 13, msg_size_bytes: 90 },
  { type: 'VTBundleReceived', sender: 'r0', recipient: 'n2', id: 'n1-13', ids: [voteTraceId(H, 5)], slot: 13 },
  { type: 'Cpu', node: 'n1', cpu_time_s: 0.0021, task_type: 'ValVote', id: voteTraceId(H, 5) },
  { type: 'EBTxsReceived', node: 'n1', id: H, slot: 10, latency_s: 0.35 },
  { type: 'QuorumReached', node: 'n1', id: H, slot: 10, latency_s: 3.2, rb: H2, weight: '48/64' },
  { type: 'CertGenerated', producer: 'n2', slot: 24, id: H2, eb: H, signers: 50, size_bytes: 58 },
  { type: 'VoteRejected', node: 'n1', id: voteTraceId(H, 70), reason: 'unknown-seat' },
  { type: 'EBDropped', node: 'n1', id: H, reason: 'no-quorum' },
  { type: 'EquivocationDetected', node: 'n1', slot: 10, issuer: POOL },
  { type: 'ChainSwitch', node: 'n1', from: H, to: H2, depth: 1 },
];

describe('trace catalogue (PROTOCOL.md §14.1)', () => {
  it('lists exactly the §14.1 event types', () => {
    expect([...TRACE_EVENT_TYPES].sort()).toEqual(
      [
        'Slot',
        'RBGenerated',
        'EBGenerated',
        'RBSent',
        'RBReceived',
        'EBSent',
        'EBReceived',
        'NoEBGenerated',
        'VTBundleGenerated',
        'VTBundleSent',
        'VTBundleReceived',
        'Cpu',
        'EBTxsReceived',
        'QuorumReached',
        'CertGenerated',
        'VoteRejected',
        'EBDropped',
        'EquivocationDetected',
        'ChainSwitch',
      ].sort(),
    );
  });

  it('has fields exactly as §14.1 for the shared-vocabulary events', () => {
    expect(Object.keys(TRACE_EVENTS.RBGenerated)).toEqual([
      'producer',
      'slot',
      'id',
      'size_bytes',
      'tx_payload_bytes',
      'parent',
      'endorsement',
      'eb_announced',
    ]);
    expect(Object.keys(TRACE_EVENTS.RBSent)).toContain('msg_size_bytes');
    expect(Object.keys(TRACE_EVENTS.RBReceived)).not.toContain('msg_size_bytes');
    expect(Object.keys(TRACE_EVENTS.QuorumReached)).toEqual(['node', 'id', 'slot', 'latency_s', 'rb', 'weight']);
  });

  it('accepts a valid example of every type, and every type has one', () => {
    for (const ev of EXAMPLES) expect(validateTraceEvent(JSON.parse(JSON.stringify(ev)))).toEqual(ev);
    expect(new Set(EXAMPLES.map((e) => e.type))).toEqual(new Set(TRACE_EVENT_TYPES));
  });

  it('rejects missing, unknown and mistyped fields with the field path', () => {
    const bad: Array<[unknown, string]> = [
      [{ type: 'Slot', node: 'n0' }, 'message.slot'],
      [{ type: 'Slot', node: 'n0', slot: 1, extra: 1 }, 'message.extra'],
      [{ type: 'Slot', node: 'n0', slot: -1 }, 'message.slot'],
      [{ type: 'Slot', node: '', slot: 1 }, 'message.node'],
      [{ type: 'Nope', node: 'n0', slot: 1 }, 'message.type'],
      [{ type: 'EBDropped', node: 'n0', id: H, reason: 'bored' }, 'message.reason'],
      [{ type: 'EBDropped', node: 'n0', id: H.toUpperCase(), reason: 'no-quorum' }, 'message.id'],
      [{ type: 'VoteRejected', node: 'n0', id: H, reason: 'conflict' }, 'message.id'],
      [{ type: 'QuorumReached', node: 'n', id: H, slot: 1, latency_s: 1, rb: H, weight: '0.75' }, 'message.weight'],
      [{ ...EXAMPLES[1], parent: { id: 'x' } }, 'message.parent.id'],
      [{ ...EXAMPLES[1], endorsement: { eb: {} } }, 'message.endorsement.eb.id'],
      [{ type: 'VTBundleReceived', sender: 'a', recipient: 'b', id: 'x', ids: [H], slot: 1 }, 'message.ids[0]'],
      [{ type: 'VTBundleGenerated', producer: 'a', slot: 1, id: 'x', size_bytes: 1, votes: { [H]: 1.5 } }, `message.votes.${H}`],
      [{ type: 'EquivocationDetected', node: 'n', slot: 1, issuer: H }, 'message.issuer'],
    ];
    for (const [v, path] of bad) {
      let err: unknown;
      try {
        validateTraceEvent(v);
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(v)).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).field).toBe(path);
    }
  });

  it('formats lines that parse back to the same event (property)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...EXAMPLES), fc.double({ min: 0, max: 1e7, noNaN: true }), (ev, t) => {
        const line = formatTraceLine(t, ev);
        expect(line).not.toContain('\n');
        const back = parseTraceLine(line);
        expect(back.message).toEqual(ev);
        expect(Math.abs(back.time_s - t)).toBeLessThanOrEqual(5e-7);
        expect(Object.keys(JSON.parse(line))).toEqual(['time_s', 'message']);
      }),
    );
  });

  it('rejects lines of the wrong shape', () => {
    expect(() => parseTraceLine('not json')).toThrow(ValidationError);
    expect(() => parseTraceLine('{"message":{"type":"Slot","node":"n","slot":1}}')).toThrow(ValidationError);
    expect(() => parseTraceLine('{"time_s":"1","message":{"type":"Slot","node":"n","slot":1}}')).toThrow(ValidationError);
    expect(() => parseTraceLine('{"time_s":1,"message":{"type":"Slot","node":"n","slot":1},"x":1}')).toThrow(ValidationError);
  });
});

describe('metric catalogue (PROTOCOL.md §14.2)', () => {
  it('names exactly the §14.2 metrics with their types', () => {
    const expected: Record<string, string> = {
      leios_eb_closure_latency_seconds: 'histogram',
      leios_votes_received_total: 'counter',
      leios_votes_verified_total: 'counter',
      leios_votes_rejected_total: 'counter',
      leios_certificates_built_total: 'counter',
      leios_certificates_verified_total: 'counter',
      leios_quorum_reached_total: 'counter',
      leios_quorum_latency_seconds: 'histogram',
      leios_mempool_bytes: 'gauge',
      leios_mempool_txs: 'gauge',
      leios_praos_block_diffusion_seconds: 'histogram',
      leios_bytes_total: 'counter',
      leios_eb_dropped_total: 'counter',
      leios_protocol_violations_total: 'counter',
      leios_burst_active: 'gauge',
      leios_chain_tip_slot: 'gauge',
      leios_rollbacks_total: 'counter',
    };
    expect(Object.fromEntries(METRIC_NAMES.map((n) => [n, METRICS[n].type]))).toEqual(expected);
  });

  it('uses Prometheus naming conventions', () => {
    for (const n of METRIC_NAMES) {
      expect(n).toMatch(/^leios_[a-z_]+$/);
      const spec = METRICS[n];
      if (spec.type === 'counter') expect(n.endsWith('_total')).toBe(true);
      else expect(n.endsWith('_total')).toBe(false);
      if (spec.type === 'histogram') {
        expect(n.endsWith('_seconds')).toBe(true);
        const b = spec.buckets;
        expect(b.length).toBeGreaterThan(5);
        for (let i = 1; i < b.length; i++) expect(b[i]!).toBeGreaterThan(b[i - 1]!);
      }
      expect(spec.help.length).toBeGreaterThan(10);
      for (const l of metricLabelNames(n)) expect(l).toMatch(/^[a-z_]+$/);
    }
  });

  it('has the §14.2 labels and value sets', () => {
    expect(metricLabelNames('leios_votes_received_total')).toEqual(['source']);
    expect(metricLabelNames('leios_votes_rejected_total')).toEqual(['source', 'reason']);
    expect(metricLabelNames('leios_certificates_verified_total')).toEqual(['result']);
    expect(metricLabelNames('leios_praos_block_diffusion_seconds')).toEqual(['stage']);
    expect(metricLabelNames('leios_bytes_total')).toEqual(['direction', 'class']);
    expect(metricLabelNames('leios_eb_dropped_total')).toEqual(['reason']);
    expect(metricLabelNames('leios_protocol_violations_total')).toEqual(['protocol', 'kind']);
    expect(METRICS.leios_bytes_total.labels.class).toEqual(['praos', 'fresh', 'stale']);
    expect(METRICS.leios_certificates_verified_total.labels.result).toContain('InsufficientWeight');
  });

  it('covers the stated latency ranges with its buckets', () => {
    const closure = METRICS.leios_eb_closure_latency_seconds.buckets;
    expect([closure[0], closure.at(-1)]).toEqual([0.05, 60]);
    const praos = METRICS.leios_praos_block_diffusion_seconds.buckets;
    expect([praos[0], praos.at(-1)]).toEqual([0.01, 10]);
    // quorum can only be reached from T(s + 3·L_hdr) to T(s + 3·L_hdr + 2·L_vote): 3..11 slots
    const q = METRICS.leios_quorum_latency_seconds.buckets;
    expect(q.filter((b) => b >= 3 && b <= 11).length).toBeGreaterThanOrEqual(6);
  });
});
