import { buildRbHeader, type RbHeader } from '@leios/shared/protocol';
import { describe, expect, it } from 'vitest';
import { HeaderTree } from './index';

const COLD = new Uint8Array(32).fill(5);
let nonce = 0;
/** A header (signed, not leader-checked: the tree only links and ranks). */
function hdr(blockNumber: number, slot: number, prev: RbHeader | null): RbHeader {
  nonce++;
  return buildRbHeader(
    {
      blockNumber,
      slot,
      prevHash: prev?.hash ?? null,
      vrfOutput: new Uint8Array(32).fill(nonce % 256),
      vrfProof: new Uint8Array(48).fill(1),
      bodyHash: new Uint8Array(32).fill(nonce % 256),
      bodySize: 10,
      certifiedEb: false,
      ebAnnouncement: null,
    },
    COLD,
  );
}

describe('HeaderTree (§7.4 best chain, §10.4 per (slot, issuer))', () => {
  it('selects the highest block number, keeps the current tip on a tie, and switches forks', () => {
    const t = new HeaderTree(100);
    const a1 = hdr(1, 1, null);
    const a2 = hdr(2, 2, a1);
    const b2 = hdr(2, 3, a1);
    const b3 = hdr(3, 4, b2);
    t.insert(a1, { root: false });
    t.insert(a2, { root: false });
    expect(t.tip?.header.hash).toEqual(a2.hash);
    t.insert(b2, { root: false });
    expect(t.tip?.header.hash).toEqual(a2.hash); // tie: keep
    t.insert(b3, { root: false });
    expect(t.bestChain().map((e) => e.header.blockNumber)).toEqual([1, 2, 3]);
    expect(t.onBest(t.get(t.tip!.hex)!.parentHex!)).toBe(true);
    expect(t.onBest(t.bestChain()[1]!.hex)).toBe(true);
  });

  it('anchors an orphan when its parent arrives, and never lets an unanchored header be the tip', () => {
    const t = new HeaderTree(100);
    const a1 = hdr(1, 1, null);
    const a2 = hdr(2, 2, a1);
    const a3 = hdr(3, 3, a2);
    t.insert(a3, { root: false });
    expect(t.tip).toBeNull();
    t.insert(a2, { root: false });
    expect(t.tip).toBeNull();
    t.insert(a1, { root: false });
    expect(t.tip?.header.blockNumber).toBe(3);
  });

  it('drops back to the best valid header when a block is invalidated', () => {
    const t = new HeaderTree(100);
    const a1 = hdr(1, 1, null);
    const a2 = hdr(2, 2, a1);
    const b2 = hdr(2, 3, a1);
    const a3 = hdr(3, 4, a2);
    for (const h of [a1, a2, b2, a3]) t.insert(h, { root: false });
    t.invalidate(t.get(t.bestChain()[1]!.hex)!.hex); // a2 and a3
    expect(t.tip?.header.hash).toEqual(b2.hash);
  });

  it('admits two distinct headers per (slot, issuer) and calls the third one out', () => {
    const t = new HeaderTree(100);
    const x = hdr(1, 9, null);
    const y = hdr(1, 9, null);
    const z = hdr(1, 9, null);
    expect(t.admit(x)).toBe('first');
    expect(t.admit(x)).toBe('known');
    expect(t.admit(y)).toBe('equivocation');
    expect(t.admit(z)).toBe('third');
  });

  it('stays within its bound and keeps the tip', () => {
    const t = new HeaderTree(8);
    let prev: RbHeader | null = null;
    for (let i = 1; i <= 40; i++) {
      prev = hdr(i, i, prev);
      t.insert(prev, { root: false });
      expect(t.size).toBeLessThanOrEqual(8);
    }
    expect(t.tip?.header.blockNumber).toBe(40);
    expect(t.bestChain().length).toBe(8);
  });
});
