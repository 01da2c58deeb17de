import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ascii, bytesToBigInt, concatBytes, fromHex, toHex, u64be } from '../bytes/index';
import { blake2b256 } from '../crypto/blake2b';
import { TxInvalidError } from '../errors/index';
import type { Lovelace, PoolId } from '../types/index';
import {
  applyBlock,
  applyTx,
  type BlockDelta,
  BlockTxError,
  blockFees,
  buildPayment,
  commitBlock,
  composeDeltas,
  effectiveVoteKeys,
  genesisEntries,
  genesisTxId,
  type KeyRegistration,
  keyRegistrationsOf,
  type LedgerBlock,
  MemoryUtxo,
  OverlayUtxo,
  type Tx,
  type UtxoDelta,
  type UtxoEntry,
  undoDataOf,
  utxoEntryDigest,
  utxoKey,
  UtxoSetHasher,
  utxoSetHash,
  type Wallet,
  walletFor,
} from './index';

const wallets: Wallet[] = [0, 1, 2, 3].map((i) => walletFor(`w${i}`));
const byAddress = new Map(wallets.map((w) => [toHex(w.address), w]));
const GENESIS = genesisEntries(
  wallets.map((w) => w.address),
  8,
  50_000_000n,
);
const TTL = 1_000_000;

/** A block plan of plain numbers, materialised into signed txs against a simulated state. */
interface TxPlan {
  picks: number[];
  outs: Array<{ w: number; amount: number }>;
  change: number;
}
interface BlockPlan {
  cert: boolean;
  txs: TxPlan[];
}
const txPlan: fc.Arbitrary<TxPlan> = fc.record({
  picks: fc.array(fc.nat(1000), { minLength: 1, maxLength: 2 }),
  outs: fc.array(fc.record({ w: fc.nat(3), amount: fc.integer({ min: 1, max: 3_000_000 }) }), { minLength: 1, maxLength: 3 }),
  change: fc.nat(3),
});
const chainPlan = fc.array(fc.record({ cert: fc.boolean(), txs: fc.array(txPlan, { minLength: 1, maxLength: 3 }) }), {
  minLength: 1,
  maxLength: 4,
});

/**
 * Turn a plan into blocks of valid txs: each tx spends entries picked from the simulated state
 * (including outputs of earlier txs of the same block), pays the chosen wallets and returns change.
 * `cert` blocks carry their txs as a certified EB closure (announced at the previous block's slot).
 */
function materialise(plan: BlockPlan[]): LedgerBlock[] {
  const sim = MemoryUtxo.fromEntries(GENESIS);
  const blocks: LedgerBlock[] = [];
  let slot = 100;
  for (const b of plan) {
    const txs: Tx[] = [];
    for (const t of b.txs) {
      const avail = [...sim.entries()];
      const picked = new Map<string, UtxoEntry>();
      for (const p of t.picks) {
        const e = avail[p % avail.length]!;
        picked.set(utxoKey(e.ref.txId, e.ref.index), e);
      }
      const inputs = [...picked.values()];
      const signers = [...new Set(inputs.map((e) => toHex(e.output.address)))].map((a) => byAddress.get(a)!.seed);
      let tx: Tx;
      try {
        tx = buildPayment({
          inputs: inputs.map((e) => ({ ...e.ref, amount: e.output.amount })),
          outputs: t.outs.map((o) => ({ address: wallets[o.w]!.address, amount: BigInt(o.amount) })),
          changeAddress: wallets[t.change]!.address,
          ttlSlot: TTL,
          signers,
        });
      } catch {
        continue; // inputs too small for these outputs: leave the tx out of the plan
      }
      sim.apply(applyTx(sim, tx, 'reapply', slot));
      txs.push(tx);
    }
    const prevSlot = slot;
    slot += b.cert ? 14 : 3;
    blocks.push(b.cert ? { slot, txs: [], certifiedEb: { txs, slot: prevSlot } } : { slot, txs });
  }
  return blocks;
}

const total = (u: MemoryUtxo) => u.totalValue();
const sortedEntries = (u: MemoryUtxo) =>
  [...u.entries()].map((e) => `${utxoKey(e.ref.txId, e.ref.index)}=${toHex(e.output.address)}:${e.output.amount}`).sort();

