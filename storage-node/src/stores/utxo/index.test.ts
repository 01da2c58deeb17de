import { ascii, concatBytes, toHex, u64be } from '@leios/shared/bytes';
import { blake2b224, blake2b256 } from '@leios/shared/crypto';
import { composeDeltas, genesisTxId, MemoryUtxo, type UtxoDelta, type UtxoEntry } from '@leios/shared/ledger';
import type { Address, Hash32, Lovelace, PoolId } from '@leios/shared/types';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../db/index';
import { isStorageError, type StorageErrorCode } from '../../errors/index';
import { openTestDb } from '../../test-support/index';
import { GENESIS_POINT, type KeyRegRecord, type LedgerCheckpoint, type LedgerPoint, type NonceRecord, UtxoStore } from './index';

let database: Database;
beforeAll(async () => {
  database = await openTestDb();
});
afterAll(() => database.close());
beforeEach(async () => {
  await database.raw.query('truncate ledger_utxo, ledger_tx_ids, ledger_key_regs, ledger_nonces, ledger_checkpoint');
});

const h32 = (label: string) => blake2b256(ascii(label)) as Hash32;
const addr = (n: number) => blake2b224(u64be(n)) as Address;
const entry = (txId: Hash32, index: number, amount: bigint, a = 0): UtxoEntry => ({
  ref: { txId, index },
  output: { address: addr(a), amount: amount as Lovelace },
});
const point = (blockNo: number): LedgerPoint => ({ blockNo, hash: h32(`block-${blockNo}`), slot: 10 * blockNo });
const nonce = (epoch: number): NonceRecord => ({ epoch, eta: h32(`eta-${epoch}`), acc: h32(`acc-${epoch}`) });
const checkpoint = (p: LedgerPoint, size: number, txCount = 0, mode: 'utxo' | 'opaque' = 'utxo'): LedgerCheckpoint => ({
  mode,
  point: p,
  stateHash: h32(`state-${p.blockNo}-${size}`),
  size,
  txCount,
  nonce: nonce(p.blockNo),
});
const keyReg = (blockNo: number, position: number): KeyRegRecord => ({
  blockNo,
  position,
  epoch: blockNo >> 1,
  poolId: blake2b224(ascii(`pool-${position}`)) as PoolId,
  voteKey: { vk: new Uint8Array(96).fill(blockNo), pop: new Uint8Array(48).fill(position) },
});
/** Entries as comparable strings. */
const show = (es: readonly UtxoEntry[]) => es.map((e) => `${toHex(e.ref.txId)}#${e.ref.index}=${toHex(e.output.address)}:${e.output.amount}`).sort();

async function code(p: Promise<unknown>): Promise<StorageErrorCode | string> {
  return p.then(
    () => 'ok',
    (e: unknown) => (isStorageError(e) ? e.code : String(e)),
  );
}

const GENESIS = [entry(genesisTxId(0), 0, 5n), entry(genesisTxId(1), 0, (1n << 64n) - 1n, 1), entry(genesisTxId(2), 3, 1n, 2)];

