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
import type { ChildReport, ChildSpec } from './spec.ts';
import { ensureKernel } from '../patch/load.ts';

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
for (const file of spec.files) {
  const p = loadScenario(file);
  parsed.set(file, p);
  const runs = plannedRuns(p.scenario, { kernels, arches: spec.arches as Arch[] | undefined }).filter((r) => r.mutant === null);
  for (const run of runs) jobs.push({ file, run, label: `${p.scenario.name} ${run.kernel}/${run.arch}` });
}
const opts = { strategy: spec.strategy, maxExecutions: spec.maxExecutions, seed: spec.seed };
/** A stop for one run: its time budget, counted from now. */
function budgetStop(): () => string | undefined {
  const start = Date.now();
  const budget = spec.budgetMs;
  return () => (budget !== undefined && Date.now() - start > budget ? `time budget of ${budget} ms` : undefined);
}
let results: (RunResult | undefined)[];
if ((spec.workers ?? 1) > 1) results = (await runJobs(jobs, opts, spec.workers!, {}, parsed)).results;
else if (strategyInfo(spec.strategy).needsFrames) {
  // The stateful search runs on its worker (the model compiled to frames): one job at a time, each with its budget.
  results = [];
  for (const j of jobs) results.push(...(await runJobs([j], opts, 1, { shouldStop: budgetStop() }, parsed)).results);
} else {
  // One run after another, each with its own time budget (a run that hits it does not stop the next).
  results = jobs.map((j) => runOne(parsed.get(j.file)!, j.run, { ...opts, shouldStop: budgetStop() }));
}
const report: ChildReport = {
  wallMs: Date.now() - t0,
  maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
  runs: results.flatMap((r) =>
    r
      ? [
          {
            scenario: r.scenario,
            kernel: r.kernel,
            arch: r.arch,
            executions: r.executions,
            transitions: r.transitions,
            ms: r.ms,
            complete: r.complete,
            limit: r.limit ?? null,
            firstFindingMs: r.firstFindingMs ?? null,
            states: r.statesStored ?? null,
            findings: r.findings.map((f) => f.id).sort(),
            outcomes: Object.fromEntries(Object.entries(r.outcomes).map(([k, v]) => [k, Object.keys(v).sort()])),
          },
        ]
      : [],
  ),
};
process.stdout.write(JSON.stringify(report) + '\n');
