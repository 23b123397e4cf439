/**
 * The checker checks itself (issue 6): every mutant is run against every bundled example, judged
 * by the expectations of the unmutated revision. A mutant is *caught* by an example when some
 * expectation that holds on the unmutated kernel fails with the mutant (strict scenarios also
 * fail on any new finding). Every mutant must be caught by at least one example, and the
 * unmutated revisions by none (every example holds).
 *
 * A mutant runs only on the revisions it changes (kernel/mutants.ts mutantChanges(): the
 * replaced functions' structure differs from the revision's), and the selftest reports, for
 * every (mutant, revision) it runs, which entries of the function table differ (never none). It
 * also records whether one of those runs explored something else than the unmutated run of the
 * same example, kernel and arch (another number of executions or transitions, other outcomes or
 * findings): `observed`. A pair whose code differs but was never observed is one whose change
 * the runs made (up to the one that caught the mutant) do not reach; that is information about
 * the examples, not a failure.
 */
import { findRevision } from '../kernel/revisions/index.ts';
import { MUTANTS, type Mutant, mutantApplies, mutantChanges } from '../kernel/mutants.ts';
import type { ParsedScenario } from '../scenarios/parse.ts';
import { plannedRuns, type RunResult, runOne, type RunOptions } from './run.ts';

export interface KillCell {
  readonly mutant: string;
  readonly scenario: string;
  /** The run and expectation that caught it, or null. */
  readonly caughtBy: string | null;
  /** Runs explored for this cell. */
  readonly runs: number;
}

/** What the selftest knows of one (mutant, revision) it ran. */
export interface MutantRevision {
  readonly mutant: string;
  readonly kernel: string;
  /** The revision's function-table entries the mutant replaces with other code (never empty for a pair that ran). */
  readonly changes: readonly string[];
  /** Runs made with this mutant on this kernel. */
  readonly runs: number;
  /** Some run explored something else than the unmutated run: the example reaches the change. */
  readonly observed: boolean;
}

export interface SelftestResult {
  readonly cells: KillCell[];
  readonly unmutated: { readonly scenario: string; readonly violated: string[] }[];
  readonly pairs: MutantRevision[];
  readonly mutants: readonly Mutant[];
  readonly ms: number;
}

/** What an exploration saw, for comparing a mutated run with the unmutated one. */
function signature(r: RunResult): string {
  return JSON.stringify([r.executions, r.transitions, r.outcomes, r.findings.map((f) => [f.id, f.executions])]);
}

/** o.strategy: an exhaustive strategy (default DPOR); the stateful one needs the model compiled to frames (run/frames-entry.ts exports this function). */
export function runSelftest(examples: readonly ParsedScenario[], o: Pick<RunOptions, 'shouldStop'> & { readonly strategy?: 'dpor' | 'naive' | 'stateful' } = {}, onCell?: (c: KillCell) => void): SelftestResult {
  const t0 = Date.now();
  const strategy = o.strategy ?? 'dpor';
  const baseline = new Map<string, string>();
  const key = (scenario: string, kernel: string, arch: string) => `${scenario}\u0000${kernel}\u0000${arch}`;
  const unmutated = examples.map((p) => {
    const violated: string[] = [];
    for (const run of plannedRuns(p.scenario, {})) {
      const r = runOne(p, run, { strategy, shouldStop: o.shouldStop });
      if (run.mutant === null) baseline.set(key(p.scenario.name, run.kernel, run.arch), signature(r));
      for (const e of r.expectations.filter((x) => !x.holds)) violated.push(`${run.kernel}/${run.arch}${run.mutant ? ` +${run.mutant}` : ''}: ${e.text} (${e.observed})`);
    }
    return { scenario: p.scenario.name, violated };
  });
  const cells: KillCell[] = [];
  const pairs: MutantRevision[] = [];
  for (const m of MUTANTS) {
    const ran = new Map<string, { runs: number; observed: boolean }>();
    for (const p of examples) {
      let caughtBy: string | null = null;
      let runs = 0;
      for (const base of plannedRuns(p.scenario, {}).filter((r) => r.mutant === null)) {
        if (!mutantApplies(m, findRevision(base.kernel)!)) continue;
        const seen = ran.get(base.kernel) ?? { runs: 0, observed: false };
        runs++;
        const r = runOne(p, { ...base, mutant: m.name }, { strategy, judgeAs: base, shouldStop: o.shouldStop });
        ran.set(base.kernel, { runs: seen.runs + 1, observed: seen.observed || signature(r) !== baseline.get(key(p.scenario.name, base.kernel, base.arch)) });
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
    for (const [kernel, s] of ran) pairs.push({ mutant: m.name, kernel, changes: mutantChanges(m, findRevision(kernel)!), runs: s.runs, observed: s.observed });
  }
  return { cells, unmutated, pairs, mutants: MUTANTS, ms: Date.now() - t0 };
}
