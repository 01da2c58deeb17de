/**
 * A transaction generator for devnets and benchmarks: real, signed §5 payments spending the
 * genesis funds, submitted with `POST /v1/tx` (to a relay, which forwards to a storage node).
 *
 * Primer: the generator owns the fund keys of a generated genesis (the seeds are derived the same
 * way as in shared/src/protocol/genesis/create.ts). Each payment spends one output it owns and
 * pays two outputs back to the same key (amount and change), so the set of spendable outputs
 * never shrinks. An output produced by one of its own txs is only spent after `reuseAfterMs`
 * (long enough for the tx to reach the ledger), so it never sends a tx whose input another node
 * may not hold yet; with enough genesis outputs most txs spend a genesis output. `outputsPerTx`
 * makes txs larger (about 45 bytes per extra output) for throughput runs.
 *
 * @module
 */
import { buildPayment } from '@leios/shared/ledger';
import { deriveFundKey } from '@leios/shared/protocol';
import type { Address, Hash32 } from '@leios/shared/types';

/** One spendable output. */
interface Coin {
  readonly txId: Hash32;
  readonly index: number;
  readonly amount: bigint;
  readonly owner: number;
  readonly availableAt: number;
}

/** A fund the generator owns: its seed and its genesis outputs. */
export interface GeneratorFund {
  readonly seed: string;
  readonly outputs: ReadonlyArray<{ txId: Hash32; index: number; amount: bigint }>;
}

/** Options of {@link TxGenerator}. */
export interface TxGeneratorOptions {
  readonly funds: readonly GeneratorFund[];
  /** Wait this long before spending an output of our own tx (default 60 s). */
  readonly reuseAfterMs?: number;
  /** Payment amount (default 1 ada). */
  readonly amount?: bigint;
  /** TTL slot of every tx (default far in the future). */
  readonly ttlSlot?: number;
  readonly now?: () => number;
  /** Payment outputs per tx (default 1): larger txs for throughput runs. */
  readonly outputsPerTx?: number;
}

/** One built tx. */
export interface GeneratedTx {
  readonly bytes: Uint8Array;
  readonly txId: Hash32;
  readonly refHash: Hash32;
}

/**
 * @example
 * ```ts
 * const gen = new TxGenerator({ funds: [{ seed: 'devnet-fund-0', outputs: created.funds[0].outputs }] });
 * const tx = gen.next();
 * if (tx) await fetch(`${relay}/v1/tx`, { method: 'POST', headers: { 'content-type': 'application/cbor' }, body: tx.bytes });
 * ```
 */
export class TxGenerator {
  private readonly keys: Array<{ address: Address; secretKey: Uint8Array }>;
  private ready: Coin[] = [];
  private waiting: Coin[] = [];
  private readonly reuseAfterMs: number;
  private readonly amount: bigint;
  private readonly ttlSlot: number;
  private readonly now: () => number;
  private owner = 0;
  private readonly outputsPerTx: number;
  built = 0;

  constructor(opts: TxGeneratorOptions) {
    this.keys = opts.funds.map((f) => {
      const k = deriveFundKey(f.seed);
      return { address: k.address, secretKey: k.secretKey };
    });
    this.now = opts.now ?? Date.now;
    this.reuseAfterMs = opts.reuseAfterMs ?? 60_000;
    this.amount = opts.amount ?? 1_000_000n;
    this.ttlSlot = opts.ttlSlot ?? 2 ** 40;
    this.outputsPerTx = Math.max(1, opts.outputsPerTx ?? 1);
    opts.funds.forEach((f, owner) => {
      for (const o of f.outputs) this.ready.push({ ...o, owner, availableAt: 0 });
    });
  }

  /** Outputs spendable now. */
  get spendable(): number {
    this.promote();
    return this.ready.length;
  }

  /** Move matured coins to `ready`; `waiting` is in maturity order (one fixed delay), so a prefix. */
  private promote(): void {
    const now = this.now();
    let n = 0;
    while (n < this.waiting.length && (this.waiting[n] as Coin).availableAt <= now) this.ready.push(this.waiting[n++] as Coin);
    if (n > 0) this.waiting.splice(0, n);
  }

  private need(): bigint {
    // outputs, a fee of up to ~1 ada for a large tx, and change worth spending again
    return this.amount * BigInt(this.outputsPerTx) + 3_000_000n;
  }

  /** Build the next payment, or null when no output is spendable right now. */
  next(): GeneratedTx | null {
    this.promote();
    // Spread spending over the owners so chains of one key do not form.
    let idx = this.ready.findIndex((c) => c.owner === this.owner % this.keys.length && c.amount >= this.need());
    if (idx < 0) idx = this.ready.findIndex((c) => c.amount >= this.need());
    this.owner++;
    if (idx < 0) return null;
    const coin = this.ready[idx] as Coin;
    this.ready[idx] = this.ready[this.ready.length - 1] as Coin;
    this.ready.pop();
    const key = this.keys[coin.owner];
    if (!key) throw new Error(`TxGenerator: no key for owner ${coin.owner}`);
    const tx = buildPayment({
      inputs: [{ txId: coin.txId, index: coin.index, amount: coin.amount }],
      outputs: Array.from({ length: this.outputsPerTx }, () => ({ address: key.address, amount: this.amount })),
      changeAddress: key.address,
      ttlSlot: this.ttlSlot,
      signers: [key.secretKey],
    });
    const at = this.now() + this.reuseAfterMs;
    const need = this.need();
    tx.body.outputs.forEach((o, index) => {
      // only outputs worth spending again are kept (the payment outputs are too small)
      if (o.amount >= need) this.waiting.push({ txId: tx.id, index, amount: o.amount, owner: coin.owner, availableAt: at });
    });
    this.built++;
    return { bytes: tx.bytes, txId: tx.id, refHash: tx.hash };
  }
}
