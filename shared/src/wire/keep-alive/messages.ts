/**
 * Keep-alive (protocol 8, PROTOCOL.md §9): messages, codec and state table.
 *
 * `[0, cookie]` KeepAlive (StClient → StServer), `[1, cookie]` Response (StServer → StClient, same
 * cookie), `[2]` Done. Messages ≤ 4,096 B; StServer times out after 60 s (§11).
 *
 * @module
 */
import { CborWriter } from '../../cbor/index';
import {
  checkSize,
  decodeMessage,
  expectFields,
  MAX_SMALL_MESSAGE,
  Protocol,
  readEnvelope,
} from '../common/index';
import { defineProtocol, type ProtocolSpec } from '../machine/index';

export type KeepAliveMessage =
  | { type: 'KeepAlive'; cookie: number }
  | { type: 'Response'; cookie: number }
  | { type: 'Done' };

/** @example `encodeKeepAlive({ type: 'KeepAlive', cookie: 7 }) // 82 00 07` */
export function encodeKeepAlive(m: KeepAliveMessage): Uint8Array {
  const w = new CborWriter(8);
  if (m.type === 'Done') return w.array(1).uint(2).finish();
  return w
    .array(2)
    .uint(m.type === 'KeepAlive' ? 0 : 1)
    .uint(m.cookie)
    .finish();
}

/** Strict decoder; throws ProtocolViolation. @example `decodeKeepAlive(bytes)` */
export function decodeKeepAlive(bytes: Uint8Array): KeepAliveMessage {
  checkSize('keep-alive', 'message', bytes.length, MAX_SMALL_MESSAGE);
  return decodeMessage('keep-alive', bytes, (r): KeepAliveMessage => {
    const { tag, fields } = readEnvelope(r, 1);
    switch (tag) {
      case 0:
      case 1: {
        expectFields(r, 'keep-alive', fields, 1);
        const at = r.pos;
        const cookie = r.readUint('msg.cookie');
        if (cookie > 0xffff) r.fail('msg.cookie', 'value', 'cookie is a uint16', at);
        return { type: tag === 0 ? 'KeepAlive' : 'Response', cookie };
      }
      case 2:
        expectFields(r, 'done', fields, 0);
        return { type: 'Done' };
      default:
        return r.fail('msg.tag', 'value', `unknown keep-alive tag ${tag}`);
    }
  });
}

/** The keep-alive state table (§9, §11). */
export const keepAliveTable = defineProtocol({
  protocol: 'keep-alive',
  number: Protocol.KeepAlive,
  initial: 'StClient',
  agency: { StClient: 'client', StServer: 'server', StDone: 'none' },
  transitions: [
    ['StClient', 'KeepAlive', 'StServer'],
    ['StServer', 'Response', 'StClient'],
    ['StClient', 'Done', 'StDone'],
  ],
  timeouts: { StServer: { ms: 60_000 } },
});

export type KeepAliveState = keyof typeof keepAliveTable.agency;

export const keepAliveSpec: ProtocolSpec<KeepAliveMessage, KeepAliveState, KeepAliveMessage['type']> = {
  table: keepAliveTable,
  encode: encodeKeepAlive,
  decode: decodeKeepAlive,
};
