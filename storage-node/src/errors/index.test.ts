/**
 * The package's one error union: every typed error class of the storage node is recognised by
 * {@link isStorageNodeError} with its own kind, and nothing else is.
 */
import { describe, expect, it } from 'vitest';
import { ApiError } from '../api/problem';
import { ConfigError } from '../config/index';
import { NetError } from '../net/errors';
import { BlockRejectedError, EbRejectedError, MempoolRejectedError, NodeStateError, VoteRejectedError } from '../node/errors';
import { ConfigFileError } from '../service/config';
import { isStorageError, isStorageNodeError, StorageError, type StorageNodeError } from './index';

describe('StorageNodeError', () => {
  const members: Array<[StorageNodeError, string | undefined]> = [
    [new StorageError('hash-mismatch', 'x'), 'storage'],
    [new NetError('dial-failed', 'x'), 'net'],
    [new ConfigError('api.port', 'x'), 'config'],
    [new ConfigFileError('/c.json', ['name: x']), 'config-file'],
    [new MempoolRejectedError('full', 'x'), 'mempool-rejected'],
    [new BlockRejectedError('header-invalid', 'x'), 'block-rejected'],
    [new EbRejectedError('malformed', 'x'), 'eb-rejected'],
    [new VoteRejectedError('unknown-rb', 'x'), 'vote-rejected'],
    [new NodeStateError('stopped', 'x'), 'node-state'],
    [new ApiError({ kind: 'bad-hash', detail: 'x' }), undefined],
  ];

  it('recognises every member, by kind, and only by its own kind', () => {
    for (const [e, kind] of members) {
      expect(isStorageNodeError(e), e.name).toBe(true);
      if (kind !== undefined) {
        expect(isStorageNodeError(e, kind as 'storage')).toBe(true);
        expect(isStorageNodeError(e, kind === 'net' ? 'storage' : 'net')).toBe(false);
      }
    }
    expect(isStorageError(members[0]![0], 'hash-mismatch')).toBe(true);
  });

  it('rejects plain errors, look-alike objects and non-errors', () => {
    expect(isStorageNodeError(new Error('bug'))).toBe(false);
    expect(isStorageNodeError({ kind: 'storage', message: 'not an Error' })).toBe(false);
    expect(isStorageNodeError(Object.assign(new Error('x'), { kind: 'something-else' }))).toBe(false);
    expect(isStorageNodeError(undefined)).toBe(false);
    expect(isStorageNodeError('storage')).toBe(false);
  });
});
