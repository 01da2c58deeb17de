/**
 * Malformed input on an established relay session closes it with the §8.2 code and reason, and
 * repeated invalid content closes it with 1008 `<proto>:refused` (penalties).
 */
import { encodeSegment, raw } from '@leios/shared/wire';
import { beforeAll, describe, expect, it } from 'vitest';
import { blockAt, findLeaderSlot, serveCurrentEpochs, slotNow } from '../testing/network';
import { openProducer, openWire } from '../testing/peer';

const seg = (protocol: number, payload: Uint8Array, mode: 0 | 1 = 0) => encodeSegment({ time: 0, mode, protocol: protocol as 0, payload });

async function session() {
  const w = await openWire({ initiatorOnly: true });
  await w.ready;
  return w;
}

describe('relay sessions close on malformed input (§8.2, §11)', () => {
  beforeAll(() => serveCurrentEpochs());

  it('undecodable CBOR: 1002 leios-notify:malformed', async () => {
    const w = await session();
    w.ws.send(seg(18, new Uint8Array([0x81, 0x1c])));
    expect(await w.closed).toEqual({ code: 1002, reason: 'leios-notify:malformed' });
  });

  it('an unknown protocol number: 1002 mux:unknown-protocol', async () => {
    const w = await session();
    w.ws.send(seg(7, new Uint8Array([0x80])));
    expect(await w.closed).toEqual({ code: 1002, reason: 'mux:unknown-protocol' });
  });

  it('a LeiosNotify request above 2,048 bytes: 1008 leios-notify:limit', async () => {
    const w = await session();
    const big = new Uint8Array(3 + 3_000);
    big.set([0x59, 0x0b, 0xb8]);
    w.ws.send(seg(18, big));
    expect(await w.closed).toEqual({ code: 1008, reason: 'leios-notify:limit' });
  });

  it('a second chain-sync RequestNext without agency: 1008 chain-sync:agency', async () => {
    const w = await session();
    w.ws.send(seg(2, new Uint8Array([0x81, 0x00, 0x81, 0x00])));
    expect(await w.closed).toEqual({ code: 1008, reason: 'chain-sync:agency' });
  });

  it('a server message sent by the client side: 1008 leios-fetch:agency', async () => {
    const w = await session();
    // LeiosFetch Block ([1, eb]) in mode 0 goes to the relay's server, which only takes requests.
    w.ws.send(seg(19, new Uint8Array([0x82, 0x01, 0xa1, 0x00, 0x01])));
    expect(await w.closed).toEqual({ code: 1008, reason: 'leios-fetch:agency' });
  });

  it('three invalid headers: dropped, penalised, then 1008 leios-notify:refused', { timeout: 30_000 }, async () => {
    const p = await openProducer();
    const lead = findLeaderSlot(slotNow() - 60, slotNow() - 5);
    for (let i = 0; i < 3; i++) {
      const b = blockAt({ slot: lead.slot, leader: lead, blockNumber: 1, prevHash: null, txs: [new Uint8Array([0x41, i])] });
      const bad = b.header.bytes.slice();
      bad[bad.length - 1]! ^= 0x01; // the Ed25519 signature no longer verifies
      p.push({ type: 'BlockAnnouncement', header: raw(bad) });
    }
    expect(await p.closed).toEqual({ code: 1008, reason: 'leios-notify:refused' });
  });
});
