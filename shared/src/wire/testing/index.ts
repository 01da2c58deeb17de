/**
 * Helpers for tests of code built on the wire layer (this package's and the edge / storage-node
 * suites): a handshaken in-memory connection pair on a manual clock, and a way to let queued
 * microtasks and deferred pumps run.
 *
 * @module
 */
import { ProtocolViolation } from '../../errors/index';
import type { Hash32 } from '../../types/index';
import { ManualClock, type ProtocolNumber } from '../common/index';
import { type Connection, connectionPair, type MemoryTransport } from '../connection/index';
import { HandshakeClient, HandshakeServer, type LocalVersionData } from '../handshake/index';
import { type Mode, packSegments, splitMessage } from '../mux/index';

/** The devnet identity used by tests. */
export const TEST_NETWORK: LocalVersionData = {
  networkMagic: 2026,
  genesisHash: new Uint8Array(32).fill(7) as Hash32,
  ledgerMode: 0,
};

/** Let microtasks (delivery, pumps) and `setTimeout(0)` turns run. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setTimeout(r, 0));
}

/**
 * Two connections that completed the handshake.
 *
 * @example
 * ```ts
 * const { a, b, clock } = await handshakenPair();
 * a.register(new KeepAliveClient()); b.register(new KeepAliveServer());
 * ```
 */
export async function handshakenPair(opts: { initiatorOnly?: boolean } = {}): Promise<{
  a: Connection;
  b: Connection;
  ta: MemoryTransport;
  tb: MemoryTransport;
  clock: ManualClock;
}> {
  const clock = new ManualClock();
  const pair = connectionPair({ clock }, { clock });
  const hc = new HandshakeClient({ data: TEST_NETWORK, initiatorOnly: opts.initiatorOnly ?? false });
  const hs = new HandshakeServer({ data: TEST_NETWORK });
  pair.b.register(hs);
  pair.a.register(hc);
  await hc.result;
  await hs.result;
  return { ...pair, clock };
}

/**
 * Send one message as raw segments through a transport, bypassing drivers (to play a
 * misbehaving peer).
 */
export function sendRaw(t: MemoryTransport, protocol: ProtocolNumber, mode: Mode, message: Uint8Array): void {
  for (const m of packSegments(splitMessage(protocol, mode, message, 0))) t.send(m);
}

/**
 * Run `decode` on `bytes` and require that it either succeeds or throws a ProtocolViolation
 * (never a bare DecodeError, RangeError or TypeError): the fuzz oracle of the codec tests.
 */
export function decodesOrViolates(decode: (b: Uint8Array) => unknown, bytes: Uint8Array): 'ok' | 'violation' {
  try {
    decode(bytes);
    return 'ok';
  } catch (e) {
    if (e instanceof ProtocolViolation) return 'violation';
    throw e;
  }
}

/** A copy of `bytes` with one byte xor-ed, one byte dropped or one inserted (deterministic in `seed`). */
export function mutate(bytes: Uint8Array, seed: number): Uint8Array {
  const n = bytes.length;
  const at = n === 0 ? 0 : seed % n;
  const x = ((seed >>> 8) & 0xff) || 1;
  switch ((seed >>> 16) % 3) {
    case 0: {
      const out = bytes.slice();
      if (n > 0) out[at] = out[at]! ^ x;
      return out;
    }
    case 1: {
      const out = new Uint8Array(Math.max(0, n - 1));
      out.set(bytes.subarray(0, at));
      out.set(bytes.subarray(at + 1), at);
      return out;
    }
    default: {
      const out = new Uint8Array(n + 1);
      out.set(bytes.subarray(0, at));
      out[at] = x;
      out.set(bytes.subarray(at), at + 1);
      return out;
    }
  }
}
