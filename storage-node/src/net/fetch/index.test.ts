/**
 * FetchManager rules (§10.2, §13.1 rule 4, §13.3) against real LeiosFetch drivers: each test peer
 * is a LeiosFetchClient ↔ LeiosFetchServer pair over an in-memory connection, whose server holds
 * its replies until the test releases them; the node side is a small in-memory FetchTarget that
 * checks what it is given.
 */
import { bytesEqual, toHex } from '@leios/shared/bytes';
import { CborWriter } from '@leios/shared/cbor';
import { blake2b256 } from '@leios/shared/crypto';
import { leiosPriority, type Priority } from '@leios/shared/sched';
import type { Hash32, Slot } from '@leios/shared/types';
import {
  connectionPair,
  type EbPoint,
  HandshakeClient,
  HandshakeServer,
  indicesFromBitmap,
  LeiosFetchClient,
  LeiosFetchServer,
  ManualClock,
  type TxRef,
} from '@leios/shared/wire';
import { afterEach, describe, expect, it } from 'vitest';
import { type EbStatus, FetchManager, type FetchPeer, type FetchRequestEvent, type FetchTarget, leiosFetchPeer } from './index';

const PARAMS = { lHdr: 1, lVote: 4, lDiff: 7 }; // fresh window: 14 slots
const NOW_SLOT = 1_000;

interface TestEb {
  hash: Hash32;
  bytes: Uint8Array;
  slot: number;
  txs: Uint8Array[];
  refs: TxRef[];
}

let seq = 0;
function cborBytes(n: number, tag: number): Uint8Array {
  const content = new Uint8Array(n);
  new DataView(content.buffer).setUint32(0, tag);
  return new CborWriter(n + 8).bytes(content).finish();
}
function makeTx(size = 100): Uint8Array {
  return cborBytes(size, ++seq);
}
function makeEb(slot: number, txs: Uint8Array[]): TestEb {
  const bytes = cborBytes(64 + txs.length * 36, ++seq);
  return { hash: blake2b256(bytes), bytes, slot, txs, refs: txs.map((t) => ({ hash: blake2b256(t), size: t.length })) };
}
const point = (eb: TestEb): EbPoint => ({ slot: eb.slot as Slot, hash: eb.hash });

/** An in-memory node: announced EBs, held bodies and txs, a mempool, certified EBs. */
class MemTarget implements FetchTarget {
  readonly ebs = new Map<string, { eb: TestEb; held: boolean; have: Set<number> }>();
  readonly mempool = new Map<string, Uint8Array>();
  readonly certified = new Set<string>();
  readonly delivered: Array<{ kind: 'eb' | 'txs'; hash: string; count: number }> = [];
  announce(eb: TestEb, opts: { held?: boolean } = {}): void {
    this.ebs.set(toHex(eb.hash), { eb, held: opts.held ?? false, have: new Set() });
  }
  ebStatus(hash: Hash32): EbStatus | undefined {
    const e = this.ebs.get(toHex(hash));
    if (!e) return undefined;
    return { slot: e.eb.slot, size: e.eb.bytes.length, held: e.held, complete: e.held && e.have.size === e.eb.txs.length };
  }
  async missingTxs(hash: Hash32) {
    const e = this.ebs.get(toHex(hash))!;
    const out: { index: number; ref: TxRef }[] = [];
    e.eb.refs.forEach((ref, index) => {
      if (this.mempool.has(toHex(ref.hash))) e.have.add(index);
      if (!e.have.has(index)) out.push({ index, ref });
    });
    return out;
  }
  async deliverEb(hash: Hash32, bytes: Uint8Array) {
    const e = this.ebs.get(toHex(hash))!;
    expect(bytesEqual(blake2b256(bytes), hash)).toBe(true);
    e.held = true;
    this.delivered.push({ kind: 'eb', hash: toHex(hash), count: 1 });
  }
  async deliverTxs(hash: Hash32, txs: readonly Uint8Array[]) {
    const e = this.ebs.get(toHex(hash))!;
    for (const t of txs) {
      const h = blake2b256(t);
      const i = e.eb.refs.findIndex((r) => bytesEqual(r.hash, h));
      expect(i).toBeGreaterThanOrEqual(0);
      e.have.add(i);
      // a tx shared by several EBs lands in all of them (one tx table, like EbStore)
      for (const other of this.ebs.values()) {
        const j = other.eb.refs.findIndex((r) => bytesEqual(r.hash, h));
        if (j >= 0) other.have.add(j);
      }
    }
    this.delivered.push({ kind: 'txs', hash: toHex(hash), count: txs.length });
  }
  priority(slot: number, certified: boolean): Priority {
    return leiosPriority({ ebSlot: slot, currentSlot: NOW_SLOT, params: PARAMS, certifiedOnBestChain: certified });
  }
}

