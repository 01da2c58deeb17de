/**
 * The storage node's pino logger: JSON lines for machines, a compact human format on a terminal.
 *
 * Primer: operators ship logs from files and journald, where one JSON object per line is what
 * every collector parses; a developer watching a devnet in a terminal wants short readable lines.
 * pino-pretty would add a dependency (and a worker thread) for the terminal case only, so the
 * pretty mode here is a small synchronous formatter stream over pino's own JSON output: level,
 * time, logger name, message, then the remaining fields as `key=value`. It is chosen when the
 * destination is a TTY unless `pretty` says otherwise.
 *
 * @module
 */
import { pino, type DestinationStream, type Level, type Logger } from 'pino';

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Logger name (the node name), shown on every line. */
  name: string;
  /** Minimum level (default `info`, or LOG_LEVEL from the environment). */
  level?: Level | 'silent';
  /** Where lines go (default stdout). */
  destination?: DestinationStream & { isTTY?: boolean };
  /** Force the human format on (true) or off (false); default: on only when the destination is a TTY. */
  pretty?: boolean;
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const LEVEL_COLOURS: Record<number, string> = { 10: '90', 20: '36', 30: '32', 40: '33', 50: '31', 60: '35' };

function formatValue(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v) ?? String(v);
}

/**
 * Turn one pino JSON line into `HH:MM:SS.mmm LEVEL name: msg key=value …` (with ANSI colour when
 * `colour`). Lines that are not JSON objects pass through unchanged, so nothing is ever lost.
 *
 * @example
 * ```ts
 * prettyLine('{"level":30,"time":0,"name":"n0","msg":"hi","slot":3}', false) // '00:00:00.000 INFO  n0: hi slot=3'
 * ```
 */
export function prettyLine(json: string, colour: boolean): string {
  let o: unknown;
  try {
    o = JSON.parse(json);
  } catch {
    return json.replace(/\n$/, '');
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return json.replace(/\n$/, '');
  const { level, time, name, msg, pid: _pid, hostname: _host, err, ...rest } = o as Record<string, unknown>;
  const lvl = typeof level === 'number' ? level : 30;
  const t = typeof time === 'number' ? new Date(time).toISOString().slice(11, 23) : '--:--:--.---';
  const label = (LEVEL_NAMES[lvl] ?? String(lvl)).padEnd(5);
  const head = colour ? `\u001b[${LEVEL_COLOURS[lvl] ?? '0'}m${label}\u001b[0m` : label;
  const fields = Object.entries(rest).map(([k, v]) => `${k}=${formatValue(v)}`);
  let line = `${t} ${head} ${typeof name === 'string' ? `${name}: ` : ''}${typeof msg === 'string' ? msg : ''}`;
  if (fields.length > 0) line += ` ${fields.join(' ')}`;
  if (typeof err === 'object' && err !== null && 'stack' in err && typeof err.stack === 'string') line += `\n${err.stack}`;
  return line;
}

/** A destination that pretty-prints pino's JSON lines onto `out`. */
function prettyDestination(out: DestinationStream, colour: boolean): DestinationStream {
  return {
    write(chunk: string): void {
      // pino writes one complete line per call.
      out.write(`${prettyLine(chunk, colour)}\n`);
    },
  };
}

/**
 * A pino logger for one node.
 *
 * @example
 * ```ts
 * const log = createLogger({ name: 'node-0' });
 * log.info({ slot: 12, eb: hex }, 'EB certified');
 * ```
 */
export function createLogger(opts: LoggerOptions): Logger {
  const out: DestinationStream & { isTTY?: boolean } = opts.destination ?? process.stdout;
  const pretty = opts.pretty ?? out.isTTY === true;
  const envLevel = process.env.LOG_LEVEL;
  const level = opts.level ?? (envLevel !== undefined && envLevel !== '' ? envLevel : 'info');
  const options = { name: opts.name, level, base: { pid: process.pid } };
  return pino(options, pretty ? prettyDestination(out, out.isTTY === true) : out);
}
