/**
 * LeiosNotify (protocol 18, PROTOCOL.md §10.1): messages, strict codec and state table.
 *
 * ```
 * [0]                          RequestNext        C  StIdle → StBusy
 * [1, rb_header]               BlockAnnouncement  S  StBusy → StIdle   ≤ 2,048 B
 * [2, eb_point, eb_size]       BlockOffer         S  StBusy → StIdle   ≤ 2,048 B
 * [3, eb_point]                BlockTxsOffer      S  StBusy → StIdle   ≤ 2,048 B
 * [4, [+ vote]]                Votes              S  StBusy → StIdle   ≤ 1,024 votes, 131,072 B
 * [5]                          Done               C  StIdle → StDone
 * ```
 * Up to 64 RequestNext may be pipelined. Headers and votes are carried raw (exact bytes, §1.3).
 *
 * @module
 */
import { CborWriter } from '../../cbor/index';
import {
  checkSize,
  decodeMessage,
  type EbPoint,
  expectFields,
  MAX_HEADER_MESSAGE,
  MAX_WIRE_VOTE_BYTES,
  MAX_VOTES,
  MAX_VOTES_MESSAGE,
  Protocol,
  type RawItem,
  readEbPoint,
  readEnvelope,
  readRawItem,
  type WireLimits,
  writeEbPoint,
} from '../common/index';
import { defineProtocol, type ProtocolSpec } from '../machine/index';

/** Pipelined RequestNext (§10.1, §11). */
export const LEIOS_NOTIFY_PIPELINE = 64;

export type LeiosNotifyMessage =
  | { type: 'RequestNext' }
  | { type: 'BlockAnnouncement'; header: RawItem }
  | { type: 'BlockOffer'; point: EbPoint; ebSize: number }
  | { type: 'BlockTxsOffer'; point: EbPoint }
  | { type: 'Votes'; votes: readonly RawItem[] }
  | { type: 'Done' };

/** @example `encodeLeiosNotify({ type: 'RequestNext' }) // 81 00` */
export function encodeLeiosNotify(m: LeiosNotifyMessage): Uint8Array {
  switch (m.type) {
    case 'RequestNext':
      return new CborWriter(2).array(1).uint(0).finish();
    case 'Done':
      return new CborWriter(2).array(1).uint(5).finish();
    case 'BlockAnnouncement':
      return new CborWriter(m.header.bytes.length + 4).array(2).uint(1).raw(m.header.bytes).finish();
    case 'BlockOffer': {
      const w = new CborWriter(56).array(3).uint(2);
      writeEbPoint(w, m.point);
      return w.uint(m.ebSize).finish();
    }
    case 'BlockTxsOffer': {
      const w = new CborWriter(48).array(2).uint(3);
      writeEbPoint(w, m.point);
      return w.finish();
    }
    case 'Votes': {
      if (m.votes.length < 1 || m.votes.length > MAX_VOTES) throw new RangeError(`leios-notify: ${m.votes.length} votes`);
      let size = 8;
      for (const v of m.votes) size += v.bytes.length;
      const w = new CborWriter(size).array(2).uint(4).array(m.votes.length);
      for (const v of m.votes) w.raw(v.bytes);
      return w.finish();
    }
  }
}

/** Strict decoder with the §11 caps; throws ProtocolViolation. */
export function decodeLeiosNotify(bytes: Uint8Array, limits: WireLimits): LeiosNotifyMessage {
  const P = 'leios-notify';
  checkSize(P, 'message', bytes.length, MAX_VOTES_MESSAGE);
  return decodeMessage(P, bytes, (r): LeiosNotifyMessage => {
    const { tag, fields } = readEnvelope(r, 2);
    if (tag !== 4) checkSize(P, 'message', bytes.length, MAX_HEADER_MESSAGE);
    switch (tag) {
      case 0:
        expectFields(r, 'request_next', fields, 0);
        return { type: 'RequestNext' };
      case 1:
        expectFields(r, 'block_announcement', fields, 1);
        return { type: 'BlockAnnouncement', header: readRawItem(r, 'msg.rb_header', limits.maxHeaderSize) };
      case 2: {
        expectFields(r, 'block_offer', fields, 2);
        const point = readEbPoint(r, 'msg.eb_point');
        return { type: 'BlockOffer', point, ebSize: r.readUint('msg.eb_size', 0xffffffff) };
      }
      case 3:
        expectFields(r, 'block_txs_offer', fields, 1);
        return { type: 'BlockTxsOffer', point: readEbPoint(r, 'msg.eb_point') };
      case 4: {
        expectFields(r, 'votes', fields, 1);
        const at = r.pos;
        const n = r.readArray('msg.votes', { max: MAX_VOTES });
        if (n === 0) r.fail('msg.votes', 'value', 'Votes carries at least one vote', at);
        const votes: RawItem[] = [];
        for (let i = 0; i < n; i++) votes.push(readRawItem(r, `msg.votes[${i}]`, MAX_WIRE_VOTE_BYTES));
        return { type: 'Votes', votes };
      }
      case 5:
        expectFields(r, 'done', fields, 0);
        return { type: 'Done' };
      default:
        return r.fail('msg.tag', 'value', `unknown leios-notify tag ${tag}`);
    }
  });
}

/** The LeiosNotify state table (§10.1, §11: StBusy no timeout, StIdle 3,600 s). */
export const leiosNotifyTable = defineProtocol({
  protocol: 'leios-notify',
  number: Protocol.LeiosNotify,
  initial: 'StIdle',
  agency: { StIdle: 'client', StBusy: 'server', StDone: 'none' },
  transitions: [
    ['StIdle', 'RequestNext', 'StBusy'],
    ['StBusy', 'BlockAnnouncement', 'StIdle'],
    ['StBusy', 'BlockOffer', 'StIdle'],
    ['StBusy', 'BlockTxsOffer', 'StIdle'],
    ['StBusy', 'Votes', 'StIdle'],
    ['StIdle', 'Done', 'StDone'],
  ],
  pipeline: { limit: LEIOS_NOTIFY_PIPELINE, root: 'StIdle', messages: ['RequestNext'] },
  timeouts: { StIdle: { ms: 3_600_000 } },
});

export type LeiosNotifyState = keyof typeof leiosNotifyTable.agency;

export const leiosNotifySpec: ProtocolSpec<LeiosNotifyMessage, LeiosNotifyState, LeiosNotifyMessage['type']> = {
  table: leiosNotifyTable,
  encode: encodeLeiosNotify,
  decode: decodeLeiosNotify,
};
