import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { METRIC_NAMES, METRICS, parseTraceLine, type TraceEvent } from '@leios/shared/obs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger, NodeMetrics, prettyLine, TraceWriter } from './index';

const H = 'ab'.repeat(32);

describe('NodeMetrics', () => {
  it('registers exactly the catalogue metrics, with their types, in its own registry', async () => {
    const m = new NodeMetrics();
    const text = await m.text();
    const declared = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((x) => [x[1], x[2]]);
    expect(Object.fromEntries(declared)).toEqual(Object.fromEntries(METRIC_NAMES.map((n) => [n, METRICS[n].type])));
    for (const n of METRIC_NAMES) expect(text).toContain(`# HELP ${n} ${METRICS[n].help}`);
    expect(m.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  });

  it('keeps two instances apart (no global registry)', async () => {
    const a = new NodeMetrics({ defaultLabels: { node: 'a' } });
    const b = new NodeMetrics({ defaultLabels: { node: 'b' } });
    a.inc('leios_votes_received_total', { source: 'ws' }, 5);
    b.inc('leios_votes_received_total', { source: 'ws' }, 2);
    expect(await a.value('leios_votes_received_total', { source: 'ws' })).toBe(5);
    expect(await b.value('leios_votes_received_total', { source: 'ws' })).toBe(2);
    expect(await a.text()).toContain('leios_votes_received_total{source="ws",node="a"} 5');
    expect(await b.text()).not.toContain('node="a"');
  });

  it('zeroes every label combination of counters up front', async () => {
    const text = await new NodeMetrics().text();
    expect(text).toContain('leios_votes_rejected_total{source="http",reason="conflict"} 0');
    expect(text).toContain('leios_protocol_violations_total{protocol="leios-fetch",kind="unheld"} 0');
    expect(text).toContain('leios_bytes_total{direction="out",class="stale"} 0');
    expect(text).toContain('leios_rollbacks_total 0');
    expect(text).toContain('leios_praos_block_diffusion_seconds_count{stage="body"} 0');
  });

  it('records counters, gauges and histograms with the catalogue buckets', async () => {
    const m = new NodeMetrics();
    m.inc('leios_rollbacks_total');
    m.inc('leios_bytes_total', { direction: 'in', class: 'praos' }, 1200);
    m.set('leios_mempool_txs', {}, 17);
    m.set('leios_chain_tip_slot', {}, 1234);
    m.observe('leios_eb_closure_latency_seconds', {}, 0.3);
    m.observe('leios_eb_closure_latency_seconds', {}, 70);
    m.observe('leios_praos_block_diffusion_seconds', { stage: 'header' }, 0.02);
    const text = await m.text();
    expect(text).toContain('leios_rollbacks_total 1');
    expect(text).toContain('leios_bytes_total{direction="in",class="praos"} 1200');
    expect(text).toContain('leios_mempool_txs 17');
    expect(text).toContain('leios_chain_tip_slot 1234');
    expect(text).toContain('leios_eb_closure_latency_seconds_bucket{le="0.25"} 0');
    expect(text).toContain('leios_eb_closure_latency_seconds_bucket{le="0.5"} 1');
    expect(text).toContain('leios_eb_closure_latency_seconds_bucket{le="60"} 1');
    expect(text).toContain('leios_eb_closure_latency_seconds_bucket{le="+Inf"} 2');
    expect(text).toContain('leios_eb_closure_latency_seconds_count 2');
    expect(text).toContain('leios_praos_block_diffusion_seconds_bucket{le="0.025",stage="header"} 1');
    const les = [...text.matchAll(/^leios_quorum_latency_seconds_bucket\{le="([^"]+)"\}/gm)].map((x) => x[1]);
    expect(les).toEqual([...METRICS.leios_quorum_latency_seconds.buckets.map(String), '+Inf']);
    expect(await m.value('leios_mempool_txs')).toBe(17);
  });

  it('rejects label values outside the catalogue at run time too', () => {
    const m = new NodeMetrics();
    // A caller bypassing the types (e.g. from parsed input) still cannot create a stray label.
    const bad = { source: 'ws', colour: 'red' } as unknown as { source: 'ws' };
    expect(() => m.inc('leios_votes_received_total', bad)).toThrow();
  });

  it('can add process metrics to its own registry only', async () => {
    const m = new NodeMetrics({ processMetrics: true });
    expect(await m.text()).toContain('process_cpu_user_seconds_total');
    expect(await new NodeMetrics().text()).not.toContain('process_cpu_user_seconds_total');
  });
});

describe('TraceWriter', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'leios-trace-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const events = (n: number): TraceEvent[] =>
    Array.from({ length: n }, (_, i): TraceEvent => (i % 2 === 0 ? { type: 'Slot', node: 'n0', slot: i } : { type: 'EBDropped', node: 'n0', id: H, reason: 'no-quorum' }));

  it('writes one §14.1 JSON line per event, time_s counted from systemStart', async () => {
    let now = 1_000_000;
    const path = join(dir, 'n0.jsonl');
    const t = await TraceWriter.open({ systemStartMs: 1_000_000 - 5_000, path, now: () => now });
    for (const ev of events(1000)) {
      now += 1.5;
      t.emit(ev);
    }
    await t.close();
    const lines = (await readFile(path, 'utf8')).split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(1000);
    const parsed = lines.map(parseTraceLine);
    expect(parsed[0]).toEqual({ time_s: 5.0015, message: { type: 'Slot', node: 'n0', slot: 0 } });
    expect(parsed[999]?.time_s).toBeCloseTo(6.5, 6);
    expect(parsed.map((p) => p.message)).toEqual(events(1000));
    expect(t.stats).toMatchObject({ emitted: 1000, written: 1000, dropped: 0, pendingBytes: 0 });
  });

  it('appends to an existing file', async () => {
    const path = join(dir, 'n0.jsonl');
    for (let run = 0; run < 2; run++) {
      const t = await TraceWriter.open({ systemStartMs: 0, path });
      t.emit({ type: 'Slot', node: 'n0', slot: run });
      await t.close();
    }
    const lines = (await readFile(path, 'utf8')).trim().split('\n').map(parseTraceLine);
    expect(lines.map((l) => l.message)).toEqual([
      { type: 'Slot', node: 'n0', slot: 0 },
      { type: 'Slot', node: 'n0', slot: 1 },
    ]);
  });

  it('bounds the pending buffer: drops and reports instead of growing', async () => {
    const errors: Error[] = [];
    const path = join(dir, 'n0.jsonl');
    const t = await TraceWriter.open({ systemStartMs: 0, path, maxPendingBytes: 2_000, onError: (e) => errors.push(e) });
    // All emitted synchronously: the first write is in flight, the rest must fit in 2,000 bytes.
    for (const ev of events(500)) t.emit(ev);
    expect(t.stats.pendingBytes).toBeLessThanOrEqual(2_000);
    await t.close();
    const written = (await readFile(path, 'utf8')).trim().split('\n');
    const s = t.stats;
    expect(s.dropped).toBeGreaterThan(0);
    expect(s.written + s.dropped).toBe(500);
    expect(written).toHaveLength(s.written);
    for (const l of written) parseTraceLine(l);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toMatch(/dropping lines/);
  });

  it('reports one overflow per episode: again only after the disk has caught up', async () => {
    const errors: Error[] = [];
    const t = await TraceWriter.open({ systemStartMs: 0, path: join(dir, 'n1.jsonl'), maxPendingBytes: 2_000, onError: (e) => errors.push(e) });
    for (const ev of events(300)) t.emit(ev);
    expect(errors).toHaveLength(1);
    const end = Date.now() + 10_000;
    while (t.stats.pendingBytes > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    expect(t.stats.pendingBytes).toBe(0);
    for (const ev of events(300)) t.emit(ev);
    expect(errors).toHaveLength(2);
    await t.close();
    expect(t.stats.written + t.stats.dropped).toBe(600);
  });

  it('keeps a ring of the recent events and feeds subscribers', () => {
    const t = TraceWriter.memory({ systemStartMs: 0, ringSize: 10 });
    const seen: string[] = [];
    const off = t.subscribe((l) => seen.push(l.message.type));
    expect(t.subscriberCount).toBe(1);
    for (let i = 0; i < 25; i++) t.emit({ type: 'Slot', node: 'n0', slot: i });
    off();
    t.emit({ type: 'NoEBGenerated', node: 'n0', slot: 25 });
    expect(seen).toHaveLength(25);
    expect(t.subscriberCount).toBe(0);
    const recent = t.recent();
    expect(recent.map((l) => (l.message.type === 'Slot' ? l.message.slot : -1))).toEqual([16, 17, 18, 19, 20, 21, 22, 23, 24, -1]);
    expect(t.recent(3).map((l) => l.message.type)).toEqual(['Slot', 'Slot', 'NoEBGenerated']);
  });

  it('isolates a throwing subscriber and reports it', () => {
    const errors: Error[] = [];
    const t = TraceWriter.memory({ systemStartMs: 0, onError: (e) => errors.push(e) });
    const ok: number[] = [];
    t.subscribe(() => {
      throw new Error('boom');
    });
    t.subscribe((l) => ok.push(l.time_s));
    t.emit({ type: 'Slot', node: 'n0', slot: 1 });
    expect(ok).toHaveLength(1);
    expect(errors[0]?.message).toMatch(/subscriber threw on Slot/);
  });
});

describe('createLogger', () => {
  function capture(isTTY: boolean): { stream: Writable & { isTTY?: boolean }; lines: string[] } {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(...chunk.toString('utf8').split('\n').filter((x) => x !== ''));
        cb();
      },
    }) as Writable & { isTTY?: boolean };
    stream.isTTY = isTTY;
    return { stream, lines };
  }

  it('writes JSON lines when the destination is not a TTY', () => {
    const { stream, lines } = capture(false);
    const log = createLogger({ name: 'n0', destination: stream, level: 'info' });
    log.info({ slot: 7 }, 'hello');
    log.debug('hidden');
    expect(lines).toHaveLength(1);
    const o = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(o).toMatchObject({ level: 30, name: 'n0', msg: 'hello', slot: 7 });
  });

  it('pretty-prints on a TTY without pino-pretty', () => {
    const { stream, lines } = capture(true);
    const log = createLogger({ name: 'n0', destination: stream });
    log.warn({ eb: 'ab12', n: 3 }, 'slow closure');
    expect(lines).toHaveLength(1);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI colour codes are expected on a TTY
    const plain = lines[0]!.replace(/\u001b\[[0-9;]*m/g, '');
    expect(plain).toMatch(/^\d\d:\d\d:\d\d\.\d{3} WARN {2}n0: slow closure eb=ab12 n=3$/);
  });

  it('formats single lines predictably', () => {
    expect(prettyLine('{"level":30,"time":0,"name":"n0","msg":"hi","slot":3,"s":"a b"}', false)).toBe(
      '00:00:00.000 INFO  n0: hi slot=3 s="a b"',
    );
    expect(prettyLine('not json\n', false)).toBe('not json');
  });
});
