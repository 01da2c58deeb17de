import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../errors/index';
import {
  compareRational,
  DEVNET_PARAMS,
  freshWindow,
  MAINNET_PARAMS,
  mempoolCapacity,
  type ProtocolParams,
  parseRational,
  stabilityWindow,
  validateProtocolParams,
} from './index';

function fieldOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof ValidationError) return e.field;
    throw e;
  }
  return 'ok';
}

describe('protocol params (§15)', () => {
  it('has the §15 defaults and derived values', () => {
    expect(stabilityWindow(MAINNET_PARAMS)).toBe(129_600);
    expect(stabilityWindow(DEVNET_PARAMS)).toBe(600);
    expect(freshWindow(MAINNET_PARAMS)).toBe(14);
    expect(mempoolCapacity(MAINNET_PARAMS)).toBe(24_180_224);
    expect(DEVNET_PARAMS.epochLength).toBe(1200);
    expect(DEVNET_PARAMS.committeeSize).toBe(64);
    expect(DEVNET_PARAMS.faCommitteeSize).toBe(32);
    expect(MAINNET_PARAMS.committeeSize).toBe(900);
    expect(validateProtocolParams(MAINNET_PARAMS)).toBe(MAINNET_PARAMS);
    expect(validateProtocolParams(DEVNET_PARAMS)).toBe(DEVNET_PARAMS);
  });

  it('rounds the stability window up', () => {
    // 3·1 / (1/3)... f = 2/7, k = 1: 3·7/2 = 10.5 → 11
    expect(stabilityWindow({ securityParam: 1, activeSlotCoeff: { num: 2n, den: 7n } })).toBe(11);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 1, max: 50 }), fc.integer({ min: 2, max: 100 }), (k, num, den) => {
        const w = stabilityWindow({ securityParam: k, activeSlotCoeff: { num: BigInt(num), den: BigInt(den) } });
        // w is the least integer with w·f >= 3k
        expect(BigInt(w) * BigInt(num) >= BigInt(3 * k * den)).toBe(true);
        expect(BigInt(w - 1) * BigInt(num) < BigInt(3 * k * den)).toBe(true);
      }),
    );
  });

  it('enforces the §3.1 bounds, naming the genesis path', () => {
    const bad = (p: Partial<Record<keyof ProtocolParams, unknown>>) => fieldOf(() => validateProtocolParams({ ...DEVNET_PARAMS, ...p } as ProtocolParams));
    expect(bad({ quorum: { num: 1n, den: 2n } })).toBe('protocolParams.quorum');
    expect(bad({ quorum: { num: 2n, den: 4n } })).toBe('protocolParams.quorum');
    expect(bad({ quorum: { num: 1n, den: 1n } })).toBe('protocolParams.quorum');
    expect(bad({ quorum: { num: 501n, den: 1000n } })).toBe('ok');
    expect(bad({ quorum: { num: 999n, den: 1000n } })).toBe('ok');
    expect(bad({ activeSlotCoeff: { num: 0n, den: 1n } })).toBe('activeSlotCoeff');
    expect(bad({ activeSlotCoeff: { num: 51n, den: 100n } })).toBe('activeSlotCoeff');
    expect(bad({ activeSlotCoeff: { num: 1n, den: 2n } })).toBe('ok');
    expect(bad({ securityParam: 0 })).toBe('securityParam');
    expect(bad({ lHdr: 0 })).toBe('protocolParams.lHdr');
    expect(bad({ lVote: 0 })).toBe('protocolParams.lVote');
    expect(bad({ lDiff: 0 })).toBe('protocolParams.lDiff');
    expect(bad({ lDiff: 1.5 })).toBe('protocolParams.lDiff');
    expect(bad({ committeeSize: 65_537 })).toBe('protocolParams.committeeSize');
    expect(bad({ maxEbSize: 2 ** 32 })).toBe('protocolParams.maxEbSize');
    expect(bad({ committeeMode: 'lottery' })).toBe('committeeMode');
    expect(bad({ ledgerMode: 'account' })).toBe('ledgerMode');
    expect(bad({ maxTxSize: 20_000_000 })).toBe('protocolParams.maxTxSize');
    expect(bad({ quorum: '3/4' })).toBe('protocolParams.quorum');
  });

  it('parses rationals strictly', () => {
    expect(parseRational('3/4', 'q')).toEqual({ num: 3n, den: 4n });
    expect(parseRational('0/1', 'q')).toEqual({ num: 0n, den: 1n });
    for (const s of ['3/0', '03/4', '-1/2', '1 /2', '1/2 ', '0.75', '3', '', '1/02']) {
      expect(fieldOf(() => parseRational(s, 'protocolParams.quorum'))).toBe('protocolParams.quorum');
    }
    expect(fieldOf(() => parseRational(0.75, 'q'))).toBe('q');
  });

  it('compares rationals exactly', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 30n }), fc.bigInt({ min: 1n, max: 10n ** 30n }), fc.bigInt({ min: 1n, max: 1000n }), (n, d, m) => {
        expect(compareRational({ num: n, den: d }, { num: n * m, den: d * m })).toBe(0);
        expect(compareRational({ num: n, den: d }, { num: n + 1n, den: d })).toBe(-1);
        expect(compareRational({ num: n + 1n, den: d }, { num: n, den: d })).toBe(1);
      }),
    );
  });
});
