import { toHex } from '@leios/shared/bytes';
import { blake2b256 } from '@leios/shared/crypto';
import { BlockTxError, buildPayment, DEFAULT_LEDGER_PARAMS, poolLookup, type Tx } from '@leios/shared/ledger';
import type { Hash32 } from '@leios/shared/types';
import { utxoSetHash } from '@leios/shared/ledger';
import type { Epoch } from '@leios/shared/types';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../db/index';
import { GENESIS_POINT, type LedgerCheckpoint, UtxoStore } from '../../stores/utxo/index';
import { openTestDb } from '../../test-support/index';
import { WalletSet } from '../testkit/index';
import { type ImmutableBlock, ImmutableLedger, LedgerState, MAX_PENDING_SEGMENTS } from './index';

const ws = new WalletSet(5, 'ls');
const initialUtxo = ws.genesis(10, 1_000_000_000_000n);
const initialValue = initialUtxo.reduce((s, e) => s + e.output.amount, 0n);
// one valid chain of payments, each valid on the state after the previous ones
const chainTxs: Tx[] = Array.from({ length: 40 }, () => ws.pay());
const fees = (txs: readonly Tx[]) => txs.reduce((s, t) => s + t.body.fee, 0n);

const newLedger = () => new LedgerState({ mode: 'utxo', initialUtxo, params: DEFAULT_LEDGER_PARAMS, pools: poolLookup([]) });
const blockHash = (i: number) => blake2b256(new Uint8Array([i, i >> 8])) as Hash32;

/** Split `txs` into consecutive blocks at the given cut points. */
function blocks(txs: readonly Tx[], cuts: readonly number[]): Tx[][] {
  const points = [...new Set(cuts.map((c) => c % (txs.length + 1)))].sort((a, b) => a - b);
  const out: Tx[][] = [];
  let from = 0;
  for (const p of [...points, txs.length]) {
    out.push(txs.slice(from, p));
    from = p;
  }
  return out;
}

describe('LedgerState (§5)', () => {
  it('property: value is conserved (Σ UTxO = initial − fees) and no output is spent twice', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.array(fc.nat(), { maxLength: 8 }), (n, cuts) => {
        const l = newLedger();
        const txs = chainTxs.slice(0, n);
        blocks(txs, cuts).forEach((b, i) => {
          l.applyBlock(blockHash(i), { slot: i + 1, txs: b });
        });
        expect(l.totalValue()).toBe(initialValue - fees(txs));
        // replaying any applied tx is a double spend and changes nothing
        const before = toHex(l.stateHash());
        const again = txs[n - 1]!;
        expect(() => l.applyBlock(blockHash(999), { slot: 99, txs: [again] })).toThrow(BlockTxError);
        expect(toHex(l.stateHash())).toBe(before);
      }),
      { numRuns: 30 },
    );
  });

  it('property: noValidate after apply reaches the same state hash as apply', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.array(fc.nat(), { maxLength: 8 }), (n, cuts) => {
        const a = newLedger();
        const b = newLedger();
        const bs = blocks(chainTxs.slice(0, n), cuts);
        bs.forEach((txs, i) => {
          a.applyBlock(blockHash(i), { slot: i + 1, txs, level: 'apply' });
          b.applyBlock(blockHash(i), { slot: i + 1, txs, level: 'noValidate' });
        });
        expect(toHex(b.stateHash())).toBe(toHex(a.stateHash()));
        expect(b.size).toBe(a.size);
      }),
      { numRuns: 30 },
    );
  });

  it('property: rollback then replay reproduces the state hash, and rollback restores earlier hashes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 40 }), fc.array(fc.nat(), { minLength: 1, maxLength: 8 }), fc.nat(), (n, cuts, d) => {
        const l = newLedger();
        const bs = blocks(chainTxs.slice(0, n), cuts);
        const hashes = [toHex(l.stateHash())];
        bs.forEach((txs, i) => {
          l.applyBlock(blockHash(i), { slot: i + 1, txs });
          hashes.push(toHex(l.stateHash()));
        });
        const depth = d % (bs.length + 1);
        for (let i = bs.length - 1; i >= bs.length - depth; i--) {
          l.undoBlock(blockHash(i));
          expect(toHex(l.stateHash())).toBe(hashes[i]);
        }
        for (let i = bs.length - depth; i < bs.length; i++) l.applyBlock(blockHash(i), { slot: i + 1, txs: bs[i]!, level: 'reapply' });
        expect(toHex(l.stateHash())).toBe(hashes[hashes.length - 1]);
      }),
      { numRuns: 30 },
    );
  });

  it('applies a certified EB closure before the CertRB and flags a closure with a missing input (§5.3, §5.4)', () => {
    const l = newLedger();
    l.applyBlock(blockHash(1), { slot: 1, txs: chainTxs.slice(0, 3) });
    // the CertRB applies the EB txs of its parent at no-validate
    l.applyBlock(blockHash(2), { slot: 20, txs: [], certifiedEb: { txs: chainTxs.slice(3, 8), slot: 1 } });
    expect(l.totalValue()).toBe(initialValue - fees(chainTxs.slice(0, 8)));
    // a closure spending something already spent invalidates the CertRB
    let err: unknown;
    try {
      l.applyBlock(blockHash(3), { slot: 40, txs: [], certifiedEb: { txs: [chainTxs[0]!], slot: 21 } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BlockTxError);
    expect((err as BlockTxError).part).toBe('eb');
    expect((err as BlockTxError).rule).toBe('input-missing');
    l.undoBlock(blockHash(2));
    expect(l.totalValue()).toBe(initialValue - fees(chainTxs.slice(0, 3)));
    expect(() => l.undoBlock(blockHash(2))).toThrow();
  });

  it('checks txs on the tip state without changing it, at apply level (signatures) or reapply', () => {
    const l = newLedger();
    const tx = chainTxs[0]!;
    const w = ws.wallets[4]!;
    // a tx spending alice's entry signed by another key fails (witness-missing)
    const forged = buildPayment({
      inputs: [{ ...tx.body.inputs[0]!, amount: initialUtxo[0]!.output.amount }],
      outputs: [{ address: w.address, amount: 2_000_000n }],
      changeAddress: w.address,
      ttlSlot: 100,
      signers: [w.seed],
    });
    const before = toHex(l.stateHash());
    expect(() => l.checkTxs([forged], 'apply', 1)).toThrow(BlockTxError);
    l.checkTxs(chainTxs.slice(0, 5), 'apply', 1);
    expect(toHex(l.stateHash())).toBe(before);
  });
});

