import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHex } from '@leios/shared/bytes';
import { blsKeyGen, ed25519KeyFromSeed } from '@leios/shared/crypto';
import { derivePoolKeys } from '@leios/shared/protocol';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_API_PORT, loadConfig, loadPoolKeys, parseConfig, relayAuth } from './index';

const SECRET = 'ab'.repeat(32);
const base = { name: 'node-0', genesis: 'genesis.json', dataDir: 'node-0' };

function fieldOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).field;
  }
  throw new Error('expected a ConfigError');
}

describe('parseConfig', () => {
  it('fills defaults and resolves paths against the config directory', () => {
    const c = parseConfig(base, { baseDir: '/srv/devnet', env: {} });
    expect(c.genesis).toBe('/srv/devnet/genesis.json');
    expect(c.dataDir).toBe('/srv/devnet/node-0');
    expect(c.api).toEqual({ host: '127.0.0.1', port: DEFAULT_API_PORT });
    expect(c.database).toEqual({ kind: 'pglite', dir: '/srv/devnet/node-0/db' });
    expect(c.relays).toEqual([]);
    expect(c.pools).toEqual([]);
  });

  it('carries relays with their per-peer secrets, inline or from the environment', () => {
    const c = parseConfig(
      {
        ...base,
        relays: [
          { url: 'ws://127.0.0.1:8787/v1/ws', peerId: 'node-0', secret: SECRET },
          { url: 'wss://relay.example/v1/ws', peerId: 'node-0', secretEnv: 'EU_SECRET' },
          { url: 'ws://10.0.0.1:8787/v1/ws' },
        ],
      },
      { baseDir: '/x', env: { EU_SECRET: 'cd'.repeat(16) } },
    );
    expect(c.relays).toEqual([
      { url: 'ws://127.0.0.1:8787/v1/ws', peerId: 'node-0', secret: SECRET },
      { url: 'wss://relay.example/v1/ws', peerId: 'node-0', secret: 'cd'.repeat(16) },
      { url: 'ws://10.0.0.1:8787/v1/ws' },
    ]);
    expect(toHex(relayAuth(c.relays[0]!)!.secret)).toBe(SECRET);
    expect(relayAuth(c.relays[2]!)).toBeUndefined();
  });

  it('applies environment overrides before validation', () => {
    const c = parseConfig(
      { ...base, pgliteDir: 'db', relays: [{ url: 'ws://a/v1/ws' }] },
      {
        baseDir: '/srv',
        env: {
          DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/leios',
          LEIOS_API_PORT: '4000',
          LEIOS_API_HOST: '0.0.0.0',
          LEIOS_RELAYS: 'ws://r1:8787/v1/ws, ws://r2:8787/v1/ws',
          LEIOS_POOL_SEEDS: 'pool-1,pool-2',
          LEIOS_TRACE_FILE: '/var/log/leios/trace.jsonl',
          LEIOS_NAME: 'override',
        },
      },
    );
    expect(c.database).toEqual({ kind: 'postgres', url: 'postgres://postgres@127.0.0.1:5432/leios' });
    expect(c.api).toEqual({ host: '0.0.0.0', port: 4000 });
    expect(c.relays.map((r) => r.url)).toEqual(['ws://r1:8787/v1/ws', 'ws://r2:8787/v1/ws']);
    expect(c.pools).toEqual([{ seed: 'pool-1' }, { seed: 'pool-2' }]);
    expect(c.traceFile).toBe('/var/log/leios/trace.jsonl');
    expect(c.name).toBe('override');
    const j = parseConfig(base, { env: { LEIOS_RELAYS: JSON.stringify([{ url: 'ws://r/v1/ws', peerId: 'p', secret: SECRET }]) } });
    expect(j.relays).toEqual([{ url: 'ws://r/v1/ws', peerId: 'p', secret: SECRET }]);
  });

  it('refuses bad input with a ConfigError naming the field', () => {
    expect(fieldOf(() => parseConfig({ ...base, api: { port: 70_000 } }, { env: {} }))).toBe('api.port');
    expect(fieldOf(() => parseConfig(base, { env: { LEIOS_API_PORT: 'eighty' } }))).toBe('api.port');
    expect(fieldOf(() => parseConfig({ ...base, relays: [{ url: 'http://a/v1/ws' }] }, { env: {} }))).toBe('relays[0].url');
    expect(fieldOf(() => parseConfig({ ...base, relays: [{ url: 'ws://a/v1/ws', peerId: 'p', secret: 'XYZ' }] }, { env: {} }))).toBe(
      'relays[0].secret',
    );
    expect(fieldOf(() => parseConfig({ ...base, relays: [{ url: 'ws://a/v1/ws', secret: SECRET }] }, { env: {} }))).toBe('relays[0].peerId');
    expect(fieldOf(() => parseConfig({ ...base, relays: [{ url: 'ws://a/v1/ws', peerId: 'p', secretEnv: 'NOPE' }] }, { env: {} }))).toBe(
      'relays[0].secretEnv',
    );
    expect(
      fieldOf(() => parseConfig({ ...base, relays: [{ url: 'ws://a/v1/ws', peerId: 'p', secret: SECRET, secretEnv: 'S' }] }, { env: { S: SECRET } })),
    ).toBe('relays[0].secretEnv');
    expect(fieldOf(() => parseConfig({ ...base, databaseUrl: 'mysql://x' }, { env: {} }))).toBe('databaseUrl');
    expect(fieldOf(() => parseConfig({ ...base, databaseUrl: 'postgres://x', pgliteDir: 'db' }, { env: {} }))).toBe('pgliteDir');
    expect(fieldOf(() => parseConfig({ ...base, pools: [{ seed: 's' }], poolKeysFile: 'k.json' }, { env: {} }))).toBe('poolKeysFile');
    expect(fieldOf(() => parseConfig({ name: 'n', dataDir: 'd' }, { env: {} }))).toBe('genesis');
    expect(fieldOf(() => parseConfig({ ...base, slotLengthMs: 100 }, { env: {} }))).toBe('slotLengthMs');
    expect(fieldOf(() => parseConfig([], { env: {} }))).toBe('(root)');
    expect(fieldOf(() => parseConfig(base, { env: { LEIOS_RELAYS: '[not json' } }))).toBe('relays');
  });

  it('any API port in range round-trips through LEIOS_API_PORT; any outside is refused', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 200_000 }), (port) => {
        const run = () => parseConfig(base, { env: { LEIOS_API_PORT: String(port) } });
        if (port <= 65_535) expect(run().api.port).toBe(port);
        else expect(fieldOf(run)).toBe('api.port');
      }),
    );
  });
});

