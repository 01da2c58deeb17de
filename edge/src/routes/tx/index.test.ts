import { CborWriter, parseHash32, toHex } from '@leios/shared';
import { buildTx, encodeOpaqueTx } from '@leios/shared/ledger';
import { describe, expect, it } from 'vitest';
import { EdgeError } from '../../errors/index';
import { DEAD_UPSTREAM, FixtureNode, problemOf, randomBytes, relay } from '../../testing/index';
import { decodeSubmittedTx } from './index';

const CBOR = 'application/cbor';

/** A signed utxo tx (§5.1) from the shared builder; `inputs` inflates it for size tests. */
function signedTx(inputs = 1): { bytes: Uint8Array; txId: string; txHash: string } {
  const tx = buildTx({
    inputs: Array.from({ length: inputs }, (_, i) => ({ txId: parseHash32(randomBytes(32)), index: i })),
    outputs: [{ address: randomBytes(28), amount: 1_000_000n }],
    fee: 200_000n,
    ttlSlot: 10_000,
    signers: [randomBytes(32)],
    maxTxSize: 65_536,
  });
  return { bytes: tx.bytes, txId: toHex(tx.id), txHash: toHex(tx.hash) };
}
const makeTx = (inputs = 1) => signedTx(inputs).bytes;

function post(body: Uint8Array | string, type: string | null = CBOR): RequestInit {
  const headers: Record<string, string> = {};
  if (type !== null) headers['content-type'] = type;
  return { method: 'POST', body, headers };
}

