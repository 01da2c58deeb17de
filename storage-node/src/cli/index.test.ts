/**
 * The CLI's pure parts: the JSONC reader used for the relay config, and the tx generator, whose
 * txs must pass the real §5.2 rules (apply level, signatures checked) in order against the
 * generated genesis, including the reuse of change outputs once they are old enough.
 */
import { blake2b256 } from '@leios/shared/crypto';
import { parseGenesis, protocolParamsVar } from '@leios/shared/protocol';
import { poolLookup } from '@leios/shared/ledger';
import { describe, expect, it } from 'vitest';
import { LedgerState } from '../node/ledger/index';
import { genesisUtxo } from '../service/index';
import { stripJsonComments } from './devnet';
import { createDevnetGenesis, parseParamFlags, SETTABLE_PARAMS } from './genesis';
import { TxGenerator } from './txgen';

describe('stripJsonComments', () => {
  it('drops line and block comments and trailing commas, never touching strings', () => {
    const text = `{
      // a comment
      "url": "http://127.0.0.1:3001", /* block */
      "s": "a // not a comment \\" /* nor this */",
      "list": [1, 2,],
    }`;
    expect(JSON.parse(stripJsonComments(text))).toEqual({ url: 'http://127.0.0.1:3001', s: 'a // not a comment " /* nor this */', list: [1, 2] });
  });
});

describe('--param KEY=VALUE', () => {
  it('sets genesis parameters that the genesis and the relays\' PROTOCOL_PARAMS then carry', () => {
    const params = parseParamFlags(['lHdr=3', 'lVote=10', 'lDiff=14', 'activeSlotCoeff=1/10', 'quorum=2/3', 'committeeSize=100', 'epochLength=600']);
    expect(params).toEqual({ lHdr: 3, lVote: 10, lDiff: 14, activeSlotCoeff: { num: 1n, den: 10n }, quorum: { num: 2n, den: 3n }, committeeSize: 100, epochLength: 600 });
    const g = createDevnetGenesis({ stakes: [1n, 2n], funds: 1, outputsPerFund: 1, params: { slotLengthMs: 200, ...params }, prefix: 'param' });
    const parsed = parseGenesis(g.created.bytes).params;
    expect(parsed).toMatchObject(params);
    expect(JSON.parse(protocolParamsVar(parsed))).toMatchObject({ lHdr: 3, lVote: 10, lDiff: 14, activeSlotCoeff: '1/10', quorum: '2/3', committeeSize: 100 });
  });

  it.each([
    ['slotLengthMs=100', /not a settable/],
    ['ledgerMode=opaque', /not a settable/],
    ['lHdr', /expected lHdr=VALUE/],
    ['lHdr=', /expected lHdr=VALUE/],
    ['lHdr=1.5', /decimal integer/],
    ['lHdr=-1', /decimal integer/],
    ['lHdr=0', /outside \[1, /],
    ['committeeSize=70000', /outside/],
    ['activeSlotCoeff=0.05', /rational/],
  ])('refuses %s', (flag, why) => {
    expect(() => parseParamFlags([flag])).toThrow(why);
  });

  it('refuses a parameter given twice, and out-of-range rationals when the genesis is built', () => {
    expect(() => parseParamFlags(['lVote=3', 'lVote=4'])).toThrow(/twice/);
    expect(() => createDevnetGenesis({ stakes: [1n], funds: 1, outputsPerFund: 1, params: parseParamFlags(['quorum=1/3']) })).toThrow(/quorum/);
    expect(SETTABLE_PARAMS).toContain('maxEbTxBytes');
  });
});

describe('TxGenerator', () => {
  it('builds signed payments that apply in order, and reuses change only after the delay', () => {
    const g = createDevnetGenesis({ stakes: [1n], funds: 2, outputsPerFund: 3, prefix: 'txgen' });
    const p = g.created.genesis.params;
    const ledger = new LedgerState({
      mode: 'utxo',
      initialUtxo: genesisUtxo(g.created.genesis),
      params: { maxTxSize: p.maxTxSize, minFeeA: p.minFeeA, minFeeB: p.minFeeB },
      pools: poolLookup(g.created.genesis.pools),
    });
    let now = 0;
    const gen = new TxGenerator({
      funds: g.fundSeeds.map((seed, k) => ({ seed, outputs: g.created.funds[k]?.outputs ?? [] })),
      reuseAfterMs: 1000,
      outputsPerTx: 3,
      now: () => now,
    });
    const first = [];
    for (let tx = gen.next(); tx !== null; tx = gen.next()) first.push(tx);
    // six genesis outputs, then nothing until the change matures
    expect(first.length).toBe(6);
    expect(new Set(first.map((t) => t.txId.join())).size).toBe(6);
    ledger.applyBlock(blake2b256(new Uint8Array([1])), { slot: 1, txs: first.map((t) => ledger.decodeTx(t.bytes)), level: 'apply' });
    now = 1000;
    const second = [];
    for (let tx = gen.next(); tx !== null; tx = gen.next()) second.push(tx);
    expect(second.length).toBe(6); // each first-round tx left one change output big enough to spend
    ledger.applyBlock(blake2b256(new Uint8Array([2])), { slot: 2, txs: second.map((t) => ledger.decodeTx(t.bytes)), level: 'apply' });
    expect(ledger.txCount).toBe(12);
  });
});
