/**
 * Peer scoring: a peer whose headers the node refuses is penalised per header and, past the
 * limit, refused with 1008 `chain-sync:refused` (a §8.2 policy violation, counted by the
 * observer); below the limit the session stays up. The misbehaving peer is a bare wire
 * connection over the in-memory socket pair, serving corrupted (but well-formed) headers.
 */
import { ascii } from '@leios/shared/bytes';
import { blake2b256 } from '@leios/shared/crypto';
import type { Hash32 } from '@leios/shared/types';
import {
  BlockFetchServer,
  type ChainUpdate,
  ChainSyncServer,
  Connection,
  HandshakeClient,
  LeiosNotifyServer,
  raw,
  systemClock,
  TxSubmissionServer,
} from '@leios/shared/wire';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../db/index';
import { ManualTime } from '../../node/clock/index';
import { LeiosNode } from '../../node/index';
import { testNetwork } from '../../node/testkit/index';
import { openTestDb } from '../../test-support/index';
import { FetchManager } from '../fetch/index';
import { memorySocketPair } from '../socket/index';
import { attachFetchManager, nodeFetchTarget, PEER_PENALTY, PEER_SCORE_DECAY_PER_S, PEER_SCORE_LIMIT, PeerSession, type SessionWarning, versionDataFor } from './index';

const START = Date.parse('2026-11-24T00:00:00.000Z');
const GENESIS_HASH = blake2b256(ascii('peer-score-genesis')) as Hash32;

describe('PeerSession scores a peer that sends invalid headers', () => {
  const dbs: Database[] = [];
  let badHeaders: Uint8Array[] = [];
  const net = testNetwork({ pools: 1, systemStartMs: START, label: 'peer-score' });

  beforeAll(async () => {
    dbs.push(...(await Promise.all(Array.from({ length: 3 }, () => openTestDb()))));
    // a real header of the first block, then copies with one signature byte flipped each
    const time = new ManualTime(START - 1);
    const producer = await LeiosNode.create({ name: 'producer', genesis: net.genesis, database: dbs[0]!, time, pools: [net.keys[0]!] });
    producer.start();
    for (let slot = 0; slot < 400 && !producer.tipHeader(); slot++) await time.advanceTo(producer.clock.slotStart(slot));
    await producer.stop();
    const good = producer.tipHeader()!.bytes;
    badHeaders = Array.from({ length: 12 }, (_, i) => {
      const b = good.slice();
      b[b.length - 1 - i] = (b[b.length - 1 - i] ?? 0) ^ 0x01;
      return b;
    });
  });
  afterAll(async () => {
    for (const d of dbs) await d.close();
  });

  /** Node B (responder) against a bare initiator that serves `n` bad headers, then waits. */
  async function run(db: Database, n: number) {
    const time = new ManualTime(START + 60_000); // the headers' slots are in the past
    const node = await LeiosNode.create({ name: 'b', genesis: net.genesis, database: db, time });
    const fetch = new FetchManager({ target: nodeFetchTarget(node) });
    attachFetchManager(node, fetch);
    const [sa, sb] = memorySocketPair();
    const warnings: SessionWarning[] = [];
    const violations: string[] = [];
    // real timers, but a score clock that moves only when the test says (decay is checked apart)
    const clock = { ...systemClock, nowMs: 1_000, now: () => clock.nowMs };
    const session = new PeerSession({
      socket: sb,
      role: 'responder',
      node,
      fetch,
      versionData: versionDataFor(node, GENESIS_HASH),
      id: 'bad-peer',
      clock,
      onWarning: (w) => warnings.push(w),
      observer: { violation: (p, k) => violations.push(`${p}:${k}`) },
    });
    const bad = new Connection({ transport: { send: (b) => sa.send(b), close: (c, r) => sa.close(c, r) }, role: 'initiator' });
    sa.onMessage((d) => bad.receive(d));
    sa.onClose((c, r) => bad.remoteClosed(c, r));
    bad.register(new HandshakeClient({ data: versionDataFor(node, GENESIS_HASH), initiatorOnly: false }));
    let served = 0;
    const tip = { point: null, blockNo: 0 as never };
    bad.register(
      new ChainSyncServer({
        findIntersect: () => ({ found: true, point: null, tip }),
        next: (): ChainUpdate | Promise<ChainUpdate> => {
          const h = badHeaders[served];
          if (served >= n || !h) return new Promise<ChainUpdate>(() => {}); // await forever
          served++;
          return { type: 'RollForward', header: raw(h), tip };
        },
      }),
    );
    bad.register(new BlockFetchServer({ range: async () => null }));
    bad.register(new LeiosNotifyServer());
    bad.register(new TxSubmissionServer({ txIds: () => new Promise(() => {}), txs: async () => [] }));
    await session.handshake;
    return { node, session, warnings, violations, bad, clock, served: () => served };
  }

  it('refuses the session with 1008 chain-sync:refused once the score reaches the limit', async () => {
    const r = await run(dbs[1]!, 12);
    const end = await r.session.closed;
    expect(end.code).toBe(1008);
    expect(end.reason).toBe('chain-sync:refused');
    // the peer saw the same close (delivered asynchronously, as over a socket)
    for (let i = 0; i < 200 && !r.bad.closed; i++) await new Promise((res) => setTimeout(res, 5));
    expect(r.bad.closeError?.code).toBe(1008);
    expect(r.bad.closeError?.reason).toBe('chain-sync:refused');
    // exactly as many headers as it takes to reach the limit were judged
    const penalties = r.warnings.filter((w) => w.what === 'penalty:header');
    expect(penalties.length).toBe(Math.ceil(PEER_SCORE_LIMIT / PEER_PENALTY.header));
    expect(r.violations).toEqual(['chain-sync:refused']);
    expect(r.node.tipHeader()).toBeNull();
    await r.node.stop();
  });

  it('keeps a peer below the limit connected, with its score', async () => {
    const below = Math.ceil(PEER_SCORE_LIMIT / PEER_PENALTY.header) - 1;
    const r = await run(dbs[2]!, below);
    for (let i = 0; i < 200 && r.warnings.filter((w) => w.what === 'penalty:header').length < below; i++) await new Promise((res) => setTimeout(res, 5));
    await r.node.idle();
    expect(r.warnings.filter((w) => w.what === 'penalty:header').length).toBe(below);
    expect(r.session.conn.closed).toBe(false);
    expect(r.session.score).toBe(below * PEER_PENALTY.header);
    // the score decays: after 30 s, 30 points are forgiven
    r.clock.nowMs += 30_000;
    expect(r.session.score).toBeCloseTo(below * PEER_PENALTY.header - 30 * PEER_SCORE_DECAY_PER_S, 6);
    expect(r.violations).toEqual([]);
    r.session.close(1000, 'done');
    await r.session.closed;
    await r.node.stop();
  });
});