describe('ledger state properties', () => {
  it('value is conserved across applied blocks (Σ UTxO + Σ fees is invariant)', () => {
    fc.assert(
      fc.property(chainPlan, (plan) => {
        const blocks = materialise(plan);
        // the first tx always spends a 50,000,000 genesis entry, so it always materialises
        expect(blocks.reduce((n, b) => n + b.txs.length + (b.certifiedEb?.txs.length ?? 0), 0)).toBeGreaterThan(0);
        const u = MemoryUtxo.fromEntries(GENESIS);
        const start = total(u);
        let fees = 0n;
        for (const b of blocks) {
          const d = applyBlock(u, b);
          u.apply(d);
          fees += blockFees(d);
          expect(total(u) + fees).toBe(start);
        }
      }),
      { numRuns: 15 },
    );
  });

  it('no double spend: a spent input cannot be spent again, at any level', () => {
    fc.assert(
      fc.property(chainPlan, (plan) => {
        const blocks = materialise(plan);
        const u = MemoryUtxo.fromEntries(GENESIS);
        const applied: Tx[] = [];
        for (const b of blocks) {
          u.apply(applyBlock(u, b, {}));
          applied.push(...(b.certifiedEb?.txs ?? []), ...b.txs);
        }
        for (const tx of applied) {
          for (const level of ['apply', 'reapply', 'noValidate'] as const) {
            try {
              applyTx(u, tx, level, 200);
              expect.unreachable();
            } catch (e) {
              expect(e).toBeInstanceOf(TxInvalidError);
              expect((e as TxInvalidError).rule).toBe('input-missing');
            }
          }
        }
        // the same tx twice within one block: the second is the double spend
        const first = applied[0];
        if (first) {
          const fresh = MemoryUtxo.fromEntries(GENESIS);
          expect(() => applyBlock(fresh, { slot: 100, txs: [first, first] }, {})).toThrow(/input-missing/);
          expect(() => applyBlock(fresh, { slot: 100, txs: [], certifiedEb: { txs: [first, first], slot: 100 } })).toThrow(/input-missing/);
        }
      }),
      { numRuns: 10 },
    );
  });

  it('noValidate after a successful apply gives the same state as apply', () => {
    fc.assert(
      fc.property(chainPlan, (plan) => {
        const blocks = materialise(plan);
        const a = MemoryUtxo.fromEntries(GENESIS);
        const n = MemoryUtxo.fromEntries(GENESIS);
        for (const b of blocks) {
          const da = applyBlock(a, { ...b, level: 'apply' });
          const dn = applyBlock(n, { ...b, level: 'noValidate' });
          expect(dn.consumed).toEqual(da.consumed);
          expect(dn.produced).toEqual(da.produced);
          a.apply(da);
          n.apply(dn);
          expect(toHex(n.stateHash())).toBe(toHex(a.stateHash()));
        }
        expect(sortedEntries(n)).toEqual(sortedEntries(a));
      }),
      { numRuns: 10 },
    );
  });

  it('rollback (undo) restores every earlier state exactly; replay reproduces the hashes', () => {
    fc.assert(
      fc.property(chainPlan, (plan) => {
        const blocks = materialise(plan);
        const u = MemoryUtxo.fromEntries(GENESIS);
        const hashes = [toHex(u.stateHash())];
        const snapshots = [sortedEntries(u)];
        const deltas: BlockDelta[] = [];
        for (const b of blocks) {
          const d = applyBlock(u, { ...b, level: 'reapply' });
          u.apply(d);
          deltas.push(d);
          hashes.push(toHex(u.stateHash()));
          snapshots.push(sortedEntries(u));
          // the incremental hash equals the from-scratch hash
          expect(toHex(utxoSetHash(u.entries()))).toBe(hashes.at(-1));
        }
        for (let i = deltas.length - 1; i >= 0; i--) {
          u.undo(deltas[i]!);
          expect(toHex(u.stateHash())).toBe(hashes[i]);
          expect(sortedEntries(u)).toEqual(snapshots[i]);
        }
        for (const [i, b] of blocks.entries()) {
          u.apply(applyBlock(u, { ...b, level: 'reapply' }));
          expect(toHex(u.stateHash())).toBe(hashes[i + 1]);
        }
      }),
      { numRuns: 15 },
    );
  });

  it('commitBlock equals applyBlock + apply (direct no-validate path included), and a failing block changes nothing', () => {
    const show = (es: readonly UtxoEntry[]) => es.map((e) => `${utxoKey(e.ref.txId, e.ref.index)}=${toHex(e.output.address)}:${e.output.amount}`);
    const failure = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(BlockTxError);
        const b = e as BlockTxError;
        return `${b.part}#${b.position}:${b.rule}:${toHex(b.txId)}`;
      }
      return 'ok';
    };
    fc.assert(
      fc.property(chainPlan, fc.constantFrom('apply', 'reapply', 'noValidate') as fc.Arbitrary<'apply' | 'reapply' | 'noValidate'>, fc.nat(), (plan, level, bad) => {
        const blocks = materialise(plan);
        const c = MemoryUtxo.fromEntries(GENESIS);
        const p = MemoryUtxo.fromEntries(GENESIS);
        const all: Tx[] = [];
        const deltas: BlockDelta[] = [];
        const hashes = [toHex(c.stateHash())];
        for (const b0 of blocks) {
          const b = { ...b0, level };
          const dp = applyBlock(p, b);
          p.apply(dp);
          const dc = commitBlock(c, b);
          deltas.push(dc);
          expect(show(dc.consumed).sort()).toEqual(show(dp.consumed).sort());
          expect(show(dc.produced).sort()).toEqual(show(dp.produced).sort());
          expect(dc.txs.map((t) => [toHex(t.txId), ...show(t.consumed), '|', ...show(t.produced)])).toEqual(
            dp.txs.map((t) => [toHex(t.txId), ...show(t.consumed), '|', ...show(t.produced)]),
          );
          expect(toHex(c.stateHash())).toBe(toHex(p.stateHash()));
          hashes.push(toHex(c.stateHash()));
          all.push(...(b0.certifiedEb?.txs ?? []), ...b0.txs);
        }
        expect(sortedEntries(c)).toEqual(sortedEntries(p));
        // a block that repeats an applied tx after a fresh one fails at the same tx, with the
        // same rule, on both paths, and leaves the set as it was (a direct-path rollback)
        if (all.length > 0) {
          const before = sortedEntries(c);
          const again = all[bad % all.length]!;
          const fresh = materialise([{ cert: false, txs: [{ picks: [bad], outs: [{ w: 0, amount: 7 }], change: 1 }] }])[0]?.txs ?? [];
          for (const block of [
            { slot: 999, txs: [], certifiedEb: { txs: [...fresh, again], slot: 998 } },
            { slot: 999, txs: [...fresh, again], level: 'noValidate' as const },
          ]) {
            const viaCommit = failure(() => commitBlock(c, block));
            expect(viaCommit).not.toBe('ok');
            expect(viaCommit).toBe(failure(() => applyBlock(c, block)));
            expect(sortedEntries(c)).toEqual(before);
            expect(toHex(c.stateHash())).toBe(hashes.at(-1));
          }
        }
        // undo of committed deltas restores every earlier state
        for (let i = deltas.length - 1; i >= 0; i--) {
          c.undo(deltas[i]!);
          expect(toHex(c.stateHash())).toBe(hashes[i]);
        }
      }),
      { numRuns: 25 },
    );
  });

  it('no-validate per-tx deltas built on first read, after later commits and rollbacks, equal applyBlock’s; undoDataOf undoes exactly', () => {
    const show = (es: readonly UtxoEntry[]) => es.map((e) => `${utxoKey(e.ref.txId, e.ref.index)}=${toHex(e.output.address)}:${e.output.amount}`);
    const view = (d: BlockDelta) =>
      d.txs.map((t) => [toHex(t.txId), toHex(t.txHash), String(t.fee), t.keyRegs.length, ...show(t.consumed), '|', ...show(t.produced)]);
    fc.assert(
      fc.property(chainPlan, fc.nat(), (plan, cut) => {
        const blocks = materialise(plan).map((b) => ({ ...b, level: 'noValidate' as const }));
        const c = MemoryUtxo.fromEntries(GENESIS);
        const p = MemoryUtxo.fromEntries(GENESIS);
        const expected: BlockDelta[] = [];
        const lazy: BlockDelta[] = [];
        const undo: UtxoDelta[] = [];
        const hashes = [toHex(c.stateHash())];
        for (const b of blocks) {
          const dp = applyBlock(p, b);
          p.apply(dp);
          expected.push(dp);
          const dc = commitBlock(c, b);
          lazy.push(dc);
          undo.push(undoDataOf(dc));
          expect(undo.at(-1)!.consumed).toBe(dc.consumed);
          expect(undo.at(-1)!.produced).toBe(dc.produced);
          hashes.push(toHex(c.stateHash()));
        }
        // roll a suffix back through the undo data alone (§7.4), then replay it: every state hash
        // comes back, and nothing has read the first deltas' txs yet
        const k = cut % (blocks.length + 1);
        for (let i = blocks.length - 1; i >= k; i--) {
          c.undo(undo[i]!);
          expect(toHex(c.stateHash())).toBe(hashes[i]);
        }
        for (let i = k; i < blocks.length; i++) {
          commitBlock(c, blocks[i]!);
          expect(toHex(c.stateHash())).toBe(hashes[i + 1]);
        }
        expect(sortedEntries(c)).toEqual(sortedEntries(p));
        lazy.forEach((d, i) => {
          expect(view(d)).toEqual(view(expected[i]!));
          expect(blockFees(d)).toBe(blockFees(expected[i]!));
          expect(d.txs).toBe(d.txs); // built once
        });
      }),
      { numRuns: 25 },
    );
  });

  it('a MemoryUtxo’s state hash does not follow later changes to the arrays of a delta it applied or undid', () => {
    const u = MemoryUtxo.fromEntries(GENESIS);
    const made = { ref: { txId: genesisTxId(999), index: 1 }, output: GENESIS[0]!.output };
    const consumed: UtxoEntry[] = [GENESIS[0]!];
    const produced: UtxoEntry[] = [made];
    u.apply({ consumed, produced });
    // the caller reuses its arrays: the pending hash updates must not see that
    consumed.length = 0;
    produced.length = 0;
    expect(toHex(u.stateHash())).toBe(toHex(utxoSetHash([...u.entries()])));
    const back = { consumed: [GENESIS[0]!], produced: [made] };
    u.undo(back);
    back.consumed.length = 0;
    back.produced.length = 0;
    expect(toHex(u.stateHash())).toBe(toHex(utxoSetHash(GENESIS)));
  });

  it('composeDeltas of consecutive block deltas is one delta with their effect; UtxoSetHasher follows it', () => {
    fc.assert(
      fc.property(chainPlan, fc.nat(), (plan, cut) => {
        const blocks = materialise(plan);
        const u = MemoryUtxo.fromEntries(GENESIS);
        const stored = MemoryUtxo.fromEntries(GENESIS);
        const hasher = UtxoSetHasher.of(GENESIS);
        expect(toHex(hasher.stateHash())).toBe(toHex(u.stateHash()));
        expect(toHex(u.hasher().stateHash())).toBe(toHex(u.stateHash()));
        const deltas = blocks.map((b) => commitBlock(u, b));
        // a prefix is "written" first, then the rest, each as one composed delta
        const k = cut % (deltas.length + 1);
        for (const part of [deltas.slice(0, k), deltas.slice(k)]) {
          const c = composeDeltas(part);
          stored.apply(c);
          hasher.apply(c);
        }
        expect(sortedEntries(stored)).toEqual(sortedEntries(u));
        expect(toHex(stored.stateHash())).toBe(toHex(u.stateHash()));
        expect(toHex(hasher.stateHash())).toBe(toHex(u.stateHash()));
        expect(hasher.size).toBe(u.size);
        // the composition undoes as one, too
        stored.undo(composeDeltas(deltas));
        expect(toHex(stored.stateHash())).toBe(toHex(utxoSetHash(GENESIS)));
      }),
      { numRuns: 20 },
    );
  });

  it('block deltas net out outputs created and spent inside the block', () => {
    const blocks = materialise([{ cert: false, txs: [{ picks: [0], outs: [{ w: 1, amount: 10 }], change: 2 }] }]);
    const first = blocks[0]!.txs[0]!;
    // a second tx spending the first's change output, in the same block
    const spend = buildPayment({
      inputs: [{ txId: first.id, index: 1, amount: first.body.outputs[1]!.amount }],
      outputs: [{ address: wallets[3]!.address, amount: 5n }],
      changeAddress: wallets[3]!.address,
      ttlSlot: TTL,
      signers: [wallets[2]!.seed],
    });
    const u = MemoryUtxo.fromEntries(GENESIS);
    const d = applyBlock(u, { slot: 100, txs: [first, spend] });
    expect(d.txs).toHaveLength(2);
    expect(d.consumed.map((e) => utxoKey(e.ref.txId, e.ref.index))).toEqual([utxoKey(genesisTxId(0), 0)]);
    expect(d.produced.map((e) => utxoKey(e.ref.txId, e.ref.index))).toEqual([
      utxoKey(first.id, 0),
      utxoKey(spend.id, 0),
      utxoKey(spend.id, 1),
    ]);
    const seq = MemoryUtxo.fromEntries(GENESIS);
    for (const t of d.txs) seq.apply(t);
    u.apply(d);
    expect(toHex(u.stateHash())).toBe(toHex(seq.stateHash()));
  });
});

