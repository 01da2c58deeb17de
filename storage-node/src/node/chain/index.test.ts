import type { BlockNo, Hash32, PoolId, Slot } from '@leios/shared/types';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BlockTree, type TreeHeader } from './index';

let counter = 0;
function hdr(parent: TreeHeader | null, slot: number, vrf = 128, issuer = 1): TreeHeader {
  counter++;
  const hash = new Uint8Array(32);
  new DataView(hash.buffer).setUint32(0, counter);
  return {
    hash: hash as Hash32,
    prevHash: parent ? parent.hash : null,
    blockNo: ((parent?.blockNo ?? 0) + 1) as BlockNo,
    slot: slot as Slot,
    issuer: new Uint8Array(28).fill(issuer) as PoolId,
    vrfOutput: new Uint8Array(32).fill(vrf),
  };
}

const all = () => true;

describe('BlockTree chain selection (§7.4)', () => {
  it('extends the tip and prefers the longer fork', () => {
    const t = new BlockTree<null>(10);
    const a1 = hdr(null, 1);
    const a2 = hdr(a1, 2);
    t.add(a1, null);
    t.add(a2, null);
    let p = t.plan(all);
    expect(p?.forward.map((e) => e.header)).toEqual([a1, a2]);
    t.setSelected(p!);
    expect(t.tip()?.header).toBe(a2);
    // fork from a1: b2, b3 (longer)
    const b2 = hdr(a1, 3);
    const b3 = hdr(b2, 4);
    t.add(b2, null);
    expect(t.plan(all)).toBeNull(); // tie keeps the current chain
    t.add(b3, null);
    p = t.plan(all);
    expect(p?.intersection?.header).toBe(a1);
    expect(p?.rollback.map((e) => e.header)).toEqual([a2]);
    expect(p?.forward.map((e) => e.header)).toEqual([b2, b3]);
    t.setSelected(p!);
    expect(t.selectedChain().map((e) => e.header)).toEqual([a1, b2, b3]);
    expect(t.isSelected(a2.hash)).toBe(false);
  });

  it('ignores blocks that are not ready or invalid, with their descendants', () => {
    const t = new BlockTree<{ ok: boolean }>(10);
    const a1 = hdr(null, 1);
    t.add(a1, { ok: true });
    t.setSelected(t.plan((e) => e.data.ok)!);
    const b2 = hdr(a1, 2);
    const b3 = hdr(b2, 3);
    t.add(b2, { ok: false });
    t.add(b3, { ok: true });
    expect(t.plan((e) => e.data.ok)).toBeNull();
    const c2 = hdr(a1, 2);
    const c3 = hdr(c2, 3);
    t.add(c2, { ok: true });
    t.add(c3, { ok: true });
    t.markInvalid(c2.hash);
    expect(t.get(c3.hash)?.invalid).toBe(true);
    expect(t.plan((e) => e.data.ok)).toBeNull();
    // a late child of an invalid block is invalid on arrival
    const c4 = hdr(c3, 4);
    expect(t.add(c4, { ok: true }).invalid).toBe(true);
  });

  it('breaks ties between new candidates by lower VRF output, then hash', () => {
    const t = new BlockTree<null>(10);
    const a1 = hdr(null, 1);
    t.add(a1, null);
    t.setSelected(t.plan(all)!);
    const x = hdr(a1, 2, 200, 2);
    const y = hdr(a1, 2, 100, 3);
    t.add(x, null);
    t.add(y, null);
    expect(t.plan(all)?.forward[0]?.header).toBe(y);
  });

  it('never switches to a fork more than k blocks deep', () => {
    const t = new BlockTree<null>(2);
    const g = hdr(null, 1);
    t.add(g, null);
    let tip = g;
    for (let s = 2; s <= 4; s++) {
      tip = hdr(tip, s);
      t.add(tip, null);
    }
    t.setSelected(t.plan(all)!);
    expect(t.tip()?.header.blockNo).toBe(4);
    // a fork from block 1 (3 deep) that is longer
    let f = hdr(g, 10);
    t.add(f, null);
    for (let s = 11; s <= 14; s++) {
      f = hdr(f, s);
      t.add(f, null);
    }
    expect(t.plan(all)).toBeNull();
  });

  it('detects equivocating headers (same slot and issuer, different hash)', () => {
    const t = new BlockTree<null>(5);
    const a = hdr(null, 5, 1, 9);
    const b = hdr(null, 5, 2, 9);
    const c = hdr(null, 5, 2, 8);
    t.add(a, null);
    t.add(c, null);
    expect(t.equivocations(b).map((e) => e.header)).toEqual([a]);
  });

  it('prunes old blocks but keeps selecting from the anchor', () => {
    const t = new BlockTree<null>(3);
    let tip: TreeHeader | null = null;
    const hs: TreeHeader[] = [];
    for (let s = 1; s <= 6; s++) {
      tip = hdr(tip, s);
      hs.push(tip);
      t.add(tip, null);
    }
    t.setSelected(t.plan(all)!);
    t.prune(4, 4); // blocks 1..3 become history; anchor = block 3
    expect(t.selectedChain().map((e) => e.header.blockNo)).toEqual([4, 5, 6]);
    expect(t.has(hs[0]!.hash)).toBe(false);
    // a fork from the anchor (block 3) that is longer is still reachable (depth 3 = k)
    let f = hs[2]!;
    for (let s = 10; s <= 13; s++) {
      f = hdr(f, s);
      t.add(f, null);
    }
    const p = t.plan(all);
    expect(p?.rollback.length).toBe(3);
    expect(p?.forward.length).toBe(4);
    expect(p?.intersection).toBeNull();
  });

  it('property: the selected chain is always connected and the longest ready chain within reach', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(40), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 60 }), (ops) => {
        const t = new BlockTree<null>(100);
        const known: TreeHeader[] = [];
        let slot = 0;
        for (const [pick, vrf] of ops) {
          const parent = known.length === 0 || pick % 7 === 0 ? null : known[pick % known.length]!;
          const h = hdr(parent, ++slot, vrf);
          known.push(h);
          t.add(h, null);
          const p = t.plan(all);
          if (p) t.setSelected(p);
          const chain = t.selectedChain();
          for (let i = 0; i < chain.length; i++) {
            const e = chain[i]!;
            expect(e.header.blockNo).toBe(i + 1);
            if (i > 0) expect(e.header.prevHash).toEqual(chain[i - 1]!.header.hash);
          }
          const maxNo = Math.max(...known.map((x) => x.blockNo));
          expect(t.tip()?.header.blockNo).toBe(maxNo);
        }
      }),
      { numRuns: 100 },
    );
  });
});
