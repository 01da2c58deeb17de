/**
 * `npm run bench:devnet` (issue 6 item 6): throughput of a whole local devnet — 3 storage nodes
 * (PGlite), 2 edge relays (wrangler dev / workerd), all on this machine — at the CIP's offered
 * load of 250 TxkB/s, with mainnet-like parameters (1 s slots, f = 1/20, S_RB 90,112 B, S_EB_tx
 * 12 MB) and with fast slots (200 ms). Writes bench/results/devnet.json.
 *
 * Method: txs are signed before the measured window (`Devnet.presign`), so generator CPU does
 * not compete with the network; they are posted to the relays (round-robin) at the offered rate
 * for `measureS` seconds; then posting stops and the devnet gets `drainS` seconds to include what
 * is pending. The selected chain of node 0 is then walked through the §12 routes: every RB's txs
 * and every certified EB's references (sizes from the EB itself) give what reached the ledger and
 * when (the including block's slot start). Reported per setting:
 *
 * - offered TxkB/s (bytes the relays accepted / window) and certified TxkB/s (tx bytes of EBs
 *   certified by CertRBs whose slot falls in the window / window), plus RB-carried TxkB/s;
 * - mempool-to-ledger latency p50 / p95 (submission → slot start of the including RB or CertRB),
 *   over the txs submitted in the window, and the share of them on the ledger at the end;
 * - CPU seconds per second of each process group (node-i, relay-i, the orchestrator), from /proc.
 *
 * kB = 1,000 bytes of tx bytes, as in the Leios literature.
 *
 * @module
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { blake2b256 } from '@leios/shared/crypto';
import { toHex } from '@leios/shared/bytes';
import { decodeEb, decodeRbBlock } from '@leios/shared/protocol';
import { Devnet, DEVNET_DEFAULTS } from '../storage-node/src/cli/devnet';

const here = dirname(fileURLToPath(import.meta.url));
// `npm run bench:devnet -- --offered 250 --mainnet-s 180 --fast-s 90` (shorter windows for a quick look)
const { values: args } = parseArgs({
  options: { offered: { type: 'string', default: '250' }, 'mainnet-s': { type: 'string', default: '180' }, 'fast-s': { type: 'string', default: '90' } },
});
const OFFERED_KBPS = Number(args.offered);
/** Payment outputs per tx: ~2.4 kB txs, so 250 kB/s is ~105 tx/s. */
const OUTPUTS_PER_TX = 60;
const APPROX_TX_BYTES = 2358;

interface Setting {
  name: string;
  slotMs: number;
  measureS: number;
  drainS: number;
  /** Offered load in TxkB/s. */
  offered: number;
}

const SETTINGS: Setting[] = [
  { name: 'mainnet-like (1 s slots, 12 MB EBs)', slotMs: 1000, measureS: Number(args['mainnet-s']), drainS: 45, offered: OFFERED_KBPS },
  { name: 'fast slots (200 ms)', slotMs: 200, measureS: Number(args['fast-s']), drainS: 30, offered: OFFERED_KBPS },
  // reference point: the same network at a tenth of the load, to show where certification holds
  { name: 'fast slots (200 ms), 1/10 load', slotMs: 200, measureS: Number(args['fast-s']), drainS: 30, offered: OFFERED_KBPS / 10 },
];

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function quantile(sorted: number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] ?? null;
}

