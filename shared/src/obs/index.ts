/**
 * The observability catalogue: every trace event type (PROTOCOL.md §14.1) with its field types, and
 * every Prometheus metric (§14.2) with its type, help text, label names and allowed label values.
 *
 * Primer: both tiers emit the same names (storage nodes through prom-client and a JSON-lines trace
 * file, edge relays from workerd), and the devnet tooling, Grafana dashboards and the storage
 * node's web dashboard read them back. Keeping the vocabulary as typed *data* in one place means
 * (1) a misspelt metric, label or event field is a compile error wherever it is emitted, (2) the
 * Prometheus registry is built from this table rather than repeating it, and (3) trace files can be
 * checked against the schema at run time ({@link validateTraceEvent}). The TypeScript types
 * ({@link TraceEvent}, {@link MetricLabels}) are derived from the tables, so the two cannot drift.
 *
 * Pure TypeScript: no Node-only API, so it runs in workerd too.
 *
 * @module
 */
import { ValidationError } from '../errors/index';

// ---------------------------------------------------------------------------------------------
// Trace events (§14.1)
// ---------------------------------------------------------------------------------------------

/**
 * Type of one trace field.
 * - `name`: a node name (`node`, `producer`, `sender`, `recipient`), non-empty string
 * - `id`: an RB / EB hash, 64 lowercase hex characters
 * - `pool`: a pool id, 56 lowercase hex characters
 * - `voteId`: `"<rb_hash_hex>:<voter_id>"` (§14.1)
 * - `uint`: a non-negative safe integer; `seconds`: a finite non-negative number
 * - `fraction`: an exact rational as a `"num/den"` string (quorum weight)
 * - `string`: any non-empty string (bundle ids, Cpu object ids)
 */
export type FieldSpec =
  | 'name'
  | 'id'
  | 'pool'
  | 'voteId'
  | 'uint'
  | 'seconds'
  | 'fraction'
  | 'string'
  | { readonly enum: readonly string[] }
  | { readonly nullable: FieldSpec }
  | { readonly object: { readonly [k: string]: FieldSpec } }
  | { readonly array: FieldSpec }
  | { readonly record: FieldSpec };

/** The `task_type` values of the `Cpu` event. */
export const CPU_TASK_TYPES = ['ValRH', 'ValRB', 'ValEB', 'ValVote', 'ValTX', 'GenRB', 'GenEB', 'GenVote'] as const;
/** Per-vote rejection types of §12 (also the `reason` of `VoteRejected` and of `leios_votes_rejected_total`). */
export const VOTE_REJECTION_TYPES = [
  'unknown-rb',
  'no-eb',
  'unknown-seat',
  'keyless-seat',
  'bad-signature',
  'outside-window',
  'conflict',
] as const;
/** Why an EB is dropped (`EBDropped.reason`, `leios_eb_dropped_total{reason}`), §7.2 / §14.1. */
export const EB_DROP_REASONS = ['too-early', 'no-quorum', 'superseded'] as const;
/** §6.5 certificate verification results (`leios_certificates_verified_total{result}`). */
export const CERT_VERIFY_RESULTS = [
  'ok',
  'MalformedSigners',
  'SignerWithoutKey',
  'InsufficientWeight',
  'InvalidSignature',
] as const;
/** Mini-protocol names of §8.2 close reasons (`leios_protocol_violations_total{protocol}`). */
export const WIRE_PROTOCOLS = [
  'mux',
  'handshake',
  'chain-sync',
  'block-fetch',
  'tx-submission',
  'keep-alive',
  'leios-notify',
  'leios-fetch',
] as const;
/** Violation kinds of §8.2 close reasons (`leios_protocol_violations_total{kind}`). */
export const VIOLATION_KINDS = ['malformed', 'unknown-protocol', 'agency', 'limit', 'unheld', 'timeout', 'refused'] as const;

const rbRef = { nullable: { object: { id: 'id' } } } as const;
const sent = { sender: 'name', recipient: 'name', id: 'id', slot: 'uint', msg_size_bytes: 'uint' } as const;
const received = { sender: 'name', recipient: 'name', id: 'id', slot: 'uint' } as const;

