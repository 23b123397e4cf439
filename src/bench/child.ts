/**
 * One benchmark measurement, in its own process so that its peak RSS is its own:
 *   node --import tsx src/bench/child.ts '<ChildSpec as JSON>'
 * Prints one line of JSON (ChildReport) on stdout.
 */
import { loadScenario } from '../run/load.ts';
import { type Job, runJobs } from '../run/pool.ts';
import { builtinKernels, plannedRuns, type RunResult, runOne } from '../run/run.ts';
import type { ParsedScenario } from '../scenarios/parse.ts';
import type { Arch } from '../kernel/types.ts';
import { strategyInfo } from '../check/strategies/index.ts';
import type { ChildReport, ChildSpec, FnTime } from './spec.ts';
import { framesWorkerEntry } from '../run/worker-bundle.ts';
import { ensureKernel } from '../patch/load.ts';
import { findRevision } from '../kernel/revisions/index.ts';
import type { Step } from '../sim/op.ts';

const spec = JSON.parse(process.argv[2] ?? '{}') as ChildSpec;
const t0 = Date.now();
const jobs: Job[] = [];
const parsed = new Map<string, ParsedScenario>();
// With C patches: each kernel with the patches applied (the interpreted functions' cost).
const kernels = spec.patches?.length
  ? await Promise.all((spec.kernels ?? ['6.5']).map(async (base) => {
      const source = { kind: 'patch' as const, base, patches: spec.patches!, given: spec.patches! };
      const rev = await ensureKernel(source);
      return { name: rev.name, spec: rev.name, source };
    }))
  : builtinKernels(spec.kernels);
