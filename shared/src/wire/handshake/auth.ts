/**
 * Handshake authentication extension: storage nodes prove to their relays that they hold a
 * per-peer secret (and relays prove the same back), without changing the §8.3 layout for peers
 * that do not use it.
 *
 * Design:
 * - `version_data` gains an optional fifth element `auth = [peer_id: tstr (≤ 64 B), time_ms: uint,
 *   mac: bytes .size 32]`. Absent, version_data is exactly the four-element array of §8.3, so a
 *   relay without authentication configured interoperates unchanged.
 * - The client (initiator) MAC, for the proposed `version` whose data carries it:
 *   `HMAC-SHA-256(secret, "LEIOS-HS-AUTH-1" || u64be(version) || core || u64be(time_ms) || peer_id)`
 *   where `core` is `84 ||` the exact received bytes of the first four fields (§1.3: received
 *   bytes, never a re-encoding). It binds the network magic, genesis hash, ledger mode and
 *   initiator_only flag to the secret.
 * - Freshness uses the client's wall-clock timestamp instead of a server nonce (the client speaks
 *   first in §8.3, so a nonce would cost a round trip): the relay accepts `|now − time_ms| ≤
 *   maxSkewMs` (default 30 s) and remembers every MAC it accepted within that window, so a
 *   captured handshake cannot be replayed on a second connection.
 * - The server answers with its own auth in AcceptVersion:
 *   `HMAC-SHA-256(secret, "LEIOS-HS-AUTH-1/accept" || client_mac || u64be(version) || core ||
 *   u64be(time_ms) || peer_id)` with the server's core, time and id. Covering the client MAC makes
 *   it fresh without a clock check; the client refuses an AcceptVersion that lacks it or fails.
 * - Failure on the relay: Refuse `[2, [2, version, "auth"]]` then close 1008 `handshake:refused`
 *   (same path as the §8.3 reasons; "auth" is a new reason string, which §8.3's `tstr` allows).
 * - Authentication may be optional ({@link admit}): a server may admit a client that presents *no*
 *   auth element as *anonymous* (what it may then do is the application's business: the relay lets
 *   anonymous sessions read and submit txs only), or turn it away with a reason of its own (the
 *   relay: `"anonymous-limit"`). A client that presents an auth element is always checked and
 *   refused with "auth" when it fails — never downgraded to anonymous, so a bad key is noticed.
 * MACs are compared in constant time.
 *
 * @module
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { ascii, concatBytes, u64be } from '../../bytes/index';
import type { HandshakeAuth, VersionData } from './messages';
import { MAX_PEER_ID, versionDataCore } from './messages';

const CLIENT_DOMAIN = ascii('LEIOS-HS-AUTH-1');
const SERVER_DOMAIN = ascii('LEIOS-HS-AUTH-1/accept');
const utf8 = new TextEncoder();

/** A per-peer secret as both ends hold it. */
export interface PeerSecret {
  readonly peerId: string;
  readonly secret: Uint8Array;
}

function macInput(version: number, core: Uint8Array, timeMs: number, peerId: string): Uint8Array {
  return concatBytes(u64be(version), core, u64be(timeMs), utf8.encode(peerId));
}

/** Constant-time equality of two MACs. */
export function macEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

/**
 * The client's auth element for `version` and its version data.
 *
 * @example
 * ```ts
 * const auth = clientAuth({ peerId: 'pool-a', secret }, 1, data, Date.now());
 * const proposed = { ...data, auth };
 * ```
 */
export function clientAuth(key: PeerSecret, version: number, data: VersionData, timeMs: number): HandshakeAuth {
  if (utf8.encode(key.peerId).length > MAX_PEER_ID) throw new RangeError('handshake auth: peer id too long');
  const core = data.core ?? versionDataCore(data);
  const mac = hmac(sha256, key.secret, concatBytes(CLIENT_DOMAIN, macInput(version, core, timeMs, key.peerId)));
  return { peerId: key.peerId, timeMs, mac };
}

/**
 * The server's auth element answering a verified client auth.
 *
 * @example
 * ```ts
 * const auth = serverAuth({ peerId: 'relay-1', secret }, clientMac, 1, localData, Date.now());
 * ```
 */
export function serverAuth(
  key: PeerSecret,
  clientMac: Uint8Array,
  version: number,
  data: VersionData,
  timeMs: number,
): HandshakeAuth {
  const core = data.core ?? versionDataCore(data);
  const mac = hmac(
    sha256,
    key.secret,
    concatBytes(SERVER_DOMAIN, clientMac, macInput(version, core, timeMs, key.peerId)),
  );
  return { peerId: key.peerId, timeMs, mac };
}

/** Check a server auth element (client side). */
export function verifyServerAuth(secret: Uint8Array, clientMac: Uint8Array, version: number, data: VersionData): boolean {
  if (!data.auth) return false;
  const expect = serverAuth({ peerId: data.auth.peerId, secret }, clientMac, version, data, data.auth.timeMs);
  return macEqual(expect.mac, data.auth.mac);
}

