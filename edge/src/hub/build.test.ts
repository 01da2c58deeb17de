/**
 * A 900-seat committee build (~10 s of CPU) does not stall the RelayHub: it runs in slices
 * (../relay/committee), and a keep-alive round trip on a session of the same hub completes while
 * it runs. Runs in workerd, on a hub of its own (its key and PoP caches start empty).
 */
import { env } from 'cloudflare:workers';
import { Connection, HandshakeClient, KeepAliveClient } from '@leios/shared/wire';
import { describe, expect, it } from 'vitest';
import { relay, TEST_PEER } from '../testing/index';
import { epochOf, serveCurrentEpochs, slotNow } from '../testing/network';
import { NETWORK } from '../testing/peer';

describe('RelayHub while a committee builds', () => {
  it('answers keep-alives on another session within 1 s while a 900-seat committee builds', { timeout: 120_000 }, async () => {
    await serveCurrentEpochs();
    const name = `build-${crypto.randomUUID().slice(0, 8)}`;
    const res = await relay([], '/v1/ws', { headers: { upgrade: 'websocket', 'sec-websocket-protocol': 'leios-mux.1' } }, { RELAY_NAME: name });
    const ws = res.webSocket;
    if (res.status !== 101 || ws === null) throw new Error(`no WebSocket: ${res.status}`);
    ws.binaryType = 'arraybuffer';
    ws.accept();
    const conn = new Connection({ role: 'initiator', transport: { send: (b) => ws.send(b), close: (c, r) => ws.close(c, r) } });
    ws.addEventListener('message', (e) => conn.receive(e.data as ArrayBuffer));
    ws.addEventListener('close', (e) => conn.remoteClosed(e.code, e.reason));
    const hs = new HandshakeClient({ data: NETWORK, initiatorOnly: true, auth: TEST_PEER });
    const ka = new KeepAliveClient({ intervalMs: null });
    conn.register(hs);
    conn.register(ka);
    await hs.result;

    let building = true;
    const prepared = env.RELAY_HUB.getByName(name)
      .prepareEpoch(epochOf(slotNow()))
      .finally(() => {
        building = false;
      });
    const during: number[] = [];
    while (building && during.length < 400) {
      const t0 = Date.now();
      await ka.ping();
      if (building) during.push(Date.now() - t0);
      await new Promise((r) => setTimeout(r, 50));
    }
    const r = await prepared;
    expect(r).toMatchObject({ known: true, seats: 900 });
    // A one-turn build would let no round trip through until it ended (seconds).
    expect(during.length).toBeGreaterThanOrEqual(10);
    expect(Math.max(...during)).toBeLessThan(1_000);
    console.log(JSON.stringify({ at: 'hub-build-test', buildMs: r.ms, pings: during.length, maxRttMs: Math.max(...during) }));
    conn.close(1000, 'done');
  });
});
