/**
 * Chain selection (PROTOCOL.md §7.4): the in-memory tree of recent blocks and the choice of the
 * selected chain.
 *
 * Primer: the node keeps every valid header of the last few thousand slots in a tree (forks
 * included) together with, once fetched, the block body. The selected chain is a path from an
 * anchor (the oldest block kept in memory, or origin) to the tip. {@link BlockTree.plan} answers
 * "should we switch, and how": the best *ready* tip (its body held, not known invalid, and, for a
 * CertRB, the certified closure local — the caller decides readiness) whose fork point is at most
 * k blocks below our tip, if it is strictly longer than the current chain. Ties keep the current
 * chain (§7.4); between several new candidates of the same height the lower tip VRF output wins,
 * then the lower hash, so every node that sees the same candidates picks the same one.
 *
 * The tree is pure bookkeeping: validation happens in the node while it follows a plan, and
 * failures come back through {@link BlockTree.markInvalid}, which also condemns the descendants.
 *
 * @module
 */
import { bytesEqual, compareBytes, toHex } from '@leios/shared/bytes';
import type { BlockNo, Hash32, PoolId, Slot } from '@leios/shared/types';

/** What the tree needs to know about a header. */
export interface TreeHeader {
  readonly hash: Hash32;
  readonly prevHash: Hash32 | null;
  readonly blockNo: BlockNo;
  readonly slot: Slot;
  readonly issuer: PoolId;
  /** Leader VRF output (the deterministic tie-break). */
  readonly vrfOutput: Uint8Array;
}

/** A block in the tree; `T` is whatever the node attaches (decoded header, body, nonce …). */
export interface TreeEntry<T> {
  readonly header: TreeHeader;
  readonly data: T;
  /** Set once validation failed; descendants are condemned with it. */
  invalid: boolean;
}

/** How to move from the current chain to a better one. */
export interface SwitchPlan<T> {
  /** The last common block (null = origin). */
  readonly intersection: TreeEntry<T> | null;
  /** Blocks of the current chain to undo, tip first. */
  readonly rollback: TreeEntry<T>[];
  /** Blocks to apply, oldest first; the last one is the new tip. */
  readonly forward: TreeEntry<T>[];
}

const key = (h: Uint8Array): string => toHex(h);

/**
 * The block tree and selected chain.
 *
 * @example
 * ```ts
 * const tree = new BlockTree<MyData>(k);
 * tree.add(header, data);
 * const plan = tree.plan((e) => e.data.body !== undefined);
 * if (plan) { …undo plan.rollback, apply plan.forward…; tree.setSelected(plan) }
 * ```
 */
export class BlockTree<T> {
  private readonly entries = new Map<string, TreeEntry<T>>();
  private readonly children = new Map<string, TreeEntry<T>[]>();
  /** Selected chain, oldest first (from the anchor to the tip). */
  private chain: TreeEntry<T>[] = [];
  /** Block number of the block just below `chain[0]` (0 = origin); its hash, null at origin. */
  private anchorNo = 0;
  private anchorHash: Hash32 | null = null;

  constructor(readonly k: number) {
    if (!Number.isSafeInteger(k) || k < 1) throw new RangeError('k must be a positive integer');
  }

  /** Number of blocks held. */
  get size(): number {
    return this.entries.size;
  }

  get(hash: Uint8Array): TreeEntry<T> | undefined {
    return this.entries.get(key(hash));
  }

  has(hash: Uint8Array): boolean {
    return this.entries.has(key(hash));
  }

  /** The selected tip, or null at origin (or when only the anchor is known). */
  tip(): TreeEntry<T> | null {
    return this.chain[this.chain.length - 1] ?? null;
  }

  /** Hash and number of the tip, falling back to the anchor. */
  tipPoint(): { hash: Hash32 | null; blockNo: number } {
    const t = this.tip();
    return t ? { hash: t.header.hash, blockNo: t.header.blockNo } : { hash: this.anchorHash, blockNo: this.anchorNo };
  }

  /** The selected chain held in memory, oldest first. */
  selectedChain(): readonly TreeEntry<T>[] {
    return this.chain;
  }

  /** Whether a block is on the selected chain (within memory). */
  isSelected(hash: Uint8Array): boolean {
    const e = this.get(hash);
    if (!e) return false;
    const i = e.header.blockNo - this.anchorNo - 1;
    return this.chain[i] === e;
  }

  /** Blocks whose parent is `hash` (`null` = origin). */
  childrenOf(hash: Uint8Array | null): readonly TreeEntry<T>[] {
    return this.children.get(hash ? key(hash) : 'origin') ?? [];
  }

  /** Other known blocks at the same (slot, issuer) with a different hash: equivocation (§7.4). */
  equivocations(h: TreeHeader): TreeEntry<T>[] {
    const out: TreeEntry<T>[] = [];
    for (const e of this.entries.values()) {
      if (e.header.slot === h.slot && bytesEqual(e.header.issuer, h.issuer) && !bytesEqual(e.header.hash, h.hash)) out.push(e);
    }
    return out;
  }