describe('MemoryUtxo', () => {
  const e = (n: number, amount: bigint, index = 0): UtxoEntry => ({
    ref: { txId: genesisTxId(n), index },
    output: { address: wallets[n % 4]!.address, amount: amount as Lovelace },
  });

  it('the state hash is order-independent and depends on every field of every entry', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.nat(50), { minLength: 1, maxLength: 20 }), (ns) => {
        const es = ns.map((n) => e(n, BigInt(n + 1)));
        const a = MemoryUtxo.fromEntries(es);
        const b = MemoryUtxo.fromEntries([...es].reverse());
        expect(toHex(a.stateHash())).toBe(toHex(b.stateHash()));
        expect(toHex(a.stateHash())).toBe(toHex(utxoSetHash(es)));
        const h = toHex(a.stateHash());
        const first = es[0]!;
        const variants: UtxoEntry[] = [
          { ...first, output: { ...first.output, amount: (first.output.amount + 1n) as Lovelace } },
          { ...first, output: { ...first.output, address: wallets[(ns[0]! + 1) % 4]!.address } },
          { ...first, ref: { ...first.ref, index: 1 } },
        ];
        for (const v of variants) expect(toHex(utxoSetHash([v, ...es.slice(1)]))).not.toBe(h);
        expect(toHex(utxoSetHash(es.slice(1)))).not.toBe(h);
      }),
      { numRuns: 50 },
    );
  });

  it('the state hash is the documented formula (independent BigInt recomputation)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.record({ n: fc.nat(1000), index: fc.nat(70_000), amount: fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }) }), {
          maxLength: 12,
          selector: (x) => `${x.n}#${x.index}`,
        }),
        fc.nat(12),
        (xs, removeCount) => {
          const es = xs.map((x) => e(x.n, x.amount, x.index));
          const digest = (x: UtxoEntry) =>
            blake2b256(concatBytes(ascii('LEIOS-UTXO'), x.ref.txId, u64be(x.ref.index), x.output.address, u64be(x.output.amount)));
          const expected = (set: UtxoEntry[]) => {
            let acc = 0n;
            for (const x of set) acc = (acc + bytesToBigInt(digest(x))) % (1n << 256n);
            const accBytes = fromHex(acc.toString(16).padStart(64, '0'));
            return toHex(blake2b256(concatBytes(ascii('LEIOS-UTXO-SET'), accBytes, u64be(set.length))));
          };
          for (const x of es) expect(toHex(utxoEntryDigest(x))).toBe(toHex(digest(x)));
          const u = MemoryUtxo.fromEntries(es);
          expect(toHex(u.stateHash())).toBe(expected(es));
          // removals go through the subtraction path of the accumulator
          const removed = es.slice(0, Math.min(removeCount, es.length));
          u.apply({ consumed: removed, produced: [] });
          expect(toHex(u.stateHash())).toBe(expected(es.slice(removed.length)));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('apply / undo are atomic and check their preconditions', () => {
    const u = MemoryUtxo.fromEntries([e(1, 5n), e(2, 6n)]);
    const h = toHex(u.stateHash());
    expect(() => u.apply({ consumed: [e(1, 5n), e(3, 1n)], produced: [] })).toThrow(/not present/);
    expect(() => u.apply({ consumed: [e(1, 5n)], produced: [e(2, 6n)] })).toThrow(/already present/);
    expect(() => u.apply({ consumed: [e(1, 4n)], produced: [] })).toThrow(/not present/);
    expect(() => u.undo({ consumed: [], produced: [e(7, 1n)] })).toThrow(/not present/);
    expect(() => u.undo({ consumed: [e(2, 6n)], produced: [] })).toThrow(/is present/);
    expect(toHex(u.stateHash())).toBe(h);
    expect(u.size).toBe(2);
    expect(() => MemoryUtxo.fromEntries([e(1, 5n), e(1, 5n)])).toThrow(/repeated/);
  });

  it('pending hash updates are folded in past the bound and the hash stays exact', () => {
    const u = MemoryUtxo.fromEntries([e(1, 5n)]);
    const h = toHex(u.stateHash());
    const d = { consumed: [e(1, 5n)], produced: [e(2, 5n), e(3, 6n)] };
    for (let i = 0; i < 12_000; i++) {
      u.apply(d);
      u.undo(d);
    }
    u.apply(d);
    expect(toHex(u.stateHash())).toBe(toHex(utxoSetHash([e(2, 5n), e(3, 6n)])));
    u.undo(d);
    expect(toHex(u.stateHash())).toBe(h);
  });

  it('reset replaces the content in place (stacked views follow) and is atomic', () => {
    const u = MemoryUtxo.fromEntries([e(1, 5n), e(2, 6n)]);
    const view = new OverlayUtxo(u);
    u.reset([e(3, 7n)]);
    expect(view.get(genesisTxId(1), 0)).toBeUndefined();
    expect(view.get(genesisTxId(3), 0)?.amount).toBe(7n);
    expect(toHex(u.stateHash())).toBe(toHex(utxoSetHash([e(3, 7n)])));
    expect(() => u.reset([e(4, 1n), e(4, 1n)])).toThrow();
    expect(sortedEntries(u)).toEqual(sortedEntries(MemoryUtxo.fromEntries([e(3, 7n)])));
    expect(toHex(u.stateHash())).toBe(toHex(utxoSetHash([e(3, 7n)])));
  });

  it('clone is independent', () => {
    const u = MemoryUtxo.fromEntries([e(1, 5n)]);
    const c = u.clone();
    c.apply({ consumed: [e(1, 5n)], produced: [e(2, 5n)] });
    expect(u.get(genesisTxId(1), 0)?.amount).toBe(5n);
    expect(c.get(genesisTxId(1), 0)).toBeUndefined();
    expect(toHex(u.stateHash())).not.toBe(toHex(c.stateHash()));
    expect(toHex(c.stateHash())).toBe(toHex(utxoSetHash([e(2, 5n)])));
  });
});

