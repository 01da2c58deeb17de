/**
 * Vitest global setup of the `edge` project: starts the loopback fixture storage nodes (Node side)
 * and hands their origin to the workerd side through `provide` (read by vitest.config.ts into a
 * test-only `FIXTURE_ORIGIN` binding).
 *
 * @module
 */
import type { TestProject } from 'vitest/node';
import { startFixtureUpstream } from './fixture-upstream';
import { testNetwork } from './network';

declare module 'vitest' {
  export interface ProvidedContext {
    fixtureOrigin: string;
    testNetwork: string;
  }
}

let close: (() => Promise<void>) | undefined;

export async function setup(project: TestProject): Promise<void> {
  const f = await startFixtureUpstream();
  close = f.close;
  project.provide('fixtureOrigin', f.origin);
  project.provide('testNetwork', JSON.stringify(testNetwork()));
}

export async function teardown(): Promise<void> {
  await close?.();
}
