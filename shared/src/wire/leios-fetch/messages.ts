/**
 * LeiosFetch (protocol 19, PROTOCOL.md §10.2): messages, strict codec and state table.
 *
 * ```
 * [0, eb_point]                         BlockRequest     C  StIdle → StBlock        ≤ 64 B
 * [1, eb]                               Block            S  StBlock → StIdle        ≤ S_EB + 64 B
 * [2, eb_point, tx_bitmap]              BlockTxsRequest  C  StIdle → StBlockTxs     ≤ 16,384 B
 * [3, eb_point, tx_bitmap, [* tx]]      BlockTxs         S  StBlockTxs → StIdle     ≤ MAX_REPLY_BYTES + 32,768 B
 * [9]                                   Done             C  StIdle → StDone
 * ```
 * Up to 16 requests may be pipelined; replies come in order. The EB and the txs are carried raw
 * (exact received bytes, §1.3); the bitmap is decoded fully and keeps its bytes for the echo.
 *
 * @module
 */
import { CborWriter } from '../../cbor/index';
import {
  checkSize,
  decodeMessage,
  type EbPoint,
  expectFields,
  Protocol,
  type RawItem,
  readEbPoint,
  readEnvelope,
  readRawItem,
  type WireLimits,
  writeEbPoint,
} from '../common/index';
import { defineProtocol, type ProtocolSpec } from '../machine/index';
import { readTxBitmap, type TxBitmap } from './bitmap';

/** Pipelined requests (§10.2, §11). */
export const LEIOS_FETCH_PIPELINE = 16;
/** BlockRequest cap (§11). */
export const MAX_BLOCK_REQUEST = 64;
/** BlockTxsRequest cap (§11). */
export const MAX_BLOCK_TXS_REQUEST = 16_384;

export type LeiosFetchMessage =
  | { type: 'BlockRequest'; point: EbPoint }
  | { type: 'Block'; eb: RawItem }
  | { type: 'BlockTxsRequest'; point: EbPoint; bitmap: TxBitmap }
  | { type: 'BlockTxs'; point: EbPoint; bitmap: TxBitmap; txs: readonly RawItem[] }
  | { type: 'Done' };

/** @example `encodeLeiosFetch({ type: 'BlockRequest', point: { slot, hash } })` */
export function encodeLeiosFetch(m: LeiosFetchMessage): Uint8Array {
  switch (m.type) {
    case 'BlockRequest': {
      const w = new CborWriter(48).array(2).uint(0);
      writeEbPoint(w, m.point);
      return w.finish();
    }
    case 'Block':
      return new CborWriter(m.eb.bytes.length + 8).array(2).uint(1).raw(m.eb.bytes).finish();
    case 'BlockTxsRequest': {
      const w = new CborWriter(48 + m.bitmap.bytes.length).array(3).uint(2);
      writeEbPoint(w, m.point);
      return w.raw(m.bitmap.bytes).finish();
    }
    case 'BlockTxs': {
      let size = 64 + m.bitmap.bytes.length;
      for (const t of m.txs) size += t.bytes.length;
      const w = new CborWriter(size).array(4).uint(3);
      writeEbPoint(w, m.point);
      w.raw(m.bitmap.bytes).array(m.txs.length);
      for (const t of m.txs) w.raw(t.bytes);
      return w.finish();
    }
    case 'Done':
      return new CborWriter(2).array(1).uint(9).finish();
  }
}

/**
 * Strict decoder with the §11 caps; throws ProtocolViolation (`leios-fetch:malformed` 1002,
 * `leios-fetch:limit` 1008).
 */
export function decodeLeiosFetch(bytes: Uint8Array, limits: WireLimits): LeiosFetchMessage {
  const P = 'leios-fetch';
  return decodeMessage(P, bytes, (r): LeiosFetchMessage => {
    const { tag, fields } = readEnvelope(r, 3);
    switch (tag) {
      case 0:
        checkSize(P, 'BlockRequest', bytes.length, MAX_BLOCK_REQUEST);
        expectFields(r, 'block_request', fields, 1);
        return { type: 'BlockRequest', point: readEbPoint(r, 'msg.eb_point') };
      case 1:
        checkSize(P, 'Block', bytes.length, limits.maxEbSize + 64);
        expectFields(r, 'block', fields, 1);
        return { type: 'Block', eb: readRawItem(r, 'msg.eb', limits.maxEbSize) };
      case 2: {
        checkSize(P, 'BlockTxsRequest', bytes.length, MAX_BLOCK_TXS_REQUEST);
        expectFields(r, 'block_txs_request', fields, 2);
        const point = readEbPoint(r, 'msg.eb_point');
        return { type: 'BlockTxsRequest', point, bitmap: readTxBitmap(r, 'msg.tx_bitmap', limits.maxReplyTxs) };
      }
      case 3: {
        checkSize(P, 'BlockTxs', bytes.length, limits.maxReplyBytes + 32_768);
        expectFields(r, 'block_txs', fields, 3);
        const point = readEbPoint(r, 'msg.eb_point');
        const bitmap = readTxBitmap(r, 'msg.tx_bitmap', limits.maxReplyTxs);
        const n = r.readArray('msg.txs', { max: limits.maxReplyTxs });
        const txs: RawItem[] = [];
        for (let i = 0; i < n; i++) txs.push(readRawItem(r, `msg.txs[${i}]`, limits.maxTxSize));
        return { type: 'BlockTxs', point, bitmap, txs };
      }
      case 9:
        expectFields(r, 'done', fields, 0);
        return { type: 'Done' };
      default:
        return r.fail('msg.tag', 'value', `unknown leios-fetch tag ${tag}`);
    }
  });
}

/** The LeiosFetch state table (§10.2, §11). */
export const leiosFetchTable = defineProtocol({
  protocol: 'leios-fetch',
  number: Protocol.LeiosFetch,
  initial: 'StIdle',
  agency: { StIdle: 'client', StBlock: 'server', StBlockTxs: 'server', StDone: 'none' },
  transitions: [
    ['StIdle', 'BlockRequest', 'StBlock'],
    ['StBlock', 'Block', 'StIdle'],
    ['StIdle', 'BlockTxsRequest', 'StBlockTxs'],
    ['StBlockTxs', 'BlockTxs', 'StIdle'],
    ['StIdle', 'Done', 'StDone'],
  ],
  pipeline: { limit: LEIOS_FETCH_PIPELINE, root: 'StIdle', messages: ['BlockRequest', 'BlockTxsRequest'] },
  // A Block may be 512 kB: its timer restarts per segment like BlockTxs' inactivity timer.
  timeouts: { StBlock: { ms: 10_000, restartOnSegment: true }, StBlockTxs: { ms: 30_000, restartOnSegment: true } },
});

export type LeiosFetchState = keyof typeof leiosFetchTable.agency;

export const leiosFetchSpec: ProtocolSpec<LeiosFetchMessage, LeiosFetchState, LeiosFetchMessage['type']> = {
  table: leiosFetchTable,
  encode: encodeLeiosFetch,
  decode: decodeLeiosFetch,
};
