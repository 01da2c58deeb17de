/**
 * Test and benchmark helpers of the node logic: deterministic wallets that track their own
 * outputs and build valid payment txs, so tests and the benchmark drive the real ledger rules.
 *
 * Primer: a {@link WalletSet} knows which UTxO entries each wallet owns (from the genesis
 * entries and from the payments it built), and {@link WalletSet.pay} spends one of them with a
 * correctly-signed, minimum-fee tx. It tracks what it has spent locally, so a sequence of
 * payments is valid in order (each may spend outputs of the previous ones).
 *
 * @module
 */
import {
  buildPayment,
  genesisEntries,
  type Tx,
  type UtxoEntry,
  type Wallet,
  utxoKey,
  walletFor,
} from '@leios/shared/ledger';
import { ascii } from '@leios/shared/bytes';
import { blake2b224, blake2b256, blsKeyGen, ed25519KeyFromSeed, popProve } from '@leios/shared/crypto';
import { DEVNET_PARAMS, type PoolInput, type ProtocolParams } from '@leios/shared/protocol';
import type { Lovelace, PoolId } from '@leios/shared/types';
import type { Hash32 } from '@leios/shared/types';
import { encodeBlock, encodeBody, encodeHeader, type HeaderInfo } from '../blocks';
import type { LeiosNode, NodeGenesis, PoolKeys } from '../index';

/** Wallets with their spendable entries. */
export class WalletSet {
  readonly wallets: Wallet[];
  private readonly owned = new Map<string, UtxoEntry>();
  private cursor = 0;

  constructor(count: number, label = 'w') {
    this.wallets = Array.from({ length: count }, (_, i) => walletFor(`${label}-${i}`));
  }

  /** Genesis entries paying `amount` to the wallets in turn; remembered as spendable. */
  genesis(entries: number, amount: bigint): UtxoEntry[] {
    const es = genesisEntries(
      this.wallets.map((w) => w.address),
      entries,
      amount,
    );
    for (const e of es) this.owned.set(utxoKey(e.ref.txId, e.ref.index), e);
    return es;
  }

  /** Number of spendable entries. */
  get spendable(): number {
    return this.owned.size;
  }

  /**
   * A valid payment spending the next spendable entry to another wallet (`amount`, change back).
   * The produced outputs become spendable; the input is forgotten.
   */
  pay(opts: { ttlSlot?: number; amount?: bigint } = {}): Tx {
    const amount = opts.amount ?? 1_000_000n;
    // an entry must cover the payment and the fee (~0.2 ada) with room to spare
    const entries = [...this.owned.values()].filter((x) => x.output.amount >= amount + 1_000_000n);
    if (entries.length === 0) throw new Error('WalletSet: nothing to spend');
    const e = entries[this.cursor++ % entries.length]!;
    const from = this.walletOf(e);
    const to = this.wallets[(this.wallets.indexOf(from) + 1) % this.wallets.length]!;
    const tx = buildPayment({
      inputs: [{ txId: e.ref.txId, index: e.ref.index, amount: e.output.amount }],
      outputs: [{ address: to.address, amount }],
      changeAddress: from.address,
      ttlSlot: opts.ttlSlot ?? 1_000_000_000,
      signers: [from.seed],
    });
    this.owned.delete(utxoKey(e.ref.txId, e.ref.index));
    tx.body.outputs.forEach((o, index) => {
      const ref = { txId: tx.id, index };
      this.owned.set(utxoKey(tx.id, index), { ref, output: { address: o.address, amount: o.amount as Lovelace } });
    });
    return tx;
  }

  /** Forget a spent entry (when a tx of ours was replaced). */
  forget(txId: Uint8Array, index: number): void {
    this.owned.delete(utxoKey(txId, index));
  }

  private walletOf(e: UtxoEntry): Wallet {
    const w = this.wallets.find((x) => x.address.every((b, i) => b === e.output.address[i]));
    if (!w) throw new Error('WalletSet: entry not owned');
    return w;
  }
}

/** Keys and genesis of a small devnet for tests and benchmarks. */
export interface TestNetwork {
  readonly genesis: NodeGenesis;
  readonly keys: PoolKeys[];
  readonly wallets: WalletSet;
}