/**
 * Every §14.1 event type and its fields. Names follow the Leios shared trace vocabulary; the
 * fields marked (ext) in §14.1 are this project's additions.
 *
 * @example
 * ```ts
 * Object.keys(TRACE_EVENTS.EBGenerated) // ['producer', 'slot', 'id', 'size_bytes', 'tx_count', 'tx_payload_bytes']
 * ```
 */
export const TRACE_EVENTS = {
  Slot: { node: 'name', slot: 'uint' },
  RBGenerated: {
    producer: 'name',
    slot: 'uint',
    id: 'id',
    size_bytes: 'uint',
    tx_payload_bytes: 'uint',
    parent: rbRef,
    endorsement: { nullable: { object: { eb: { object: { id: 'id' } } } } },
    eb_announced: { nullable: 'id' },
  },
  EBGenerated: { producer: 'name', slot: 'uint', id: 'id', size_bytes: 'uint', tx_count: 'uint', tx_payload_bytes: 'uint' },
  RBSent: sent,
  RBReceived: received,
  EBSent: sent,
  EBReceived: received,
  NoEBGenerated: { node: 'name', slot: 'uint' },
  VTBundleGenerated: { producer: 'name', slot: 'uint', id: 'string', size_bytes: 'uint', votes: { record: 'uint' } },
  VTBundleSent: {
    sender: 'name',
    recipient: 'name',
    id: 'string',
    ids: { array: 'voteId' },
    slot: 'uint',
    msg_size_bytes: 'uint',
  },
  VTBundleReceived: { sender: 'name', recipient: 'name', id: 'string', ids: { array: 'voteId' }, slot: 'uint' },
  Cpu: { node: 'name', cpu_time_s: 'seconds', task_type: { enum: CPU_TASK_TYPES }, id: 'string' },
  EBTxsReceived: { node: 'name', id: 'id', slot: 'uint', latency_s: 'seconds' },
  QuorumReached: { node: 'name', id: 'id', slot: 'uint', latency_s: 'seconds', rb: 'id', weight: 'fraction' },
  CertGenerated: { producer: 'name', slot: 'uint', id: 'id', eb: 'id', signers: 'uint', size_bytes: 'uint' },
  VoteRejected: { node: 'name', id: 'voteId', reason: { enum: VOTE_REJECTION_TYPES } },
  EBDropped: { node: 'name', id: 'id', reason: { enum: EB_DROP_REASONS } },
  EquivocationDetected: { node: 'name', slot: 'uint', issuer: 'pool' },
  ChainSwitch: { node: 'name', from: 'id', to: 'id', depth: 'uint' },
} as const satisfies { readonly [type: string]: { readonly [field: string]: FieldSpec } };

/** The `message.type` values of §14.1. */
export type TraceEventType = keyof typeof TRACE_EVENTS;
/** All event types, in catalogue order. */
export const TRACE_EVENT_TYPES = Object.keys(TRACE_EVENTS) as TraceEventType[];

/** The TypeScript value type of a {@link FieldSpec}. */
export type FieldValue<S> = S extends 'uint' | 'seconds'
  ? number
  : S extends 'name' | 'id' | 'pool' | 'voteId' | 'fraction' | 'string'
    ? string
    : S extends { readonly enum: readonly (infer E)[] }
      ? E
      : S extends { readonly nullable: infer N }
        ? FieldValue<N> | null
        : S extends { readonly object: infer O }
          ? { -readonly [K in keyof O]: FieldValue<O[K]> }
          : S extends { readonly array: infer A }
            ? FieldValue<A>[]
            : S extends { readonly record: infer R }
              ? Record<string, FieldValue<R>>
              : never;

type Fields<T extends TraceEventType> = { -readonly [K in keyof (typeof TRACE_EVENTS)[T]]: FieldValue<(typeof TRACE_EVENTS)[T][K]> };

/** One §14.1 event of type `T`: `{ type: T, …fields }`. */
export type TraceEventOf<T extends TraceEventType> = { type: T } & Fields<T>;