describe('loadConfig and loadPoolKeys (files)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'leios-config-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('reads the file named by LEIOS_CONFIG and reports unreadable or non-JSON files', async () => {
    const file = join(dir, 'node.json');
    await writeFile(file, JSON.stringify({ ...base, relays: [{ url: 'ws://127.0.0.1:8787/v1/ws' }] }));
    const c = await loadConfig({ env: { LEIOS_CONFIG: file } });
    expect(c.genesis).toBe(join(dir, 'genesis.json'));
    expect(c.relays).toHaveLength(1);
    await writeFile(join(dir, 'bad.json'), '{ "name": ');
    await expect(loadConfig({ file: join(dir, 'bad.json'), env: {} })).rejects.toMatchObject({ kind: 'config', field: '(file)' });
    await expect(loadConfig({ file: join(dir, 'missing.json'), env: {} })).rejects.toMatchObject({ kind: 'config', field: '(file)' });
    // with no file at all the environment alone must name every required field
    await expect(loadConfig({ env: { LEIOS_NAME: 'n' } })).rejects.toMatchObject({ field: 'genesis' });
    const fromEnv = await loadConfig({ env: { LEIOS_NAME: 'n', LEIOS_GENESIS: 'g.json', LEIOS_DATA_DIR: '/data' } });
    expect(fromEnv.dataDir).toBe('/data');
  });

  it('derives pool keys from seeds and reads a key file', async () => {
    const fromSeeds = await loadPoolKeys({ pools: [{ seed: 'pool-1' }] });
    const d = derivePoolKeys('pool-1');
    expect(toHex(fromSeeds[0]!.poolId)).toBe(toHex(d.poolId));
    expect(toHex(fromSeeds[0]!.coldVk)).toBe(toHex(d.coldVk));

    const coldSeed = new Uint8Array(32).fill(7);
    const vote = blsKeyGen(new Uint8Array(32).fill(9));
    const vrf = blsKeyGen(new Uint8Array(32).fill(8));
    const file = join(dir, 'keys.json');
    await writeFile(
      file,
      JSON.stringify([
        { coldSeed: toHex(coldSeed), vrfSecretKey: toHex(vrf.secretKey), voteSecretKey: toHex(vote.secretKey), votePublicKey: toHex(vote.publicKey) },
        { coldSeed: toHex(new Uint8Array(32).fill(1)), vrfSecretKey: toHex(vrf.secretKey), voteSecretKey: null, votePublicKey: null },
      ]),
    );
    const keys = await loadPoolKeys({ pools: [], poolKeysFile: file });
    expect(keys).toHaveLength(2);
    expect(toHex(keys[0]!.coldVk)).toBe(toHex(ed25519KeyFromSeed(coldSeed).publicKey));
    expect(keys[1]!.voteSecretKey).toBeNull();
    await writeFile(file, JSON.stringify([{ coldSeed: 'zz', vrfSecretKey: toHex(vrf.secretKey), voteSecretKey: null, votePublicKey: null }]));
    await expect(loadPoolKeys({ pools: [], poolKeysFile: file })).rejects.toMatchObject({ field: '[0].coldSeed' });
  });
});
