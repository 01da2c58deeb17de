/**
 * Deterministic wallets and genesis UTxO entries for generators, tests and benchmarks.
 *
 * Primer: a load generator or a test needs owners whose keys it knows and a UTxO set that pays
 * them. A wallet here is an Ed25519 seed derived from a label (`H256("LEIOS-WALLET" || label)`),
 * its public key and its address `H224(vk)` (§2.1); genesis entries get synthetic tx ids
 * `H256("LEIOS-GENESIS" || u64be(n))`, which no real tx body can hash to.
 *
 * @module
 */
import { ascii, concatBytes, u64be } from '../bytes/index';
import { blake2b224, blake2b256 } from '../crypto/blake2b';
import { ed25519KeyFromSeed } from '../crypto/ed25519';
import type { Address, Hash32, Lovelace } from '../types/index';
import type { UtxoEntry } from './utxo';

/** A key owner: Ed25519 seed, public key and address. */
export interface Wallet {
  readonly seed: Uint8Array;
  readonly vk: Uint8Array;
  readonly address: Address;
}

/**
 * The address of an Ed25519 verification key: `H224(vk)`.
 *
 * @example
 * ```ts
 * addressOf(wallet.vk) // 28 bytes
 * ```
 */
export function addressOf(vk: Uint8Array): Address {
  return blake2b224(vk) as Address;
}

/**
 * A deterministic wallet for a label.
 *
 * @example
 * ```ts
 * const alice = walletFor('alice');
 * ```
 */
export function walletFor(label: string | number): Wallet {
  const seed = blake2b256(concatBytes(ascii('LEIOS-WALLET'), ascii(String(label))));
  const vk = ed25519KeyFromSeed(seed).publicKey;
  return { seed, vk, address: addressOf(vk) };
}

/**
 * The synthetic tx id of the `n`-th genesis entry.
 *
 * @example
 * ```ts
 * genesisTxId(0)
 * ```
 */
export function genesisTxId(n: number): Hash32 {
  return blake2b256(concatBytes(ascii('LEIOS-GENESIS'), u64be(n)));
}

/**
 * Genesis entries paying `amount` to each address in turn (`count` entries, index 0 each).
 *
 * @example
 * ```ts
 * const utxo = MemoryUtxo.fromEntries(genesisEntries([alice.address, bob.address], 4, 10_000_000n));
 * ```
 */
export function genesisEntries(addresses: readonly Address[], count: number, amount: bigint): UtxoEntry[] {
  const out: UtxoEntry[] = [];
  for (let n = 0; n < count; n++) {
    out.push({
      ref: { txId: genesisTxId(n), index: 0 },
      output: { address: addresses[n % addresses.length]!, amount: amount as Lovelace },
    });
  }
  return out;
}
