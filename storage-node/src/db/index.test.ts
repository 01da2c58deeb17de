import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isStorageError } from '../errors/index';
import { createScratchDatabase, openTestDb, testDriver } from '../test-support/index';
import { type Database, openDatabase, redactUrl, rowsOf } from './index';
import { txs } from './schema';

let database: Database;
beforeAll(async () => {
  database = await openTestDb();
});
afterAll(() => database.close());

describe('openDatabase', () => {
  it('uses the driver of the vitest project and runs the committed migrations', async () => {
    expect(database.driver).toBe(testDriver());
    const tables = rowsOf<{ t: string }>(
      await database.db.execute(
        sql`select table_name as t from information_schema.tables where table_schema = 'public' order by 1`,
      ),
    ).map((r) => r.t);
    expect(tables).toEqual([
      'chain',
      'eb_txs',
      'ebs',
      'ledger_checkpoint',
      'ledger_key_regs',
      'ledger_nonces',
      'ledger_tx_ids',
      'ledger_utxo',
      'node_meta',
      'rb_bodies',
      'rb_headers',
      'txs',
      'votes',
    ]);
  });

  it('round-trips bytea exactly through drizzle and the raw executor (all 256 byte values, empty)', async () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    await database.db.insert(txs).values({ hash: new Uint8Array(32).fill(1), size: 256, bytes: all });
    await database.raw.query('insert into txs (hash, size, bytes) values ($1, $2, $3)', [
      new Uint8Array(32).fill(2),
      0,
      new Uint8Array(0),
    ]);
    const [a] = await database.db.select().from(txs).where(eq(txs.hash, new Uint8Array(32).fill(1)));
    expect(a?.bytes).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(a?.bytes ?? []).equals(Buffer.from(all))).toBe(true);
    const [b] = await database.raw.query<{ bytes: Uint8Array }>('select bytes from txs where hash = $1', [
      new Uint8Array(32).fill(2),
    ]);
    expect(b?.bytes.length).toBe(0);
  });

  it('rolls a failed transaction back completely', async () => {
    const h = new Uint8Array(32).fill(3);
    await expect(
      database.transaction(async (tx) => {
        await tx.db.insert(txs).values({ hash: h, size: 1, bytes: new Uint8Array([1]) });
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await database.db.select().from(txs).where(eq(txs.hash, h))).toEqual([]);
  });

  it('fails with db-unavailable when Postgres cannot be reached', async () => {
    const err = await openDatabase({ url: 'postgres://postgres@127.0.0.1:1/none', connectTimeoutS: 2 }).catch(
      (e: unknown) => e,
    );
    expect(isStorageError(err, 'db-unavailable')).toBe(true);
    expect(String(err)).toContain('127.0.0.1:1/none');
  });

  it('makes the Postgres suite fail, not skip, when DATABASE_URL is unreachable or unset', async () => {
    const saved = process.env.DATABASE_URL;
    try {
      process.env.DATABASE_URL = 'postgres://postgres@127.0.0.1:1/test';
      await expect(createScratchDatabase()).rejects.toThrow(/unreachable/);
      delete process.env.DATABASE_URL;
      await expect(createScratchDatabase()).rejects.toThrow(/needs DATABASE_URL/);
    } finally {
      if (saved === undefined) delete process.env.DATABASE_URL;
      else process.env.DATABASE_URL = saved;
    }
  });

  it('redacts credentials from URLs', () => {
    expect(redactUrl('postgres://u:secret@h:5432/db')).toBe('postgres://h:5432/db');
  });

  it('keeps PGlite data in a directory across reopen', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'leios-db-'));
    try {
      const a = await openDatabase({ dataDir: dir });
      await a.db.insert(txs).values({ hash: new Uint8Array(32).fill(9), size: 2, bytes: new Uint8Array([7, 8]) });
      await a.close();
      const b = await openDatabase({ dataDir: dir });
      const rows = await b.db.select().from(txs);
      await b.close();
      expect(rows.map((r) => [...r.bytes])).toEqual([[7, 8]]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
