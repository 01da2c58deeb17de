/**
 * The storage node's stores, all on one {@link Database} (src/db):
 * - {@link ChainDb}: RB headers/bodies and the selected chain (volatile suffix, rollback);
 * - {@link EbStore}: EBs and closures (shared txs, completeness, promotion, pruning, bound);
 * - {@link TxCache}: recently seen txs, indexed in memory, bodies in the database;
 * - {@link VoteStore}: votes, exact quorum tally and events, retention;
 * - {@link CertRbStaging}: CertRBs waiting for their closures;
 * - {@link UtxoStore}: the ledger state (UTxO set or opaque tx ids, key registrations, nonces) at
 *   a checkpoint at or below the immutable tip, moved forward in one transaction.
 *
 * Stores never import node logic (DESIGN.md §3). Wiring, typically:
 *
 * @example
 * ```ts
 * const database = await openDatabase();
 * const chainDb = new ChainDb(database, { k: params.securityParam });
 * const ebStore = new EbStore(database, chainDb, { limits: params });
 * await ebStore.refreshCompleteness();           // after a crash
 * const txCache = new TxCache(database, { afterFlush: (hs) => ebStore.refreshCompleteness(hs) });
 * await txCache.load();
 * const votes = new VoteStore(database, { weightOf });
 * await votes.load();
 * const staging = new CertRbStaging(ebStore);
 * const ledger = await new UtxoStore(database).load(); // null on a fresh database
 * ```
 *
 * @module
 */
export * from './certrb-staging/index';
export * from './chain-db/index';
export * from './eb-store/index';
export * from './tx-cache/index';
export * from './utxo/index';
export * from './vote-store/index';