describe('ImmutableLedger (the database checkpoint, ./checkpoint)', () => {
  let database: Database;
  beforeAll(async () => {
    database = await openTestDb();
  });
  afterAll(() => database.close());

  const nonce = (i: number) => ({ epoch: 0 as Epoch, eta: blockHash(5000 + i), acc: blockHash(6000 + i) });

  /** A ledger and a store at genesis, and a function applying block i (txs) and returning its record. */
  async function setup() {
    await database.raw.query('truncate ledger_utxo, ledger_tx_ids, ledger_key_regs, ledger_nonces, ledger_checkpoint');
    const store = new UtxoStore(database);
    const l = newLedger();
    const first: LedgerCheckpoint = { mode: 'utxo', point: GENESIS_POINT, stateHash: l.stateHash(), size: l.size, txCount: 0, nonce: nonce(0) };
    await store.write(null, { checkpoint: first, produced: initialUtxo });
    const imm = new ImmutableLedger(first, l.checkpointState());
    const block = (i: number, txs: readonly Tx[]): ImmutableBlock => {
      const applied = l.applyBlock(blockHash(i), { slot: i, txs });
      l.trimUndo(0);
      return { applied, blockNo: i, epoch: 0, nonce: nonce(i) };
    };
    const flush = async () => {
      const f = imm.prepare();
      if (!f) return 0;
      try {
        await store.write(f.from, f.write);
      } catch (e) {
        imm.failed(f);
        throw e;
      }
      imm.committed(f);
      return f.blocks;
    };
    return { store, l, imm, block, flush };
  }

  it('writes queued blocks as one change; a failed write keeps them queued; the stored set is the ledger\'s', async () => {
    const { store, l, imm, block, flush } = await setup();
    imm.enqueue([block(1, chainTxs.slice(0, 3)), block(2, chainTxs.slice(3, 4))]);
    expect(() => imm.enqueue([block(4, [])])).toThrow(/does not follow/);
    // a write that fails (another writer moved the stored checkpoint meanwhile) changes nothing
    const f = imm.prepare()!;
    expect(imm.prepare()).toBeNull(); // one move at a time
    imm.enqueue([block(3, chainTxs.slice(4, 6))]); // the queue still grows while a move is in flight
    await database.raw.query('update ledger_checkpoint set block_no = 99, hash = $1', [blockHash(99)]);
    await expect(store.write(f.from, f.write)).rejects.toThrow(/not-connected/);
    imm.failed(f);
    expect(imm.pendingBlocks).toBe(3);
    await database.raw.query('update ledger_checkpoint set block_no = 0, hash = null');
    expect(await flush()).toBe(3);
    expect(imm.pendingBlocks).toBe(0);
    const loaded = (await store.load())!;
    expect(loaded.checkpoint.point).toEqual({ blockNo: 3, hash: blockHash(3), slot: 3 });
    expect(toHex(loaded.checkpoint.stateHash)).toBe(toHex(l.stateHash()));
    expect(toHex(utxoSetHash(loaded.entries))).toBe(toHex(l.stateHash()));
    expect(loaded.checkpoint.txCount).toBe(6);
    expect(imm.checkpoint).toEqual(loaded.checkpoint);
  });

  it(`past ${MAX_PENDING_SEGMENTS} queued blocks the queue is composed into one segment, with the same result`, async () => {
    const { store, l, imm, block, flush } = await setup();
    const n = MAX_PENDING_SEGMENTS + 5;
    const blocks: ImmutableBlock[] = [];
    for (let i = 1; i <= n; i++) blocks.push(block(i, i <= chainTxs.length ? [chainTxs[i - 1]!] : []));
    imm.enqueue(blocks);
    expect(imm.pendingBlocks).toBe(n);
    expect(await flush()).toBe(n);
    const loaded = (await store.load())!;
    expect(loaded.checkpoint.point.blockNo).toBe(n);
    expect(toHex(utxoSetHash(loaded.entries))).toBe(toHex(l.stateHash()));
    expect(loaded.checkpoint.txCount).toBe(chainTxs.length);
  });
});
