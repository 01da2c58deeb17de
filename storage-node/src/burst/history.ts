/**
 * The chain segment of an ATK-LeiosProtocolBurst (PROTOCOL.md §13.2), generated in advance: an
 * honest pool and an adversary pool (1/3 of the stake by default) extend one chain over the past;
 * every adversary RB announces an EB whose body and txs it keeps to itself.
 *
 * Primer: the attack needs hours of real time to prepare (≈ 720 adversarial RBs over 12 h at
 * f = 1/20 and 1 s slots). A harness cannot wait for that, so the segment is built before the
 * run, with a genesis whose `systemStart` lies far enough in the past that all its slots exist.
 * Every block is made the way a producer makes it: the issuing pool must win its slot's VRF
 * lottery (§3.5; the proof is a BLS signature, ~6 ms each, so the lottery is run in parallel by
 * {@link leaderWins} over slot ranges), the header is signed with the pool's cold key, and an
 * adversary header announces `[eb_hash, eb_size]` of an EB built with the shared encoder over
 * opaque txs (§5.6) that exist nowhere else. At each slot the adversary's win is taken first,
 * then the honest pool's: so the segment holds exactly the requested number of withheld EBs.
 *
 * All slots are in epoch 0 (the harness uses an epoch longer than the run), so η is the genesis
 * `initialNonce` and the lottery of any slot can be drawn without the chain before it.
 *
 * @module
 */
import { blake2b256 } from '@leios/shared/crypto';
import { encodeOpaqueTx } from '@leios/shared/ledger';
import { encodeEb, type ProtocolParams } from '@leios/shared/protocol';
import type { Hash32 } from '@leios/shared/types';
import { encodeBlock, encodeBody, encodeHeader } from '../node/blocks';
import { EpochState } from '../node/epoch/index';
import type { NodeGenesis, PoolKeys } from '../node/index';

/** Tag of the adversary's tx contents (so they collide with nothing else). */
const ADVERSARY_TX_TAG = 0xad;

/** A slot some pool won: its VRF proof and output (§3.5). */
export interface LeaderWin {
  readonly slot: number;
  readonly proof: Uint8Array;
  readonly output: Uint8Array;
}

/**
 * The slots in `[from, to)` that `keys` leads (epoch 0 only), skipping those in `skip`.
 *
 * @example
 * ```ts
 * const wins = leaderWins(net.genesis, net.keys[1]!, 1, 500);
 * ```
 */
export function leaderWins(genesis: NodeGenesis, keys: PoolKeys, from: number, to: number, skip?: ReadonlySet<number>): LeaderWin[] {
  if (to > genesis.params.epochLength) throw new RangeError(`leaderWins: slot ${to} is past epoch 0 (E = ${genesis.params.epochLength})`);
  const epochs = new EpochState({ pools: genesis.pools, params: genesis.params });
  const out: LeaderWin[] = [];
  for (let slot = from; slot < to; slot++) {
    if (skip?.has(slot)) continue;
    const w = epochs.checkLeader(0, genesis.initialNonce, slot, keys.poolId, keys.vrfSecretKey);
    if (w) out.push({ slot, proof: w.proof, output: w.output });
  }
  return out;
}

/** Size of the withheld EBs' closures. */
export interface WithheldShape {
  /** Txs referenced by each EB. */
  readonly txsPerEb: number;
  /** Size of each opaque tx in bytes (the whole CBOR item, §5.6; 4..16,384). */
  readonly txBytes: number;
}

/** One withheld EB with its closure, as the adversary keeps it. */
export interface WithheldEb {
  readonly rbHash: Hash32;
  readonly slot: number;
  readonly hash: Hash32;
  readonly bytes: Uint8Array;
  readonly txs: Uint8Array[];
}

/** The pre-generated segment. */
export interface BurstHistory {
  /** `rb_block` bytes from block 1 up, in chain order. */
  readonly blocks: Uint8Array[];
  readonly withheld: WithheldEb[];
  readonly honestBlocks: number;
  readonly lastSlot: number;
}

/**
 * An opaque tx of exactly `size` bytes whose content is unique to `(tag, slot, index)`.
 *
 * @example
 * ```ts
 * opaqueTx('adv', 17, 0, 512).length // 512
 * ```
 */
