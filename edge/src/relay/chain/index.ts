/**
 * The relay's header tree and best chain (PROTOCOL.md §7.4, §9 chain-sync, §10.4).
 *
 * Primer: a relay has no ledger and no immutable chain, only the headers its peers delivered and it
 * validated (§4.1 stateless checks, plus the parent checks when the parent is held). They form a
 * bounded forest keyed by RB hash. A header is *anchored* when it is block 1 (`prev_hash` null),
 * when its parent is anchored, or when it arrived by chain-sync after an intersection that the
 * relay does not hold (the first header of a peer's chain suffix: the relay keeps only the volatile
 * suffix, so such a header roots the tree). Only anchored, not-invalidated headers compete for the
 * best chain: highest block number, ties keep the current tip (§7.4). An unanchored header (a
 * BlockAnnouncement whose parent has not arrived) waits and is anchored when its parent is.
 *
 * The tree also counts the distinct headers per (slot, issuer): §10.4 forwards at most two (the
 * first and one equivocating), so {@link HeaderTree.admit} says `third` for any further one.
 *
 * Bounds: `maxHeaders` entries (oldest inserted evicted first, never the tip) and the same number
 * of (slot, issuer) records. Walking parents stops at an evicted entry, which is then the start of
 * the held chain.
 *
 * @module
 */
import { toHex } from '@leios/shared';
import type { RbHeader } from '@leios/shared/protocol';

/** One held header. */
export interface HeaderEntry {
  readonly header: RbHeader;
  readonly hex: string;
  readonly parentHex: string | null;
  anchored: boolean;
  /** Set when its block (or an ancestor's) proved invalid: never on the best chain again. */
  invalid: boolean;
}

/** Outcome of {@link HeaderTree.admit}. */
export type Admission = 'known' | 'first' | 'equivocation' | 'third';

/**
 * A bounded header forest with best-chain selection.
 *
 * @example
 * ```ts
 * const tree = new HeaderTree(2048);
 * if (tree.admit(h) !== 'third') tree.insert(h, { root: false });
 * tree.tip?.header.blockNumber
 * ```
 */
export class HeaderTree {
  private readonly entries = new Map<string, HeaderEntry>();
  private readonly children = new Map<string, Set<string>>();
  private readonly perSlotIssuer = new Map<string, Set<string>>();
  private tipEntry: HeaderEntry | null = null;
  private bestCache: { version: number; chain: HeaderEntry[]; set: Set<string> } | undefined;
  /** Incremented whenever the tip changes. */
  version = 0;
  private readonly listeners = new Set<() => void>();

  constructor(readonly maxHeaders = 2048) {}

  get size(): number {
    return this.entries.size;
  }

  get tip(): HeaderEntry | null {
    return this.tipEntry;
  }

  get(hex: string): HeaderEntry | undefined {
    return this.entries.get(hex);
  }

  /** Be told (once) when the tip changes next. */
  onTipChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /**
   * §10.4 bookkeeping of distinct headers per (slot, issuer): `known` (this very header was seen),
   * `first`, `equivocation` (the second distinct one) or `third` (drop it).
   */
  admit(h: RbHeader): Admission {
    const hex = toHex(h.hash);
    const key = `${h.slot}:${toHex(h.issuerPoolId)}`;
    let seen = this.perSlotIssuer.get(key);
    if (seen?.has(hex)) return 'known';
    if (seen === undefined) {
      seen = new Set();
      this.perSlotIssuer.set(key, seen);
      if (this.perSlotIssuer.size > this.maxHeaders) this.perSlotIssuer.delete(this.perSlotIssuer.keys().next().value as string);
    }
    if (seen.size >= 2) return 'third';
    seen.add(hex);
    return seen.size === 1 ? 'first' : 'equivocation';
  }

  /**
   * Hold a validated header. `root`: anchor it even though its parent is not held (the first header
   * after a chain-sync intersection). Returns whether the tip changed.
   */
  insert(h: RbHeader, opts: { root: boolean }): { added: boolean; tipChanged: boolean } {
    const hex = toHex(h.hash);
    const old = this.entries.get(hex);
    if (old !== undefined) {
      if (!old.anchored && opts.root) return { added: false, tipChanged: this.anchor(old) };
      return { added: false, tipChanged: false };
    }
    const parentHex = h.prevHash === null ? null : toHex(h.prevHash);
    const parent = parentHex === null ? undefined : this.entries.get(parentHex);
    const e: HeaderEntry = {
      header: h,
      hex,
      parentHex,
      anchored: false,
      invalid: parent?.invalid ?? false,
    };
    this.entries.set(hex, e);
    if (parentHex !== null) {
      let kids = this.children.get(parentHex);
      if (kids === undefined) {
        kids = new Set();
        this.children.set(parentHex, kids);
      }
      kids.add(hex);
    }
    this.evict();
    const anchor = parentHex === null || parent?.anchored === true || (parent === undefined && opts.root);
    return { added: true, tipChanged: anchor ? this.anchor(e) : false };
  }

  /** Anchor `e` and its held unanchored descendants; select a new tip among them. */
  private anchor(e: HeaderEntry): boolean {
    let changed = false;
    const stack = [e];
    while (stack.length > 0) {
      const x = stack.pop()!;
      if (x.anchored) continue;
      x.anchored = true;
      if (!x.invalid && (this.tipEntry === null || x.header.blockNumber > this.tipEntry.header.blockNumber)) {
        this.tipEntry = x;
        changed = true;
      }
      for (const k of this.children.get(x.hex) ?? []) {
        const c = this.entries.get(k);
        if (c !== undefined) stack.push(c);
      }
    }
    if (changed) this.tipMoved();
    return changed;
  }

  /** Mark a header and its descendants invalid (its block failed); re-select the tip if needed. */
  invalidate(hex: string): void {
    const stack = [hex];
    while (stack.length > 0) {
      const k = stack.pop()!;
      const e = this.entries.get(k);
      if (e !== undefined) e.invalid = true;
      for (const c of this.children.get(k) ?? []) stack.push(c);
    }
    if (this.tipEntry?.invalid) {
      let best: HeaderEntry | null = null;
      for (const e of this.entries.values()) {
        if (e.anchored && !e.invalid && (best === null || e.header.blockNumber > best.header.blockNumber)) best = e;
      }
      this.tipEntry = best;
      this.tipMoved();
    }
  }

  private tipMoved(): void {
    this.version++;
    const ls = [...this.listeners];
    this.listeners.clear();
    for (const l of ls) l();
  }

  private evict(): void {
    for (const [k, e] of this.entries) {
      if (this.entries.size <= this.maxHeaders) break;
      if (e === this.tipEntry) continue;
      this.entries.delete(k);
      this.children.delete(k);
      if (e.parentHex !== null) this.children.get(e.parentHex)?.delete(k);
    }
  }

  /** The held best chain, oldest first, ending at the tip. */
  bestChain(): HeaderEntry[] {
    return this.best().chain;
  }

  /** Whether `hex` is on the held best chain. */
  onBest(hex: string): boolean {
    return this.best().set.has(hex);
  }

  private best(): { chain: HeaderEntry[]; set: Set<string> } {
    if (this.bestCache?.version === this.version) return this.bestCache;
    const chain: HeaderEntry[] = [];
    let e: HeaderEntry | undefined = this.tipEntry ?? undefined;
    while (e !== undefined) {
      chain.push(e);
      e = e.parentHex === null ? undefined : this.entries.get(e.parentHex);
    }
    chain.reverse();
    this.bestCache = { version: this.version, chain, set: new Set(chain.map((x) => x.hex)) };
    return this.bestCache;
  }
}