/**
 * The `message` of a trace line: a discriminated union on `type`.
 *
 * @example
 * ```ts
 * const ev: TraceEvent = { type: 'Slot', node: 'node-0', slot: 42 };
 * if (ev.type === 'EBTxsReceived') console.log(ev.latency_s);
 * ```
 */
export type TraceEvent = { [T in TraceEventType]: TraceEventOf<T> }[TraceEventType];

/** One line of a trace file: `{"time_s": <seconds since systemStart>, "message": {...}}` (§14.1). */
export interface TraceLine {
  time_s: number;
  message: TraceEvent;
}

/**
 * The trace id of a vote, `"<rb_hash_hex>:<voter_id>"` (§14.1).
 *
 * @example
 * ```ts
 * voteTraceId('ab'.repeat(32), 7) // 'abab…ab:7'
 * ```
 */
export function voteTraceId(rbHashHex: string, voterId: number): string {
  return `${rbHashHex}:${voterId}`;
}

/**
 * Serialise one trace line (no trailing newline). `time_s` is kept to microseconds: enough for
 * diffusion latencies, and it keeps lines short and stable.
 *
 * @example
 * ```ts
 * formatTraceLine(12.5, { type: 'Slot', node: 'n0', slot: 12 }) // '{"time_s":12.5,"message":{"type":"Slot","node":"n0","slot":12}}'
 * ```
 */
export function formatTraceLine(timeS: number, message: TraceEvent): string {
  return JSON.stringify({ time_s: Math.round(timeS * 1e6) / 1e6, message });
}

const HEX64 = /^[0-9a-f]{64}$/;
const HEX56 = /^[0-9a-f]{56}$/;
const VOTE_ID = /^[0-9a-f]{64}:(0|[1-9][0-9]{0,4})$/;
const FRACTION = /^(0|[1-9][0-9]*)\/[1-9][0-9]*$/;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkField(path: string, spec: FieldSpec, v: unknown): void {
  const bad: (what: string) => never = (what) => {
    throw new ValidationError(path, `expected ${what}, got ${JSON.stringify(v) ?? String(v)}`);
  };
  if (typeof spec === 'string') {
    switch (spec) {
      case 'uint':
        if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) bad('a non-negative integer');
        return;
      case 'seconds':
        if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) bad('a non-negative number of seconds');
        return;
      case 'id':
        if (typeof v !== 'string' || !HEX64.test(v)) bad('a 64-character lowercase hex id');
        return;
      case 'pool':
        if (typeof v !== 'string' || !HEX56.test(v)) bad('a 56-character lowercase hex pool id');
        return;
      case 'voteId':
        if (typeof v !== 'string' || !VOTE_ID.test(v)) bad('a vote id "<rb_hash_hex>:<voter_id>"');
        return;
      case 'fraction':
        if (typeof v !== 'string' || !FRACTION.test(v)) bad('a "num/den" fraction');
        return;
      case 'name':
      case 'string':
        if (typeof v !== 'string' || v.length === 0) bad('a non-empty string');
        return;
    }
  }
  if ('enum' in spec) {
    if (typeof v !== 'string' || !spec.enum.includes(v)) bad(`one of ${spec.enum.join(', ')}`);
    return;
  }
  if ('nullable' in spec) {
    if (v !== null) checkField(path, spec.nullable, v);
    return;
  }
  if ('array' in spec) {
    if (!Array.isArray(v)) bad('an array');
    v.forEach((x, i) => {
      checkField(`${path}[${i}]`, spec.array, x);
    });
    return;
  }
  if ('record' in spec) {
    if (!isPlainObject(v)) bad('an object');
    for (const [k, x] of Object.entries(v)) checkField(`${path}.${k}`, spec.record, x);
    return;
  }
  if (!isPlainObject(v)) bad('an object');
  checkObject(path, spec.object, v);
}

function checkObject(path: string, fields: { readonly [k: string]: FieldSpec }, v: Record<string, unknown>): void {
  for (const [k, spec] of Object.entries(fields)) {
    if (!(k in v)) throw new ValidationError(`${path}.${k}`, 'missing field');
    checkField(`${path}.${k}`, spec, v[k]);
  }
  for (const k of Object.keys(v)) {
    if (k !== 'type' && !(k in fields)) throw new ValidationError(`${path}.${k}`, 'unknown field');
  }
}