export function opaqueTx(tag: number, slot: number, index: number, size: number): Uint8Array {
  // a byte-string head is 1, 2 or 3 bytes for payloads < 24, < 256, < 65,536 (§1 canonical CBOR)
  const head = size - 1 < 24 ? 1 : size - 2 < 256 ? 2 : 3;
  const payload = new Uint8Array(size - head);
  const seed = blake2b256(new Uint8Array(new Uint32Array([tag, slot, index, size]).buffer));
  for (let o = 0; o < payload.length; o += 32) payload.set(seed.subarray(0, Math.min(32, payload.length - o)), o);
  const tx = encodeOpaqueTx(payload);
  if (tx.length !== size) throw new RangeError(`opaqueTx: size ${size} cannot be hit exactly (got ${tx.length})`);
  return tx;
}

/**
 * Assemble the chain from the lottery results: at each slot the adversary's win first (an RB
 * announcing a fresh withheld EB), else the honest pool's (an RB with an empty body and no EB).
 * Stops after `ebs` adversary blocks.
 *
 * @example
 * ```ts
 * const h = assembleHistory({ genesis, honest: net.keys[0]!, adversary: net.keys[1]!, honestWins, adversaryWins, ebs: 720, shape: { txsPerEb: 8, txBytes: 512 } });
 * ```
 */
export function assembleHistory(args: {
  genesis: NodeGenesis;
  honest: PoolKeys;
  adversary: PoolKeys;
  honestWins: readonly LeaderWin[];
  adversaryWins: readonly LeaderWin[];
  ebs: number;
  shape: WithheldShape;
}): BurstHistory {
  const p: ProtocolParams = args.genesis.params;
  const byslot = new Map<number, { who: 'adv' | 'honest'; win: LeaderWin }>();
  for (const w of args.honestWins) byslot.set(w.slot, { who: 'honest', win: w });
  for (const w of args.adversaryWins) byslot.set(w.slot, { who: 'adv', win: w });
  const slots = [...byslot.keys()].sort((a, b) => a - b);
  const blocks: Uint8Array[] = [];
  const withheld: WithheldEb[] = [];
  let honestBlocks = 0;
  let prev = null as { hash: Hash32; blockNo: number } | null;
  let lastSlot = 0;
  const emptyBody = encodeBody([], null);
  for (const slot of slots) {
    if (withheld.length >= args.ebs) break;
    const { who, win } = byslot.get(slot)!;
    const keys = who === 'adv' ? args.adversary : args.honest;
    let eb: { bytes: Uint8Array; txs: Uint8Array[]; hash: Hash32 } | null = null;
    if (who === 'adv') {
      const txs = Array.from({ length: args.shape.txsPerEb }, (_, i) => opaqueTx(ADVERSARY_TX_TAG, slot, i, args.shape.txBytes));
      const bytes = encodeEb(
        txs.map((t) => ({ hash: blake2b256(t), size: t.length })),
        p,
      );
      eb = { bytes, txs, hash: blake2b256(bytes) };
    }
    const header = encodeHeader(
      {
        blockNo: (prev?.blockNo ?? 0) + 1,
        slot,
        prevHash: prev?.hash ?? null,
        issuerColdVk: keys.coldVk,
        vrfOutput: win.output,
        vrfProof: win.proof,
        bodyHash: blake2b256(emptyBody),
        bodySize: emptyBody.length,
        certifiedEb: false,
        ebAnnouncement: eb ? { hash: eb.hash, size: eb.bytes.length } : null,
      },
      keys.coldSeed,
    );
    const hash = blake2b256(header);
    blocks.push(encodeBlock(header, emptyBody));
    if (eb) withheld.push({ rbHash: hash, slot, hash: eb.hash, bytes: eb.bytes, txs: eb.txs });
    else honestBlocks++;
    prev = { hash, blockNo: blocks.length };
    lastSlot = slot;
  }
  if (withheld.length < args.ebs) {
    throw new RangeError(`assembleHistory: the lottery gave ${withheld.length} adversary slots, ${args.ebs} wanted (draw more slots)`);
  }
  return { blocks, withheld, honestBlocks, lastSlot };
}
