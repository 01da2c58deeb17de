/**
 * How EBs are found and checked on the content read path (../content).
 *
 * @module
 */
import { LIMITS } from '../../config/index';
import { checkEb } from '../../verify/index';
import type { ContentKind } from '../content';

/** EB content: `/v1/eb/{hash}`, checked by hash and S_EB, served with `ETag: "<hash>"`. */
export const EB_KIND: ContentKind = {
  prefix: '/v1/eb/',
  noun: 'EB',
  maxBytes: LIMITS.maxEbSize,
  check: checkEb,
  fromHub: (d, hex) => d.hub().getEb(hex),
  etag: true,
};
