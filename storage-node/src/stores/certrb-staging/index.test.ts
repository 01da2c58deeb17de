import type { Hash32, Slot } from '@leios/shared/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../db/index';
import { isStorageError } from '../../errors/index';
import { makeEbBytes, makeTxs, refsOf } from '../../test-support/fixtures';
import { openTestDb } from '../../test-support/index';
import { ChainDb } from '../chain-db/index';
import { EbStore } from '../eb-store/index';
import { CertRbStaging } from './index';

let database: Database;
let ebStore: EbStore;
beforeAll(async () => {
  database = await openTestDb();
  ebStore = new EbStore(database, new ChainDb(database, { k: 2 }));
});
afterAll(() => database.close());

const h = (n: number) => new Uint8Array(32).fill(n) as Hash32;
async function newEb(n = 3) {
  const txs = makeTxs(n);
  const refs = refsOf(txs);
  const st = await ebStore.putEb({ bytes: makeEbBytes(refs), refs, rbHash: h(1), slot: 1 as Slot });
  return { txs, hash: st.hash };
}
const reason = (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: unknown) => (isStorageError(e) ? e.code : String(e)),
  );

describe('CertRbStaging', () => {
  it('releases a waiting CertRB the moment its closure completes in the EB store', async () => {
    const staging = new CertRbStaging<string>(ebStore);
    const eb = await newEb();
    let done = false;
    const p = staging.stage(h(10), eb.hash, 'block-10').then((v) => {
      done = true;
      return v;
    });
    const again = staging.stage(h(10), eb.hash, 'ignored');
    await ebStore.addClosureTxs(eb.hash, [{ index: 0, bytes: eb.txs[0]! }]);
    await new Promise((r) => setTimeout(r, 20));
    expect(done).toBe(false);
    await ebStore.addClosureTxs(eb.hash, [1, 2].map((i) => ({ index: i, bytes: eb.txs[i]! })));
    expect(await p).toBe('block-10');
    expect(await again).toBe('block-10');
    expect(staging.size).toBe(0);
    // Already complete: resolves at once.
    expect(await staging.stage(h(11), eb.hash, 'block-11')).toBe('block-11');
    staging.close();
  });

  it('times out with a typed error, and bounds how many may wait', async () => {
    const staging = new CertRbStaging<number>(ebStore, { maxWaiting: 2, timeoutMs: 50 });
    const eb = await newEb();
    const a = reason(staging.stage(h(20), eb.hash, 1));
    const b = reason(staging.stage(h(21), eb.hash, 2, { timeoutMs: 5_000 }));
    expect(await reason(staging.stage(h(22), eb.hash, 3))).toBe('staging-full');
    expect(await a).toBe('staging-timeout');
    expect(staging.size).toBe(1);
    expect(staging.cancel(h(21))).toBe(true);
    expect(await b).toBe('staging-cancelled');
    expect(staging.size).toBe(0);
    staging.close();
  });
});