/**
 * Check that `v` is a §14.1 event (known `type`, every field present with its type, no unknown
 * field) and return it typed. Throws {@link ValidationError} naming the offending field.
 *
 * @example
 * ```ts
 * const ev = validateTraceEvent(JSON.parse(line).message);
 * ```
 */
export function validateTraceEvent(v: unknown, path = 'message'): TraceEvent {
  if (!isPlainObject(v)) throw new ValidationError(path, 'expected an object');
  const type = v.type;
  if (typeof type !== 'string' || !Object.hasOwn(TRACE_EVENTS, type)) {
    throw new ValidationError(`${path}.type`, `unknown event type ${JSON.stringify(type)}`);
  }
  checkObject(path, TRACE_EVENTS[type as TraceEventType], v);
  return v as TraceEvent;
}

/**
 * Parse and check one trace-file line (§14.1 shape).
 *
 * @example
 * ```ts
 * const { time_s, message } = parseTraceLine('{"time_s":1.5,"message":{"type":"Slot","node":"n0","slot":1}}');
 * ```
 */
export function parseTraceLine(line: string): TraceLine {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (e) {
    throw new ValidationError('line', `not JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!isPlainObject(v)) throw new ValidationError('line', 'expected an object');
  const keys = Object.keys(v).sort();
  if (keys.length !== 2 || keys[0] !== 'message' || keys[1] !== 'time_s') {
    throw new ValidationError('line', `expected exactly the keys time_s and message, got ${keys.join(', ')}`);
  }
  if (typeof v.time_s !== 'number' || !Number.isFinite(v.time_s)) throw new ValidationError('time_s', 'expected a number');
  return { time_s: v.time_s, message: validateTraceEvent(v.message) };
}

// ---------------------------------------------------------------------------------------------
// Metrics (§14.2)
// ---------------------------------------------------------------------------------------------

/** Prometheus metric types used by the catalogue. */
export type MetricType = 'counter' | 'gauge' | 'histogram';

/** One metric: its type, help text, labels (name → allowed values) and, for histograms, buckets. */
export interface MetricSpec {
  readonly type: MetricType;
  readonly help: string;
  readonly labels: { readonly [label: string]: readonly string[] };
  /** Upper bounds in seconds (histograms only), ascending. */
  readonly buckets?: readonly number[];
}

/**
 * Closure latency (header arrival → closure held): optimistic EB diffusion is well under a slot,
 * but a withheld or slow closure may take until the certificate deadline and beyond (§7.1: up to
 * ~14 slots at 1 s), and a burst (§13.2) pushes stale EBs further: 50 ms … 60 s.
 */
export const CLOSURE_LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 45, 60] as const;
/**
 * Quorum latency (`T(s)` → τ reached): votes start at `T(s + 3·L_hdr)` and stop counting after
 * `T(s + 3·L_hdr + 2·L_vote)`, i.e. 3–11 slots (3–11 s by default; devnet tests use 100–200 ms
 * slots), so the buckets are dense from 0.25 s to 12 s with a tail to 30 s.
 */
export const QUORUM_LATENCY_BUCKETS = [0.1, 0.25, 0.5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 15, 20, 30] as const;
/** Praos diffusion (`T(s)` → header / body received): 10 ms … 10 s, Praos' Δ being a few seconds. */
export const PRAOS_DIFFUSION_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10] as const;

/**
 * Every §14.2 metric. Label values are closed sets so a typo is a compile error and the series
 * count stays bounded.
 *
 * @example
 * ```ts
 * METRICS.leios_votes_rejected_total.labels.reason // ['unknown-rb', 'no-eb', …]
 * ```
 */
export const METRICS = {
  leios_eb_closure_latency_seconds: {
    type: 'histogram',
    help: 'Announcing RB header arrival to EB closure (EB bytes and every referenced tx) held, in seconds',
    labels: {},
    buckets: CLOSURE_LATENCY_BUCKETS,
  },
  leios_votes_received_total: {
    type: 'counter',
    help: 'Votes received, by source (ws = LeiosNotify, http = POST /v1/votes)',
    labels: { source: ['ws', 'http'] },
  },
  leios_votes_verified_total: {
    type: 'counter',
    help: 'Votes whose BLS signature verified, by source',
    labels: { source: ['ws', 'http'] },
  },
  leios_votes_rejected_total: {
    type: 'counter',
    help: 'Votes rejected under PROTOCOL.md §6.3, by source and §12 rejection type',
    labels: { source: ['ws', 'http'], reason: VOTE_REJECTION_TYPES },
  },
  leios_certificates_built_total: {
    type: 'counter',
    help: 'Certificates built by this node for its CertRBs',
    labels: {},
  },
  leios_certificates_verified_total: {
    type: 'counter',
    help: 'Certificates verified, by result (ok or the first failing §6.5 rule)',
    labels: { result: CERT_VERIFY_RESULTS },
  },
  leios_quorum_reached_total: {
    type: 'counter',
    help: 'EBs whose verified votes reached the quorum threshold tau',
    labels: {},
  },
  leios_quorum_latency_seconds: {
    type: 'histogram',
    help: 'Start of the announcing RB slot T(s) to quorum reached, in seconds',
    labels: {},
    buckets: QUORUM_LATENCY_BUCKETS,
  },
  leios_mempool_bytes: { type: 'gauge', help: 'Bytes of transactions in the mempool', labels: {} },
  leios_mempool_txs: { type: 'gauge', help: 'Transactions in the mempool', labels: {} },
  leios_praos_block_diffusion_seconds: {
    type: 'histogram',
    help: 'Start of the RB slot T(s) to the RB header / body being received, in seconds',
    labels: { stage: ['header', 'body'] },
    buckets: PRAOS_DIFFUSION_BUCKETS,
  },
  leios_bytes_total: {
    type: 'counter',
    help: 'Wire bytes by direction and §13.1 priority class',
    labels: { direction: ['in', 'out'], class: ['praos', 'fresh', 'stale'] },
  },
  leios_eb_dropped_total: {
    type: 'counter',
    help: 'EBs dropped for good (never certified), by reason',
    labels: { reason: EB_DROP_REASONS },
  },
  leios_protocol_violations_total: {
    type: 'counter',
    help: 'Mini-protocol violations by peers (connection closed), by protocol and kind (§8.2)',
    labels: { protocol: WIRE_PROTOCOLS, kind: VIOLATION_KINDS },
  },
  leios_burst_active: {
    type: 'gauge',
    help: '1 while more than BURST_THRESHOLD EBs outside the fresh window are pending (§13.3), else 0',
    labels: {},
  },
  leios_chain_tip_slot: { type: 'gauge', help: 'Slot of the tip of the selected chain', labels: {} },
  leios_rollbacks_total: { type: 'counter', help: 'Rollbacks of the selected chain', labels: {} },
} as const satisfies { readonly [name: string]: MetricSpec };

/** Every metric name of §14.2. */
export type MetricName = keyof typeof METRICS;
/** All metric names, in catalogue order. */
export const METRIC_NAMES = Object.keys(METRICS) as MetricName[];
/** Names of the metrics of one type. */
export type MetricNameOf<T extends MetricType> = { [N in MetricName]: (typeof METRICS)[N]['type'] extends T ? N : never }[MetricName];
export type CounterName = MetricNameOf<'counter'>;
export type GaugeName = MetricNameOf<'gauge'>;
export type HistogramName = MetricNameOf<'histogram'>;

/**
 * The label set of metric `N`: every label of the catalogue, each one of its allowed values.
 *
 * @example
 * ```ts
 * const l: MetricLabels<'leios_bytes_total'> = { direction: 'in', class: 'praos' };
 * ```
 */
export type MetricLabels<N extends MetricName> = {
  -readonly [L in keyof (typeof METRICS)[N]['labels']]: (typeof METRICS)[N]['labels'][L] extends readonly (infer V)[] ? V : never;
};

/** The label names of a metric, in catalogue order. @example `metricLabelNames('leios_bytes_total') // ['direction', 'class']` */
export function metricLabelNames(name: MetricName): string[] {
  return Object.keys(METRICS[name].labels);
}