  /**
   * Add a block. Its parent must be in the tree or be the anchor / origin (the caller checks
   * connectivity before validating the header). Idempotent.
   */
  add(header: TreeHeader, data: T): TreeEntry<T> {
    const existing = this.get(header.hash);
    if (existing) return existing;
    const entry: TreeEntry<T> = { header, data, invalid: false };
    const parentKey = header.prevHash ? key(header.prevHash) : 'origin';
    const parent = header.prevHash ? this.entries.get(parentKey) : undefined;
    if (parent?.invalid) entry.invalid = true;
    this.entries.set(key(header.hash), entry);
    const sib = this.children.get(parentKey);
    if (sib) sib.push(entry);
    else this.children.set(parentKey, [entry]);
    return entry;
  }

  /** Whether a header's parent is known (in the tree, the anchor, or origin for block 1). */
  parentKnown(header: Pick<TreeHeader, 'prevHash' | 'blockNo'>): boolean {
    if (header.prevHash === null) return header.blockNo === 1 && this.anchorNo === 0;
    if (this.anchorHash && bytesEqual(header.prevHash, this.anchorHash)) return true;
    return this.has(header.prevHash);
  }

  /** Mark a block and all its descendants invalid (they can never be selected). */
  markInvalid(hash: Uint8Array): void {
    const e = this.get(hash);
    if (!e) return;
    const stack = [e];
    while (stack.length > 0) {
      const x = stack.pop()!;
      x.invalid = true;
      stack.push(...this.childrenOf(x.header.hash));
    }
  }

  /**
   * The best switch, or null if the current chain stays. `ready(e)` says whether a block can be
   * applied now (body held, closure local for a CertRB).
   */
  plan(ready: (e: TreeEntry<T>) => boolean): SwitchPlan<T> | null {
    const cur = this.tipPoint();
    let best: { tip: TreeEntry<T>; base: number } | null = null;
    const consider = (tip: TreeEntry<T>, base: number): void => {
      if (!best) {
        best = { tip, base };
        return;
      }
      const a = tip.header;
      const b = best.tip.header;
      if (a.blockNo > b.blockNo) best = { tip, base };
      else if (a.blockNo === b.blockNo) {
        const c = compareBytes(a.vrfOutput, b.vrfOutput) || compareBytes(a.hash, b.hash);
        if (c < 0) best = { tip, base };
      }
    };
    // Walk ready off-chain descendants of every selected block within k of the tip (the tip's
    // own children are extensions), and of the anchor when it is within reach.
    const lowest = Math.max(this.anchorNo, cur.blockNo - this.k);
    const bases: { hash: Hash32 | null; no: number }[] = [];
    if (lowest === this.anchorNo) bases.push({ hash: this.anchorHash, no: this.anchorNo });
    for (const e of this.chain) if (e.header.blockNo >= lowest) bases.push({ hash: e.header.hash, no: e.header.blockNo });
    for (const base of bases) {
      const next = base.no - this.anchorNo; // index of the selected child of base in `chain`
      const onChainChild = this.chain[next];
      const stack = this.childrenOf(base.hash).filter((c) => c !== onChainChild);
      while (stack.length > 0) {
        const e = stack.pop()!;
        if (e.invalid || !ready(e)) continue;
        consider(e, base.no);
        stack.push(...this.childrenOf(e.header.hash));
      }
    }
    const chosen = best as { tip: TreeEntry<T>; base: number } | null;
    if (!chosen || chosen.tip.header.blockNo <= cur.blockNo) return null;
    const forward: TreeEntry<T>[] = [];
    for (let e: TreeEntry<T> | undefined = chosen.tip; e && e.header.blockNo > chosen.base; ) {
      forward.unshift(e);
      e = e.header.prevHash ? this.get(e.header.prevHash) : undefined;
    }
    const rollback = this.chain.slice(chosen.base - this.anchorNo).reverse();
    const intersection = chosen.base > this.anchorNo ? (this.chain[chosen.base - this.anchorNo - 1] ?? null) : null;
    return { intersection, rollback, forward };
  }

  /**
   * Make `plan` the selected chain (after the node applied it). Also usable to adopt a prefix of
   * a plan when a later block failed: pass the applied blocks as `forward`.
   */
  setSelected(plan: Pick<SwitchPlan<T>, 'rollback' | 'forward'>): void {
    this.chain.splice(this.chain.length - plan.rollback.length, plan.rollback.length, ...plan.forward);
  }

  /**
   * Forget blocks that can no longer matter: everything at or below block `keepFrom − 1` of the
   * selected chain becomes the anchor, and entries (forks included) with a slot below
   * `minSlot` are dropped. Keeps at least the volatile suffix.
   */
  prune(keepFromBlockNo: number, minSlot: number): void {
    const drop = Math.max(0, keepFromBlockNo - this.anchorNo - 1);
    if (drop > 0) {
      const removed = this.chain.splice(0, Math.min(drop, this.chain.length));
      const last = removed[removed.length - 1];
      if (last) {
        this.anchorNo = last.header.blockNo;
        this.anchorHash = last.header.hash;
      }
    }
    const anchorKey = this.anchorHash ? key(this.anchorHash) : 'origin';
    for (const [k, e] of this.entries) {
      if (e.header.slot < minSlot && !this.isSelected(e.header.hash)) {
        this.entries.delete(k);
        // the anchor's children list is where plan() starts walking
        if (k !== anchorKey) this.children.delete(k);
      }
    }
  }

  /** Start from a recovered anchor (restart): blocks at or below it are immutable history. */
  setAnchor(hash: Hash32 | null, blockNo: number): void {
    if (this.chain.length > 0) throw new Error('setAnchor on a non-empty chain');
    this.anchorHash = hash;
    this.anchorNo = blockNo;
  }
}
