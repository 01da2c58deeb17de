/**
 * Wire peers for the relay tests inside workerd: the runtime-neutral peers of ./wire over a real
 * WebSocket to the relay (through the Worker's `/v1/ws` route and the RelayHub), authenticated as
 * the test peer, or anonymous (`anonymous: true`), from a fresh client address unless `ip` names one.
 *
 * @module
 */
import { env } from 'cloudflare:workers';
import { fromHex, type Hash32 } from '@leios/shared';
import type { LocalVersionData } from '@leios/shared/wire';
import { relay, TEST_PEER } from './index';
import { attachWire, consumerOn, producerOn, type Wire } from './wire';

export { type Closed, KEEP_ALIVE_MS, type ProducerState, type Received } from './wire';

export const NETWORK: LocalVersionData = {
  networkMagic: Number((env as unknown as { NETWORK_MAGIC: string }).NETWORK_MAGIC),
  genesisHash: fromHex((env as unknown as { GENESIS_HASH: string }).GENESIS_HASH) as Hash32,
  ledgerMode: 0,
};

/** A WebSocket to the relay with a wire connection (initiator) on it. */
export async function openWire(opts: { initiatorOnly: boolean; anonymous?: boolean; ip?: string }): Promise<Wire & { ws: WebSocket }> {
  const headers: Record<string, string> = { upgrade: 'websocket', 'sec-websocket-protocol': 'leios-mux.1' };
  if (opts.ip !== undefined) headers['cf-connecting-ip'] = opts.ip;
  const res = await relay([], '/v1/ws', { headers });
  const ws = res.webSocket;
  if (res.status !== 101 || ws === null) throw new Error(`no WebSocket: ${res.status}`);
  ws.accept();
  return { ...attachWire(ws, { initiatorOnly: opts.initiatorOnly, network: NETWORK, auth: opts.anonymous ? null : TEST_PEER }), ws };
}

/** A storage-node-like serving peer (./wire producerOn). */
export async function openProducer(opts: { anonymous?: boolean; ip?: string } = {}) {
  return producerOn(await openWire({ initiatorOnly: false, ...opts }));
}

/** An `initiator_only` peer pulling from the relay (./wire consumerOn). */
export async function openConsumer(opts: { notifyPipeline?: number; notifyClient?: boolean; anonymous?: boolean; ip?: string } = {}) {
  const { anonymous, ip, ...rest } = opts;
  return consumerOn(await openWire({ initiatorOnly: true, ...(anonymous ? { anonymous } : {}), ...(ip !== undefined ? { ip } : {}) }), rest);
}
