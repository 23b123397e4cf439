/**
 * The verdict of a run Ctrl-C or SIGTERM stopped (run.ts verdictOf()): `interrupted` when the only
 * expectations not met are `sometimes` ones the search had not reached yet (the user stopped it:
 * no answer either way); `violated` when something it explored already went against an
 * expectation. A search stopped by its own bound (--max-executions) that misses a `sometimes`
 * still fails the run, as docs/scenario-format.md says.
 */
import { describe, expect, it } from 'vitest';
import { loadScenario } from '../../src/run/load.ts';
import { type Job, runJobs } from '../../src/run/pool.ts';
import { builtinKernels, type PlannedRun, plannedRuns, runOne, verdictOf } from '../../src/run/run.ts';

const REUSE = loadScenario('examples/09-fast-pin-vs-unmap-reuse.yaml');
const run = (kernel: string, mutant: string | null = null): PlannedRun => ({ scenario: REUSE.scenario.name, kernel, arch: 'arm64', mutant });

describe('the verdict of an interrupted run', () => {
  it('is interrupted when it stopped before meeting the wild-deref v7/arm64 expects `sometimes`', () => {
    // DPOR's first execution runs CPU0's GUP-fast alone to its end: no race, no finding.
    const r = runOne(REUSE, run('v7'), { strategy: 'dpor', shouldStop: (x) => (x.executions >= 1 ? 'interrupted' : undefined) });
    expect(r.limit).toBe('interrupted');
    expect(r.findings).toEqual([]);
    expect(r.verdict).toBe('interrupted');
    expect(r.expectations).toEqual([{ text: 'wild-deref: sometimes', holds: false, observed: 'in 0 of 1 executions (search not complete)', open: true }]);
  });

  it('is violated when what it explored before the interrupt already went against an expectation', () => {
    // The mutated run judged by the unmutated run's `finding: any, is: never`, interrupted at its first finding.
    const r = runOne(REUSE, run('6.5', 'check-before-recheck'), { strategy: 'dpor', judgeAs: run('6.5'), shouldStop: (x) => (x.findings.size ? 'interrupted' : undefined) });
    expect(r.limit).toBe('interrupted');
    expect(r.findings.length).toBeGreaterThan(0);
    expect(r.verdict).toBe('violated');
  });

  it('is violated, not interrupted, when a bound the user set (--max-executions) stopped it first', () => {
    const r = runOne(REUSE, run('v7'), { strategy: 'dpor', maxExecutions: 1 });
    expect(r.limit).toBe('executions');
    expect(r.verdict).toBe('violated');
  });

  it('under auto, is interrupted for a run moved to the stateful search and one the interrupt kept from it', async () => {
    // scaled-reuse v7/arm64: DPOR's first 2,000 executions do not meet the wild-deref, so both
    // runs move; Ctrl-C as the stateful phase starts stops the first and keeps the second on DPOR's result.
    const jobs: Job[] = ['bench/scaled-reuse-anon.yaml', 'bench/scaled-reuse-file.yaml'].flatMap((file) => {
      const p = loadScenario(file);
      return plannedRuns(p.scenario, { kernels: builtinKernels(['v7']) }).map((r) => ({ file, run: r, label: p.scenario.name }));
    });
    expect(jobs).toHaveLength(2);
    let stop: string | undefined;
    const done = await runJobs(jobs, { strategy: 'auto' }, 1, {
      shouldStop: () => stop,
      onRunStart: (j) => {
        if (j.label.endsWith('(stateful)')) stop = 'interrupted';
      },
    });
    expect(done.interrupted).toBe(true);
    for (const r of done.results) {
      expect(r!.findings).toEqual([]);
      expect(r!.limit).toBe('interrupted');
      expect(r!.verdict).toBe('interrupted');
    }
    expect(done.results.map((r) => r!.strategy)).toEqual(['stateful', 'dpor']);
  }, 120_000);

  it('follows the expectations: not judged, holds, interrupted only when every failure is an open `sometimes`', () => {
    const open = { text: 'x: sometimes', holds: false, observed: '', open: true };
    const never = { text: 'y: never', holds: false, observed: '' };
    const met = { text: 'z: sometimes', holds: true, observed: '' };
    expect(verdictOf(false, [], 'interrupted')).toBe('not-judged');
    expect(verdictOf(true, [met], 'interrupted')).toBe('holds');
    expect(verdictOf(true, [met, open], 'interrupted')).toBe('interrupted');
    expect(verdictOf(true, [open, never], 'interrupted')).toBe('violated');
    expect(verdictOf(true, [open], 'memory')).toBe('violated');
    expect(verdictOf(true, [open], undefined)).toBe('violated');
  });
});
