/**
 * Epoch nonce evolution along a chain (PROTOCOL.md §3.4).
 *
 * Primer: `η_{e+1} = H256("LEIOS-NONCE" || a || u64be(e+1))`, where `a` starts as η_e and absorbs
 * the leader VRF output of every RB of epoch e whose slot is before the stability window
 * (`slot mod E < E − W`, `W = ceil(3k/f)`). Because the nonce depends on the chain, each block
 * carries a small {@link NonceState} derived from its parent's in O(1): the epoch, its η and the
 * running accumulator. A fork therefore gets its own nonces for free, and a chain switch needs no
 * recomputation. Epochs without blocks roll over with `a = η_e`.
 *
 * @module
 */
import { ascii, concatBytes, u64be } from '@leios/shared/bytes';
import { blake2b256 } from '@leios/shared/crypto';
import type { Epoch, Hash32 } from '@leios/shared/types';

/** Nonce bookkeeping as of one block (or genesis). */
export interface NonceState {
  /** Epoch of the block's slot. */
  readonly epoch: Epoch;
  /** η of that epoch. */
  readonly eta: Hash32;
  /** Running accumulator `a` for the next epoch's nonce. */
  readonly acc: Hash32;
}

/** Where the window boundaries are: E and W. */
export interface NonceParams {
  readonly epochLength: number;
  /** Stability window W = ceil(3k/f) in slots. */
  readonly stabilityWindow: number;
}

const NONCE_TAG = ascii('LEIOS-NONCE');

/** The state before any block: epoch 0, η_0 = initialNonce. @example `genesisNonceState(eta0)` */
export function genesisNonceState(initialNonce: Hash32): NonceState {
  return { epoch: 0 as Epoch, eta: initialNonce, acc: initialNonce };
}

/** `η_{e+1}` from the final accumulator of epoch e. @example `nextEpochNonce(acc, 1)` */
export function nextEpochNonce(acc: Uint8Array, nextEpoch: number): Hash32 {
  return blake2b256(concatBytes(NONCE_TAG, acc, u64be(nextEpoch)));
}

/**
 * Roll the state forward to `epoch` (no block absorbed). Used to know η of the epoch of a slot
 * before the block in it exists (leader check, header validation).
 *
 * @example
 * ```ts
 * const eta = rollToEpoch(parentState, epochOfSlot(slot, E)).eta;
 * ```
 */
export function rollToEpoch(state: NonceState, epoch: number): NonceState {
  if (epoch < state.epoch) throw new Error(`nonce state of epoch ${state.epoch} cannot go back to ${epoch}`);
  let { eta, acc } = state;
  for (let e = state.epoch; e < epoch; e++) {
    eta = nextEpochNonce(acc, e + 1);
    acc = eta;
  }
  return { epoch: epoch as Epoch, eta, acc };
}

/**
 * The state after a block at `slot` with leader VRF `output`, given its parent's state.
 *
 * @example
 * ```ts
 * const s = childNonceState(parent.nonce, header.slot, header.vrfOutput, { epochLength: 1200, stabilityWindow: 600 });
 * ```
 */
export function childNonceState(parent: NonceState, slot: number, vrfOutput: Uint8Array, p: NonceParams): NonceState {
  const epoch = Math.floor(slot / p.epochLength);
  const rolled = rollToEpoch(parent, epoch);
  if (slot % p.epochLength < p.epochLength - p.stabilityWindow) {
    return { ...rolled, acc: blake2b256(concatBytes(rolled.acc, vrfOutput)) };
  }
  return rolled;
}

/**
 * Whether η of `epoch` is fixed as seen from a chain whose tip has nonce state `tip` at
 * `tipSlot` (PROTOCOL.md §12 `/v1/epoch/{e}/pools`): `e <= epoch(tip)`, or `e = epoch(tip) + 1` once
 * the tip's slot is past `start(e−1) + E − W`.
 */
export function nonceFixed(tip: NonceState, tipSlot: number, epoch: number, p: NonceParams): boolean {
  if (epoch <= tip.epoch) return true;
  if (epoch > tip.epoch + 1) return false;
  return tipSlot >= tip.epoch * p.epochLength + p.epochLength - p.stabilityWindow;
}
