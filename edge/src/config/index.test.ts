import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { DEVNET_PARAMS, type ProtocolParams, protocolParamsVar } from '@leios/shared/protocol';
import { ConfigError, currentEpoch, DEFAULT_ANON_LIMITS, type Env, parseConfig } from './index';

const base = env as unknown as Env;
const withVars = (vars: Partial<Record<keyof Env, string>>): Env => ({ ...base, ...vars }) as Env;

describe('parseConfig', () => {
  it('parses the wrangler.jsonc vars', () => {
    const cfg = parseConfig(withVars({ UPSTREAM_URLS: 'http://a:1/, https://b.example/x/ ,', PEER_SECRETS: `{"node-1":"${'ab'.repeat(16)}"}` }));
    expect(cfg.upstreamUrls).toEqual(['http://a:1', 'https://b.example/x']);
    expect(cfg.ledgerMode).toBe('utxo');
    expect(cfg.networkMagic).toBe(2026);
    expect(cfg.genesisHash.length).toBe(32);
    expect(cfg.peerSecrets.get('node-1')?.length).toBe(16);
  });

  it.each([
    ['LEDGER_MODE', 'ledger'],
    ['GENESIS_HASH', 'AB'.repeat(32)],
    ['NETWORK_MAGIC', '-1'],
    ['UPSTREAM_URLS', 'ftp://x'],
    ['UPSTREAM_URLS', 'http://x/?q=1'],
    ['UPSTREAM_TIMEOUT_MS', '0'],
    ['UPSTREAM_TIMEOUT_MS', '600000'],
    ['SYSTEM_START', '2026-11-24T00:00:00+01:00'],
    ['SLOT_LENGTH_MS', '1.5'],
    ['RELAY_NAME', 'a b'],
    ['PEER_SECRETS', '{"p":"short"}'],
    ['PEER_SECRETS', '[1]'],
    ['ANON_LIMITS', 'x'],
    ['ANON_LIMITS', '{"sessions":0}'],
    ['ANON_LIMITS', '{"messages":1.5}'],
    ['ANON_LIMITS', '{"bytes":"1000"}'],
    ['ANON_LIMITS', '{"windowS":7200}'],
    ['ANON_LIMITS', '{"windowMs":1000}'],
  ] as const)('names %s when it is %s', (name, value) => {
    const e = (() => {
      try {
        parseConfig(withVars({ [name]: value }));
      } catch (x) {
        return x;
      }
    })();
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).variable).toBe(name);
  });

  it('takes anonymous-session limits from ANON_LIMITS over the defaults', () => {
    expect(parseConfig(withVars({ ANON_LIMITS: '' })).anonymous).toEqual(DEFAULT_ANON_LIMITS);
    expect(parseConfig(withVars({ ANON_LIMITS: '{"windowS":10,"messages":50,"sessionsPerIp":0}' })).anonymous).toEqual({
      ...DEFAULT_ANON_LIMITS,
      windowMs: 10_000,
      messages: 50,
      sessionsPerIp: 0,
    });
  });

  it('takes every consensus parameter of a genesis from PROTOCOL_PARAMS (what the devnet passes its relays)', () => {
    // a network that differs from the defaults in every parameter the relay checks with
    const p: ProtocolParams = {
      ...DEVNET_PARAMS,
      slotLengthMs: 200,
      epochLength: 300,
      ledgerMode: 'opaque',
      securityParam: 7,
      activeSlotCoeff: { num: 1n, den: 2n },
      committeeMode: 'fait-accompli',
      lHdr: 2,
      lVote: 5,
      lDiff: 6,
      committeeSize: 33,
      faCommitteeSize: 21,
      quorum: { num: 4n, den: 5n },
      maxRbBodySize: 2000,
      maxEbSize: 100_000,
      maxEbTxBytes: 1_000_000,
      maxHeaderSize: 1500,
      maxTxSize: 9000,
      minFeeA: 3,
      minFeeB: 2,
      maxReplyTxs: 77,
      maxReplyBytes: 123_456,
      voteRetentionS: 60,
      maxSkewMs: 250,
    };
    for (const k of Object.keys(p) as (keyof ProtocolParams)[]) expect(p[k], k).not.toEqual(DEVNET_PARAMS[k]);
    const cfg = parseConfig(withVars({ PROTOCOL_PARAMS: protocolParamsVar(p), SLOT_LENGTH_MS: '200', EPOCH_LENGTH: '300', LEDGER_MODE: 'opaque' }));
    expect(cfg.params).toEqual(p);
  });

  it('computes the wall-clock epoch (§3.2)', () => {
    const cfg = parseConfig(withVars({ SYSTEM_START: '2026-01-01T00:00:00.000Z', SLOT_LENGTH_MS: '1000', EPOCH_LENGTH: '100' }));
    const t0 = Date.parse('2026-01-01T00:00:00.000Z');
    expect(currentEpoch(cfg, t0 - 1)).toBe(0);
    expect(currentEpoch(cfg, t0 + 99_999)).toBe(0);
    expect(currentEpoch(cfg, t0 + 100_000)).toBe(1);
  });

  it('answers 500 internal (not a crash) when the relay is misconfigured', async () => {
    const { relay } = await import('../testing/index');
    const res = await relay([], '/v1/tip', undefined, { LEDGER_MODE: 'nope' });
    expect(res.status).toBe(500);
    expect(((await res.json()) as { type: string }).type).toBe('urn:leios:problem:internal');
  });
});
