/**
 * The LeiosNode side of the network layer: the handshake identity of a node, the
 * {@link FetchTarget} the fetch manager drives, and the wiring of the node's "I need …" events to
 * the fetch manager.
 *
 * @module
 */
import { decodeEb } from '@leios/shared/protocol';
import { leiosPriority, type Priority } from '@leios/shared/sched';
import type { Hash32, Slot } from '@leios/shared/types';
import { isStorageError } from '../../errors/index';
import type { LocalVersionData, TxRef, WireLimits } from '@leios/shared/wire';
import type { LeiosNode } from '../../node/index';
import type { FetchManager, FetchTarget } from '../fetch/index';

/**
 * The §8.3 version data of a node: network magic and ledger mode from its genesis, and
 * `genesis_hash = H256(genesis file bytes)` (§3.1), which the caller computed when it read the file.
 *
 * @example
 * ```ts
 * const g = parseGenesis(await readFile(cfg.genesisFile));
 * const data = versionDataFor(node, g.hash);
 * ```
 */
export function versionDataFor(node: LeiosNode, genesisHash: Hash32): LocalVersionData {
  return {
    networkMagic: node.genesis.networkMagic,
    genesisHash,
    ledgerMode: node.params.ledgerMode === 'utxo' ? 0 : 1,
  };
}

/** The §11 wire limits of a node's protocol parameters. @example `wireLimitsFor(node)` */
export function wireLimitsFor(node: LeiosNode): WireLimits {
  const p = node.params;
  return {
    maxRbBodySize: p.maxRbBodySize,
    maxEbSize: p.maxEbSize,
    maxHeaderSize: p.maxHeaderSize,
    maxTxSize: p.maxTxSize,
    maxReplyTxs: p.maxReplyTxs,
    maxReplyBytes: p.maxReplyBytes,
  };
}

/**
 * Whether the EB announced by `rbHash` is certified by its child on the node's selected chain
 * (its closure is then P0 traffic, §13.1).
 */
export function certifiedOnChain(node: LeiosNode, rbHash: Uint8Array): boolean {
  for (const child of node.tree.childrenOf(rbHash)) {
    if (child.data.header.certifiedEb && node.tree.isSelected(child.header.hash)) return true;
  }
  return false;
}

/** §13.1 class of an item about the EB announced at `slot`. */
export function ebPriority(node: LeiosNode, slot: number, certified: boolean): Priority {
  return leiosPriority({ ebSlot: slot, currentSlot: node.currentSlot(), params: node.params, certifiedOnBestChain: certified });
}

/**
 * The node as the fetch manager sees it. `missingTxs` first fills the closure from the node's
 * mempool (the tx table — tx cache and other closures — is already consulted by the store), so
 * only txs the node does not hold at all are fetched.
 *
 * @example
 * ```ts
 * const fm = new FetchManager({ target: nodeFetchTarget(node) });
 * ```
 */
