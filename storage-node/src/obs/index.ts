/**
 * Observability of a storage node (PROTOCOL.md §14): the Prometheus registry built from the shared
 * metric catalogue, the JSON-lines trace writer with its in-memory ring, and the pino logger.
 *
 * Primer: the vocabulary (event types, metric names, labels, buckets) lives in
 * `@leios/shared/obs` so the edge emits the same names; this folder is the Node side that records
 * them. One {@link NodeMetrics} and one {@link TraceWriter} per node instance: several nodes may
 * share a process (tests, an in-process devnet), so nothing here is global.
 *
 * @module
 */
export { createLogger, type LoggerOptions, prettyLine } from './logger';
export { NodeMetrics, type NodeMetricsOptions } from './metrics';
export { type TraceStats, TraceWriter, type TraceWriterOptions } from './trace';