interface Req {
  peer: string;
  kind: 'block' | 'txs';
  eb: string;
  indices: number[];
  bytes: number;
  cls: number;
}

/** A relay holding some EBs; replies wait for `release()` while `hold` is set. */
class TestRelay {
  readonly peer: FetchPeer;
  hold = true;
  private waiting: Array<() => void> = [];
  readonly closeConn: () => void;
  constructor(
    readonly id: string,
    ebs: TestEb[],
    log: Req[],
    rtt: number,
  ) {
    // The connections run on real timers (egress pacing polls the socket buffer); only the
    // fetch manager's hedge timer runs on the manual clock.
    const pair = connectionPair();
    pair.b.register(new HandshakeServer({ data: { networkMagic: 1, genesisHash: new Uint8Array(32) as Hash32, ledgerMode: 0 } }));
    pair.a.register(new HandshakeClient({ data: { networkMagic: 1, genesisHash: new Uint8Array(32) as Hash32, ledgerMode: 0 } }));
    const byHash = new Map(ebs.map((e) => [toHex(e.hash), e]));
    const gate = () => (this.hold ? new Promise<void>((r) => this.waiting.push(r)) : Promise.resolve());
    pair.b.register(
      new LeiosFetchServer({
        block: async (p) => {
          await gate();
          const e = byHash.get(toHex(p.hash));
          return e ? { eb: e.bytes } : null;
        },
        blockTxs: async (p, bm) => {
          await gate();
          const e = byHash.get(toHex(p.hash));
          return e ? { txs: indicesFromBitmap(bm).map((i) => e.txs[i]!) } : null;
        },
      }),
    );
    const lf = new LeiosFetchClient();
    pair.a.register(lf);
    const inner = leiosFetchPeer(id, lf, () => rtt);
    this.closeConn = () => pair.a.close(1000, 'test');
    this.peer = {
      ...inner,
      requestBlock: (p, prio) => {
        log.push({ peer: id, kind: 'block', eb: toHex(p.hash), indices: [], bytes: byHash.get(toHex(p.hash))?.bytes.length ?? 0, cls: prio.cls });
        return inner.requestBlock(p, prio);
      },
      requestTxs: (p, bm, refs, prio) => {
        log.push({ peer: id, kind: 'txs', eb: toHex(p.hash), indices: indicesFromBitmap(bm), bytes: refs.reduce((s, r) => s + r.size, 0), cls: prio.cls });
        return inner.requestTxs(p, bm, refs, prio);
      },
    };
  }
  release(): void {
    for (const r of this.waiting.splice(0)) r();
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 30; i++) await new Promise((r) => setTimeout(r, 0));
}

