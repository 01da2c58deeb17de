import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolViolation } from '../../errors/index';
import { blockFetchTable } from '../block-fetch/messages';
import { chainSyncTable } from '../chain-sync/messages';
import { handshakeTable } from '../handshake/messages';
import { keepAliveTable } from '../keep-alive/messages';
import { leiosFetchTable } from '../leios-fetch/messages';
import { leiosNotifyTable } from '../leios-notify/messages';
import { txSubmissionTable } from '../tx-submission/messages';
import { defineProtocol, StateMachine } from './index';

function reason(f: () => void): string {
  try {
    f();
  } catch (e) {
    if (e instanceof ProtocolViolation) return e.reason;
    throw e;
  }
  return 'ok';
}

describe('protocol tables', () => {
  it('every table is well-formed: reachable states, a terminal state, transitions only from agency states', () => {
    for (const t of [handshakeTable, keepAliveTable, chainSyncTable, blockFetchTable, txSubmissionTable, leiosNotifyTable, leiosFetchTable]) {
      const states = Object.keys(t.agency);
      const reach = new Set<string>([t.initial]);
      for (let changed = true; changed; ) {
        changed = false;
        for (const [from, , to] of t.transitions) {
          if (reach.has(from) && !reach.has(to)) {
            reach.add(to);
            changed = true;
          }
        }
      }
      expect([...reach].sort(), t.protocol).toEqual([...states].sort());
      expect(states.some((s) => (t.agency as Record<string, string>)[s] === 'none'), t.protocol).toBe(true);
    }
  });

  it('defineProtocol rejects broken tables', () => {
    const base = {
      protocol: 'keep-alive' as const,
      number: 8 as const,
      initial: 'A' as const,
      agency: { A: 'client' as const, B: 'server' as const, Z: 'none' as const },
      timeouts: {},
    };
    expect(() => defineProtocol({ ...base, transitions: [['A', 'x', 'B'], ['A', 'x', 'Z']] })).toThrow(/duplicate/);
    expect(() => defineProtocol({ ...base, transitions: [['Z', 'x', 'A']] })).toThrow(/terminal/);
    expect(() =>
      defineProtocol({ ...base, transitions: [['A', 'x', 'B'], ['B', 'y', 'A']], pipeline: { limit: 2, root: 'B', messages: ['y'] } }),
    ).toThrow(/root/);
  });
});

describe('StateMachine', () => {
  it('enforces agency and state', () => {
    const m = new StateMachine(keepAliveTable);
    m.apply('client', 'KeepAlive');
    expect(reason(() => m.apply('client', 'KeepAlive'))).toBe('keep-alive:agency');
    m.apply('server', 'Response');
    expect(reason(() => m.apply('server', 'Response'))).toBe('keep-alive:agency');
    m.apply('client', 'Done');
    expect(reason(() => m.apply('client', 'KeepAlive'))).toBe('keep-alive:agency');
  });

  it('chain-sync is not pipelined: a second RequestNext is chain-sync:agency', () => {
    const m = new StateMachine(chainSyncTable);
    m.apply('client', 'RequestNext');
    expect(reason(() => m.apply('client', 'RequestNext'))).toBe('chain-sync:agency');
    m.apply('server', 'AwaitReply');
    expect(reason(() => m.apply('server', 'AwaitReply'))).toBe('chain-sync:agency');
    m.apply('server', 'RollForward');
    expect(m.state).toBe('StIdle');
  });

  it('property: pipelined LeiosFetch conversations stay in sync and bounded', () => {
    const ev = fc.array(fc.oneof(fc.constant('req-block'), fc.constant('req-txs'), fc.constant('reply')), { maxLength: 60 });
    fc.assert(
      fc.property(ev, (events) => {
        const m = new StateMachine(leiosFetchTable);
        const outstanding: string[] = [];
        for (const e of events) {
          if (e === 'reply') {
            const next = outstanding[0];
            if (!next) {
              expect(reason(() => m.apply('server', 'Block'))).toBe('leios-fetch:agency');
              continue;
            }
            // The wrong kind of reply is refused, the right one accepted.
            const wrong = next === 'req-block' ? 'BlockTxs' : 'Block';
            expect(reason(() => m.apply('server', wrong))).toBe('leios-fetch:agency');
            m.apply('server', next === 'req-block' ? 'Block' : 'BlockTxs');
            outstanding.shift();
          } else {
            const key = e === 'req-block' ? 'BlockRequest' : 'BlockTxsRequest';
            if (outstanding.length === 16) {
              expect(reason(() => m.apply('client', key))).toBe('leios-fetch:limit');
              continue;
            }
            m.apply('client', key);
            outstanding.push(e);
          }
          expect(m.outstanding).toBe(outstanding.length);
          expect(m.state).toBe(outstanding.length === 0 ? 'StIdle' : outstanding[0] === 'req-block' ? 'StBlock' : 'StBlockTxs');
        }
        // Done only once everything was answered.
        expect(reason(() => m.apply('client', 'Done'))).toBe(outstanding.length === 0 ? 'ok' : 'leios-fetch:agency');
      }),
    );
  });

  it('block-fetch pipelining spans whole batches', () => {
    const m = new StateMachine(blockFetchTable);
    for (let i = 0; i < 4; i++) m.apply('client', 'RequestRange');
    expect(reason(() => m.apply('client', 'RequestRange'))).toBe('block-fetch:limit');
    m.apply('server', 'StartBatch');
    m.apply('server', 'Block');
    m.apply('server', 'BatchDone'); // the second range becomes current
    expect(m.state).toBe('StBusy');
    expect(m.outstanding).toBe(3);
    m.apply('server', 'NoBlocks');
    m.apply('client', 'RequestRange');
    expect(m.outstanding).toBe(3);
  });
});
