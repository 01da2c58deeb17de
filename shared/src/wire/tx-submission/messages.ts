/**
 * Tx-submission (protocol 4, PROTOCOL.md §9): messages, strict codec and state table.
 *
 * ```
 * [0, blocking: bool, ack: uint16, req: uint16]  RequestTxIds  C  StIdle → StTxIds
 * [1, [* [hash32, size]]]                        ReplyTxIds    S  StTxIds → StIdle
 * [2, [+ hash32]]                                RequestTxs    C  StIdle → StTxs      (≤ 64)
 * [3, [* tx]]                                    ReplyTxs      S  StTxs → StIdle      (≤ 64 txs, 1,049,600 B)
 * [4]                                            Done          C  StIdle → StDone
 * ```
 * The client pulls; ids are tx reference hashes; at most 128 unacknowledged ids. StTxIds is split
 * into a blocking and a non-blocking state because only the latter times out (10 s, §11).
 *
 * @module
 */
import { CborWriter } from '../../cbor/index';
import type { Hash32 } from '../../types/index';
import {
  checkSize,
  decodeMessage,
  expectFields,
  MAX_REPLY_TXS_MESSAGE,
  MAX_SMALL_MESSAGE,
  Protocol,
  type RawItem,
  readEnvelope,
  readHash32,
  readRawItem,
  type WireLimits,
} from '../common/index';
import { defineProtocol, type ProtocolSpec } from '../machine/index';

/** Unacknowledged ids (§9). */
export const MAX_UNACKED_TX_IDS = 128;
/** Txs per RequestTxs / ReplyTxs (§9, §11). */
export const MAX_TXS_PER_REQUEST = 64;

/** An announced id and the tx's size in bytes. */
export interface TxIdAndSize {
  readonly id: Hash32;
  readonly size: number;
}

export type TxSubmissionMessage =
  | { type: 'RequestTxIds'; blocking: boolean; ack: number; req: number }
  | { type: 'ReplyTxIds'; ids: readonly TxIdAndSize[] }
  | { type: 'RequestTxs'; ids: readonly Hash32[] }
  | { type: 'ReplyTxs'; txs: readonly RawItem[] }
  | { type: 'Done' };

/** @example `encodeTxSubmission({ type: 'RequestTxIds', blocking: true, ack: 0, req: 10 })` */
export function encodeTxSubmission(m: TxSubmissionMessage): Uint8Array {
  switch (m.type) {
    case 'RequestTxIds':
      return new CborWriter(12).array(4).uint(0).bool(m.blocking).uint(m.ack).uint(m.req).finish();
    case 'ReplyTxIds': {
      const w = new CborWriter(8 + m.ids.length * 40).array(2).uint(1).array(m.ids.length);
      for (const t of m.ids) w.array(2).bytes(t.id).uint(t.size);
      return w.finish();
    }
    case 'RequestTxs': {
      const w = new CborWriter(8 + m.ids.length * 35).array(2).uint(2).array(m.ids.length);
      for (const id of m.ids) w.bytes(id);
      return w.finish();
    }
    case 'ReplyTxs': {
      let size = 8;
      for (const t of m.txs) size += t.bytes.length;
      const w = new CborWriter(size).array(2).uint(3).array(m.txs.length);
      for (const t of m.txs) w.raw(t.bytes);
      return w.finish();
    }
    case 'Done':
      return new CborWriter(2).array(1).uint(4).finish();
  }
}

