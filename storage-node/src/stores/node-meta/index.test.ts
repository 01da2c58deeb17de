import { blake2b256 } from '@leios/shared/crypto';
import { ascii } from '@leios/shared/bytes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../db/index';
import { openTestDb } from '../../test-support/index';
import { NodeMeta } from './index';

let database: Database;
beforeAll(async () => {
  database = await openTestDb();
});
afterAll(() => database.close());

describe('NodeMeta.checkGenesis', () => {
  it('records the first genesis, accepts it again and reports another one as a mismatch', async () => {
    const a = blake2b256(ascii('genesis-a'));
    const b = blake2b256(ascii('genesis-b'));
    expect((await new NodeMeta(database).checkGenesis(a)).status).toBe('recorded');
    expect((await new NodeMeta(database).checkGenesis(a)).status).toBe('matches');
    const r = await new NodeMeta(database).checkGenesis(b);
    expect(r.status).toBe('mismatch');
    expect(r.stored).toEqual(a);
  });
});
