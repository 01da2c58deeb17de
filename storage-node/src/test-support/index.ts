/**
 * Test databases for the storage-node suites.
 *
 * Primer: every test file under storage-node/src runs twice, once per vitest project:
 * `storage-pglite` (env LEIOS_TEST_DB=pglite) and `storage-postgres` (LEIOS_TEST_DB=postgres,
 * defined only when DATABASE_URL is set). {@link openTestDb} hides the difference: on PGlite it
 * opens a fresh in-memory instance; on Postgres it creates a fresh database
 * `leios_test_<random>` on the server of DATABASE_URL (the committed migrations use the `public`
 * schema, so a database per file is the clean way to isolate files), migrates it, and drops it
 * on close. An unreachable server is an error, never a skip: CI must not pass without Postgres.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { type Database, openDatabase, redactUrl } from '../db/index';

/** Which driver the current vitest project tests. */
export type TestDriver = 'pglite' | 'postgres';

/** The driver selected by LEIOS_TEST_DB (default pglite). @example `if (testDriver() === 'postgres') …` */
export function testDriver(): TestDriver {
  const v = process.env.LEIOS_TEST_DB ?? 'pglite';
  if (v !== 'pglite' && v !== 'postgres') throw new Error(`LEIOS_TEST_DB must be pglite or postgres, got ${v}`);
  return v;
}

/** A scratch Postgres database; `drop()` removes it (forcing out leftover sessions). */
export interface ScratchDatabase {
  readonly url: string;
  drop(): Promise<void>;
}

/**
 * Create an empty database `leios_test_<random>` on the server of DATABASE_URL.
 * Throws (never skips) if DATABASE_URL is unset or the server is unreachable.
 *
 * @example
 * ```ts
 * const scratch = await createScratchDatabase();
 * const database = await openDatabase({ url: scratch.url });
 * ```
 */
export async function createScratchDatabase(): Promise<ScratchDatabase> {
  const base = process.env.DATABASE_URL;
  if (!base) throw new Error('LEIOS_TEST_DB=postgres needs DATABASE_URL (the Postgres suite fails, never skips)');
  const admin = postgres(base, { max: 1, connect_timeout: 10, onnotice: () => {} });
  const name = `leios_test_${randomBytes(6).toString('hex')}`;
  try {
    await admin.unsafe(`create database ${name}`);
  } catch (e) {
    await admin.end({ timeout: 1 }).catch(() => {});
    throw new Error(`Postgres at ${redactUrl(base)} is unreachable or refused CREATE DATABASE: ${String(e)}`, {
      cause: e,
    });
  }
  const u = new URL(base);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      try {
        await admin.unsafe(`drop database if exists ${name} with (force)`);
      } finally {
        await admin.end({ timeout: 5 });
      }
    },
  };
}

/**
 * A fresh, migrated, isolated database for one test file; `close()` also drops it on Postgres.
 *
 * @example
 * ```ts
 * let database: Database;
 * beforeAll(async () => { database = await openTestDb(); });
 * afterAll(() => database.close());
 * ```
 */
export async function openTestDb(): Promise<Database> {
  if (testDriver() === 'pglite') return openDatabase({ memory: true });
  const scratch = await createScratchDatabase();
  let database: Database;
  try {
    database = await openDatabase({ url: scratch.url, maxConnections: 4 });
  } catch (e) {
    await scratch.drop();
    throw e;
  }
  return {
    ...database,
    close: async () => {
      try {
        await database.close();
      } finally {
        await scratch.drop();
      }
    },
  };
}
