import { TxInvalidError } from '@leios/shared/errors';
import { buildPayment, DEFAULT_LEDGER_PARAMS, poolLookup } from '@leios/shared/ledger';
import { describe, expect, it } from 'vitest';
import { MempoolRejectedError } from '../errors';
import { LedgerState } from '../ledger/index';
import { WalletSet } from '../testkit/index';
import { Mempool } from './index';

function setup(capacityBytes = 1_000_000) {
  const ws = new WalletSet(4, 'mp');
  const initialUtxo = ws.genesis(8, 1_000_000_000_000n);
  const ledger = new LedgerState({ mode: 'utxo', initialUtxo, params: DEFAULT_LEDGER_PARAMS, pools: poolLookup([]) });
  const mempool = new Mempool(ledger.mempoolLedger(), { capacityBytes });
  return { ws, ledger, mempool, initialUtxo };
}

function rejection(f: () => unknown): MempoolRejectedError {
  try {
    f();
  } catch (e) {
    if (e instanceof MempoolRejectedError) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}

describe('Mempool (§5.5)', () => {
  it('admits valid txs in FIFO order, including chains of pending txs', () => {
    const { ws, mempool } = setup();
    const txs = Array.from({ length: 12 }, () => ws.pay()); // 8 genesis entries: later ones spend pending change
    for (const tx of txs) mempool.add(tx.bytes, 10);
    expect([...mempool.entries()].map((e) => e.refHash)).toEqual(txs.map((t) => t.hash));
    expect(mempool.size).toBe(12);
    expect(mempool.bytes).toBe(txs.reduce((s, t) => s + t.bytes.length, 0));
    expect(mempool.hasRef(txs[3]!.hash)).toBe(true);
  });

  it('rejects duplicates, invalid txs (with the rule), double spends of pending inputs, and a full pool', () => {
    const { ws, mempool, initialUtxo } = setup(2000);
    const a = ws.pay();
    mempool.add(a.bytes, 1);
    expect(rejection(() => mempool.add(a.bytes, 1)).code).toBe('duplicate');
    const g = initialUtxo[0]!; // spent by `a`
    const w = ws.wallets[0]!;
    const doubleSpend = buildPayment({
      inputs: [{ ...g.ref, amount: g.output.amount }],
      outputs: [{ address: ws.wallets[2]!.address, amount: 5_000_000n }],
      changeAddress: w.address,
      ttlSlot: 1000,
      signers: [w.seed],
    });
    const ds = rejection(() => mempool.add(doubleSpend.bytes, 1));
    expect(ds.code).toBe('invalid');
    expect(ds.rule).toBe('input-missing');
    const expired = ws.pay({ ttlSlot: 5 });
    expect(rejection(() => mempool.add(expired.bytes, 6)).rule).toBe('expired');
    expect(rejection(() => mempool.add(new Uint8Array([0x82, 0x01]), 1)).code).toBe('invalid');
    // capacity 2000 bytes: a tx is ~260 bytes
    let full: MempoolRejectedError | undefined;
    for (let i = 0; i < 10 && !full; i++) {
      try {
        mempool.add(ws.pay().bytes, 1);
      } catch (e) {
        if (!(e instanceof MempoolRejectedError)) throw e;
        full = e;
      }
    }
    expect(full?.code).toBe('full');
    expect(mempool.bytes).toBeLessThanOrEqual(2000);
  });

  it('drops included txs and their double spends after the tip moves, keeping the rest in order (§16 case 28)', () => {
    const { ws, ledger, mempool, initialUtxo } = setup();
    const txs = Array.from({ length: 6 }, () => ws.pay());
    for (const tx of txs) mempool.add(tx.bytes, 1);
    // a competing block spends the genesis entry txs[1] spends, and includes txs[0]
    const spent = txs[1]!.body.inputs[0]!;
    const g = initialUtxo.find((e) => e.ref.txId.every((b, i) => b === spent.txId[i]) && e.ref.index === spent.index)!;
    const w = ws.wallets.find((x) => x.address.every((b, i) => b === g.output.address[i]))!;
    const rival = buildPayment({
      inputs: [{ ...g.ref, amount: g.output.amount }],
      outputs: [{ address: ws.wallets[3]!.address, amount: 7_000_000n }],
      changeAddress: w.address,
      ttlSlot: 1000,
      signers: [w.seed],
    });
    ledger.applyBlock(new Uint8Array(32) as never, { slot: 2, txs: [txs[0]!, rival] });
    const removed = mempool.revalidate(3);
    expect(removed.map((r) => r.entry.refHash)).toEqual([txs[0]!.hash, txs[1]!.hash]);
    expect(removed.every((r) => r.error instanceof TxInvalidError)).toBe(true);
    expect([...mempool.entries()].map((e) => e.refHash)).toEqual(txs.slice(2).map((t) => t.hash));
    // a tx already on the chain is a duplicate
    expect(rejection(() => mempool.add(txs[0]!.bytes, 3)).code).toBe('duplicate');
  });

  it('works in opaque mode: size limit and not already on the chain (§5.6)', () => {
    const ledger = new LedgerState({ mode: 'opaque', params: DEFAULT_LEDGER_PARAMS, pools: poolLookup([]) });
    const mempool = new Mempool(ledger.mempoolLedger(), { capacityBytes: 100_000 });
    const tx = new Uint8Array([0x43, 1, 2, 3]);
    mempool.add(tx, 0);
    expect(rejection(() => mempool.add(tx, 0)).code).toBe('duplicate');
    const big = new Uint8Array(16_385);
    big[0] = 0x59;
    big[1] = 0x3f;
    big[2] = 0xfe;
    expect(rejection(() => mempool.add(big, 0)).rule).toBe('tx-too-large');
    ledger.applyBlock(new Uint8Array(32) as never, { slot: 1, txs: [ledger.decodeTx(tx)] });
    expect(mempool.revalidate(1).length).toBe(1);
    expect(mempool.size).toBe(0);
  });
});
