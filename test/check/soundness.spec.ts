/**
 * DPOR against the references it must agree with:
 *   - on runs small enough for the naive enumerator to finish: the same final states,
 *     outcomes and findings;
 *   - on every bundled run: every final state random sampling and PCT reach is one DPOR found
 *     (a DPOR that skipped a trace shows up here; this is how the release/acquire bug was found).
 */
import { describe, expect, it } from 'vitest';
import { bundledScenarios } from '../../src/run/load.ts';
import { explore, plannedRuns } from '../../src/run/run.ts';

const examples = bundledScenarios();

describe('DPOR soundness', () => {
  for (const p of examples) {
    it(`${p.scenario.name}: random and PCT samples reach no final state DPOR missed`, () => {
      for (const run of plannedRuns(p.scenario, {})) {
        const d = explore(p.scenario, run, { strategy: 'dpor', collectStates: true });
        for (const strategy of ['random', 'pct'] as const) {
          const r = explore(p.scenario, run, { strategy, collectStates: true, maxExecutions: 150, seed: 11 });
          const missing = [...r.states!].filter((s) => !d.states!.has(s));
          expect(missing, `${run.kernel}/${run.arch} ${run.mutant ?? ''} ${strategy}`).toEqual([]);
        }
      }
    }, 300_000);
  }

  it('equals the naive enumerator where it finishes (same states, outcomes and findings)', () => {
    let compared = 0;
    for (const p of examples) {
      for (const run of plannedRuns(p.scenario, {})) {
        const n = explore(p.scenario, run, { strategy: 'naive', collectStates: true, maxExecutions: 3000 });
        if (!n.complete) continue;
        const d = explore(p.scenario, run, { strategy: 'dpor', collectStates: true });
        expect([...d.states!].sort(), `${p.scenario.name} ${run.kernel}/${run.arch}`).toEqual([...n.states!].sort());
        expect(d.outcomeSummary() && Object.keys(d.outcomeSummary()).sort()).toEqual(Object.keys(n.outcomeSummary()).sort());
        expect(Object.keys(d.findingSummary()).sort()).toEqual(Object.keys(n.findingSummary()).sort());
        expect(d.executions).toBeLessThanOrEqual(n.executions);
        compared++;
      }
    }
    expect(compared).toBeGreaterThanOrEqual(10);
  }, 600_000); // naive over every run that finishes within 3,000 executions, with the model's invariants checked after every step (vitest.config.ts)
});
