/**
 * The Prometheus registry of one storage node, built from the §14.2 catalogue.
 *
 * Primer: prom-client keeps a process-global default registry, but a test (or an in-process
 * devnet) may run several nodes in one process and each must expose only its own numbers. So
 * every {@link NodeMetrics} owns a fresh `Registry` and registers the catalogue's metrics there
 * only; nothing touches the global one. The observe helpers are typed from the catalogue
 * (`METRICS` in @leios/shared/obs): a metric name of the wrong type, a missing label or a label
 * value outside its closed set does not compile. Counters and labelled histograms are zeroed for
 * every label combination up front so `rate()` and "is it there?" queries work from the first
 * scrape (the label sets are closed and small: at most 56 series per metric).
 *
 * @module
 */
import {
  type CounterName,
  type GaugeName,
  type HistogramName,
  METRIC_NAMES,
  METRICS,
  type MetricLabels,
  type MetricName,
  metricLabelNames,
} from '@leios/shared/obs';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Labels argument: optional for metrics without labels, required otherwise. */
type LabelArgs<N extends MetricName, Rest extends unknown[]> = keyof MetricLabels<N> extends never
  ? [labels?: Record<string, never>, ...Rest]
  : [labels: MetricLabels<N>, ...Rest];

/** Options of {@link NodeMetrics}. */
export interface NodeMetricsOptions {
  /** Labels added to every series, e.g. `{ node: 'pool-3' }` when several nodes share a scrape target. */
  defaultLabels?: Record<string, string>;
  /** Also export prom-client's process metrics (CPU, heap, event-loop lag) into this registry. */
  processMetrics?: boolean;
}

/** Catalogue labels are string-valued records; prom-client wants its own index type. */
function asLabels(labels: object | undefined): Record<string, string> {
  return (labels ?? {}) as Record<string, string>;
}

type AnyMetric = Counter<string> | Gauge<string> | Histogram<string>;

/** Every combination of a metric's label values (the cartesian product of the closed sets). */
function labelCombinations(name: MetricName): Array<Record<string, string>> {
  let out: Array<Record<string, string>> = [{}];
  for (const [label, values] of Object.entries(METRICS[name].labels) as Array<[string, readonly string[]]>) {
    out = out.flatMap((partial) => values.map((v) => ({ ...partial, [label]: v })));
  }
  return out;
}

/**
 * The §14.2 metrics of one node, in a registry of their own.
 *
 * @example
 * ```ts
 * const m = new NodeMetrics({ defaultLabels: { node: 'pool-0' } });
 * m.inc('leios_votes_received_total', { source: 'ws' }, 3);
 * m.observe('leios_praos_block_diffusion_seconds', { stage: 'header' }, 0.12);
 * m.set('leios_mempool_txs', {}, 42);
 * const text = await m.text(); // Prometheus exposition format
 * ```
 */
export class NodeMetrics {
  readonly registry: Registry;
  private readonly metrics = new Map<MetricName, AnyMetric>();

  constructor(opts: NodeMetricsOptions = {}) {
    this.registry = new Registry();
    if (opts.defaultLabels !== undefined) this.registry.setDefaultLabels(opts.defaultLabels);
    for (const name of METRIC_NAMES) {
      const spec = METRICS[name];
      const common = { name, help: spec.help, labelNames: metricLabelNames(name), registers: [this.registry] };
      let metric: AnyMetric;
      if (spec.type === 'counter') {
        const c = new Counter(common);
        for (const l of labelCombinations(name)) c.inc(l, 0);
        metric = c;
      } else if (spec.type === 'gauge') {
        const g = new Gauge(common);
        if (common.labelNames.length === 0) g.set(0);
        metric = g;
      } else {
        const h = new Histogram({ ...common, buckets: [...(spec.buckets ?? [])] });
        if (common.labelNames.length > 0) for (const l of labelCombinations(name)) h.zero(l);
        metric = h;
      }
      this.metrics.set(name, metric);
    }
    if (opts.processMetrics === true) collectDefaultMetrics({ register: this.registry });
  }

  private get<T extends AnyMetric>(name: MetricName): T {
    const m = this.metrics.get(name);
    if (m === undefined) throw new Error(`metric ${name} is not registered`);
    return m as T;
  }

  /**
   * Add `by` (default 1, must be ≥ 0) to a counter.
   *
   * @example
   * ```ts
   * m.inc('leios_bytes_total', { direction: 'out', class: 'praos' }, frame.length);
   * m.inc('leios_rollbacks_total');
   * ```
   */
  inc<N extends CounterName>(name: N, ...args: LabelArgs<N, [by?: number]>): void {
    const [labels, by] = args;
    this.get<Counter<string>>(name).inc(asLabels(labels), by ?? 1);
  }

  /** Set a gauge. @example `m.set('leios_burst_active', {}, 1)` */
  set<N extends GaugeName>(name: N, ...args: LabelArgs<N, [value: number]>): void {
    const [labels, value] = args;
    this.get<Gauge<string>>(name).set(asLabels(labels), value);
  }

  /** Record one histogram observation (seconds). @example `m.observe('leios_quorum_latency_seconds', {}, 3.4)` */
  observe<N extends HistogramName>(name: N, ...args: LabelArgs<N, [value: number]>): void {
    const [labels, value] = args;
    this.get<Histogram<string>>(name).observe(asLabels(labels), value);
  }

  /**
   * Current value of one counter or gauge series (tests, the dashboard); 0 if never set.
   *
   * @example
   * ```ts
   * await m.value('leios_votes_received_total', { source: 'http' }) // 3
   * ```
   */
  async value<N extends CounterName | GaugeName>(name: N, ...args: LabelArgs<N, []>): Promise<number> {
    const [labels = {}] = args;
    const data = await this.get<Counter<string> | Gauge<string>>(name).get();
    const want = Object.entries(labels as Record<string, string>);
    const hit = data.values.find((v) => want.every(([k, x]) => v.labels[k] === x));
    return hit?.value ?? 0;
  }

  /** The exposition text of every metric of this registry. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** The `Content-Type` of {@link text} (Prometheus text format 0.0.4). */
  get contentType(): string {
    return this.registry.contentType;
  }
}
