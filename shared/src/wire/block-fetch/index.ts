/**
 * Block-fetch drivers (protocol 3, PROTOCOL.md §9): inclusive ranges of at most 100 RBs, up to 4
 * requests pipelined, replies in order, all at Praos priority (§13.1).
 *
 * @module
 */
import { PRAOS, type Priority } from '../../sched/index';
import { type Point, type RawItem, raw, violation } from '../common/index';
import { type ConnectionClosedError, Driver, OrderedReplies } from '../machine/index';
import {
  BLOCK_FETCH_PIPELINE,
  type BlockFetchMessage,
  type BlockFetchState,
  blockFetchSpec,
  MAX_RANGE_BLOCKS,
} from './messages';

export * from './messages';

type K = BlockFetchMessage['type'];

interface Pending {
  blocks: RawItem[];
  onBlock: ((b: RawItem) => void) | undefined;
  resolve: (v: RawItem[] | null) => void;
  reject: (e: Error) => void;
}

/**
 * Block-fetch client.
 *
 * @example
 * ```ts
 * const bf = new BlockFetchClient();
 * conn.register(bf);
 * const blocks = await bf.requestRange(from, to); // null: NoBlocks
 * ```
 */
export class BlockFetchClient extends Driver<BlockFetchMessage, BlockFetchState, K> {
  private readonly pending: Pending[] = [];

  constructor() {
    super('client', blockFetchSpec);
  }

  /** Whether another range may be pipelined now. */
  get canRequest(): boolean {
    return !this.closedWith && this.pending.length < BLOCK_FETCH_PIPELINE && this.state !== 'StDone';
  }

  /** Fetch `from..to` inclusive; `onBlock` sees each block as it arrives. */
  requestRange(from: Point, to: Point, onBlock?: (b: RawItem) => void): Promise<RawItem[] | null> {
    return new Promise((resolve, reject) => {
      this.send({ type: 'RequestRange', from, to }, PRAOS);
      this.pending.push({ blocks: [], onBlock, resolve, reject });
    });
  }

  /** End the protocol. */
  done(): void {
    this.send({ type: 'ClientDone' }, PRAOS);
  }

  protected handle(m: BlockFetchMessage): void {
    const p = this.pending[0];
    if (!p) return;
    if (m.type === 'Block') {
      if (p.blocks.length >= MAX_RANGE_BLOCKS) {
        this.fail(violation('block-fetch', 'limit', `more than ${MAX_RANGE_BLOCKS} blocks in one batch`));
        return;
      }
      p.blocks.push(m.block);
      p.onBlock?.(m.block);
    } else if (m.type === 'NoBlocks' || m.type === 'BatchDone') {
      this.pending.shift();
      p.resolve(m.type === 'NoBlocks' ? null : p.blocks);
    }
  }

  protected override onClosed(err: ConnectionClosedError): void {
    for (const p of this.pending.splice(0)) p.reject(err);
  }
}

/** What a block-fetch server serves. */
export interface BlockFetchHandlers {
  /** The `rb_block` bytes of `from..to` on the selected chain (≤ 100), or null (NoBlocks). */
  range(from: Point, to: Point): Promise<readonly Uint8Array[] | null>;
}

/**
 * Block-fetch server.
 *
 * @example
 * ```ts
 * conn.register(new BlockFetchServer({ range: (from, to) => chainDb.range(from, to) }));
 * ```
 */
export class BlockFetchServer extends Driver<BlockFetchMessage, BlockFetchState, K> {
  private readonly replies = new OrderedReplies<readonly Uint8Array[] | null>((blocks) => {
    if (this.closedWith) return;
    const prio: Priority = PRAOS;
    if (!blocks || blocks.length === 0) {
      this.send({ type: 'NoBlocks' }, prio);
      return;
    }
    this.send({ type: 'StartBatch' }, prio);
    for (const b of blocks) this.send({ type: 'Block', block: raw(b) }, prio);
    this.send({ type: 'BatchDone' }, prio);
  });

  constructor(private readonly handlers: BlockFetchHandlers) {
    super('server', blockFetchSpec);
  }

  protected handle(m: BlockFetchMessage): void {
    if (m.type !== 'RequestRange') return;
    this.replies.push(
      this.handlers.range(m.from, m.to).then((blocks) => {
        if (blocks && blocks.length > MAX_RANGE_BLOCKS) throw new Error(`block-fetch handler: ${blocks.length} blocks > 100`);
        return blocks;
      }),
      (e) => this.handlerFailed(e),
    );
  }
}
