/**
 * The test network of the edge's relay tests (Node side; generated once and cached on disk).
 *
 * Primer: every relay test file talks to its own RelayHub, but all of them read the epoch pools
 * from the one loopback fixture storage node `default`, so they must agree on one pool list. It is
 * a 900-seat committee (N_c = 900, the mainnet size, for the vote batch test): three large pools
 * that win leader slots often under f = 1/2 (stakes 1200, 1200, 703) and 897 pools of stake 1.
 * S = 4,000, so τ·S = 3,000 = 1200 + 1200 + 600 small seats exactly (§16 case 19). Deriving 900
 * vote keys and PoPs takes seconds, so the result is cached in the OS temp directory.
 *
 * @module
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ascii, blake2b224, blake2b256, concatBytes, toHex } from '@leios/shared';
import { blsKeyGen, ed25519KeyFromSeed, popProve } from '@leios/shared/crypto';
import { derivePoolKeys } from '@leios/shared/protocol';

/** One pool as JSON (hex), with its secrets (test keys only). */
export interface TestPoolJson {
  poolId: string;
  coldVk: string;
  stake: string;
  vrfVk: string;
  vrfPop: string;
  voteVk: string;
  votePop: string;
  coldSk: string;
  vrfSk: string | null;
  voteSk: string;
}

export interface TestNetworkJson {
  version: 1;
  nonce: string;
  pools: TestPoolJson[];
}

const FILE = join(tmpdir(), 'leios-edge-test-network-v1.json');

/** The network (from the cache file, else generated and cached). */
export function testNetwork(): TestNetworkJson {
  if (existsSync(FILE)) {
    const j = JSON.parse(readFileSync(FILE, 'utf8')) as TestNetworkJson;
    if (j.version === 1 && j.pools.length === 900) return j;
  }
  const pools: TestPoolJson[] = [];
  const bigStakes = [1200n, 1200n, 703n];
  let vrfOfBig: { vk: string; pop: string } | undefined;
  bigStakes.forEach((stake, i) => {
    const k = derivePoolKeys(`edge-test-big-${i}`);
    vrfOfBig ??= { vk: toHex(k.vrfPublicKey), pop: toHex(k.vrfPop) };
    pools.push({
      poolId: toHex(k.poolId),
      coldVk: toHex(k.coldVk),
      stake: stake.toString(),
      vrfVk: toHex(k.vrfPublicKey),
      vrfPop: toHex(k.vrfPop),
      voteVk: toHex(k.votePublicKey!),
      votePop: toHex(k.votePop!),
      coldSk: toHex(k.coldSecretKey),
      vrfSk: toHex(k.vrfSecretKey),
      voteSk: toHex(k.voteSecretKey!),
    });
  });
  for (let i = 0; i < 897; i++) {
    const cold = ed25519KeyFromSeed(blake2b256(ascii(`edge-test-small-cold-${i}`)));
    const vote = blsKeyGen(blake2b256(ascii(`edge-test-small-vote-${i}`)));
    pools.push({
      poolId: toHex(blake2b224(cold.publicKey)),
      coldVk: toHex(cold.publicKey),
      stake: '1',
      // Small pools never lead in the tests; they share a valid VRF key (registered: its PoP verifies).
      vrfVk: vrfOfBig!.vk,
      vrfPop: vrfOfBig!.pop,
      voteVk: toHex(vote.publicKey),
      votePop: toHex(popProve(vote.secretKey)),
      coldSk: toHex(cold.secretKey),
      vrfSk: null,
      voteSk: toHex(vote.secretKey),
    });
  }
  const net: TestNetworkJson = { version: 1, nonce: toHex(blake2b256(concatBytes(ascii('edge-test-nonce')))), pools };
  writeFileSync(FILE, JSON.stringify(net));
  return net;
}