/** Relay-side configuration of {@link HandshakeAuthenticator}. */
export interface AuthenticatorOptions {
  /** The secret shared with `peerId`, or undefined for an unknown peer. */
  secretFor(peerId: string): Uint8Array | undefined;
  /** This relay's id in its AcceptVersion auth. */
  serverId: string;
  /** Wall-clock milliseconds (not monotonic: timestamps cross machines). Default `Date.now`. */
  now?: () => number;
  /** Accepted clock difference. Default 30,000 ms. */
  maxSkewMs?: number;
  /** Remembered MACs (replay cache). Default 4,096. */
  maxRemembered?: number;
}

/** Outcome of {@link HandshakeAuthenticator.verify}. */
export type AuthResult =
  | { ok: true; peerId: string; secret: Uint8Array }
  | { ok: false; detail: 'missing' | 'unknown-peer' | 'stale' | 'bad-mac' | 'replay' };

/**
 * Verifies client auth elements with a bounded replay cache (one per relay, shared by its
 * connections).
 *
 * @example
 * ```ts
 * const authn = new HandshakeAuthenticator({ serverId: 'relay-1', secretFor: (id) => secrets.get(id) });
 * conn.register(new HandshakeServer({ ...local, auth: authn }));
 * ```
 */
export class HandshakeAuthenticator {
  private readonly seen = new Map<string, number>();
  private readonly now: () => number;
  private readonly skew: number;
  private readonly max: number;

  constructor(private readonly opts: AuthenticatorOptions) {
    this.now = opts.now ?? Date.now;
    this.skew = opts.maxSkewMs ?? 30_000;
    this.max = opts.maxRemembered ?? 4_096;
  }

  get serverId(): string {
    return this.opts.serverId;
  }

  /** Check the auth element of the proposed `version`'s data. */
  verify(version: number, data: VersionData): AuthResult {
    const a = data.auth;
    if (!a) return { ok: false, detail: 'missing' };
    const secret = this.opts.secretFor(a.peerId);
    if (!secret) return { ok: false, detail: 'unknown-peer' };
    const now = this.now();
    if (Math.abs(now - a.timeMs) > this.skew) return { ok: false, detail: 'stale' };
    const expect = clientAuth({ peerId: a.peerId, secret }, version, data, a.timeMs);
    if (!macEqual(expect.mac, a.mac)) return { ok: false, detail: 'bad-mac' };
    const id = Array.from(a.mac, (b) => b.toString(16).padStart(2, '0')).join('');
    for (const [k, t] of this.seen) {
      if (now - t <= this.skew) break; // insertion order ≈ time order: stop at the first fresh one
      this.seen.delete(k);
    }
    if (this.seen.has(id)) return { ok: false, detail: 'replay' };
    if (this.seen.size >= this.max) this.seen.delete(this.seen.keys().next().value as string);
    this.seen.set(id, now);
    return { ok: true, peerId: a.peerId, secret };
  }
}

/**
 * What a server with authentication does with a client that presents no auth element:
 * `'refuse'` (Refuse "auth"), `'accept'` (anonymous), or a function deciding per connection —
 * null admits it as anonymous, a string refuses it with that reason (e.g. a per-address cap).
 */
export type AnonymousAdmission = 'refuse' | 'accept' | (() => string | null);

/** How the server admitted a client (see {@link admit}). */
export type Access = 'authenticated' | 'anonymous' | 'open';

/** The outcome of {@link admit}: admitted with an access level, or refused with a §8.3 reason text. */
export type Admission =
  | { readonly ok: true; readonly access: 'open' | 'anonymous' }
  | { readonly ok: true; readonly access: 'authenticated'; readonly peerId: string; readonly secret: Uint8Array }
  | { readonly ok: false; readonly reason: string; readonly detail: string };

/**
 * The server's admission rule, one row per case:
 *
 * | server auth         | client's auth element                        | outcome                      |
 * |---------------------|----------------------------------------------|------------------------------|
 * | none                | any (ignored; an authenticating client then refuses the unauthenticated AcceptVersion) | `open` |
 * | set                 | present, verifies                            | `authenticated` (peer id)    |
 * | set                 | present, fails (unknown peer, stale, bad MAC, replay) | refuse `"auth"`     |
 * | set, anonymous `'refuse'` (default) | absent                       | refuse `"auth"`              |
 * | set, anonymous `'accept'`           | absent                       | `anonymous`                  |
 * | set, anonymous function             | absent                       | `anonymous` if it returns null, else refuse with its string |
 *
 * The function is called only for a client that will otherwise be admitted, so a caller may
 * count admissions in it.
 *
 * @example
 * ```ts
 * const a = admit(authn, 'accept', 1, proposed);
 * if (!a.ok) refuse(a.reason); else if (a.access === 'anonymous') readOnly();
 * ```
 */
export function admit(
  authn: HandshakeAuthenticator | undefined,
  anonymous: AnonymousAdmission,
  version: number,
  data: VersionData,
): Admission {
  if (authn === undefined) return { ok: true, access: 'open' };
  if (data.auth !== undefined) {
    const r = authn.verify(version, data);
    return r.ok ? { ok: true, access: 'authenticated', peerId: r.peerId, secret: r.secret } : { ok: false, reason: 'auth', detail: r.detail };
  }
  if (anonymous === 'refuse') return { ok: false, reason: 'auth', detail: 'missing' };
  const refusal = anonymous === 'accept' ? null : anonymous();
  return refusal === null ? { ok: true, access: 'anonymous' } : { ok: false, reason: refusal, detail: 'anonymous refused' };
}
