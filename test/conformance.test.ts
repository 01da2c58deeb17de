/**
 * PROTOCOL.md §16 lists the conformance checks an implementation must pass; scripts/conformance.ts
 * maps each to the tests that cite it (`§16 case N`). This suite fails when a check has no citing
 * test, so a new §16 check (or a deleted test) cannot go unnoticed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { citedChecks, conformanceMap, protocolCases, ROOT, testCitations } from '../scripts/conformance';

describe('§16 conformance map', () => {
  it('reads the §16 checks of PROTOCOL.md, numbered 1..N without gaps', () => {
    const cases = protocolCases();
    expect(cases.length).toBeGreaterThanOrEqual(36);
    expect(cases.map((c) => c.n)).toEqual(Array.from({ length: cases.length }, (_, i) => i + 1));
    for (const c of cases) {
      expect(c.topic.length, `§16 check ${c.n}`).toBeGreaterThan(0);
      expect(c.text.length, `§16 check ${c.n}`).toBeGreaterThan(10);
    }
  });

  it('has at least one citing test for every check', () => {
    const missing = conformanceMap()
      .filter((c) => c.tests.length === 0)
      .map((c) => `${c.n} (${c.topic})`);
    expect(missing).toEqual([]);
  });

  it('points each citation at a line of a test file that carries it', () => {
    for (const [n, where] of testCitations()) {
      for (const w of where) {
        const [file, line] = w.split(':') as [string, string];
        expect(file.endsWith('.test.ts'), w).toBe(true);
        const text = readFileSync(join(ROOT, file), 'utf8').split('\n')[Number(line) - 1] ?? '';
        expect(text, `${w} cites §16 ${n}`).toMatch(/§16 /);
        expect(citedChecks(text), `${w} cites §16 ${n}`).toContain(n);
      }
    }
  });

  it('reads single citations, lists and ranges', () => {
    expect(citedChecks('covers §16 cases 9, 10 and 12 here')).toEqual([9, 10, 12]);
    expect(citedChecks('the §16 #36 burst; §16 check 4')).toEqual([36, 4]);
    expect(citedChecks('§16 checks 4–6 and 9')).toEqual([4, 5, 6, 9]);
    expect(citedChecks('see §15 and §16 generally')).toEqual([]);
  });
});
