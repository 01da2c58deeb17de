import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
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
