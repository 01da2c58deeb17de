import { describe, expect, it } from 'vitest';
import { problemOf, relay } from '../../testing/index';
import { offersSubprotocol } from './index';

describe('GET /v1/ws', () => {
  it('upgrades with 101 and subprotocol leios-mux.1', async () => {
    const res = await relay([], '/v1/ws', { headers: { upgrade: 'websocket', 'sec-websocket-protocol': 'other, leios-mux.1' } });
    expect(res.status).toBe(101);
    expect(res.headers.get('sec-websocket-protocol')).toBe('leios-mux.1');
    const ws = res.webSocket;
    expect(ws).not.toBeNull();
    ws?.accept();
    ws?.close(1000, 'done');
  });

  it('refuses an upgrade without the leios-mux.1 subprotocol (400 bad-subprotocol)', async () => {
    const attempts: Record<string, string>[] = [{ upgrade: 'websocket' }, { upgrade: 'websocket', 'sec-websocket-protocol': 'leios-mux.2' }];
    for (const headers of attempts) {
      const res = await relay([], '/v1/ws', { headers });
      expect(res.status).toBe(400);
      expect(res.webSocket).toBeNull();
      expect((await problemOf(res)).type).toBe('urn:leios:problem:bad-subprotocol');
    }
  });

  it('answers a plain GET with 426 upgrade-required and other methods with 405', async () => {
    const plain = await relay([], '/v1/ws');
    expect(plain.status).toBe(426);
    expect((await problemOf(plain)).type).toBe('urn:leios:problem:upgrade-required');
    const post = await relay([], '/v1/ws', { method: 'POST' });
    expect(post.status).toBe(405);
  });

  it('parses the offered subprotocol list', () => {
    expect(offersSubprotocol('leios-mux.1')).toBe(true);
    expect(offersSubprotocol(' a ,leios-mux.1 ')).toBe(true);
    expect(offersSubprotocol('leios-mux.10')).toBe(false);
    expect(offersSubprotocol(undefined)).toBe(false);
  });
});
