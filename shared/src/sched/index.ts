/**
 * Outbound prioritisation of PROTOCOL.md §13: the priority classes, the per-session segment
 * scheduler (strict P0 > P1 > P2 with a 1-in-32 starvation guard, freshest first inside a class)
 * and the bounded offer queue with the §13.4 drop-and-re-offer rule.
 *
 * @module
 */
export * from './offer-queue';
export * from './priority';
export * from './scheduler';
