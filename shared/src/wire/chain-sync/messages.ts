/**
 * Chain-sync (protocol 2, PROTOCOL.md §9): messages, strict codec and state table.
 *
 * ```
 * [0]                       RequestNext        C  StIdle → StCanAwait
 * [1]                       AwaitReply         S  StCanAwait → StMustReply
 * [2, rb_header, tip]       RollForward        S  StCanAwait / StMustReply → StIdle   ≤ 2,048 B
 * [3, point, tip]           RollBackward       S  StCanAwait / StMustReply → StIdle
 * [4, [+ point]]            FindIntersect      C  StIdle → StIntersect   (≤ 64 points)
 * [5, point, tip]           IntersectFound     S  StIntersect → StIdle
 * [6, tip]                  IntersectNotFound  S  StIntersect → StIdle
 * [7]                       Done               C  StIdle → StDone
 * ```
 * Not pipelined. Messages ≤ 4,096 B. The header is carried raw (exact bytes, §1.3).
 *
 * @module
 */
import { CborWriter } from '../../cbor/index';
import {
  checkSize,
  decodeMessage,
  expectFields,
  MAX_HEADER_MESSAGE,
  MAX_SMALL_MESSAGE,
  type Point,
  Protocol,
  type RawItem,
  readEnvelope,
  readPoint,
  readRawItem,
  readTip,
  type Tip,
  type WireLimits,
  writePoint,
  writeTip,
} from '../common/index';
import { defineProtocol, type ProtocolSpec } from '../machine/index';

/** Points per FindIntersect (§9). */
export const MAX_INTERSECT_POINTS = 64;

export type ChainSyncMessage =
  | { type: 'RequestNext' }
  | { type: 'AwaitReply' }
  | { type: 'RollForward'; header: RawItem; tip: Tip }
  | { type: 'RollBackward'; point: Point; tip: Tip }
  | { type: 'FindIntersect'; points: readonly Point[] }
  | { type: 'IntersectFound'; point: Point; tip: Tip }
  | { type: 'IntersectNotFound'; tip: Tip }
  | { type: 'Done' };

const TAGS = {
  RequestNext: 0,
  AwaitReply: 1,
  RollForward: 2,
  RollBackward: 3,
  FindIntersect: 4,
  IntersectFound: 5,
  IntersectNotFound: 6,
  Done: 7,
} as const;

/** @example `encodeChainSync({ type: 'RequestNext' }) // 81 00` */
export function encodeChainSync(m: ChainSyncMessage): Uint8Array {
  const w = new CborWriter(128);
  const tag = TAGS[m.type];
  switch (m.type) {
    case 'RequestNext':
    case 'AwaitReply':
    case 'Done':
      w.array(1).uint(tag);
      break;
    case 'RollForward':
      w.array(3).uint(tag).raw(m.header.bytes);
      writeTip(w, m.tip);
      break;
    case 'RollBackward':
    case 'IntersectFound':
      w.array(3).uint(tag);
      writePoint(w, m.point);
      writeTip(w, m.tip);
      break;
    case 'FindIntersect':
      if (m.points.length < 1 || m.points.length > MAX_INTERSECT_POINTS) {
        throw new RangeError(`chain-sync: ${m.points.length} intersect points`);
      }
      w.array(2).uint(tag).array(m.points.length);
      for (const p of m.points) writePoint(w, p);
      break;
    case 'IntersectNotFound':
      w.array(2).uint(tag);
      writeTip(w, m.tip);
      break;
  }
  return w.finish();
}

/** Strict decoder with the §11 caps; throws ProtocolViolation. */
export function decodeChainSync(bytes: Uint8Array, limits: WireLimits): ChainSyncMessage {
  const P = 'chain-sync';
  checkSize(P, 'message', bytes.length, MAX_SMALL_MESSAGE);
  return decodeMessage(P, bytes, (r): ChainSyncMessage => {
    const { tag, fields } = readEnvelope(r, 2);
    switch (tag) {
      case 0:
      case 1:
      case 7:
        expectFields(r, 'chain-sync', fields, 0);
        return { type: tag === 0 ? 'RequestNext' : tag === 1 ? 'AwaitReply' : 'Done' };
      case 2: {
        checkSize(P, 'RollForward', bytes.length, MAX_HEADER_MESSAGE);
        expectFields(r, 'roll_forward', fields, 2);
        const header = readRawItem(r, 'msg.rb_header', limits.maxHeaderSize);
        return { type: 'RollForward', header, tip: readTip(r, 'msg.tip') };
      }
      case 3:
      case 5: {
        expectFields(r, 'roll_backward', fields, 2);
        const point = readPoint(r, 'msg.point');
        return { type: tag === 3 ? 'RollBackward' : 'IntersectFound', point, tip: readTip(r, 'msg.tip') };
      }
      case 4: {
        expectFields(r, 'find_intersect', fields, 1);
        const at = r.pos;
        const n = r.readArray('msg.points', { max: MAX_INTERSECT_POINTS });
        if (n === 0) r.fail('msg.points', 'value', 'FindIntersect needs at least one point', at);
        const points: Point[] = [];
        for (let i = 0; i < n; i++) points.push(readPoint(r, `msg.points[${i}]`));
        return { type: 'FindIntersect', points };
      }
      case 6:
        expectFields(r, 'intersect_not_found', fields, 1);
        return { type: 'IntersectNotFound', tip: readTip(r, 'msg.tip') };
      default:
        return r.fail('msg.tag', 'value', `unknown chain-sync tag ${tag}`);
    }
  });
}

/** The chain-sync state table (§9, §11). */
export const chainSyncTable = defineProtocol({
  protocol: 'chain-sync',
  number: Protocol.ChainSync,
  initial: 'StIdle',
  agency: { StIdle: 'client', StCanAwait: 'server', StMustReply: 'server', StIntersect: 'server', StDone: 'none' },
  transitions: [
    ['StIdle', 'RequestNext', 'StCanAwait'],
    ['StCanAwait', 'AwaitReply', 'StMustReply'],
    ['StCanAwait', 'RollForward', 'StIdle'],
    ['StCanAwait', 'RollBackward', 'StIdle'],
    ['StMustReply', 'RollForward', 'StIdle'],
    ['StMustReply', 'RollBackward', 'StIdle'],
    ['StIdle', 'FindIntersect', 'StIntersect'],
    ['StIntersect', 'IntersectFound', 'StIdle'],
    ['StIntersect', 'IntersectNotFound', 'StIdle'],
    ['StIdle', 'Done', 'StDone'],
  ],
  timeouts: { StIntersect: { ms: 10_000 }, StCanAwait: { ms: 10_000 }, StIdle: { ms: 3_600_000 } },
});

export type ChainSyncState = keyof typeof chainSyncTable.agency;

export const chainSyncSpec: ProtocolSpec<ChainSyncMessage, ChainSyncState, ChainSyncMessage['type']> = {
  table: chainSyncTable,
  encode: encodeChainSync,
  decode: decodeChainSync,
};
