/**
 * --stop-at-finding: a run stops once its findings decide its verdict (run.ts findingsDecide()),
 * not at any first finding: a run that expects two findings `sometimes` goes on until it has met
 * both, a finding expected `never` or one that covers no run stops it at once, and a run with no
 * finding explores everything, as without the option. On the worker pool, an item whose findings
 * decided the run stops the run's other items.
 */
import { describe, expect, it } from 'vitest';
import { loadScenario } from '../../src/run/load.ts';
import { type Job, runJobs } from '../../src/run/pool.ts';
import { builtinKernels, plannedRuns, type PlannedRun, runOne, type RunResult } from '../../src/run/run.ts';
import { STOPPED_AT_FINDING } from '../../src/check/defaults.ts';

const REUSE = loadScenario('examples/09-fast-pin-vs-unmap-reuse.yaml');
const run = (kernel: string, mutant: string | null = null): PlannedRun => ({ scenario: REUSE.scenario.name, kernel, arch: 'arm64', mutant });
const ids = (r: RunResult) => r.findings.map((f) => f.id);

describe('--stop-at-finding on example 09 (DPOR)', () => {
  it('stops v7/arm64 once it met the wild-deref it expects, with the verdict of the whole search', () => {
    const all = runOne(REUSE, run('v7'), { strategy: 'dpor' });
    const stopped = runOne(REUSE, run('v7'), { strategy: 'dpor', stopAtFinding: true });
    expect(all.complete).toBe(true);
    expect(ids(stopped)).toEqual(['wild-deref']);
    expect(stopped.verdict).toBe(all.verdict);
    expect(stopped.verdict).toBe('holds');
    expect(stopped.complete).toBe(false);
    expect(stopped.limit).toBe('finding');
    expect(stopped.stopReason).toBe(STOPPED_AT_FINDING);
    expect(stopped.executions).toBeLessThan(all.executions);
    // It stopped at the execution that met the finding: the only one with it.
    expect(stopped.findings[0]!.executions).toBe(1);
  });

  it('goes on past the first finding until every finding expected `sometimes` is met', () => {
    const stopped = runOne(REUSE, run('6.5', 'check-before-recheck'), { strategy: 'dpor', stopAtFinding: true });
    expect(ids(stopped)).toEqual(['warn', 'wild-deref']);
    expect(stopped.verdict).toBe('holds');
    expect(stopped.limit).toBe('finding');
  });

  it('stops at the first finding an expectation `never` rules out: the run fails as the whole search would', () => {
    // The mutated run judged by the unmutated run's expectations (finding: any, is: never), as the selftest does.
    const judgeAs = run('6.5');
    const all = runOne(REUSE, run('6.5', 'check-before-recheck'), { strategy: 'dpor', judgeAs });
    const stopped = runOne(REUSE, run('6.5', 'check-before-recheck'), { strategy: 'dpor', judgeAs, stopAtFinding: true });
    expect(all.verdict).toBe('violated');
    expect(stopped.verdict).toBe('violated');
    expect(stopped.limit).toBe('finding');
    expect(stopped.findings).toHaveLength(1);
    expect(stopped.executions).toBeLessThan(all.executions);
  });

  it('stops a run no expectation covers at its first finding', () => {
    const stopped = runOne(REUSE, run('6.5', 'no-recheck'), { strategy: 'dpor', stopAtFinding: true });
    expect(stopped.verdict).toBe('not-judged');
    expect(stopped.limit).toBe('finding');
    expect(stopped.findings.length).toBeGreaterThan(0);
    expect(stopped.findings.every((f) => f.executions === 1)).toBe(true);
  });

  it('explores a run without a finding completely, as without the option', () => {
    const all = runOne(REUSE, run('6.5'), { strategy: 'dpor' });
    const with_ = runOne(REUSE, run('6.5'), { strategy: 'dpor', stopAtFinding: true });
    expect(with_.complete).toBe(true);
    expect(with_.limit).toBeUndefined();
    expect(with_.executions).toBe(all.executions);
  });
});

describe('--stop-at-finding on two workers', () => {
  it('stops a run split between the workers, with the verdict the single-threaded run has', async () => {
    // THP split's plain-get mutant on 6.5/arm64: thousands of DPOR executions, split between the workers.
    const file = 'examples/10-fast-pin-vs-thp-split.yaml';
    const p = loadScenario(file);
    const js: Job[] = plannedRuns(p.scenario, { kernels: builtinKernels(['6.5']), arches: ['arm64'] })
      .filter((r) => r.mutant === 'plain-get')
      .map((r) => ({ file, run: r, label: 'thp-split plain-get' }));
    expect(js).toHaveLength(1);
    const all = (await runJobs(js, { strategy: 'dpor' }, 2)).results[0]!;
    const one = (await runJobs(js, { strategy: 'dpor', stopAtFinding: true }, 1)).results[0]!;
    const two = (await runJobs(js, { strategy: 'dpor', stopAtFinding: true }, 2)).results[0]!;
    expect(all.complete).toBe(true);
    expect(all.findings.length).toBeGreaterThan(0);
    for (const r of [one, two]) {
      expect(r.verdict).toBe(all.verdict);
      expect(r.limit).toBe('finding');
      expect(r.complete).toBe(false);
      expect(r.executions).toBeLessThan(all.executions);
    }
  });
});
