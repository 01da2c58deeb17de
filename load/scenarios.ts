/**
 * The load scenarios for Node: the types of the shared description (./k6/scenarios.js, plain
 * JavaScript so k6 imports the very same object) and of the shared plan logic (./k6/plan.js),
 * and the scenarios validated once on import.
 *
 * Primer: nothing about a scenario is written here. Rates, durations, bounds, route mix and
 * thresholds live in ./k6/scenarios.js; ./k6/plan.js turns one into a {@link Plan} for either
 * runner. This module only names the shapes, re-exports the functions with those types, and
 * plans every scenario at start so a malformed description fails before any request.
 *
 * @module
 */
import * as planJs from './k6/plan.js';
import { SPEC as SPEC_JS } from './k6/scenarios.js';

/** A payload list load/generate.ts writes: txs (base64 CBOR), EB and RB hashes (hex). */
export type PayloadKind = 'txs' | 'ebs' | 'rbs';

/** The payload lists a runner holds (k6: SharedArrays; Node: arrays). */
export type Payloads = Record<PayloadKind, ArrayLike<string>>;

/** One PROTOCOL.md §12 request kind and what a correct answer looks like. */
export interface RouteSpec {
  method: 'GET' | 'POST';
  /** `{hash}` is replaced by a payload item for GETs. */
  path: string;
  /** Where the hash or body comes from; null: no parameter. */
  payload: PayloadKind | null;
  /** Request Content-Type (POST). */
  contentType?: string;
  expect: {
    status: number[];
    /** Exact Cache-Control value. */
    cacheControl?: string;
    /** Media type of Content-Type (parameters ignored). */
    contentType?: string;
  };
}

/** A linear stage of a ramping-arrival-rate scenario. */
export interface Stage {
  target: number;
  /** k6 duration: `500ms`, `20s`, `1m`. */
  duration: string;
}

interface ScenarioCommon {
  description: string;
  /** Hard cap on requests (scaled with rate × time). */
  maxRequests: number;
  /** k6 maxVUs: requests outstanding at most; further arrivals are dropped. */
  maxInFlight: number;
  /** Integer weight per route name. */
  mix: Record<string, number>;
  /** k6 thresholds: metric (optionally `{route:<name>}`) → expressions. */
  thresholds: Record<string, string[]>;
}

/** One scenario as described in ./k6/scenarios.js. */
export type ScenarioSpec = ScenarioCommon &
  ({ executor: 'constant-arrival-rate'; rate: number; duration: string } | { executor: 'ramping-arrival-rate'; startRate: number; stages: Stage[] });

/** The whole description. */
export interface Spec {
  routes: Record<string, RouteSpec>;
  scenarios: Record<string, ScenarioSpec>;
}

/** Multipliers of durations and rates (TIME_SCALE, RATE_SCALE). */
export interface Scale {
  timeScale: number;
  rateScale: number;
}

/** A validated, scaled scenario, as both runners execute it. */
export interface Plan {
  name: string;
  description: string;
  executor: 'constant-arrival-rate' | 'ramping-arrival-rate';
  /** Requests per second at t = 0. */
  startRate: number;
  /** Linear segments of the rate (per second) from the previous target to `target`. */
  stages: Array<{ target: number; durationMs: number }>;
  durationMs: number;
  maxRequests: number;
  maxInFlight: number;
  mix: Array<{ route: string; weight: number }>;
  /** Round-robin deal of the mix; iteration i uses `wheel[i % wheel.length]`. */
  wheel: Array<{ route: string; slot: number }>;
  routes: Record<string, RouteSpec>;
  thresholds: Record<string, string[]>;
  timeScale: number;
  rateScale: number;
  /** Arrivals the rate curve asks for (before maxRequests). */
  expectedRequests: number;
}

/** The request of one iteration. */
export interface PlannedRequest {
  route: string;
  method: 'GET' | 'POST';
  url: string;
  bodyBase64: string | null;
  contentType: string | null;
}

/** One check on one answer. */
export interface CheckResult {
  name: string;
  ok: boolean;
}

/** The shared description. */
export const SPEC: Spec = SPEC_JS;

/** Scenario names, in description order. */
export const SCENARIO_NAMES: readonly string[] = Object.keys(SPEC.scenarios);

// Parse once at the boundary: every scenario must plan at scale 1.
for (const name of SCENARIO_NAMES) planJs.planScenario(SPEC, name);

/**
 * Plan scenario `name` (validated, scaled).
 *
 * @example
 * const plan = planScenario('get-burst', { timeScale: 0.1, rateScale: 0.5 });
 */
export function planScenario(name: string, scale: Scale = { timeScale: 1, rateScale: 1 }): Plan {
  return planJs.planScenario(SPEC, name, scale);
}

export const { arrivalsBy, assertPayloads, assertTarget, checkResponse, formatDuration, k6Options, parseDuration, payloadKinds, readScale, requestAt, routeAt } = planJs;
