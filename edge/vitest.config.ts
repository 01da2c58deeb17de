/**
 * The `edge` test project: worker tests run inside workerd (@cloudflare/vitest-plugin reads
 * wrangler.jsonc, so the Worker, its RelayHub Durable Object and the Cache API are the real
 * runtime's). Storage nodes are a real loopback HTTP server started in the global setup
 * (test/fixture-upstream.ts); its origin reaches the worker as the test-only FIXTURE_ORIGIN
 * binding, and the default UPSTREAM_URLS point at it.
 */
import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { defineProject } from 'vitest/config';

/** The per-peer HMAC key of the test peer `peer-a` (src/testing knows it too). */
const TEST_PEER_SECRET_HEX = '5e'.repeat(32);

export default defineProject({
  plugins: [
    cloudflareTest(({ inject }) => {
      const origin = inject('fixtureOrigin');
      return {
        wrangler: { configPath: './wrangler.jsonc' },
        miniflare: {
          bindings: {
            FIXTURE_ORIGIN: origin,
            UPSTREAM_URLS: `${origin}/n/default`,
            UPSTREAM_TIMEOUT_MS: '2000',
            // The test relay authenticates peers, as a production relay with PEER_SECRETS does;
            // sessions without a key are anonymous (read and submit txs only).
            PEER_SECRETS: JSON.stringify({ 'peer-a': TEST_PEER_SECRET_HEX }),
            // A small anonymous message allowance, so that the flood test reaches it quickly
            // (the other limits are the defaults: 4 sessions per address, 60 s window, 64 MiB).
            ANON_LIMITS: JSON.stringify({ messages: 150 }),
            // f = 1/2 so the test pools lead often; the mainnet committee size (test/network.ts).
            PROTOCOL_PARAMS: JSON.stringify({ activeSlotCoeff: '1/2', committeeSize: 900 }),
            // Test-only: the 900-pool network with its keys (test/network.ts), read by src/testing.
            TEST_NETWORK: inject('testNetwork'),
          },
        },
      };
    }),
  ],
  test: {
    name: 'edge',
    include: ['src/**/*.test.ts'],
    globalSetup: ['./test/global-setup.ts'],
    testTimeout: 30_000,
  },
});