/** Strict decoder with the §11 caps; throws ProtocolViolation. */
export function decodeTxSubmission(bytes: Uint8Array, limits: WireLimits): TxSubmissionMessage {
  const P = 'tx-submission';
  checkSize(P, 'message', bytes.length, MAX_REPLY_TXS_MESSAGE);
  return decodeMessage(P, bytes, (r): TxSubmissionMessage => {
    const { tag, fields } = readEnvelope(r, 3);
    if (tag !== 3) checkSize(P, 'message', bytes.length, MAX_SMALL_MESSAGE + 2 * 1024);
    switch (tag) {
      case 0: {
        expectFields(r, 'request_tx_ids', fields, 3);
        const blocking = r.readBool('msg.blocking');
        const ack = r.readUint('msg.ack', 0xffff);
        return { type: 'RequestTxIds', blocking, ack, req: r.readUint('msg.req', 0xffff) };
      }
      case 1: {
        expectFields(r, 'reply_tx_ids', fields, 1);
        const n = r.readArray('msg.ids', { max: MAX_UNACKED_TX_IDS });
        const ids: TxIdAndSize[] = [];
        for (let i = 0; i < n; i++) {
          const at = r.pos;
          if (r.readArray(`msg.ids[${i}]`) !== 2) r.fail(`msg.ids[${i}]`, 'type', 'expected [hash32, size]', at);
          const id = readHash32(r, `msg.ids[${i}].id`);
          ids.push({ id, size: r.readUint(`msg.ids[${i}].size`, 0xffffffff) });
        }
        return { type: 'ReplyTxIds', ids };
      }
      case 2: {
        expectFields(r, 'request_txs', fields, 1);
        const at = r.pos;
        const n = r.readArray('msg.ids', { max: MAX_TXS_PER_REQUEST });
        if (n === 0) r.fail('msg.ids', 'value', 'RequestTxs needs at least one id', at);
        const ids: Hash32[] = [];
        for (let i = 0; i < n; i++) ids.push(readHash32(r, `msg.ids[${i}]`));
        return { type: 'RequestTxs', ids };
      }
      case 3: {
        expectFields(r, 'reply_txs', fields, 1);
        const n = r.readArray('msg.txs', { max: MAX_TXS_PER_REQUEST });
        const txs: RawItem[] = [];
        for (let i = 0; i < n; i++) txs.push(readRawItem(r, `msg.txs[${i}]`, limits.maxTxSize));
        return { type: 'ReplyTxs', txs };
      }
      case 4:
        expectFields(r, 'done', fields, 0);
        return { type: 'Done' };
      default:
        return r.fail('msg.tag', 'value', `unknown tx-submission tag ${tag}`);
    }
  });
}

/** Table key: RequestTxIds is split by `blocking`. */
export type TxSubmissionKey = Exclude<TxSubmissionMessage['type'], 'RequestTxIds'> | 'RequestTxIds:blocking' | 'RequestTxIds:nonblocking';

/** The tx-submission state table (§9, §11). */
export const txSubmissionTable = defineProtocol<
  'StIdle' | 'StTxIdsBlocking' | 'StTxIdsNonBlocking' | 'StTxs' | 'StDone',
  TxSubmissionKey
>({
  protocol: 'tx-submission',
  number: Protocol.TxSubmission,
  initial: 'StIdle',
  agency: { StIdle: 'client', StTxIdsBlocking: 'server', StTxIdsNonBlocking: 'server', StTxs: 'server', StDone: 'none' },
  transitions: [
    ['StIdle', 'RequestTxIds:blocking', 'StTxIdsBlocking'],
    ['StIdle', 'RequestTxIds:nonblocking', 'StTxIdsNonBlocking'],
    ['StTxIdsBlocking', 'ReplyTxIds', 'StIdle'],
    ['StTxIdsNonBlocking', 'ReplyTxIds', 'StIdle'],
    ['StIdle', 'RequestTxs', 'StTxs'],
    ['StTxs', 'ReplyTxs', 'StIdle'],
    ['StIdle', 'Done', 'StDone'],
  ],
  timeouts: { StTxIdsNonBlocking: { ms: 10_000 }, StTxs: { ms: 10_000, restartOnSegment: true } },
});

export type TxSubmissionState = keyof typeof txSubmissionTable.agency;

export const txSubmissionSpec: ProtocolSpec<TxSubmissionMessage, TxSubmissionState, TxSubmissionKey> = {
  table: txSubmissionTable,
  encode: encodeTxSubmission,
  decode: decodeTxSubmission,
  key: (m) => (m.type === 'RequestTxIds' ? (m.blocking ? 'RequestTxIds:blocking' : 'RequestTxIds:nonblocking') : m.type),
};
