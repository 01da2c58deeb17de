/**
 * @leios/edge: the stateless edge relay (DESIGN.md §1) — a Hono Worker answering the HTTP API of
 * PROTOCOL.md §12 and a RelayHub Durable Object holding the peer WebSocket sessions of §8.
 *
 * @module
 */
import { createApp } from './app';

export { RelayHub } from './hub/index';

const app = createApp();

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<import('./config/index').Env>;