/**
 * A devnet genesis with `pools` pools (deterministic keys, equal stake unless given) and a
 * genesis UTxO paying `utxoEntries` entries to a {@link WalletSet}.
 *
 * @example
 * ```ts
 * const net = testNetwork({ pools: 3, systemStartMs: 0, params: { slotLengthMs: 100 } });
 * ```
 */
export function testNetwork(opts: {
  pools: number;
  systemStartMs: number;
  stakes?: readonly bigint[];
  params?: Partial<ProtocolParams>;
  utxoEntries?: number;
  /** Pools (by index) whose genesis vote key is null (keyless seats). */
  keyless?: readonly number[];
  label?: string;
}): TestNetwork {
  const label = opts.label ?? 'net';
  const keys: PoolKeys[] = [];
  const pools: PoolInput[] = [];
  for (let i = 0; i < opts.pools; i++) {
    const seed = (what: string) => blake2b256(ascii(`${label}-${what}-${i}`));
    const coldSeed = seed('cold');
    const cold = ed25519KeyFromSeed(coldSeed);
    const vrf = blsKeyGen(seed('vrf'));
    const vote = blsKeyGen(seed('vote'));
    const poolId = blake2b224(cold.publicKey) as PoolId;
    const keyless = opts.keyless?.includes(i) ?? false;
    keys.push({
      poolId,
      coldSeed,
      coldVk: cold.publicKey,
      vrfSecretKey: vrf.secretKey,
      voteSecretKey: vote.secretKey,
      votePublicKey: vote.publicKey,
    });
    pools.push({
      poolId,
      coldVk: cold.publicKey,
      stake: opts.stakes?.[i] ?? 1_000_000n,
      vrfKey: { vk: vrf.publicKey, pop: popProve(vrf.secretKey) },
      voteKey: keyless ? null : { vk: vote.publicKey, pop: popProve(vote.secretKey) },
    });
  }
  const wallets = new WalletSet(4, `${label}-w`);
  const initialUtxo = wallets.genesis(opts.utxoEntries ?? 16, 1_000_000_000_000n);
  const params: ProtocolParams = { ...DEVNET_PARAMS, slotLengthMs: 100, ...opts.params };
  return {
    genesis: {
      systemStartMs: opts.systemStartMs,
      networkMagic: 2026,
      params,
      initialNonce: blake2b256(ascii(`${label}-nonce`)),
      pools,
      initialUtxo,
    },
    keys,
    wallets,
  };
}

/**
 * Build a block by hand for a pool that leads `slot` (tests of invalid or equivocating blocks):
 * returns null when the pool does not lead that slot.
 *
 * @example
 * ```ts
 * const b = craftBlock({ node, keys: net.keys[0], slot, parent: node.tipHeader(), txs: [bad.bytes] });
 * ```
 */
export function craftBlock(args: {
  node: LeiosNode;
  keys: PoolKeys;
  slot: number;
  parent: HeaderInfo | null;
  txs?: readonly Uint8Array[];
  certificate?: Uint8Array | null;
  ebAnnouncement?: { hash: Uint8Array; size: number } | null;
}): { header: Uint8Array; body: Uint8Array; block: Uint8Array; hash: Hash32 } | null {
  const { node, keys, slot, parent } = args;
  const epoch = node.clock.epochOf(slot);
  const eta = node.nonceForEpoch(epoch);
  const win = node.epochs.checkLeader(epoch, eta, slot, keys.poolId, keys.vrfSecretKey);
  if (!win) return null;
  const body = encodeBody(args.txs ?? [], args.certificate ?? null);
  const header = encodeHeader(
    {
      blockNo: (parent?.blockNo ?? 0) + 1,
      slot,
      prevHash: parent?.hash ?? null,
      issuerColdVk: keys.coldVk,
      vrfOutput: win.output,
      vrfProof: win.proof,
      bodyHash: blake2b256(body),
      bodySize: body.length,
      certifiedEb: (args.certificate ?? null) !== null,
      ebAnnouncement: args.ebAnnouncement ?? null,
    },
    keys.coldSeed,
  );
  return { header, body, block: encodeBlock(header, body), hash: blake2b256(header) };
}
