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
import type { Execution } from '../../src/check/execution.ts';
import type { Strategy } from '../../src/check/explore.ts';
import { FIRST_PASS_EXECUTIONS, FIRST_PASS_PCT, type FirstPass } from '../../src/check/strategies/stateful.ts';
import type * as FramesEntry from '../../src/run/frames-entry.ts';
import { loadScenario } from '../../src/run/load.ts';
import { plannedRuns, type RunResult, runOne } from '../../src/run/run.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const examples = readdirSync(join(ROOT, 'examples'))
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((f) => join(ROOT, 'examples', f));

let framed: typeof FramesEntry;
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

/** Each execution a strategy ends: its schedule, values and whether it ran to its end. */
function logged(s: Strategy, log: string[]): Strategy {
  return {
    track: s.track,
    beginExecution: () => s.beginExecution(),
    nextThread: (ex, en) => s.nextThread(ex, en),
    nextValue: (ex, tid, n) => s.nextValue(ex, tid, n),
    endExecution: (ex: Execution, ended: boolean) => {
      log.push(`${ended ? 'ended' : 'abandoned'} ${ex.schedule.join(',')} / ${ex.values.join(',')}${ended && ex.w.findings.length ? ' finding' : ''}`);
      s.endExecution(ex, ended);
    },
    finish: (r) => s.finish(r),
    ...(s.resume ? { resume: (program, o) => s.resume!(program, o) } : {}),
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

describe('a dependence the checker hid (docs/perf.md, "A gap the comparison found")', () => {
  /*
   * The selftest's matrix under both strategies found one (mutant, run) where they differed:
   * no-recheck on fast-pin-vs-thp-split 6.5/x86. DPOR found pin-on-reused-page there; the
   * stateful search ended complete without it. The cause was in the model, not the search: the
   * pin-on-reused-page watcher sampled the PTE inside the grab's step, which did not declare that
   * read, so "the PTE maps the page again before the sample" and "after it" counted as one
   * interleaving, and the stateful search kept the order that hides the finding (DPOR found it
   * only through other races). The sample and the final check are now declared reads of their
   * own (kernel/gup.ts watch(), checkRecord()); both strategies find it.
   */
  const file = join(ROOT, 'examples', '10-fast-pin-vs-thp-split.yaml');
  const p = loadScenario(file);
  const base = plannedRuns(p.scenario, {}).find((r) => r.mutant === null && r.kernel === '6.5' && r.arch === 'x86')!;
  const run = { ...base, mutant: 'no-recheck' };
  it('DPOR and the stateful search both find pin-on-reused-page there, by complete searches', () => {
    const dpor = runOne(p, run, { strategy: 'dpor', judgeAs: base });
    const stateful = framed.runOne(framed.loadScenario(file), run, { strategy: 'stateful', judgeAs: base });
    for (const r of [dpor, stateful]) {
      expect(r.complete).toBe(true);
      expect(r.findings.map((f) => f.id)).toContain('pin-on-reused-page');
    }
  }, 120_000);
});

describe('the first passes rewind to their branch nodes and explore what a replaying DFS explores', () => {
  /*
   * `--strategy stateful` starts with stateless DPOR passes under preemption bounds
   * (StatefulStrategy.firstPass()). They come back to a pass's branch node by rewinding the
   * execution to a checkpoint, not by replaying it from the start, so the DFS's own bookkeeping of
   * the steps it no longer sees (the last thread, the preemptions so far) is set by
   * DfsStrategy.resumeAt(). Both must give the executions the replaying DFS gives, in its order.
   */
  for (const file of examples) {
    const p = loadScenario(file);
    it(`${p.scenario.name}: bounds 1 and 2, every unmutated run`, () => {
      const q = framed.loadScenario(file);
      for (const run of plannedRuns(p.scenario, {}).filter((r) => r.mutant === null)) {
        const program = framed.buildProgram(q.scenario, run);
        for (const bound of [1, 2]) {
          const label = `${run.kernel}/${run.arch}, bound ${bound}`;
          // The replaying DFS, stopped where a first pass stops: a finding, or the budget.
          const dfs: string[] = [];
          const replaying = logged(new framed.DfsStrategy({ mode: 'dpor', preemptionBound: bound }), dfs);
          framed.drain(framed.exploreSlices(program, replaying, { shouldStop: (r) => (r.findings.size > 0 || dfs.length >= FIRST_PASS_EXECUTIONS ? 'pass over' : undefined) }));
          const stateful: string[] = [];
          const rewinding = logged(new framed.StatefulStrategy({ firstPasses: [bound] }), stateful);
          framed.drain(framed.exploreSlices(program, rewinding, { shouldStop: () => (stateful.length > dfs.length ? 'pass over' : undefined) }));
          expect(dfs.length, label).toBeGreaterThan(0);
          expect(stateful.slice(0, dfs.length), label).toEqual(dfs);
        }
      }
    }, 120_000);
  }
});

describe('the PCT pass replays what a replaying PCT samples, and runs only where the bounded passes ran out', () => {
  const file = join(ROOT, 'examples', '09-fast-pin-vs-unmap-reuse.yaml');
  const p = loadScenario(file);
  it('09: the same executions as PCT with the same seed, on every unmutated run (v7/arm64: up to its wild-deref)', () => {
    const q = framed.loadScenario(file);
    for (const run of plannedRuns(p.scenario, {}).filter((r) => r.mutant === null)) {
      const label = `${run.kernel}/${run.arch}`;
      const program = framed.buildProgram(q.scenario, run);
      const pct: string[] = [];
      framed.drain(framed.exploreSlices(program, logged(new framed.RandomStrategy({ strategy: 'pct', ...FIRST_PASS_PCT }), pct), { shouldStop: (r) => (r.findings.size > 0 ? 'pass over' : undefined) }));
      const stateful: string[] = [];
      framed.drain(framed.exploreSlices(program, logged(new framed.StatefulStrategy({ firstPasses: ['pct'] }), stateful), { shouldStop: () => (stateful.length > pct.length ? 'pass over' : undefined) }));
      expect(pct.length, label).toBeGreaterThan(0);
      expect(stateful.slice(0, pct.length), label).toEqual(pct);
      if (run.kernel === 'v7' && run.arch === 'arm64') expect(pct.at(-1), label).toMatch(/ finding$/);
    }
  }, 120_000);
  it('09: after bounded passes that ran out of their budget, PCT from the first step', () => {
    const q = framed.loadScenario(file);
    const run = plannedRuns(p.scenario, {}).find((r) => r.mutant === null && r.kernel === '6.5' && r.arch === 'arm64')!;
    const program = framed.buildProgram(q.scenario, run);
    const pct: string[] = [];
    framed.drain(framed.exploreSlices(program, logged(new framed.RandomStrategy({ strategy: 'pct', ...FIRST_PASS_PCT, executions: 50 }), pct)));
    const stateful: string[] = [];
    const s = new framed.StatefulStrategy({ firstPasses: [2, 'pct'], firstPassExecutions: 10 });
    framed.drain(framed.exploreSlices(program, logged(s, stateful), { shouldStop: () => (stateful.length >= 10 + pct.length ? 'enough' : undefined) }));
    expect(pct).toHaveLength(50);
    expect(stateful.slice(10, 10 + pct.length)).toEqual(pct);
  }, 120_000);
  it('09: not after bounded passes that covered their bounds (the same executions as without it)', () => {
    const q = framed.loadScenario(file);
    for (const run of plannedRuns(p.scenario, {}).filter((r) => r.mutant === null && r.kernel === '6.5')) {
      const program = framed.buildProgram(q.scenario, run);
      const executions = (firstPasses: readonly FirstPass[]): string[] => {
        const log: string[] = [];
        framed.drain(framed.exploreSlices(program, logged(new framed.StatefulStrategy({ firstPasses }), log)));
        return log;
      };
      expect(executions([0, 1, 2, 'pct']), `${run.kernel}/${run.arch}`).toEqual(executions([0, 1, 2]));
    }
  }, 120_000);
});

describe('the analysis beyond matched states costs almost no states', () => {
  /*
   * A matched state is not explored again, so what lies below it is analysed against the new path
   * from its summary (check/summary.ts). Where that analysis is coarser than what the stateless
   * search would do by running on, it adds backtrack points, and states. The same search with
   * matching off is the stateless source-DPOR over the same steps; its table counts the distinct
   * states it visits. On every unmutated example run the stateful search stores 0.90-1.17 times as
   * many (measured 2026-12-07, with the PTE watchers fingerprinted by value; 0.91-1.03 before, when
   * the fingerprint told more states apart for both searches). The test allows 1.2 times, which
   * catches an analysis made coarser: clockBefore() without the past's accesses gives up to 2.33
   * (13 6.5/arm64; 09 6.5/x86 1.49), and before the exact clocks beyond matches spin-l1 had
   * 98,166 states instead of 66,454.
   */
  for (const file of examples) {
    const p = loadScenario(file);
    it(`${p.scenario.name}: states stored, against the distinct states stateless DPOR visits`, () => {
      const q = framed.loadScenario(file);
      for (const run of plannedRuns(p.scenario, {}).filter((r) => r.mutant === null)) {
        const label = `${run.kernel}/${run.arch}`;
        const program = framed.buildProgram(q.scenario, run);
        const states = (matchStates: boolean): number => {
          const s = new framed.StatefulStrategy({ firstPasses: [], matchStates });
          const r = framed.drain(framed.exploreSlices(program, s));
          expect(r.complete, `${label}, matchStates ${matchStates}`).toBe(true);
          return s.stats.states;
        };
        const stateful = states(true);
        const stateless = states(false);
        expect(stateful, `${label}: ${stateful} states stored, ${stateless} distinct states visited by stateless DPOR`).toBeLessThanOrEqual(Math.ceil(stateless * 1.2));
      }
    }, 300_000);
  }
});
