/** Protocol core of PROTOCOL.md §3–§7: parameters, blocks, votes, committee, certificates, timing. @module */
export * from './params/index';
export * from './timing/index';
export * from './committee/index';
export * from './certificate/index';
export * from './eb/index';
export * from './vote/index';
export * from './genesis/index';
export * from './rb/index';
export * from './fa/index';