describe('OverlayUtxo', () => {
  const e = (n: number, amount: bigint): UtxoEntry => ({
    ref: { txId: genesisTxId(n), index: 0 },
    output: { address: wallets[0]!.address, amount: amount as Lovelace },
  });

  it('shows pending outputs, hides pending spends, never writes the base, and undoes exactly', () => {
    const base = MemoryUtxo.fromEntries([e(1, 1n), e(2, 2n)]);
    const h = toHex(base.stateHash());
    const ov = new OverlayUtxo(base);
    const d1 = { consumed: [e(1, 1n)], produced: [e(3, 3n)] };
    const d2 = { consumed: [e(3, 3n)], produced: [e(4, 4n)] };
    ov.apply(d1);
    ov.apply(d2);
    expect(ov.get(genesisTxId(1), 0)).toBeUndefined();
    expect(ov.get(genesisTxId(2), 0)?.amount).toBe(2n);
    expect(ov.get(genesisTxId(3), 0)).toBeUndefined();
    expect(ov.get(genesisTxId(4), 0)?.amount).toBe(4n);
    expect(base.get(genesisTxId(1), 0)?.amount).toBe(1n);
    expect(toHex(base.stateHash())).toBe(h);
    const net = ov.netDelta();
    expect(net.consumed.map((x) => x.output.amount)).toEqual([1n]);
    expect(net.produced.map((x) => x.output.amount)).toEqual([4n]);
    expect(() => ov.apply({ consumed: [e(1, 1n)], produced: [] })).toThrow(/not visible/);
    expect(() => ov.apply({ consumed: [], produced: [e(2, 2n)] })).toThrow(/already visible/);
    ov.undo(d2);
    expect(ov.get(genesisTxId(3), 0)?.amount).toBe(3n);
    expect(ov.get(genesisTxId(4), 0)).toBeUndefined();
    ov.undo(d1);
    expect(ov.get(genesisTxId(1), 0)?.amount).toBe(1n);
    expect(ov.netDelta()).toEqual({ consumed: [], produced: [] });
    // committing the net delta equals applying step by step
    ov.apply(d1);
    ov.apply(d2);
    const seq = base.clone();
    seq.apply(d1);
    seq.apply(d2);
    base.apply(ov.netDelta());
    expect(toHex(base.stateHash())).toBe(toHex(seq.stateHash()));
    ov.clear();
    expect(ov.get(genesisTxId(4), 0)?.amount).toBe(4n);
  });
});

