/**
 * The stateful search against stateless DPOR on every bundled example (issue 13, "Trust"): every
 * planned run, the scenario's mutants included, gives the same verdict, the same judgement of each
 * expectation, the same findings, the same outcome values and the same completeness. The stateful
 * side runs the model compiled to frames (the bundle src/run/frames-entry.ts, built here), as
 * `--strategy stateful` does on its worker. (Its self-checks, GUPCHECK_CHECK_RESTORE and
 * GUPCHECK_CHECK_FINGERPRINTS, are on in the property test, test/property/dpor-naive.spec.ts; here
 * they would double this file's time.)
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildFramesBundle } from '../../src/build/frames-bundle.ts';
import { loadScenario } from '../../src/run/load.ts';
import { plannedRuns, type RunResult, runOne } from '../../src/run/run.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const examples = readdirSync(join(ROOT, 'examples'))
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((f) => join(ROOT, 'examples', f));

let framed: { runOne: typeof runOne; loadScenario: typeof loadScenario };
beforeAll(async () => {
  const out = await buildFramesBundle(join(ROOT, 'src/run/frames-entry.ts'), join(ROOT, 'test/check/frames.bundle.mjs'));
  framed = (await import(pathToFileURL(out).href)) as typeof framed;
}, 120_000);
/** What a user reads of a run: the verdict, each expectation, findings, outcome values, completeness. */
function observed(r: RunResult): unknown {
  return {
    verdict: r.verdict,
    complete: r.complete,
    expectations: r.expectations.map((e) => [e.text, e.holds]),
    findings: r.findings.map((f) => f.id).sort(),
    outcomes: Object.entries(r.outcomes)
      .map(([k, v]) => [k, Object.keys(v).sort()])
      .sort(),
  };
}

describe('the stateful search gives what DPOR gives on every bundled example', () => {
  for (const file of examples) {
    const p = loadScenario(file);
    it(`${p.scenario.name}: every planned run, mutants included`, () => {
      const q = framed.loadScenario(file);
      const runs = plannedRuns(p.scenario, {});
      expect(runs.length).toBeGreaterThan(0);
      for (const run of runs) {
        const label = `${run.kernel}/${run.arch}${run.mutant ? ` ${run.mutant}` : ''}`;
        const dpor = runOne(p, run, { strategy: 'dpor' });
        const stateful = framed.runOne(q, run, { strategy: 'stateful' });
        expect(dpor.complete, `${label}: DPOR completes`).toBe(true);
        expect(stateful.statesStored, label).toBeGreaterThan(0);
        expect(observed(stateful), label).toEqual(observed(dpor));
      }
    }, 300_000);
  }
});

describe('known gap of the stateful search (docs/perf.md, "Known gap")', () => {
  /*
   * The selftest's matrix under both strategies (runSelftest with strategy 'stateful' from the
   * frames bundle) gives the same kill matrix, but one (mutant, run) differs: no-recheck on
   * fast-pin-vs-thp-split 6.5/x86. DPOR finds pin-on-reused-page there; the stateful search
   * ends "complete" without it. Without sleep sets, or with every thread backtracked at every
   * state match, it still misses it; with both it finds it, so the race analysis beyond matched
   * states (check/summary.ts) loses a race here. `it.fails` keeps the case in view: when the
   * search is fixed this test fails, and should become an ordinary `it`.
   */
  const file = join(ROOT, 'examples', '10-fast-pin-vs-thp-split.yaml');
  const p = loadScenario(file);
  const base = plannedRuns(p.scenario, {}).find((r) => r.mutant === null && r.kernel === '6.5' && r.arch === 'x86')!;
  const run = { ...base, mutant: 'no-recheck' };
  it('DPOR finds pin-on-reused-page there; the stateful search says its search is complete', () => {
    expect(runOne(p, run, { strategy: 'dpor', judgeAs: base }).findings.map((f) => f.id)).toContain('pin-on-reused-page');
    expect(framed.runOne(framed.loadScenario(file), run, { strategy: 'stateful', judgeAs: base }).complete).toBe(true);
  }, 120_000);

  it.fails('the stateful search finds it too', () => {
    const stateful = framed.runOne(framed.loadScenario(file), run, { strategy: 'stateful', judgeAs: base });
    expect(stateful.findings.map((f) => f.id)).toContain('pin-on-reused-page');
  }, 120_000);
});
