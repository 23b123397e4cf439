/**
 * --workers: runs explored on worker threads give the same results, in the same order, as the
 * single-threaded path (only wall times differ).
 */
import { describe, expect, it } from 'vitest';
import { loadScenario } from '../../src/run/load.ts';
import { type Job, runJobs } from '../../src/run/pool.ts';
import { builtinKernels, plannedRuns, type RunResult } from '../../src/run/run.ts';
import { WORKER_BUNDLE, workerEntry } from '../../src/run/worker-bundle.ts';
import { pathToFileURL } from 'node:url';

const FILES = ['examples/07-fast-pin-vs-truncate.yaml', 'examples/09-fast-pin-vs-unmap-reuse.yaml'];

function jobs(): Job[] {
  return FILES.flatMap((file) => {
    const p = loadScenario(file);
    return plannedRuns(p.scenario, { arches: ['arm64'] }).map((run) => ({ file, run, label: `${p.scenario.name} ${run.kernel}` }));
  });
}

const timeless = (r: RunResult | undefined) => (r ? { ...r, ms: 0, firstFindingMs: r.firstFindingMs === undefined ? undefined : 0 } : r);

describe('runJobs', () => {
  it('gives the same results with 1 and 2 workers, in plan order', async () => {
    const js = jobs();
    expect(js.length).toBeGreaterThan(4);
    const one = await runJobs(js, { strategy: 'dpor' }, 1);
    const two = await runJobs(js, { strategy: 'dpor' }, 2);
    expect(one.interrupted).toBe(false);
    expect(two.interrupted).toBe(false);
    expect(two.results.map(timeless)).toEqual(one.results.map(timeless));
    expect(one.results.map((r) => `${r!.scenario} ${r!.kernel}`)).toEqual(js.map((j) => `${j.run.scenario} ${j.run.kernel}`));
    // The v7/arm64 race is among them, so the comparison covers findings and their schedules.
    expect(one.results.some((r) => r!.findings.some((f) => f.id === 'wild-deref'))).toBe(true);
  });

  it('splits one run between workers and still gives the same result', async () => {
    // One job and two workers: the idle worker gets part of the busy one's DPOR tree.
    const file = 'examples/10-fast-pin-vs-thp-split.yaml';
    const p = loadScenario(file);
    const js = plannedRuns(p.scenario, { kernels: builtinKernels(['6.5']), arches: ['arm64'] })
      .filter((r) => r.mutant === null)
      .map((run) => ({ file, run, label: 'thp-split' }));
    expect(js).toHaveLength(1);
    const one = await runJobs(js, { strategy: 'dpor' }, 1);
    const two = await runJobs(js, { strategy: 'dpor' }, 2);
    expect(one.results[0]!.complete).toBe(true);
    expect(one.results[0]!.executions).toBeGreaterThan(1000);
    expect(two.results.map(timeless)).toEqual(one.results.map(timeless));
  });

  it('stops the workers when asked and starts no further runs', async () => {
    const js = jobs();
    const r = await runJobs(js, { strategy: 'naive' }, 2, { shouldStop: () => 'test stop' });
    expect(r.interrupted).toBe(true);
    expect(r.results.filter((x) => x !== undefined).length).toBeLessThan(js.length);
  });

  it('workers start from the esbuild bundle, and the tsx fallback gives the same results', async () => {
    expect(workerEntry().href).toBe(pathToFileURL(WORKER_BUNDLE).href);
    const js = jobs().slice(0, 3);
    const bundled = await runJobs(js, { strategy: 'dpor' }, 2);
    process.env.GUPCHECK_WORKER_TSX = '1';
    try {
      expect(workerEntry().href).toMatch(/\/worker\.mjs$/);
      const viaTsx = await runJobs(js, { strategy: 'dpor' }, 2);
      expect(viaTsx.results.map(timeless)).toEqual(bundled.results.map(timeless));
    } finally {
      delete process.env.GUPCHECK_WORKER_TSX;
    }
  });
});
