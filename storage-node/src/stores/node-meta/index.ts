/**
 * NodeMeta: facts about the database itself, first of all which network it belongs to.
 *
 * Primer: a database holds one chain of one network. Its genesis hash (`H256(genesis file bytes)`,
 * PROTOCOL.md §3.1) is recorded at the first start; a later start with another genesis is refused
 * with a typed error, since replaying another network's blocks would fail far from the cause (or
 * worse, half-succeed).
 *
 * The `node_meta` table (key → bytes) comes from migration `drizzle/0001_node_meta.sql`.
 *
 * @module
 */
import { bytesEqual } from '@leios/shared/bytes';
import type { Hash32 } from '@leios/shared/types';
import type { Database } from '../../db/index';
import { StorageError } from '../../errors/index';

const GENESIS_KEY = 'genesis_hash';

/**
 * The database's metadata.
 *
 * @example
 * ```ts
 * const { status } = await new NodeMeta(database).checkGenesis(genesisHash);
 * if (status === 'mismatch') throw new Error('database of another network');
 * ```
 */
export class NodeMeta {
  constructor(private readonly database: Database) {}

  /**
   * Record `genesisHash` if the database has none yet, else compare it with the recorded one.
   * The caller refuses to start on `'mismatch'` (its own typed error: stores import no node logic).
   */
  async checkGenesis(genesisHash: Hash32): Promise<{ status: 'recorded' | 'matches' | 'mismatch'; stored: Hash32 }> {
    if (genesisHash.length !== 32) throw new StorageError('invalid', `genesis hash has ${genesisHash.length} bytes`);
    return this.database.transaction(async (tx) => {
      const inserted = await tx.query('insert into node_meta (key, value) values ($1, $2) on conflict (key) do nothing returning key', [
        GENESIS_KEY,
        genesisHash,
      ]);
      if (inserted.length > 0) return { status: 'recorded' as const, stored: genesisHash };
      const [row] = await tx.query<{ value: Uint8Array }>('select value from node_meta where key = $1', [GENESIS_KEY]);
      if (!row) throw new StorageError('not-found', 'node_meta lost its genesis row inside a transaction');
      const stored = row.value as Hash32;
      return { status: bytesEqual(stored, genesisHash) ? ('matches' as const) : ('mismatch' as const), stored };
    });
  }
}