describe('vote-key registrations (§3.3a)', () => {
  const pool = (n: number) => new Uint8Array(28).fill(n) as PoolId;
  const key = (n: number) => ({ vk: new Uint8Array(96).fill(n), pop: new Uint8Array(48).fill(n) });
  const reg = (p: number, k: number, epoch: number, slot: number, position = 0): KeyRegistration => ({
    poolId: pool(p),
    voteKey: key(k),
    epoch,
    slot,
    position,
  });

  it('a registration of epoch e takes effect from e+2; the latest wins per pool', () => {
    const regs = [reg(1, 10, 3, 3_600), reg(1, 11, 4, 4_900), reg(2, 20, 4, 4_900, 1), reg(2, 21, 4, 4_900, 0), reg(3, 30, 5, 6_000)];
    const at = (e: number) => {
      const m = effectiveVoteKeys(regs, e);
      return Object.fromEntries([...m].map(([k, v]) => [k.slice(0, 2), v.vk[0]]));
    };
    expect(at(4)).toEqual({});
    expect(at(5)).toEqual({ '01': 10 });
    expect(at(6)).toEqual({ '01': 11, '02': 20 });
    expect(at(7)).toEqual({ '01': 11, '02': 20, '03': 30 });
    // input order does not matter
    expect(effectiveVoteKeys([...regs].reverse(), 7)).toEqual(effectiveVoteKeys(regs, 7));
  });

  it('keyRegistrationsOf tags a block delta’s registrations with epoch, slot and position', () => {
    const d: BlockDelta = {
      consumed: [],
      produced: [],
      txs: [
        { txId: genesisTxId(0), txHash: genesisTxId(0), fee: 0n as Lovelace, keyRegs: [{ poolId: pool(1), voteKey: key(1) }], consumed: [], produced: [] },
        {
          txId: genesisTxId(1),
          txHash: genesisTxId(1),
          fee: 0n as Lovelace,
          keyRegs: [
            { poolId: pool(2), voteKey: key(2) },
            { poolId: pool(1), voteKey: key(3) },
          ],
          consumed: [],
          produced: [],
        },
      ],
    };
    const rs = keyRegistrationsOf(d, 4, 4_800);
    expect(rs.map((r) => [r.poolId[0], r.voteKey.vk[0], r.epoch, r.slot, r.position])).toEqual([
      [1, 1, 4, 4_800, 0],
      [2, 2, 4, 4_800, 1],
      [1, 3, 4, 4_800, 2],
    ]);
    // within one block the later registration of pool 1 wins
    expect(effectiveVoteKeys(rs, 6).get(toHex(pool(1)))?.vk[0]).toBe(3);
  });
});

