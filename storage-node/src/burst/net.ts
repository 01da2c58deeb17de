/**
 * The burst harness's network: two pools (honest, adversary) in opaque ledger mode (§5.6), fast
 * slots, one long epoch, and a security parameter large enough that the whole withheld segment
 * stays younger than the immutable tip for the run (so every withheld EB must be kept, §13.3).
 *
 * Every thread rebuilds the same genesis and keys from these options (the keys are derived from
 * the label), so only plain data crosses thread boundaries.
 *
 * @module
 */
import type { Rational } from '@leios/shared/protocol';
import { type TestNetwork, testNetwork } from '../node/testkit/index';

/** What fixes the burst network. */
export interface BurstNetOptions {
  readonly label: string;
  readonly systemStartMs: number;
  readonly slotLengthMs: number;
  /** f (§3.5). */
  readonly activeSlotCoeff: Rational;
  /** Stakes of the honest pool (index 0) and the adversary's (index 1). */
  readonly stakes: readonly [bigint, bigint];
  readonly securityParam: number;
  readonly epochLength: number;
}

/**
 * The genesis and keys of the burst network.
 *
 * @example
 * ```ts
 * const net = burstNetwork({ label: 'burst', systemStartMs, slotLengthMs: 100, activeSlotCoeff: { num: 1n, den: 2n }, stakes: [2n, 1n], securityParam: 20_000, epochLength: 10_000_000 });
 * ```
 */
export function burstNetwork(o: BurstNetOptions): TestNetwork {
  return testNetwork({
    pools: 2,
    systemStartMs: o.systemStartMs,
    stakes: o.stakes,
    label: o.label,
    utxoEntries: 1,
    params: {
      ledgerMode: 'opaque',
      slotLengthMs: o.slotLengthMs,
      activeSlotCoeff: o.activeSlotCoeff,
      securityParam: o.securityParam,
      epochLength: o.epochLength,
    },
  });
}

/**
 * Probability that a pool with relative stake `sigma` leads a slot: `1 − (1 − f)^σ` (§3.5).
 *
 * @example
 * ```ts
 * leaderProbability({ num: 1n, den: 2n }, 1 / 3) // ≈ 0.206
 * ```
 */
export function leaderProbability(f: Rational, sigma: number): number {
  return 1 - (1 - Number(f.num) / Number(f.den)) ** sigma;
}