// Timed functions: each replaced, in this throwaway process, by a wrapper that times each resume
// of it (from the resume to its next yield or return: callees included, the time other CPUs run
// while it waits at a scheduling point not). The clock is wall time, so a resume during which the
// OS ran another process, or the GC ran, reads long: resumes over OUTLIER_MS are left out and
// counted (a resume of these functions is a few microseconds).
const OUTLIER_MS = 0.5;
interface Acc {
  calls: number;
  resumes: number;
  ms: number;
  outliers: number;
}
const newAcc = (): Acc => ({ calls: 0, resumes: 0, ms: 0, outliers: 0 });
type AnyGen = (...a: unknown[]) => Step<unknown>;
function timed(f: AnyGen, acc: Acc): AnyGen {
  const add = (d: number) => {
    if (d > OUTLIER_MS) acc.outliers++;
    else {
      acc.ms += d;
      acc.resumes++;
    }
  };
  return function* (...args: unknown[]): Step<unknown> {
    acc.calls++;
    let t = performance.now();
    const it = f(...args);
    let r = it.next();
    for (;;) {
      add(performance.now() - t);
      if (r.done) return r.value;
      const v = yield r.value;
      t = performance.now();
      r = it.next(v);
    }
  };
}
/** The wrapper's own cost per resume, around a generator that does nothing but yield (the least of 20 rounds). */
function timerNsPerResume(): number {
  const idle = function* (n: unknown): Step<unknown> {
    for (let i = 0; i < (n as number); i++) yield undefined as never;
    return undefined;
  };
  let best = Infinity;
  for (let round = 0; round < 20; round++) {
    const acc = newAcc();
    const w = timed(idle, acc);
    for (const it = w(1000); !it.next().done; );
    if (acc.resumes) best = Math.min(best, (acc.ms * 1e6) / acc.resumes);
  }
  return best;
}
const accs = new Map<string, Acc>();
for (const k of spec.timeFns ?? []) {
  if (!kernels) throw new Error('bench: timeFns needs kernels');
  for (const kc of kernels) {
    const fns = findRevision(kc.name)!.fns as unknown as Record<string, AnyGen | undefined>;
    const f = fns[k];
    if (typeof f !== 'function') throw new Error(`bench: ${kc.name} has no ${k}()`);
    const acc = accs.get(k) ?? accs.set(k, newAcc()).get(k)!;
    fns[k] = timed(f, acc);
  }
}
for (const file of spec.files) {
  const p = loadScenario(file);
  parsed.set(file, p);
  const runs = plannedRuns(p.scenario, { kernels, arches: spec.arches as Arch[] | undefined }).filter((r) => r.mutant === null);
  for (const run of runs) jobs.push({ file, run, label: `${p.scenario.name} ${run.kernel}/${run.arch}` });
}
const opts = { strategy: spec.strategy, maxExecutions: spec.maxExecutions, seed: spec.seed, preemptionBound: spec.preemptionBound, stopAtFinding: spec.stopAtFinding };
/** A stop for one run: its time budget, counted from now. */
function budgetStop(): () => string | undefined {
  const start = Date.now();
  const budget = spec.budgetMs;
  return () => (budget !== undefined && Date.now() - start > budget ? `time budget of ${budget} ms` : undefined);
}
const cpuMs = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};
let results: (RunResult | undefined)[];
const cpu: number[] = [];
let totalCpuMs: number | undefined;
if ((spec.workers ?? 1) > 1) results = (await runJobs(jobs, opts, spec.workers!, {}, parsed)).results;
else if (spec.strategy === 'auto' || strategyInfo(spec.strategy).needsFrames) {
  // The stateful search runs on its worker (the model compiled to frames): one worker for all the
  // jobs (as the CLI does), one after another, each with its own budget from its start. The
  // frames bundle is built (if stale) before, so no run's time includes it; the worker's start
  // counts in the first run's CPU time. (A run that hits its budget stops the pool: the runs after
  // it are not started, which the report shows as missing rows.) Under auto the pool runs DPOR
  // here and the runs it moves on the worker, each run starting twice: only the whole pool's CPU
  // is known (the worker thread's included).
  await framesWorkerEntry();
  let stop = budgetStop();
  const starts: number[] = [];
  results = (
    await runJobs(jobs, opts, 1, {
      shouldStop: () => stop(),
      onRunStart: () => {
        starts.push(cpuMs());
        stop = budgetStop();
      },
    }, parsed)
  ).results;
  starts.push(cpuMs());
  if (spec.strategy === 'auto') totalCpuMs = starts.at(-1)! - starts[0]!;
  else for (let i = 0; i + 1 < starts.length; i++) cpu.push(starts[i + 1]! - starts[i]!);
} else {
  // One run after another, each with its own time budget (a run that hits it does not stop the next).
  results = jobs.map((j) => {
    const c0 = cpuMs();
    const r = runOne(parsed.get(j.file)!, j.run, { ...opts, shouldStop: budgetStop() });
    cpu.push(cpuMs() - c0);
    return r;
  });
}
const overhead = accs.size ? timerNsPerResume() : 0;
const fnTimes: Record<string, FnTime> = {};
for (const [k, a] of accs) fnTimes[k] = { calls: a.calls, resumes: a.resumes, outliers: a.outliers, ms: Math.max(0, a.ms - (a.resumes * overhead) / 1e6), timerNsPerResume: overhead };
const report: ChildReport = {
  ...(accs.size ? { fnTimes } : {}),
  wallMs: Date.now() - t0,
  ...(totalCpuMs !== undefined ? { totalCpuMs: Math.round(totalCpuMs) } : {}),
  maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
  runs: results.flatMap((r, i) =>
    r
      ? [
          {
            scenario: r.scenario,
            kernel: r.kernel,
            arch: r.arch,
            executions: r.executions,
            transitions: r.transitions,
            ms: r.ms,
            cpuMs: Math.round(cpu[i] ?? r.ms),
            complete: r.complete,
            limit: r.limit ?? null,
            firstFindingMs: r.firstFindingMs ?? null,
            states: r.statesStored ?? null,
            findings: r.findings.map((f) => f.id).sort(),
            findingSteps: r.findings.length ? Math.min(...r.findings.map((f) => f.steps)) : null,
            findingPreemptions: r.findings.length ? Math.min(...r.findings.map((f) => f.preemptions)) : null,
            outcomes: Object.fromEntries(Object.entries(r.outcomes).map(([k, v]) => [k, Object.keys(v).sort()])),
          },
        ]
      : [],
  ),
};
process.stdout.write(JSON.stringify(report) + '\n');