describe('UtxoStore', () => {
  it('writes the first checkpoint and loads it back: entries (uint64 amounts), registrations, nonces', async () => {
    const store = new UtxoStore(database, { now: () => 7 });
    expect(await store.checkpoint()).toBeNull();
    expect(await store.load()).toBeNull();
    const first = checkpoint(GENESIS_POINT, GENESIS.length);
    await store.write(null, { checkpoint: first, produced: GENESIS, nonces: [nonce(0)] });
    expect(await store.checkpoint()).toEqual(first);
    const loaded = await store.load();
    expect(loaded?.checkpoint).toEqual(first);
    expect(show(loaded!.entries)).toEqual(show(GENESIS));
    expect(loaded!.nonces).toEqual([nonce(0)]);
    expect(loaded!.keyRegs).toEqual([]);
    // a second first checkpoint is refused
    expect(await code(store.write(null, { checkpoint: first, produced: [] }))).toBe('not-connected');
  });

  it('moves the checkpoint with the net change; the loaded set is the applied one', async () => {
    const store = new UtxoStore(database, { batch: 2 }); // several statements per list and several pages
    await store.write(null, { checkpoint: checkpoint(GENESIS_POINT, GENESIS.length), produced: GENESIS });
    const t1 = h32('tx-1');
    const produced = [0, 1, 2, 3, 4].map((i) => entry(t1, i, BigInt(100 + i), i));
    const delta = { consumed: [GENESIS[0]!, GENESIS[2]!], produced };
    const cp3 = checkpoint(point(3), GENESIS.length - 2 + 5, 4);
    await store.write(GENESIS_POINT, { checkpoint: cp3, ...delta, keyRegs: [keyReg(2, 0), keyReg(3, 0), keyReg(3, 1)], nonces: [nonce(0), nonce(1)] });
    const loaded = await store.load();
    expect(loaded?.checkpoint).toEqual(cp3);
    expect(show(loaded!.entries)).toEqual(show([GENESIS[1]!, ...produced]));
    expect(loaded!.keyRegs).toEqual([keyReg(2, 0), keyReg(3, 0), keyReg(3, 1)]);
    expect(loaded!.nonces).toEqual([nonce(0), nonce(1)]);
    // the nonce of an epoch is replaced when a later block of that epoch is written
    const later = { epoch: 1, eta: h32('eta-1b'), acc: h32('acc-1b') };
    await store.write(point(3), { checkpoint: checkpoint(point(4), cp3.size, 4), nonces: [later] });
    expect((await store.load())!.nonces).toEqual([nonce(0), later]);
  });

  it('refuses a write that does not extend the stored checkpoint or does not fit it, and changes nothing', async () => {
    const store = new UtxoStore(database, { batch: 2 });
    const first = checkpoint(GENESIS_POINT, GENESIS.length);
    await store.write(null, { checkpoint: first, produced: GENESIS });
    const fresh = [entry(h32('tx-2'), 0, 9n), entry(h32('tx-2'), 1, 9n)];
    // one after the other (thunks): started together they would race, and a rejection not yet
    // awaited is an unhandled one
    const cases: Array<[string, () => Promise<unknown>]> = [
      // the stored checkpoint is genesis, not block 2
      ['not-connected', () => store.write(point(2), { checkpoint: checkpoint(point(3), GENESIS.length + 2), produced: fresh })],
      // not above the stored point
      ['not-connected', () => store.write(GENESIS_POINT, { checkpoint: checkpoint(GENESIS_POINT, GENESIS.length) })],
      // the second consumed entry is stored with another amount (the first one was deleted already)
      [
        'not-found',
        () =>
          store.write(GENESIS_POINT, {
          checkpoint: checkpoint(point(1), GENESIS.length - 2 + 2),
          consumed: [GENESIS[0]!, entry(genesisTxId(1), 0, 4n, 1)],
          produced: fresh,
        }),
      ],
      // an output that is stored already
      ['invalid', () => store.write(GENESIS_POINT, { checkpoint: checkpoint(point(1), GENESIS.length + 1), produced: [GENESIS[1]!] })],
      // counts that do not add up
      ['invalid', () => store.write(GENESIS_POINT, { checkpoint: checkpoint(point(1), GENESIS.length + 3), produced: fresh })],
      // another ledger mode
      ['invalid', () => store.write(GENESIS_POINT, { checkpoint: checkpoint(point(1), GENESIS.length, 0, 'opaque') })],
      // malformed input
      ['invalid', () => store.write(GENESIS_POINT, { checkpoint: checkpoint(point(1), GENESIS.length + 1), produced: [entry(h32('x'), 0, 1n << 64n)] })],
    ];
    for (const [expected, run] of cases) expect(await code(run())).toBe(expected);
    const loaded = await store.load();
    expect(loaded?.checkpoint).toEqual(first);
    expect(show(loaded!.entries)).toEqual(show(GENESIS));
  });

  it('a failure after the write inside the caller’s transaction (a crash) leaves the previous checkpoint', async () => {
    const store = new UtxoStore(database);
    const first = checkpoint(GENESIS_POINT, GENESIS.length);
    await store.write(null, { checkpoint: first, produced: GENESIS });
    const err = await database
      .transaction(async (tx) => {
        await store.write(GENESIS_POINT, { checkpoint: checkpoint(point(1), 2), consumed: [GENESIS[0]!], keyRegs: [keyReg(1, 0)], nonces: [nonce(0)] }, tx);
        throw new Error('crash before commit');
      })
      .catch((e: unknown) => e);
    expect(String(err)).toMatch(/crash before commit/);
    const loaded = await store.load();
    expect(loaded?.checkpoint).toEqual(first);
    expect(show(loaded!.entries)).toEqual(show(GENESIS));
    expect(loaded!.keyRegs).toEqual([]);
    expect(loaded!.nonces).toEqual([]);
  });

  it('load reports a stored set whose size differs from the checkpoint row', async () => {
    const store = new UtxoStore(database);
    await store.write(null, { checkpoint: checkpoint(GENESIS_POINT, GENESIS.length), produced: GENESIS });
    await database.raw.query('delete from ledger_utxo where idx = 3');
    expect(await code(store.load())).toBe('size-mismatch');
  });

  it('opaque mode: tx ids, no UTxO entries', async () => {
    const store = new UtxoStore(database, { batch: 2 });
    const ids = [0, 1, 2, 3, 4].map((i) => h32(`opaque-${i}`));
    await store.write(null, { checkpoint: checkpoint(GENESIS_POINT, 0, 0, 'opaque') });
    await store.write(GENESIS_POINT, { checkpoint: checkpoint(point(2), 3, 3, 'opaque'), ids: ids.slice(0, 3) });
    // an id already on the chain is refused
    expect(await code(store.write(point(2), { checkpoint: checkpoint(point(3), 4, 4, 'opaque'), ids: [ids[0]!] }))).toBe('invalid');
    await store.write(point(2), { checkpoint: checkpoint(point(5), 5, 5, 'opaque'), ids: ids.slice(3) });
    const loaded = await store.load();
    expect(loaded?.checkpoint.point).toEqual(point(5));
    expect(loaded!.ids.map(toHex).sort()).toEqual(ids.map(toHex).sort());
    expect(loaded!.entries).toEqual([]);
  });

  it('property: after any sequence of composed block deltas the stored set is the set they lead to', async () => {
    const store = new UtxoStore(database, { batch: 3 });
    // a random walk: each block spends some present entries and creates some new ones
    const plan = fc.array(fc.record({ spend: fc.array(fc.nat(), { maxLength: 4 }), make: fc.integer({ min: 0, max: 4 }), flush: fc.boolean() }), {
      minLength: 1,
      maxLength: 8,
    });
    await fc.assert(
      fc.asyncProperty(plan, async (blocks) => {
        await database.raw.query('truncate ledger_utxo, ledger_tx_ids, ledger_key_regs, ledger_nonces, ledger_checkpoint');
        const model = MemoryUtxo.fromEntries(GENESIS);
        await store.write(null, { checkpoint: checkpoint(GENESIS_POINT, GENESIS.length), produced: GENESIS });
        let at: LedgerPoint = GENESIS_POINT;
        let pending: UtxoDelta[] = [];
        for (const [n, b] of blocks.entries()) {
          const present = [...model.entries()];
          const spent = [...new Set(b.spend.map((i) => i % Math.max(1, present.length)))].filter((i) => i < present.length).map((i) => present[i]!);
          const txId = blake2b256(concatBytes(ascii('block'), u64be(n))) as Hash32;
          const made = Array.from({ length: b.make }, (_, i) => entry(txId, i, BigInt(n * 10 + i + 1), i));
          const d = { consumed: spent, produced: made };
          model.apply(d);
          pending.push(d);
          if (b.flush || n === blocks.length - 1) {
            const c = composeDeltas(pending);
            const next = checkpoint(point(n + 1), model.size);
            await store.write(at, { checkpoint: next, consumed: c.consumed, produced: c.produced });
            at = next.point;
            pending = [];
          }
        }
        const loaded = await store.load();
        expect(show(loaded!.entries)).toEqual(show([...model.entries()]));
        expect(loaded!.checkpoint.size).toBe(model.size);
      }),
      { numRuns: 8 },
    );
  });
});