async function getBytes(url: string): Promise<Uint8Array> {
  const r = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  if (r.status !== 200) throw new Error(`${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

/**
 * From the nodes' §14.1 traces: EB closure latency, and when votes were cast relative to the
 * EB's slot, against the §6.4 window [3·L_hdr, 3·L_hdr + L_vote) slots.
 */
async function voteDiagnostics(paths: string[], slotMs: number, lHdr: number, lVote: number): Promise<Record<string, unknown>> {
  const closure: number[] = [];
  const voteOffsetSlots: number[] = [];
  let quorums = 0;
  for (const p of paths) {
    let text = '';
    try {
      text = await readFile(p, 'utf8');
    } catch {
      continue;
    }
    const ebSlot = new Map<string, number>();
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const { time_s, message: m } = JSON.parse(line) as { time_s: number; message: Record<string, unknown> };
      if (m.type === 'EBTxsReceived' && typeof m.latency_s === 'number') closure.push(m.latency_s);
      if ((m.type === 'EBTxsReceived' || m.type === 'EBGenerated') && typeof m.slot === 'number') ebSlot.set(String(m.id), m.slot);
      if (m.type === 'QuorumReached') quorums++;
      if (m.type === 'VTBundleGenerated') {
        for (const eb of Object.keys((m.votes as Record<string, number>) ?? {})) {
          const sl = ebSlot.get(eb);
          if (sl !== undefined) voteOffsetSlots.push((time_s * 1000) / slotMs - sl);
        }
      }
    }
  }
  closure.sort((a, b) => a - b);
  voteOffsetSlots.sort((a, b) => a - b);
  const r2 = (x: number | null) => (x === null ? null : Math.round(x * 100) / 100);
  return {
    ebClosureLatencyS: { p50: r2(quantile(closure, 0.5)), p95: r2(quantile(closure, 0.95)), n: closure.length },
    voteCastSlotsAfterEbSlot: { p50: r2(quantile(voteOffsetSlots, 0.5)), p95: r2(quantile(voteOffsetSlots, 0.95)), n: voteOffsetSlots.length },
    voteWindowSlots: [3 * lHdr, 3 * lHdr + lVote],
    quorumsReached: quorums,
  };
}

async function runSetting(s: Setting): Promise<Record<string, unknown>> {
  const txRate = (s.offered * 1000) / APPROX_TX_BYTES;
  const needTxs = Math.ceil(txRate * s.measureS * 1.05);
  const perFund = 1024;
  const funds = Math.ceil(needTxs / perFund) + 1;
  const log = (l: string) => process.stdout.write(`[bench:devnet ${s.name}] ${l}\n`);
  const opts = {
    ...DEVNET_DEFAULTS,
    slotMs: s.slotMs,
    txRate,
    outputsPerTx: OUTPUTS_PER_TX,
    funds,
    outputsPerFund: perFund,
    dir: join(os.tmpdir(), `leios-bench-devnet-${process.pid}`),
    apiBasePort: 0,
    relayBasePort: 0,
    log,
  };
  const t0s = Date.now();
  const prebuilt = Devnet.presign(opts, needTxs);
  log(`signed ${prebuilt.txs.length} txs in ${((Date.now() - t0s) / 1000).toFixed(1)} s`);
  let net: Devnet | undefined;
  for (let attempt = 1; !net; attempt++) {
    try {
      net = await Devnet.start({ ...opts, prebuilt: { gen: prebuilt.gen, txs: [...prebuilt.txs] } });
    } catch (e) {
      // a process that fails to start (e.g. source being edited under us) gets one more try
      if (attempt >= 3) throw e;
      log(`start-up failed (${e instanceof Error ? e.message : String(e)}); retrying`);
    }
  }
  if (!net) throw new Error('unreachable: start loop ended without a devnet');
  try {
    log(`offering ${txRate.toFixed(1)} tx/s (${net.prebuiltLeft} pre-signed) for ${s.measureS} s`);
    const g = net.genesis.created.genesis;
    const slotStart = (slot: number) => g.systemStartMs + slot * g.params.slotLengthMs;
    const cpu0 = await net.cpuSeconds();
    const t0 = Date.now();
    net.startTxGenerator(txRate);
    await sleep(s.measureS * 1000);
    net.stopTxGenerator();
    const t1 = Date.now();
    const cpu1 = await net.cpuSeconds();
    const accepted = net.tx.bytesAccepted;
    log(`window done: ${net.tx.accepted} accepted, ${net.tx.rejected} rejected, ${net.tx.failed} failed; draining ${s.drainS} s`);
    await sleep(s.drainS * 1000);

    // walk node 0's selected chain
    const n0 = net.nodes[0];
    if (!n0) throw new Error('no node');
    const tip = (await (await fetch(`${n0.url}/v1/tip`)).json()) as { hash: string | null };
    const blocks = [];
    for (let h = tip.hash; h !== null; ) {
      const b = decodeRbBlock(await getBytes(`${n0.url}/v1/rb/${h}`), g.params);
      blocks.push(b);
      h = b.header.prevHash ? toHex(b.header.prevHash) : null;
    }
    blocks.reverse();
    const includedAt = new Map<string, number>();
    let certifiedBytes = 0;
    let rbBytes = 0;
    let ebsAnnounced = 0;
    let ebsCertified = 0;
    for (let i = 0; i < blocks.length; i++) {
      const b = blocks[i];
      if (!b) continue;
      const at = slotStart(b.header.slot);
      const inWindow = at >= t0 && at < t1;
      if (b.header.ebAnnouncement && inWindow) ebsAnnounced++;
      for (const tx of b.body.txs) {
        includedAt.set(toHex(blake2b256(tx)), at);
        if (inWindow) rbBytes += tx.length;
      }
      const ann = b.body.certificate ? blocks[i - 1]?.header.ebAnnouncement : undefined;
      if (ann) {
        const eb = decodeEb(await getBytes(`${n0.url}/v1/eb/${toHex(ann.ebHash)}`), g.params);
        for (const r of eb.refs) includedAt.set(toHex(r.hash), at);
        if (inWindow) {
          ebsCertified++;
          certifiedBytes += eb.refs.reduce((a, r) => a + r.size, 0);
        }
      }
    }
    const lat: number[] = [];
    let inWindowAccepted = 0;
    for (const [ref, sub] of net.tx.submittedAt) {
      if (!net.tx.acceptedRefs.has(ref) || sub < t0 || sub >= t1) continue;
      inWindowAccepted++;
      const at = includedAt.get(ref);
      if (at !== undefined) lat.push(Math.max(0, (at - sub) / 1000));
    }
    lat.sort((a, b) => a - b);
    const wall = (t1 - t0) / 1000;
    const cpu: Record<string, number> = {};
    for (const [k, v] of Object.entries(cpu1)) cpu[k] = Math.round(((v - (cpu0[k] ?? 0)) / wall) * 1000) / 1000;
    const statuses = await Promise.all(net.nodes.map((_, i) => net.status(i).catch(() => null)));
    const diag = await voteDiagnostics(net.nodes.map((n) => n.tracePath), s.slotMs, g.params.lHdr, g.params.lVote);
    const r3 = (x: number | null) => (x === null ? null : Math.round(x * 1000) / 1000);
    return {
      setting: s.name,
      slotLengthMs: s.slotMs,
      windowS: wall,
      offeredTxkBps: r3(accepted / wall / 1000),
      targetOfferedTxkBps: s.offered,
      certifiedTxkBps: r3(certifiedBytes / wall / 1000),
      rbTxkBps: r3(rbBytes / wall / 1000),
      ledgerTxkBps: r3((certifiedBytes + rbBytes) / wall / 1000),
      txs: {
        offeredPerS: r3(txRate),
        accepted: net.tx.accepted,
        rejected: net.tx.rejected,
        failed: net.tx.failed,
        errors: net.tx.lastErrors,
        acceptedInWindow: inWindowAccepted,
        onLedger: lat.length,
      },
      mempoolToLedgerS: { p50: r3(quantile(lat, 0.5)), p95: r3(quantile(lat, 0.95)), n: lat.length },
      ebs: { announcedInWindow: ebsAnnounced, certifiedInWindow: ebsCertified, chainBlocks: blocks.length },
      mempoolAtEnd: statuses.map((x) => (x ? x.mempool : null)),
      cpuSecondsPerSecond: cpu,
      diagnostics: diag,
    };
  } finally {
    await net.stop();
  }
}

const results = [];
for (const s of SETTINGS) {
  const r = await runSetting(s);
  process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
  results.push(r);
}
const out = {
  benchmark: 'devnet throughput (issue 6 item 6)',
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? 'unknown', memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
  topology: '3 storage nodes (PGlite, child processes) + 2 edge relays (wrangler dev / workerd), every node dials every relay, all on loopback',
  txShape: `${OUTPUTS_PER_TX}-output payments, ~${APPROX_TX_BYTES} B each, pre-signed, POST /v1/tx to the relays round-robin`,
  results,
};
const path = join(here, 'results', 'devnet.json');
await mkdir(dirname(path), { recursive: true });
await writeFile(path, `${JSON.stringify(out, null, 2)}\n`);
process.stdout.write(`wrote ${path}\n`);
process.exit(0);
