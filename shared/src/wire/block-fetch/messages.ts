/**
 * Block-fetch (protocol 3, PROTOCOL.md §9): messages, strict codec and state table.
 *
 * ```
 * [0, from: point, to: point]  RequestRange  C  StIdle → StBusy        (inclusive, ≤ 100 blocks)
 * [1]                          ClientDone    C  StIdle → StDone
 * [2]                          StartBatch    S  StBusy → StStreaming
 * [3]                          NoBlocks      S  StBusy → StIdle
 * [4, rb_block]                Block         S  StStreaming → StStreaming   ≤ S_RB + 8,192 B
 * [5]                          BatchDone     S  StStreaming → StIdle
 * ```
 * Up to 4 RequestRange may be pipelined (§11). Blocks are carried raw (exact bytes, §1.3).
 *
 * @module
 */
import { CborWriter } from '../../cbor/index';
import {
  checkSize,
  decodeMessage,
  expectFields,
  MAX_SMALL_MESSAGE,
  type Point,
  Protocol,
  type RawItem,
  readEnvelope,
  readPoint,
  readRawItem,
  type WireLimits,
  writePoint,
} from '../common/index';
import { defineProtocol, type ProtocolSpec } from '../machine/index';

/** Pipelined RequestRange (§11). */
export const BLOCK_FETCH_PIPELINE = 4;
/** Blocks per range (§9). */
export const MAX_RANGE_BLOCKS = 100;

export type BlockFetchMessage =
  | { type: 'RequestRange'; from: Point; to: Point }
  | { type: 'ClientDone' }
  | { type: 'StartBatch' }
  | { type: 'NoBlocks' }
  | { type: 'Block'; block: RawItem }
  | { type: 'BatchDone' };

const TAGS = { RequestRange: 0, ClientDone: 1, StartBatch: 2, NoBlocks: 3, Block: 4, BatchDone: 5 } as const;

/** @example `encodeBlockFetch({ type: 'StartBatch' }) // 81 02` */
export function encodeBlockFetch(m: BlockFetchMessage): Uint8Array {
  const tag = TAGS[m.type];
  if (m.type === 'RequestRange') {
    const w = new CborWriter(96).array(3).uint(tag);
    writePoint(w, m.from);
    writePoint(w, m.to);
    return w.finish();
  }
  if (m.type === 'Block') return new CborWriter(m.block.bytes.length + 4).array(2).uint(tag).raw(m.block.bytes).finish();
  return new CborWriter(2).array(1).uint(tag).finish();
}

/** Strict decoder with the §11 caps; throws ProtocolViolation. */
export function decodeBlockFetch(bytes: Uint8Array, limits: WireLimits): BlockFetchMessage {
  const P = 'block-fetch';
  return decodeMessage(P, bytes, (r): BlockFetchMessage => {
    const { tag, fields } = readEnvelope(r, 2);
    if (tag !== 4) checkSize(P, 'message', bytes.length, MAX_SMALL_MESSAGE);
    switch (tag) {
      case 0: {
        expectFields(r, 'request_range', fields, 2);
        const from = readPoint(r, 'msg.from');
        return { type: 'RequestRange', from, to: readPoint(r, 'msg.to') };
      }
      case 1:
      case 2:
      case 3:
      case 5:
        expectFields(r, 'block-fetch', fields, 0);
        return { type: tag === 1 ? 'ClientDone' : tag === 2 ? 'StartBatch' : tag === 3 ? 'NoBlocks' : 'BatchDone' };
      case 4:
        checkSize(P, 'Block', bytes.length, limits.maxRbBodySize + 8_192);
        expectFields(r, 'block', fields, 1);
        return { type: 'Block', block: readRawItem(r, 'msg.rb_block', limits.maxRbBodySize + 8_192) };
      default:
        return r.fail('msg.tag', 'value', `unknown block-fetch tag ${tag}`);
    }
  });
}

/** The block-fetch state table (§9, §11: StBusy 60 s, StStreaming 60 s of inactivity). */
export const blockFetchTable = defineProtocol({
  protocol: 'block-fetch',
  number: Protocol.BlockFetch,
  initial: 'StIdle',
  agency: { StIdle: 'client', StBusy: 'server', StStreaming: 'server', StDone: 'none' },
  transitions: [
    ['StIdle', 'RequestRange', 'StBusy'],
    ['StIdle', 'ClientDone', 'StDone'],
    ['StBusy', 'StartBatch', 'StStreaming'],
    ['StBusy', 'NoBlocks', 'StIdle'],
    ['StStreaming', 'Block', 'StStreaming'],
    ['StStreaming', 'BatchDone', 'StIdle'],
  ],
  pipeline: { limit: BLOCK_FETCH_PIPELINE, root: 'StIdle', messages: ['RequestRange'] },
  timeouts: { StBusy: { ms: 60_000 }, StStreaming: { ms: 60_000, restartOnSegment: true } },
});

export type BlockFetchState = keyof typeof blockFetchTable.agency;

export const blockFetchSpec: ProtocolSpec<BlockFetchMessage, BlockFetchState, BlockFetchMessage['type']> = {
  table: blockFetchTable,
  encode: encodeBlockFetch,
  decode: decodeBlockFetch,
};
