/**
 * The checker checks itself (issue 6): every mutant is run against every bundled example, judged
 * by the expectations of the unmutated revision. A mutant is *caught* by an example when some
 * expectation that holds on the unmutated kernel fails with the mutant (strict scenarios also
 * fail on any new finding). Every mutant must be caught by at least one example, and the
 * unmutated revisions by none (every example holds).
 */
import { findRevision } from '../kernel/revisions/index.ts';
import { MUTANTS, type Mutant, mutantApplies } from '../kernel/mutants.ts';
import type { ParsedScenario } from '../scenarios/parse.ts';
import { plannedRuns, runOne, type RunOptions } from './run.ts';

export interface KillCell {
  readonly mutant: string;
  readonly scenario: string;
  /** The run and expectation that caught it, or null. */
  readonly caughtBy: string | null;
  /** Runs explored for this cell. */
  readonly runs: number;
}

export interface SelftestResult {
  readonly cells: KillCell[];
  readonly unmutated: { readonly scenario: string; readonly violated: string[] }[];
  readonly mutants: readonly Mutant[];
  readonly ms: number;
}

export function runSelftest(examples: readonly ParsedScenario[], o: Pick<RunOptions, 'shouldStop'> = {}, onCell?: (c: KillCell) => void): SelftestResult {
  const t0 = Date.now();
  const unmutated = examples.map((p) => {
    const violated: string[] = [];
    for (const run of plannedRuns(p.scenario, {})) {
      const r = runOne(p, run, { strategy: 'dpor', shouldStop: o.shouldStop });
      for (const e of r.expectations.filter((x) => !x.holds)) violated.push(`${run.kernel}/${run.arch}${run.mutant ? ` +${run.mutant}` : ''}: ${e.text} (${e.observed})`);
    }
    return { scenario: p.scenario.name, violated };
  });
  const cells: KillCell[] = [];
  for (const m of MUTANTS) {
    for (const p of examples) {
      let caughtBy: string | null = null;
      let runs = 0;
      for (const base of plannedRuns(p.scenario, {}).filter((r) => r.mutant === null)) {
        if (!mutantApplies(m, findRevision(base.kernel)!)) continue;
        runs++;
        const r = runOne(p, { ...base, mutant: m.name }, { strategy: 'dpor', judgeAs: base, shouldStop: o.shouldStop });
        const bad = r.expectations.find((x) => !x.holds);
        if (bad) {
          caughtBy = `${base.kernel}/${base.arch}: ${bad.text}, observed ${bad.observed}`;
          break;
        }
      }
      const cell = { mutant: m.name, scenario: p.scenario.name, caughtBy, runs };
      cells.push(cell);
      onCell?.(cell);
    }
  }
  return { cells, unmutated, mutants: MUTANTS, ms: Date.now() - t0 };
}