describe('POST /v1/tx', () => {
  it('forwards the exact bytes and passes on 202 {txId, txHash}', async () => {
    const node = new FixtureNode();
    const { bytes: tx, txId, txHash } = signedTx();
    await node.reply('/v1/tx', { method: 'POST', status: 202, type: 'application/json', body: JSON.stringify({ txId, txHash }) });
    const res = await relay([node], '/v1/tx', post(tx));
    expect(res.status).toBe(202);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.json()).toEqual({ txId, txHash });
    const seen = await node.seen('/v1/tx', 'POST');
    expect(seen.hits).toBe(1);
    expect(seen.lastBodyHex).toBe(toHex(tx));
  });

  it('skips a storage node whose ids do not name the tx sent', async () => {
    const wrong = new FixtureNode();
    const right = new FixtureNode();
    const { bytes: tx, txId, txHash } = signedTx();
    await wrong.reply('/v1/tx', { method: 'POST', status: 202, type: 'application/json', body: JSON.stringify({ txId: txHash, txHash }) });
    await right.reply('/v1/tx', { method: 'POST', status: 202, type: 'application/json', body: JSON.stringify({ txId, txHash }) });
    const res = await relay([wrong, right], '/v1/tx', post(tx));
    expect(res.status).toBe(202);
    expect((await right.seen('/v1/tx', 'POST')).hits).toBe(1);
  });

  it("passes on the storage node's 422 tx-invalid with its rule", async () => {
    const node = new FixtureNode();
    const problem = { type: 'urn:leios:problem:tx-invalid', title: 'Transaction invalid', status: 422, detail: 'fee 1 < 170000', rule: 'fee-too-small' };
    await node.reply('/v1/tx', { method: 'POST', status: 422, type: 'application/problem+json', body: JSON.stringify(problem) });
    const res = await relay([node], '/v1/tx', post(makeTx()));
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const p = await problemOf(res);
    expect(p.type).toBe('urn:leios:problem:tx-invalid');
    expect(p.rule).toBe('fee-too-small');
    expect(p.detail).toBe('fee 1 < 170000');
  });

  it('asks the next storage node when one answers with a problem that is not about the tx (e.g. 404)', async () => {
    const old = new FixtureNode(); // no /v1/tx route: the fixture answers 404 not-found
    const node = new FixtureNode();
    const { bytes: tx, txId, txHash } = signedTx();
    await node.reply('/v1/tx', { method: 'POST', status: 202, type: 'application/json', body: JSON.stringify({ txId, txHash }) });
    const res = await relay([old, node], '/v1/tx', post(tx));
    expect(res.status).toBe(202);
    expect((await old.seen('/v1/tx', 'POST')).hits).toBe(1);
  });

  it('passes on 503 mempool-full with Retry-After', async () => {
    const node = new FixtureNode();
    const problem = { type: 'urn:leios:problem:mempool-full', title: 'Mempool full', status: 503, detail: 'full' };
    await node.reply('/v1/tx', { method: 'POST', status: 503, type: 'application/problem+json', body: JSON.stringify(problem), retryAfter: '7' });
    const res = await relay([node], '/v1/tx', post(makeTx()));
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('7');
    expect((await problemOf(res)).type).toBe('urn:leios:problem:mempool-full');
  });

  it('answers 415 for a non-CBOR body, before the size check', async () => {
    const node = new FixtureNode();
    const big = new Uint8Array(70_000);
    for (const type of ['application/json', null, 'text/plain']) {
      const res = await relay([node], '/v1/tx', post(big, type));
      expect(res.status).toBe(415);
      expect((await problemOf(res)).type).toBe('urn:leios:problem:unsupported-media-type');
    }
    expect((await node.seen('/v1/tx', 'POST')).hits).toBe(0);
  });

  it('answers 413 above 65,536 bytes, also when streamed without Content-Length', async () => {
    const node = new FixtureNode();
    const res = await relay([node], '/v1/tx', post(new Uint8Array(65_537)));
    expect(res.status).toBe(413);
    const p = await problemOf(res);
    expect(p.type).toBe('urn:leios:problem:too-large');
    expect(p.limit).toBe(65_536);

    const chunk = new Uint8Array(16_384);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(ctl) {
        // An endless body: the relay must stop reading at the limit.
        sent += chunk.length;
        ctl.enqueue(chunk);
        if (sent > 10 * 1024 * 1024) ctl.close();
      },
    });
    const streamed = await relay([node], '/v1/tx', { method: 'POST', body: stream, headers: { 'content-type': CBOR }, duplex: 'half' } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(sent).toBeLessThan(1024 * 1024);
    expect((await node.seen('/v1/tx', 'POST')).hits).toBe(0);
  });

  it('answers 400 malformed-cbor for bytes that are not one canonical tx', async () => {
    const node = new FixtureNode();
    const tx = makeTx();
    const cases: Uint8Array[] = [
      new Uint8Array(0),
      new Uint8Array([0x18, 0x01]), // non-minimal integer head
      new Uint8Array([...tx, 0x00]), // trailing byte
      new CborWriter().array(1).uint(1).finish(), // wrong shape
      new Uint8Array([0x9f, 0xff]), // indefinite array
      new Uint8Array([0x82, ...tx.subarray(2)]), // a broken tx (first byte of the body head dropped)
      encodeOpaqueTx(randomBytes(10)), // an opaque tx on a utxo relay
    ];
    for (const body of cases) {
      const res = await relay([node], '/v1/tx', post(body));
      expect(res.status).toBe(400);
      expect((await problemOf(res)).type).toBe('urn:leios:problem:malformed-cbor');
    }
    expect((await node.seen('/v1/tx', 'POST')).hits).toBe(0);
  });

  it('answers 422 tx-too-large for a well-formed tx above MAX_TX_SIZE, without asking a storage node', async () => {
    const node = new FixtureNode();
    const tx = makeTx(460); // 460 inputs of 36 bytes: about 17 kB
    expect(tx.length).toBeGreaterThan(16_384);
    expect(tx.length).toBeLessThan(65_536);
    const res = await relay([node], '/v1/tx', post(tx));
    expect(res.status).toBe(422);
    const p = await problemOf(res);
    expect(p.type).toBe('urn:leios:problem:tx-invalid');
    expect(p.rule).toBe('tx-too-large');
    expect((await node.seen('/v1/tx', 'POST')).hits).toBe(0);
  });

  it('answers 503 upstream-unavailable when no storage node takes it', async () => {
    const res = await relay([DEAD_UPSTREAM], '/v1/tx', post(makeTx()));
    expect(res.status).toBe(503);
  });

  it('answers 405 to GET (405 outranks 415)', async () => {
    const res = await relay([], '/v1/tx', { method: 'GET' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
  });

  it('in opaque mode takes one byte string and refuses utxo txs', async () => {
    const node = new FixtureNode();
    const tx = encodeOpaqueTx(randomBytes(40));
    const { id, hash } = decodeSubmittedTx(tx, 'opaque');
    expect(id).toEqual(hash);
    await node.reply('/v1/tx', { method: 'POST', status: 202, type: 'application/json', body: JSON.stringify({ txId: toHex(id), txHash: toHex(hash) }) });
    const ok = await relay([node], '/v1/tx', post(tx), { LEDGER_MODE: 'opaque' });
    expect(ok.status).toBe(202);
    const utxo = await relay([node], '/v1/tx', post(makeTx()), { LEDGER_MODE: 'opaque' });
    expect(utxo.status).toBe(400);
  });

  it('reports a body both oversized and malformed as 400 (400 outranks 422)', () => {
    const big = new CborWriter().array(2).bytes(randomBytes(20_000)).uint(1).finish();
    const e = (() => {
      try {
        decodeSubmittedTx(big, 'utxo');
      } catch (x) {
        return x;
      }
    })();
    expect(e).toBeInstanceOf(EdgeError);
    expect((e as EdgeError).problem.kind).toBe('malformed-cbor');
  });
});