describe('FetchManager', () => {
  let fm: FetchManager | undefined;
  afterEach(() => fm?.close());

  function setup(limits: ConstructorParameters<typeof FetchManager>[0]['limits'] = {}) {
    const clock = new ManualClock();
    const target = new MemTarget();
    const log: Req[] = [];
    const warnings: string[] = [];
    const bursts: Array<{ active: boolean; pending: number }> = [];
    const issued: FetchRequestEvent[] = [];
    fm = new FetchManager({
      target,
      clock,
      limits,
      onWarning: (w) => warnings.push(w.detail),
      onBurst: (b) => bursts.push(b),
      onRequest: (r) => issued.push(r),
    });
    const relay = (id: string, ebs: TestEb[], rtt = 20) => {
      const r = new TestRelay(id, ebs, log, rtt);
      fm!.addPeer(r.peer);
      return r;
    };
    return { clock, target, log, warnings, relay, fm, bursts, issued };
  }

  it('fetches an offered EB body from the fastest offering peer, then only the txs the node does not hold, by bitmap', async () => {
    const { target, log, relay, fm } = setup();
    const txs = Array.from({ length: 6 }, () => makeTx());
    const eb = makeEb(NOW_SLOT - 2, txs);
    target.announce(eb);
    target.mempool.set(toHex(eb.refs[1]!.hash), txs[1]!);
    target.mempool.set(toHex(eb.refs[4]!.hash), txs[4]!);
    const slow = relay('slow', [eb], 80);
    const fast = relay('fast', [eb], 10);
    const silent = relay('silent', [eb], 1);
    for (const r of [slow, fast, silent]) r.hold = false;
    fm.offerBlock('slow', point(eb), eb.bytes.length);
    fm.offerBlock('fast', point(eb), eb.bytes.length);
    await settle();
    // txs are asked only after a BlockTxsOffer from that peer (§10.2)
    expect(log.filter((r) => r.kind === 'txs')).toEqual([]);
    fm.offerTxs('fast', point(eb));
    await settle();
    expect(log.map((r) => [r.peer, r.kind, r.indices])).toEqual([
      ['fast', 'block', []],
      ['fast', 'txs', [0, 2, 3, 5]],
    ]);
    expect(log.every((r) => r.cls === 1)).toBe(true);
    expect(target.ebStatus(eb.hash)?.complete).toBe(true);
    expect(fm.stats().items).toBe(0);
  });

  it('asks at most two peers at once (the second after the hedge delay), never the same peer twice', async () => {
    const { clock, target, log, relay, fm } = setup({ hedgeAfterMs: 1_000 });
    const eb = makeEb(NOW_SLOT - 1, [makeTx(), makeTx()]);
    target.announce(eb);
    const a = relay('a', [eb], 10);
    const b = relay('b', [eb], 20);
    const c = relay('c', [eb], 30);
    for (const id of ['a', 'b', 'c']) fm.offerBlock(id, point(eb), eb.bytes.length);
    await settle();
    expect(log.map((r) => r.peer)).toEqual(['a']);
    clock.advance(999);
    await settle();
    expect(log.map((r) => r.peer)).toEqual(['a']);
    clock.advance(1);
    await settle();
    expect(log.map((r) => r.peer)).toEqual(['a', 'b']);
    clock.advance(5_000);
    await settle();
    expect(log.map((r) => r.peer)).toEqual(['a', 'b']); // c: two already in flight
    b.release();
    await settle();
    a.release();
    await settle();
    expect(target.delivered.filter((d) => d.kind === 'eb')).toHaveLength(1);
    // txs: b answers first for both; then a's late duplicate is not delivered again
    for (const id of ['a', 'b', 'c']) fm.offerTxs(id, point(eb));
    await settle();
    clock.advance(1_000);
    await settle();
    // two peers (the measured latencies now favour c and b, a was slow), no third
    const txReqs = log.filter((r) => r.kind === 'txs');
    expect(txReqs).toHaveLength(2);
    expect(new Set(txReqs.map((r) => r.peer)).size).toBe(2);
    for (const r of [c, b, a]) {
      r.release();
      await settle();
    }
    expect(target.delivered.filter((d) => d.kind === 'txs')).toEqual([{ kind: 'txs', hash: toHex(eb.hash), count: 2 }]);
    expect(target.ebStatus(eb.hash)?.complete).toBe(true);
    // no (peer, item) pair was ever asked twice
    const keys = log.map((r) => `${r.peer}/${r.kind}/${r.eb}/${r.indices.join(',')}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('requests a tx shared by two EBs once, and never again from the peer that already has it in flight', async () => {
    const { target, log, relay, fm } = setup();
    const shared = makeTx();
    const eb1 = makeEb(NOW_SLOT - 1, [shared, makeTx()]);
    const eb2 = makeEb(NOW_SLOT - 2, [makeTx(), shared]);
    target.announce(eb1, { held: true });
    target.announce(eb2, { held: true });
    const a = relay('a', [eb1, eb2]);
    fm.offerTxs('a', point(eb1));
    fm.offerTxs('a', point(eb2));
    await settle();
    const sharedKey = toHex(blake2b256(shared));
    const asked = log.flatMap((r) => r.indices.map((i) => toHex((r.eb === toHex(eb1.hash) ? eb1 : eb2).refs[i]!.hash)));
    expect(asked.filter((k) => k === sharedKey)).toHaveLength(1);
    a.release();
    await settle();
    a.release();
    await settle();
    expect(target.ebStatus(eb1.hash)?.complete).toBe(true);
    expect(target.ebStatus(eb2.hash)?.complete).toBe(true);
    const all = log.flatMap((r) => r.indices.map((i) => toHex((r.eb === toHex(eb1.hash) ? eb1 : eb2).refs[i]!.hash)));
    expect(all.filter((k) => k === sharedKey)).toHaveLength(1);
    expect(all).toHaveLength(3);
  });

  it('keeps at most two work-in-progress EBs per peer', async () => {
    const { target, log, relay, fm } = setup();
    const ebs = Array.from({ length: 5 }, (_, i) => makeEb(NOW_SLOT - i, [makeTx()]));
    for (const eb of ebs) target.announce(eb);
    const a = relay('a', ebs);
    for (const eb of ebs) fm.offerBlock('a', point(eb), eb.bytes.length);
    await settle();
    expect(log.map((r) => r.eb)).toEqual([toHex(ebs[0]!.hash), toHex(ebs[1]!.hash)]); // freshest first
    a.release();
    await settle();
    expect(log).toHaveLength(4);
    expect(fm.stats().requestsInFlight).toBe(2);
    a.hold = false;
    a.release();
    await settle();
    expect(log).toHaveLength(5);
    expect(ebs.every((eb) => target.ebStatus(eb.hash)?.held)).toBe(true);
  });

  it('P2: ≤ 1 request per peer, ≤ 1 MiB of stated tx bytes each, ≤ 8 MiB in flight overall', async () => {
    const { target, log, relay, fm } = setup();
    // ten stale EBs (slot far outside the fresh window), bodies held, 100 txs of 16,000 B each
    const ebs = Array.from({ length: 10 }, (_, i) => makeEb(100 + i, Array.from({ length: 100 }, () => makeTx(16_000))));
    const relays = ebs.map((eb, i) => {
      target.announce(eb, { held: true });
      return relay(`r${i}`, [eb]);
    });
    ebs.forEach((eb, i) => {
      fm.offerTxs(`r${i}`, point(eb));
    });
    await settle();
    expect(log.every((r) => r.cls === 2 && r.kind === 'txs')).toBe(true);
    expect(log.every((r) => r.bytes <= 1 << 20)).toBe(true);
    const perPeer = new Map<string, number>();
    for (const r of log) perPeer.set(r.peer, (perPeer.get(r.peer) ?? 0) + 1);
    expect([...perPeer.values()].every((n) => n === 1)).toBe(true);
    expect(log.reduce((s, r) => s + r.bytes, 0)).toBeLessThanOrEqual(8 << 20);
    expect(fm.stats().p2BytesInFlight).toBeLessThanOrEqual(8 << 20);
    // eight full requests (65 txs, 1,040,195 B each), a ninth for what is left of 8 MiB, no tenth
    expect(log.slice(0, 8).every((r) => r.indices.length === 65)).toBe(true);
    expect(log[8]!.indices.length).toBe(Math.floor(((8 << 20) - 8 * 65 * 16_003) / 16_003));
    // freshest first within P2
    expect(log.map((r) => r.peer)).toEqual(['r9', 'r8', 'r7', 'r6', 'r5', 'r4', 'r3', 'r2', 'r1']);
    // drain everything; the bounds hold at every step
    // background deliveries go one at a time (the lane), so draining takes more turns
    for (let round = 0; round < 400 && ebs.some((eb) => !target.ebStatus(eb.hash)?.complete); round++) {
      for (const r of relays) r.release();
      await settle();
      expect(fm.stats().p2BytesInFlight).toBeLessThanOrEqual(8 << 20);
    }
    if (process.env.LEIOS_DEBUG) console.log(ebs.map((eb) => target.ebStatus(eb.hash)), fm.stats(), log.length);
    expect(ebs.every((eb) => target.ebStatus(eb.hash)?.complete)).toBe(true);
    expect(log.every((r) => r.bytes <= 1 << 20)).toBe(true);
  });

  it('issues in §13.1 order: certified closure (P0), then fresh freshest first (P1), then stale (P2)', async () => {
    const { target, log, relay, fm } = setup();
    const stale = makeEb(NOW_SLOT - 100, [makeTx()]);
    const freshOld = makeEb(NOW_SLOT - 10, [makeTx()]);
    const freshNew = makeEb(NOW_SLOT - 2, [makeTx()]);
    const cert = makeEb(NOW_SLOT - 50, [makeTx()]);
    const all = [stale, freshOld, freshNew, cert];
    for (const eb of all) target.announce(eb);
    const a = relay('a', all);
    for (const eb of all) fm.offerBlock('a', point(eb), eb.bytes.length);
    fm.want(cert.hash, cert.slot, { certified: true });
    await settle();
    a.hold = false;
    a.release();
    await settle();
    expect(log.map((r) => [r.eb, r.cls])).toEqual([
      [toHex(cert.hash), 0],
      [toHex(freshNew.hash), 1],
      [toHex(freshOld.hash), 1],
      [toHex(stale.hash), 2],
    ]);
  });

  it('fetches a certified closure from the peer that served the CertRB, preferring one without P2 in flight', async () => {
    const { target, log, relay, fm } = setup();
    const stale = makeEb(NOW_SLOT - 100, [makeTx()]);
    const cert = makeEb(NOW_SLOT - 30, [makeTx(), makeTx()]);
    target.announce(stale);
    target.announce(cert, { held: true });
    const busy = relay('busy', [stale, cert], 5);
    const idle = relay('idle', [cert], 50);
    const stranger = relay('stranger', [cert], 1);
    fm.offerBlock('busy', point(stale), stale.bytes.length);
    await settle();
    expect(log.map((r) => [r.peer, r.cls])).toEqual([['busy', 2]]);
    const certRb = blake2b256(new Uint8Array([7])) as Hash32;
    fm.noteRbFrom('busy', certRb);
    fm.noteRbFrom('idle', certRb);
    fm.want(cert.hash, cert.slot, { certified: true, certRb });
    await settle();
    // no offers at all: only the CertRB's servers qualify (not 'stranger'), and 'idle' wins
    // over the faster 'busy' because busy has a P2 request outstanding (§13.1 rule 4)
    expect(log.slice(1).map((r) => [r.peer, r.kind, r.cls])).toEqual([['idle', 'txs', 0]]);
    idle.release();
    await settle();
    expect(target.ebStatus(cert.hash)?.complete).toBe(true);
    void busy;
    void stranger;
  });

  it('waits with an offer for an EB the node does not know yet, and fetches once it is announced', async () => {
    const { target, log, relay, fm } = setup();
    const eb = makeEb(NOW_SLOT - 1, [makeTx()]);
    const a = relay('a', [eb]);
    a.hold = false;
    fm.offerBlock('a', point(eb), eb.bytes.length);
    await settle();
    expect(log).toEqual([]);
    target.announce(eb);
    fm.want(eb.hash, eb.slot);
    await settle();
    expect(log.map((r) => r.kind)).toEqual(['block']);
  });

  it('moves to another peer when a connection closes with requests outstanding', async () => {
    const { target, log, relay, fm } = setup({ hedgeAfterMs: 60_000 });
    const eb = makeEb(NOW_SLOT - 1, [makeTx()]);
    target.announce(eb);
    const a = relay('a', [eb], 1);
    const b = relay('b', [eb], 90);
    b.hold = false;
    fm.offerBlock('a', point(eb), eb.bytes.length);
    fm.offerBlock('b', point(eb), eb.bytes.length);
    await settle();
    expect(log.map((r) => r.peer)).toEqual(['a']);
    a.closeConn();
    fm.removePeer('a');
    await settle();
    expect(log.map((r) => r.peer)).toEqual(['a', 'b']);
    expect(target.ebStatus(eb.hash)?.held).toBe(true);
    expect(fm.stats().requestsInFlight).toBe(0);
  });

  it('reports a burst (§13.3 leios_burst_active) while more than BURST_THRESHOLD offered stale EBs are pending', async () => {
    const { target, relay, fm, bursts, issued } = setup({ burstThreshold: 20 });
    // 30 stale EBs announced; bodies and txs withheld at first
    const ebs = Array.from({ length: 30 }, (_, i) => makeEb(100 + i, [makeTx(), makeTx()]));
    for (const eb of ebs) {
      target.announce(eb);
      fm.want(eb.hash, eb.slot, { size: eb.bytes.length });
    }
    const a = relay('a', ebs);
    await settle();
    // withheld EBs are nothing to fetch: no burst yet, and nothing asked
    expect(fm.stats()).toMatchObject({ pendingStale: 0, withheldStale: 30, burstActive: false });
    expect(bursts).toEqual([]);
    // 20 offered: at the threshold, still no burst
    for (const eb of ebs.slice(0, 20)) {
      fm.offerBlock('a', point(eb), eb.bytes.length);
      fm.offerTxs('a', point(eb));
    }
    await settle();
    expect(fm.stats()).toMatchObject({ pendingStale: 20, withheldStale: 10, burstActive: false });
    expect(bursts).toEqual([]);
    // the release: everything offered → burst on
    for (const eb of ebs.slice(20)) {
      fm.offerBlock('a', point(eb), eb.bytes.length);
      fm.offerTxs('a', point(eb));
    }
    await settle();
    expect(fm.stats()).toMatchObject({ pendingStale: 30, withheldStale: 0, burstActive: true });
    expect(bursts).toEqual([{ active: true, pending: 30 }]);
    // drain: the burst ends once the pending count falls to the threshold
    a.hold = false;
    for (let round = 0; round < 200 && ebs.some((eb) => !target.ebStatus(eb.hash)?.complete); round++) {
      a.release();
      await settle();
    }
    expect(ebs.every((eb) => target.ebStatus(eb.hash)?.complete)).toBe(true);
    expect(bursts.map((b) => b.active)).toEqual([true, false]);
    expect(bursts[1]!.pending).toBeLessThanOrEqual(20);
    expect(fm.stats()).toMatchObject({ pendingStale: 0, burstActive: false, bytesInFlight: 0 });
    // every request went out as P2, one body and one txs request per EB (one peer, never twice)
    expect(issued.every((r) => r.cls === 2 && r.peer === 'a')).toBe(true);
    expect(issued.filter((r) => r.kind === 'block')).toHaveLength(30);
    expect(issued.filter((r) => r.kind === 'txs')).toHaveLength(30);
    expect(issued.filter((r) => r.kind === 'txs').every((r) => r.indices.length === 2)).toBe(true);
  });

  it('hands stale (P2) deliveries to the node one at a time and only once it is idle; fresh ones at once', async () => {
    const { target, relay, fm } = setup({ backgroundDuty: 1 });
    // the node's queue: busy until the test says otherwise
    let idleNow!: () => void;
    let idleGate = new Promise<void>((r) => {
      idleNow = r;
    });
    const idleTarget = target as MemTarget & { idle(): Promise<void> };
    idleTarget.idle = () => idleGate;
    let inside = 0;
    let maxInside = 0;
    const deliverEb = target.deliverEb.bind(target);
    target.deliverEb = async (hash, bytes) => {
      inside++;
      maxInside = Math.max(maxInside, inside);
      await new Promise((r) => setTimeout(r, 5));
      await deliverEb(hash, bytes);
      inside--;
    };
    const stale = [makeEb(100, [makeTx()]), makeEb(101, [makeTx()])];
    const fresh = makeEb(NOW_SLOT - 1, [makeTx()]);
    for (const eb of [...stale, fresh]) target.announce(eb);
    const a = relay('a', [stale[0]!]);
    const b = relay('b', [stale[1]!]);
    const c = relay('c', [fresh]);
    for (const r of [a, b, c]) r.hold = false;
    fm.offerBlock('a', point(stale[0]!), stale[0]!.bytes.length);
    fm.offerBlock('b', point(stale[1]!), stale[1]!.bytes.length);
    await settle();
    // both bodies arrived, neither was handed over: the node is busy
    expect(target.delivered).toEqual([]);
    fm.offerBlock('c', point(fresh), fresh.bytes.length);
    await settle();
    // a fresh EB does not wait for the node to be idle
    expect(target.delivered.map((d) => d.hash)).toEqual([toHex(fresh.hash)]);
    idleNow();
    idleGate = Promise.resolve();
    for (let i = 0; i < 20 && target.delivered.length < 3; i++) await settle();
    expect(new Set(target.delivered.map((d) => d.hash))).toEqual(new Set([fresh, ...stale].map((e) => toHex(e.hash))));
    expect(maxInside).toBe(1);
    // two body deliveries, then the two missing-tx loads that follow them (database work too)
    expect(fm.backgroundStats.jobs).toBe(4);
  });

  it('caps the share of the thread the background lane keeps busy (backgroundDuty)', async () => {
    const { target, relay, fm } = setup({ backgroundDuty: 0.25 });
    const starts: number[] = [];
    target.deliverEb = async (hash) => {
      starts.push(performance.now());
      // 20 ms of work on this thread
      const until = performance.now() + 20;
      while (performance.now() < until) {
        // busy
      }
      target.ebs.get(toHex(hash))!.held = true;
    };
    const ebs = [makeEb(100, [makeTx()]), makeEb(101, [makeTx()]), makeEb(102, [makeTx()])];
    ebs.forEach((eb, i) => {
      target.announce(eb);
      const r = relay(`r${i}`, [eb]);
      r.hold = false;
      fm.offerBlock(`r${i}`, point(eb), eb.bytes.length);
    });
    for (let i = 0; i < 100 && starts.length < 3; i++) await new Promise((r) => setTimeout(r, 5));
    expect(starts).toHaveLength(3);
    // each job kept the thread busy ≥ 20 ms; at duty 1/4 the next one starts ≥ 3 × that later
    for (let i = 1; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!).toBeGreaterThanOrEqual(20 + 3 * 20 - 2);
    expect(fm.backgroundStats.busyMs).toBeGreaterThanOrEqual(60);
  });
});
