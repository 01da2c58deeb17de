/**
 * The relay session's chain-sync follower against a storage-node-like peer on an in-memory
 * connection pair (the real relay core, session and mini-protocol drivers; the 900-pool test
 * network's signed headers): a header whose epoch the storage nodes do not serve yet is deferred,
 * never skipped, so the relay's chain does not stop there (PROTOCOL.md §12, §9).
 */
import { env } from 'cloudflare:workers';
import { encodeEpochPools } from '@leios/shared/protocol';
import { connectionPair, HandshakeClient, HandshakeServer } from '@leios/shared/wire';
import { describe, expect, it } from 'vitest';
import { type Env, parseConfig } from '../config/index';
import { blockAt, findLeaderSlot, NET, slotNow, until } from '../testing/network';
import { NETWORK } from '../testing/peer';
import { producerOn } from '../testing/wire';
import { Relay } from './index';
import { RelaySession } from './session';

const cfg = parseConfig(env as unknown as Env);

describe('chain-sync follower (§9, §12)', () => {
  it('defers a header of an epoch not served yet, re-intersects with a doubling capped wait, and goes on once the epoch is served', { timeout: 60_000 }, async () => {
    const lead = findLeaderSlot(slotNow() - 80, slotNow() - 40);
    const next = findLeaderSlot(lead.slot + 1, slotNow() - 2);
    const b1 = blockAt({ slot: lead.slot, leader: lead, blockNumber: 1, prevHash: null, txs: [] });
    const b2 = blockAt({ slot: next.slot, leader: next, blockNumber: 2, prevHash: b1.header.hash, txs: [] });

    let served = false;
    let asked = 0;
    const logs: Record<string, unknown>[] = [];
    const relay = new Relay({
      params: cfg.params,
      systemStartMs: cfg.systemStartMs,
      log: (f) => logs.push(f),
      // a storage node that answers 404 (η not fixed) until `served`
      loadEpoch: async (e) => {
        asked++;
        return served ? encodeEpochPools(e, NET.nonce, NET.pools.map((p) => p.input)) : null;
      },
      epochRetry: { missingTtlMs: 30, firstWaitMs: 20, maxWaitMs: 160 },
    });
    // the storage node dials (initiator, not initiator_only: it serves the relay's clients)
    const { a, b } = connectionPair();
    const hs = new HandshakeServer({ data: NETWORK });
    b.register(hs);
    const hc = new HandshakeClient({ data: NETWORK, initiatorOnly: false });
    a.register(hc);
    const ws = { binaryType: 'arraybuffer', send: () => undefined, close: () => undefined, addEventListener: () => undefined };
    const producer = await producerOn({ ws, conn: a, closed: new Promise(() => undefined), ready: hc.result });
    await hs.result;
    producer.extend(b1);
    producer.extend(b2);
    const session = new RelaySession(relay, b, 'node-a', (f) => logs.push(f));
    session.start(false, true);

    const deferrals = () => logs.filter((l) => l.event === 'chain-sync-deferred');
    await until(() => deferrals().length >= 5, 15_000, 10);
    // nothing held, nobody penalised: the header was not refused, only not checkable yet
    expect(relay.tree.tip).toBeNull();
    expect(relay.stats.headersRejected).toBe(0);
    expect(session.penalty).toBe(0);
    expect(b.closed).toBe(false);
    expect(asked).toBeGreaterThanOrEqual(2);
    expect(deferrals().slice(0, 5).map((l) => l.retryInMs)).toEqual([20, 40, 80, 160, 160]);

    served = true;
    await until(() => relay.tree.tip?.header.blockNumber === 2, 15_000, 10);
    expect(relay.stats.headersAccepted).toBe(2);
    expect(relay.stats.headersRejected).toBe(0);
    expect(session.penalty).toBe(0);
    a.close(1000, 'bye');
  });

  it('waits 1 s first and at most 10 s by default, and asks again for a missing epoch after 10 s', () => {
    const relay = new Relay({ params: cfg.params, systemStartMs: cfg.systemStartMs, loadEpoch: async () => null });
    expect(relay.epochRetry).toEqual({ missingTtlMs: 10_000, firstWaitMs: 1_000, maxWaitMs: 10_000 });
  });
});