export function nodeFetchTarget(node: LeiosNode, onWarning?: (w: { what: string; detail: string }) => void): FetchTarget {
  return {
    ebStatus: (hash) => {
      const i = node.ebInfo(hash);
      if (!i) return undefined;
      return { slot: i.slot, size: i.size, held: i.held, complete: i.complete, ...(i.invalid ? { invalid: i.invalid } : {}) };
    },
    missingTxs: async (hash) => {
      const missing = await node.ebStore.missing(hash);
      if (missing.length === 0) return [];
      const refs = await node.ebStore.refs(hash);
      const fromPool: Uint8Array[] = [];
      const rest: { index: number; ref: TxRef }[] = [];
      for (const index of missing) {
        const ref = refs[index];
        if (!ref) continue;
        const m = node.mempool.getByRef(ref.hash);
        if (m) fromPool.push(m.bytes);
        else rest.push({ index, ref });
      }
      if (fromPool.length > 0) {
        try {
          await node.receiveTxs(hash, fromPool);
        } catch (e) {
          // the EB turned out invalid; the fetch manager drops it on its next pass
          onWarning?.({ what: 'closure-from-mempool', detail: e instanceof Error ? e.message : String(e) });
        }
      }
      return rest;
    },
    deliverEb: async (hash, bytes, priority) => {
      if (priority?.cls === 2) {
        await storeAhead(node, hash, bytes);
        // a macrotask boundary: messages that arrived during the write run before the node's part
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      await node.receiveEb(bytes);
    },
    deliverTxs: async (hash, txs, priority, indices) => {
      if (priority?.cls === 2 && indices?.length === txs.length) {
        // §13.3 background: straight into the store (which checks each tx against its reference);
        // a completed closure reaches the node through the store's completion listener
        await node.ebStore.addClosureTxs(
          hash,
          txs.map((bytes, k) => ({ index: indices[k]!, bytes })),
        );
        return;
      }
      await node.receiveTxs(hash, txs);
    },
    // background (P2) deliveries wait for this: stale Leios work never queues ahead of Praos (§13.3)
    idle: () => node.idle(),
    priority: (slot, certified) => ebPriority(node, slot, certified),
  };
}

/**
 * Store a stale EB before it enters the node's queue (§13.3: stale EBs are fetched in the
 * background): the database write — a row per reference — then happens outside the node's
 * serialised work, and the node's own `receiveEb` finds the EB stored and only does its
 * bookkeeping, so Praos work queued behind it waits milliseconds, not the write. Anything unusual
 * (unknown EB, wrong size, malformed bytes, a store refusal) is left to `receiveEb`, which
 * rejects it with the node's own reason.
 */
async function storeAhead(node: LeiosNode, hash: Hash32, bytes: Uint8Array): Promise<void> {
  const info = node.ebInfo(hash);
  if (!info || info.held || info.invalid || bytes.length !== info.size) return;
  let refs: ReturnType<typeof decodeEb>['refs'];
  try {
    refs = decodeEb(bytes, node.params).refs;
  } catch {
    return; // malformed: receiveEb marks the EB invalid and says why
  }
  try {
    await node.ebStore.putEb({ bytes, refs, rbHash: info.rbHash, slot: info.slot as Slot, announced: { hash, size: info.size } });
  } catch (e) {
    if (!isStorageError(e)) throw e;
    // refused (e.g. the stale-EB storage bound): receiveEb repeats the write and reports it
  }
}

/**
 * Feed the node's wants to the fetch manager: announced EBs (`need-eb`), missing closure txs
 * (`need-eb-txs`), closures of certified EBs at Praos priority (`need-closure`); re-run the
 * decision loop whenever the node's EB state or tip changes. Returns the detach function.
 *
 * @example
 * ```ts
 * const detach = attachFetchManager(node, fm);
 * ```
 */
export function attachFetchManager(node: LeiosNode, fm: FetchManager): () => void {
  const needEb = (e: { ebHash: Hash32; slot: number; size: number }) => fm.want(e.ebHash, e.slot, { size: e.size });
  const needTxs = (e: { ebHash: Hash32; slot: number }) => fm.want(e.ebHash, e.slot);
  const needClosure = (e: { ebHash: Hash32; certRb: Hash32; slot: number }) =>
    fm.want(e.ebHash, e.slot, { certified: true, certRb: e.certRb });
  const pump = () => fm.pumpSoon();
  node.on('need-eb', needEb);
  node.on('need-eb-txs', needTxs);
  node.on('need-closure', needClosure);
  node.on('eb', pump);
  node.on('eb-txs', pump);
  node.on('tip', pump);
  return () => {
    node.off('need-eb', needEb);
    node.off('need-eb-txs', needTxs);
    node.off('need-closure', needClosure);
    node.off('eb', pump);
    node.off('eb-txs', pump);
    node.off('tip', pump);
  };
}
