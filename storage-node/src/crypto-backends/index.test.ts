/**
 * installNodeCryptoBackends and nodeLedgerVerifiers: the process-wide Blake2b switch and ledger
 * `apply` (PROTOCOL.md §5.3) through the Node verifiers give the same results as the shared
 * defaults, valid and invalid txs alike.
 */
import { toHex } from '@leios/shared/bytes';
import { blake2b224, blake2b256, blake2bBackend, ed25519Sign, nobleBlake2b, popVerify } from '@leios/shared/crypto';
import { TxInvalidError } from '@leios/shared/errors';
import {
  applyBlock,
  buildTx,
  decodeTx,
  encodeTx,
  genesisEntries,
  type LedgerVerifiers,
  MemoryUtxo,
  minFee,
  type Tx,
  walletFor,
} from '@leios/shared/ledger';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HASH_WASM_BACKEND_NAME, installNodeCryptoBackends, nodeLedgerVerifiers } from './index';

describe('installNodeCryptoBackends', () => {
  it('switches shared Blake2b to hash-wasm, idempotently, with identical digests', async () => {
    expect(blake2bBackend().name).toBe('noble');
    const first = await installNodeCryptoBackends();
    const again = await installNodeCryptoBackends();
    expect(again).toBe(first);
    expect(blake2bBackend().name).toBe(HASH_WASM_BACKEND_NAME);
    expect(first.blake2b).toBe(blake2bBackend());
    expect(first.verifiers.pop).toBe(popVerify);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 70_000 }), (data) => {
        expect(toHex(blake2b256(data))).toBe(toHex(nobleBlake2b.digest(data, 32)));
        expect(toHex(blake2b224(data))).toBe(toHex(nobleBlake2b.digest(data, 28)));
      }),
      { numRuns: 100 },
    );
  });
});

describe('nodeLedgerVerifiers with the shared ledger', () => {
  const wallets = Array.from({ length: 8 }, (_, i) => walletFor(`cb-${i}`));
  const AMOUNT = 1_000_000_000n;
  const genesis = genesisEntries(
    wallets.map((w) => w.address),
    40,
    AMOUNT,
  );

  function makeTx(i: number): Tx {
    const e = genesis[i];
    const owner = wallets[i % wallets.length];
    const to = wallets[(i + 1) % wallets.length];
    if (e === undefined || owner === undefined || to === undefined) throw new Error('test setup: index out of range');
    const draft = (fee: bigint) =>
      buildTx({
        inputs: [e.ref],
        outputs: [
          { address: to.address, amount: 1_000_000n },
          { address: owner.address, amount: AMOUNT - 1_000_000n - fee },
        ],
        fee,
        ttlSlot: 1_000_000,
        signers: [owner.seed],
      });
    return draft(minFee(draft(200_000n).bytes.length));
  }

  /** Apply one block at level `apply`; the error rule or the final state hash. */
  function outcome(txs: readonly Tx[], verifiers?: LedgerVerifiers): string {
    const u = MemoryUtxo.fromEntries(genesis);
    try {
      u.apply(applyBlock(u, { slot: 100, txs, level: 'apply' }, verifiers ? { verifiers } : {}));
      return `ok ${toHex(u.stateHash())}`;
    } catch (e) {
      if (e instanceof TxInvalidError) return `invalid ${e.rule}`;
      throw e;
    }
  }

  it('applies valid txs to the same state as the shared verifiers', () => {
    const v = nodeLedgerVerifiers();
    const txs = Array.from({ length: 30 }, (_, i) => makeTx(i));
    const want = outcome(txs);
    expect(want.startsWith('ok ')).toBe(true);
    expect(outcome(txs, v)).toBe(want);
    expect(v.ed25519.stats.fastAccepted).toBe(30);
    expect(v.ed25519.stats.fallbacks).toBe(0);
  });

  it('rejects a tx with a bad witness signature exactly as the shared verifiers do', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 39 }), fc.integer({ min: 0, max: 511 }), (i, bit) => {
        const tx = makeTx(i);
        const w = tx.witnesses[0];
        if (w === undefined) throw new Error('test setup: tx without witness');
        const sig = w.sig.slice();
        sig[bit >> 3] = (sig[bit >> 3] as number) ^ (1 << (bit & 7));
        const bad = decodeTx(encodeTx(tx.bodyBytes, [{ vk: w.vk, sig }]));
        const v = nodeLedgerVerifiers();
        const want = outcome([bad]);
        expect(want).toBe('invalid bad-signature');
        expect(outcome([bad], v)).toBe(want);
      }),
      { numRuns: 40 },
    );
  });

  it('accepts a witness signed by the right key over another message only if shared does (never)', () => {
    const tx = makeTx(3);
    const w = tx.witnesses[0];
    const owner = wallets[3];
    if (w === undefined || owner === undefined) throw new Error('test setup');
    const wrong = decodeTx(encodeTx(tx.bodyBytes, [{ vk: w.vk, sig: ed25519Sign(owner.seed, tx.hash) }]));
    expect(outcome([wrong])).toBe('invalid bad-signature');
    expect(outcome([wrong], nodeLedgerVerifiers())).toBe('invalid bad-signature');
  });
});
