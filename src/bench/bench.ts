/**
 * `gupcheck bench` (issue 5): speed and memory, measured, never asserted.
 *
 * Every measurement runs in a child process of its own (src/bench/child.ts), one at a time, so
 * its peak RSS is its own and runs do not compete for the two cores. The ratios are each
 * measured in this one invocation on this machine:
 *   naive/DPOR  executions of the naive enumerator over DPOR's, where naive finishes (and the
 *               sets of findings and outcome values must agree; a disagreement is reported);
 *   workers     wall time with 1 worker over N workers on the scaled benchmark (the same
 *               execution cap per run, so both do the same work);
 *   v7 first finding, and scaled-reuse on 6.5/arm64 exhaustive (within a time budget);
 *   strategies  the stateful search against DPOR on every bundled example (CPU time, same results);
 *   spin        Spin run live on bench/spin/gup-fast.pml (src/bench/spin.ts) against the stateful
 *               search on bench/spin-*.yaml, in the same run;
 *   bounds      under a preemption bound, DPOR's quick partial search against the stateful
 *               search's, which covers every schedule within the bound: time, and the runs where
 *               DPOR missed a finding or an outcome (docs/perf.md, "Preemption bounds").
 * `sections` picks which of these run (gupcheck bench --only).
 */
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildReport, ChildSpec, RunMeasure } from './spec.ts';
import { ensureSpin, runSpin, SPIN_CONFIGS, type SpinMeasure } from './spin.ts';
import { measureStartup, type StartupReport } from './startup.ts';
import { isWithinBound } from '../run/search-words.ts';

export const SECTIONS = ['startup', 'examples', 'strategies', 'scaled', 'spin', 'bounds', 'c-patch', 'workers'] as const;
export type Section = (typeof SECTIONS)[number];

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));

export interface BenchOptions {
  /** Per-run time budget for the example table (ms). */
  readonly tableBudgetMs: number;
  /** Naive runs: execution cap and time budget; runs that hit either get no ratio. */
  readonly naiveMaxExecutions: number;
  readonly naiveBudgetMs: number;
  /** Budget for each scaled-reuse file on 6.5 (exhaustive if it finishes). */
  readonly scaledBudgetMs: number;
  /** Execution cap per scaled run for the worker comparison. */
  readonly workersMaxExecutions: number;
  /** Budget for each stateful run of L1 and L2 (bench/spin-l1.yaml, spin-l2.yaml; DPOR gets at most 60 s), and three times it for Spin itself. */
  readonly spinBudgetMs: number;
  /** Budget for each L4 run (bench/spin-l4-*.yaml): they do not finish in a budget a bench can afford (docs/perf.md). */
  readonly spinL4BudgetMs: number;
  /** Budget for each v7 run (time to the first finding). */
  readonly v7BudgetMs: number;
  /** Budget for each scaled-reuse file with the stateful search. */
  readonly scaledStatefulBudgetMs: number;
  /** The sections to run (default: all). */
  readonly sections?: readonly Section[] | undefined;
  readonly workers: number;
  /** Processes per start-up measure (startup.ts). */
  readonly startupRuns: number;
  /** Only these example files (default: all bundled). */
  readonly examples?: readonly string[] | undefined;
  readonly log: (line: string) => void;
}

export interface TableRow extends RunMeasure {
  readonly rssMB: number;
  readonly transitionsPerSec: number;
  readonly naiveExecutions: number | null;
  readonly naiveComplete: boolean | null;
  /** Findings and outcome value sets equal (null: naive did not finish). */
  readonly agree: boolean | null;
}

/**
 * One function in C against its TypeScript counterpart: every example (but 10, whose arm64 runs
 * are long) on 6.5, once with the built-in function and once with the C patch, each with the
 * function timed (src/bench/child.ts FnTime), twice each, alternating; each side's least time is
 * kept. The same executions, so the same calls at the same points of the same schedules: the
 * function ratio is the interpreted function's own cost over the TypeScript one's; the run ratio is
 * what a whole check pays (with the timing wrapper on in both).
 */
export interface CPatchRow {
  /** The revision-table function ('folio_fast_pin_allowed', 'gup_pte_range'). */
  readonly fn: string;
  readonly patch: string;
  readonly runs: number;
  /** Each side ran this many times (alternating); the times are the least of them. */
  readonly rounds: number;
  readonly sameExecutions: boolean;
  /** Resumes left out of the function's time, over all rounds (over 0.5 ms: descheduled, or a GC). */
  readonly outliers: number;
  /** Calls of the function, TypeScript and C (equal when the schedules are the same). */
  readonly nativeCalls: number;
  readonly patchedCalls: number;
  readonly nativeFnMs: number;
  readonly patchedFnMs: number;
  /** The function's cost, C over TypeScript. */
  readonly fnRatio: number;
  /** Whole runs (timing wrappers on in both). */
  readonly nativeMs: number;
  readonly patchedMs: number;
  readonly ratio: number;
  /** The timer's cost per step, measured and subtracted (ns; native, patched). */
  readonly timerNs: readonly [number, number];
}

/** The functions the C patch ratio is measured on, with the patch that restates each. */
export const C_PATCH_FNS = [
  { fn: 'folio_fast_pin_allowed', patch: 'examples/patches/fast-pin-allowed-6.5.c' },
  { fn: 'gup_pte_range', patch: 'examples/patches/gup-pte-range-6.5.c' },
] as const;
const C_PATCH_ROUNDS = 2;

/** The C patch measurement alone (`gupcheck bench --only c-patch`, and part of the full run). */
export async function runCPatchBench(examples: readonly string[], log: (line: string) => void): Promise<CPatchRow[]> {
  const files = examples.filter((f) => !f.includes('10-fast-pin-vs-thp-split'));
  const rows: CPatchRow[] = [];
  const sum = (c: ChildReport, f: (r: RunMeasure) => number) => c.runs.reduce((n, r) => n + f(r), 0);
  for (const { fn, patch } of C_PATCH_FNS) {
    // Two rounds, alternating, and the least time of each side: the machine's noise only adds time.
    const nats: ChildReport[] = [];
    const pats: ChildReport[] = [];
    for (let round = 1; round <= C_PATCH_ROUNDS; round++) {
      log(`bench: C patch: ${fn}(): ${files.length} examples on 6.5, TypeScript then ${patch} (round ${round} of ${C_PATCH_ROUNDS})`);
      nats.push(await child({ files, kernels: ['6.5'], strategy: 'dpor', timeFns: [fn] }));
      pats.push(await child({ files, kernels: ['6.5'], strategy: 'dpor', timeFns: [fn], patches: [join(ROOT, patch)] }));
    }
    const fnMs = (cs: ChildReport[]) => Math.min(...cs.map((c) => c.fnTimes![fn]!.ms));
    const runMs = (cs: ChildReport[]) => Math.min(...cs.map((c) => sum(c, (r) => r.ms)));
    const nf = nats[0]!.fnTimes![fn]!;
    const pf = pats[0]!.fnTimes![fn]!;
    rows.push({
      fn,
      patch,
      runs: pats[0]!.runs.length,
      rounds: C_PATCH_ROUNDS,
      sameExecutions: [...nats, ...pats].every((c) => sum(c, (r) => r.executions) === sum(nats[0]!, (r) => r.executions)),
      nativeCalls: nf.calls,
      patchedCalls: pf.calls,
      nativeFnMs: fnMs(nats),
      patchedFnMs: fnMs(pats),
      fnRatio: fnMs(pats) / Math.max(1e-9, fnMs(nats)),
      outliers: [...nats, ...pats].reduce((n, c) => n + c.fnTimes![fn]!.outliers, 0),
      nativeMs: runMs(nats),
      patchedMs: runMs(pats),
      ratio: runMs(pats) / Math.max(1, runMs(nats)),
      timerNs: [Math.min(...nats.map((c) => c.fnTimes![fn]!.timerNsPerResume)), Math.min(...pats.map((c) => c.fnTimes![fn]!.timerNsPerResume))],
    });
  }
  return rows;
}

export interface BenchReport {
  /** C patches against the TypeScript functions they restate (runCPatchBench; empty if not run). */
  readonly cPatch: readonly CPatchRow[];
  readonly machine: { readonly node: string; readonly cpus: number; readonly date: string; readonly parallelCapacity: number | null };
  readonly sections: readonly Section[];
  readonly rows: readonly TableRow[];
  readonly ratios: {
    readonly naiveOverDpor: { readonly runs: number; readonly min: number | null; readonly median: number | null; readonly max: number | null; readonly largestExamples: number | null; readonly largestAtLeast: boolean; readonly largestRuns: number; readonly naiveUnfinished: number; readonly unfinishedAtLeast: number | null; readonly disagreements: readonly string[] } | null;
    readonly workers: { readonly n: number; readonly wall1Ms: number; readonly wallNMs: number; readonly speedup: number; readonly executionsPerRun: number; readonly rss1MB: number; readonly rssNMB: number } | null;
  };
  readonly bestTransitionsPerSec: { readonly value: number; readonly run: string } | null;
  readonly v7FirstFindingMs: number | null;
  readonly scaled: readonly { readonly file: string; readonly kernel: string; readonly strategy: 'dpor' | 'pct' | 'stateful'; readonly executions: number; readonly states: number | null; readonly complete: boolean; readonly limit: string | null; readonly ms: number; readonly cpuMs: number; readonly rssMB: number; readonly firstFindingMs: number | null }[];
  readonly strategies: readonly StrategyRow[];
  readonly spin: SpinSection | null;
  readonly bounds: BoundsSection | null;
  readonly maxRssMB: number;
  /** `gupcheck --version` and `pin` against `node -e 0` (startup.ts; null if not run). */
  readonly startup: StartupReport | null;
}

/** One bundled example file under DPOR and under the stateful search (all its runs, one child each). */
export interface StrategyRow {
  readonly file: string;
  readonly runs: number;
  readonly dpor: { readonly executions: number; readonly ms: number; readonly cpuMs: number };
  readonly stateful: { readonly executions: number; readonly states: number; readonly ms: number; readonly cpuMs: number };
  /** The default, `auto`: the runs it moved to the stateful search, and its CPU (all runs). */
  readonly auto: { readonly moved: number; readonly ms: number; readonly cpuMs: number };
  /** Every run has the same findings, outcome values and completeness under all three. */
  readonly same: boolean;
  /** The largest peak RSS of the three children. */
  readonly rssMB: number;
}

/** A run where one search met what the other did not ("finding X", "CPU0 = fell-back"). */
export interface BoundsMiss {
  readonly scenario: string;
  readonly run: string;
  readonly seen: readonly string[];
}

/** Under a preemption bound: DPOR's quick partial search against the stateful search (every schedule within the bound). */
export interface BoundsSection {
  readonly bound: number;
  /** The bundled examples' unmutated runs, each strategy in one child. */
  readonly examples: {
    readonly runs: number;
    readonly dpor: { readonly ms: number; readonly cpuMs: number };
    readonly stateful: { readonly states: number; readonly ms: number; readonly cpuMs: number };
    /** Runs where the stateful search met findings or outcome values DPOR did not (what DPOR's pruning missed). */
    readonly missed: readonly BoundsMiss[];
    /** Runs where DPOR met some the stateful search did not: none, or the stateful search is wrong. */
    readonly extra: readonly BoundsMiss[];
  };
  /** spin-l1 and spin-l2 on 6.5/arm64. */
  readonly spin: readonly {
    readonly file: string;
    readonly dpor: { readonly executions: number; readonly ms: number; readonly rssMB: number };
    /** finished: it ran to its end (every schedule within the bound explored), not stopped by the budget. */
    readonly stateful: { readonly states: number | null; readonly finished: boolean; readonly ms: number; readonly rssMB: number };
  }[];
}

/**
 * Spin's figures as quoted in docs/reference/stateful-search.md §1 and §5 (Spin 6.5.2 on the
 * abstract model of that study, which is not in the repository): kept for comparison with the
 * live runs on bench/spin/gup-fast.pml.
 */
export const SPIN_QUOTED: Readonly<Record<string, { readonly ms: number; readonly states: number }>> = {
  L1: { ms: 410, states: 49_739 },
  L2: { ms: 960, states: 585_965 },
  'L4 anon': { ms: 2_700, states: 2_040_000 },
};
export const SPIN_L4_ALL = { spinMs: 12_900, spinStates: 11_585_195 };

export interface SpinSection {
  /** Spin ran here (false: why not, and the live columns are empty). */
  readonly available: boolean;
  readonly version: string | null;
  readonly why: string | null;
  /** Spin on gup-fast.pml: the merged code, and v7 (stops at its first error). */
  readonly live: readonly SpinMeasure[];
  /** gupcheck on bench/spin-*.yaml. */
  readonly rows: readonly SpinRow[];
}

export interface SpinRow {
  readonly file: string;
  readonly config: string;
  readonly kernel: string;
  readonly arch: string;
  readonly strategy: 'stateful' | 'dpor' | 'auto';
  readonly complete: boolean;
  /** Why the search stopped ('finding': the v7 rows stop at the wild-deref, --stop-at-finding), or null. */
  readonly limit: string | null;
  readonly executions: number;
  readonly transitions: number;
  readonly states: number | null;
  readonly ms: number;
  readonly cpuMs: number;
  readonly rssMB: number;
  readonly findings: readonly string[];
  readonly firstFindingMs: number | null;
  readonly findingSteps: number | null;
  readonly findingPreemptions: number | null;
}

const SPIN = 'let x=0;for(let i=0;i<2e8;i++)x=(x+i*7)%1000003;process.stdout.write(String(x))';

function spin(): Promise<number> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => execFile(process.execPath, ['-e', SPIN], (err) => (err ? reject(new Error(`spin loop failed: ${err.message}`)) : resolve(Date.now() - t0))));
}

/**
 * How much parallel CPU this machine gives right now: n copies of a CPU-bound loop at once,
 * against one alone (n on a machine with n free cores; about 1 on a throttled or busy one).
 */
export async function parallelCapacity(n: number): Promise<number> {
  const one = await spin();
  const many = await Promise.all(Array.from({ length: n }, spin));
  return (n * one) / Math.max(...many);
}

function child(spec: ChildSpec): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(spec)], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`benchmark child failed (${spec.files.join(', ')}, ${spec.strategy}): ${stderr.trim().split('\n').slice(-3).join(' ') || err.message}`));
      else resolve(JSON.parse(stdout.trim().split('\n').at(-1)!) as ChildReport);
    });
  });
}

const key = (r: { scenario: string; kernel: string; arch: string }) => `${r.scenario} ${r.kernel}/${r.arch}`;

function sameObservations(a: RunMeasure, b: RunMeasure): boolean {
  return JSON.stringify([a.findings, a.outcomes]) === JSON.stringify([b.findings, b.outcomes]);
}

function median(xs: number[]): number | null {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export function bundledExamples(): string[] {
  const dir = join(ROOT, 'examples');
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => join('examples', f));
}

export async function runBench(o: BenchOptions): Promise<BenchReport> {
  const sections = o.sections ?? SECTIONS;
  const on = (x: Section) => sections.includes(x);
  let startup: StartupReport | null = null;
  if (on('startup')) {
    o.log(`bench: start-up (gupcheck --version and pin against node -e 0, ${o.startupRuns} processes each)`);
    startup = await measureStartup(o.startupRuns);
  }
  const examples = o.examples ?? bundledExamples();
  const rows: TableRow[] = [];
  if (on('examples')) {
    for (const file of examples) {
      o.log(`bench: ${file}: DPOR`);
      const d = await child({ files: [file], strategy: 'dpor', budgetMs: o.tableBudgetMs });
      o.log(`bench: ${file}: naive (up to ${o.naiveMaxExecutions} executions)`);
      const n = await child({ files: [file], strategy: 'naive', maxExecutions: o.naiveMaxExecutions, budgetMs: o.naiveBudgetMs });
      const naive = new Map(n.runs.map((r) => [key(r), r]));
      for (const r of d.runs) {
        const nr = naive.get(key(r));
        const naiveDone = nr ? nr.complete : null;
        rows.push({
          ...r,
          rssMB: d.maxRssMB,
          transitionsPerSec: r.ms > 0 ? Math.round((r.transitions * 1000) / r.ms) : 0,
          naiveExecutions: nr?.executions ?? null,
          naiveComplete: naiveDone,
          agree: nr && nr.complete && r.complete ? sameObservations(r, nr) : null,
        });
      }
    }
  }
  const compared = rows.filter((r) => r.agree !== null);
  const ratios = compared.map((r) => r.naiveExecutions! / r.executions);
  // Where naive did not finish (and DPOR did), its execution count is a lower bound on the ratio.
  const lower = rows.filter((r) => r.complete && r.naiveComplete === false).map((r) => r.naiveExecutions! / r.executions);
  // "Larger examples": the quarter of all runs DPOR completed with the most DPOR executions. Naive
  // rarely finishes those within its budget; there its execution count is a lower bound, and the
  // median is then reported as "at least".
  const measured = rows.filter((r) => r.complete && r.naiveExecutions !== null);
  const larger = [...measured].sort((a, b) => b.executions - a.executions).slice(0, Math.max(1, Math.ceil(measured.length / 4)));
  const largerRatios = larger.map((r) => r.naiveExecutions! / r.executions);
  const largerAtLeast = larger.some((r) => r.naiveComplete === false);

  // The stateful search against DPOR on every bundled example: CPU time (the machine may be shared) and results.
  const strategies: StrategyRow[] = [];
  if (on('strategies')) {
    for (const file of examples) {
      o.log(`bench: ${file}: DPOR, the stateful search and auto`);
      const d = await child({ files: [file], strategy: 'dpor', budgetMs: o.tableBudgetMs });
      const f = await child({ files: [file], strategy: 'stateful', budgetMs: o.tableBudgetMs });
      const a = await child({ files: [file], strategy: 'auto', budgetMs: o.tableBudgetMs });
      const sum = (c: ChildReport, k: 'executions' | 'ms' | 'cpuMs') => c.runs.reduce((a, r) => a + r[k], 0);
      const obs = (c: ChildReport) => JSON.stringify(c.runs.map((r) => [key(r), r.findings, r.outcomes, r.complete]));
      strategies.push({
        file,
        runs: d.runs.length,
        dpor: { executions: sum(d, 'executions'), ms: sum(d, 'ms'), cpuMs: sum(d, 'cpuMs') },
        stateful: { executions: sum(f, 'executions'), states: f.runs.reduce((a, r) => a + (r.states ?? 0), 0), ms: sum(f, 'ms'), cpuMs: sum(f, 'cpuMs') },
        auto: { moved: a.runs.filter((r) => r.states !== null).length, ms: sum(a, 'ms'), cpuMs: a.totalCpuMs ?? sum(a, 'cpuMs') },
        same: obs(d) === obs(f) && obs(d) === obs(a),
        rssMB: Math.max(d.maxRssMB, f.maxRssMB, a.maxRssMB),
      });
    }
  }

  const scaledFiles = ['bench/scaled-reuse-anon.yaml', 'bench/scaled-reuse-file.yaml', 'bench/scaled-reuse-shmem.yaml'];
  const scaled: BenchReport['scaled'][number][] = [];
  if (on('scaled')) {
    for (const file of scaledFiles) {
      for (const kernel of ['6.5', 'v7']) {
        o.log(`bench: ${file} ${kernel}/arm64${kernel === '6.5' ? ` (exhaustive, budget ${o.scaledBudgetMs / 1000} s)` : ' (time to first finding)'}`);
        const v7 = kernel === 'v7';
        const c = await child({ files: [file], kernels: [kernel], arches: ['arm64'], strategy: 'dpor', budgetMs: v7 ? Math.min(o.scaledBudgetMs, 20_000) : o.scaledBudgetMs, stopAtFinding: v7 });
        const r = c.runs[0]!;
        scaled.push({ file, kernel, strategy: 'dpor', executions: r.executions, states: null, complete: r.complete, limit: r.limit, ms: r.ms, cpuMs: r.cpuMs, rssMB: c.maxRssMB, firstFindingMs: r.firstFindingMs });
        if (kernel !== 'v7') continue;
        // Where DFS does not reach the race in time, sampling may: PCT (seed 1), the same budget.
        o.log(`bench: ${file} v7/arm64 (time to first finding, pct --seed 1)`);
        const pc = await child({ files: [file], kernels: [kernel], arches: ['arm64'], strategy: 'pct', seed: 1, maxExecutions: 10_000_000, budgetMs: Math.min(o.scaledBudgetMs, 20_000), stopAtFinding: true });
        const pr = pc.runs[0]!;
        scaled.push({ file, kernel, strategy: 'pct', executions: pr.executions, states: null, complete: false, limit: pr.limit, ms: pr.ms, cpuMs: pr.cpuMs, rssMB: pc.maxRssMB, firstFindingMs: pr.firstFindingMs });
      }
      o.log(`bench: ${file} 6.5/arm64, the stateful search (budget ${o.scaledStatefulBudgetMs / 1000} s)`);
      const c = await child({ files: [file], kernels: ['6.5'], arches: ['arm64'], strategy: 'stateful', budgetMs: o.scaledStatefulBudgetMs });
      const r = c.runs[0]!;
      scaled.push({ file, kernel: '6.5', strategy: 'stateful', executions: r.executions, states: r.states, complete: r.complete, limit: r.limit, ms: r.ms, cpuMs: r.cpuMs, rssMB: c.maxRssMB, firstFindingMs: r.firstFindingMs });
    }
  }

  const spin = on('spin') ? await spinSection(o) : null;
  const bounds = on('bounds') ? await boundsSection(o, examples) : null;

  const cPatch = on('c-patch') ? await runCPatchBench(examples, o.log) : [];

  let capacity: number | null = null;
  let workers: BenchReport['ratios']['workers'] = null;
  let wRss: number[] = [];
  if (on('workers')) {
    o.log(`bench: parallel capacity of this machine (${o.workers} CPU-bound processes at once)`);
    capacity = await parallelCapacity(o.workers);
    o.log(`bench: workers: scaled-reuse 6.5/arm64, ${o.workersMaxExecutions} executions per run, 1 worker then ${o.workers}`);
    const w1 = await child({ files: scaledFiles, kernels: ['6.5'], arches: ['arm64'], strategy: 'dpor', maxExecutions: o.workersMaxExecutions, workers: 1 });
    const wN = await child({ files: scaledFiles, kernels: ['6.5'], arches: ['arm64'], strategy: 'dpor', maxExecutions: o.workersMaxExecutions, workers: o.workers });
    workers = { n: o.workers, wall1Ms: w1.wallMs, wallNMs: wN.wallMs, speedup: w1.wallMs / wN.wallMs, executionsPerRun: o.workersMaxExecutions, rss1MB: w1.maxRssMB, rssNMB: wN.maxRssMB };
    wRss = [w1.maxRssMB, wN.maxRssMB];
  }

  // The inner-loop rate: from runs long enough (>= 0.5 s) that start-up and JIT warm-up do not dominate.
  const long = rows.filter((r) => r.ms >= 500);
  const best = rows.length ? (long.length ? long : rows).reduce((b, r) => (r.transitionsPerSec > b.transitionsPerSec ? r : b)) : null;
  const v7 = rows.find((r) => r.scenario === 'fast-pin-vs-unmap-reuse' && r.kernel === 'v7' && r.arch === 'arm64');
  return {
    machine: { node: process.version, cpus: (await import('node:os')).availableParallelism(), date: new Date().toISOString(), parallelCapacity: capacity },
    sections,
    rows,
    ratios: {
      naiveOverDpor: on('examples')
        ? {
            runs: compared.length,
            min: ratios.length ? Math.min(...ratios) : null,
            median: median(ratios),
            max: ratios.length ? Math.max(...ratios) : null,
            largestExamples: median(largerRatios),
            largestAtLeast: largerAtLeast,
            largestRuns: larger.length,
            naiveUnfinished: lower.length,
            unfinishedAtLeast: lower.length ? Math.min(...lower) : null,
            disagreements: compared.filter((r) => r.agree === false).map(key),
          }
        : null,
      workers,
    },
    cPatch,
    bestTransitionsPerSec: best ? { value: best.transitionsPerSec, run: key(best) } : null,
    v7FirstFindingMs: v7?.firstFindingMs ?? null,
    scaled,
    strategies,
    spin,
    bounds,
    maxRssMB: Math.max(0, ...rows.map((r) => r.rssMB), ...strategies.map((r) => r.rssMB), ...scaled.map((s) => s.rssMB), ...(spin?.rows.map((s) => s.rssMB) ?? []), ...(bounds?.spin.flatMap((r) => [r.dpor.rssMB, r.stateful.rssMB]) ?? []), ...wRss),
    startup,
  };
}

/**
 * Spin live on bench/spin/gup-fast.pml, and gupcheck on bench/spin-*.yaml: L1 and L2 on 6.5,
 * 6.12 and next on both architectures (stateful; DPOR on 6.5/arm64 for reference), L4 on
 * 6.5/arm64, and v7/arm64 for the time to the wild-deref.
 */
async function spinSection(o: BenchOptions): Promise<SpinSection> {
  const got = await ensureSpin(o.log);
  const live: SpinMeasure[] = [];
  if (got.ok) {
    for (const c of SPIN_CONFIGS) {
      for (const v7 of [false, true]) {
        o.log(`bench: Spin on gup-fast.pml, ${c.config}${v7 ? ' (v7: to the first error)' : ''}`);
        live.push(await runSpin(c.config, c.defines, v7, o.spinBudgetMs * 3));
      }
    }
  } else o.log(`bench: Spin not run: ${got.why}`);
  const rows: SpinRow[] = [];
  const add = async (c: (typeof SPIN_CONFIGS)[number], kernel: string, arch: string, strategy: SpinRow['strategy'], budgetMs: number) => {
    const v7 = kernel === 'v7';
    o.log(`bench: ${c.file} ${kernel}/${arch} ${strategy} (budget ${budgetMs / 1000} s${v7 ? ', to the wild-deref' : ''})`);
    // v7: the time to the wild-deref, as Spin's v7 runs stop at their first error.
    const ch = await child({ files: [c.file], kernels: [kernel], arches: [arch], strategy, budgetMs, stopAtFinding: v7 });
    const r = ch.runs[0]!;
    rows.push({
      file: c.file,
      config: c.config,
      kernel,
      arch,
      strategy,
      complete: r.complete,
      limit: r.limit,
      executions: r.executions,
      transitions: r.transitions,
      states: r.states,
      ms: r.ms,
      cpuMs: r.cpuMs,
      rssMB: ch.maxRssMB,
      findings: r.findings,
      firstFindingMs: r.firstFindingMs,
      findingSteps: r.findingSteps,
      findingPreemptions: r.findingPreemptions,
    });
  };
  for (const c of SPIN_CONFIGS.slice(0, 2)) {
    for (const kernel of ['6.5', '6.12', 'next']) for (const arch of ['arm64', 'x86']) await add(c, kernel, arch, 'stateful', o.spinBudgetMs);
    await add(c, '6.5', 'arm64', 'dpor', Math.min(o.spinBudgetMs, 60_000)); // a reference: it does not finish
  }
  for (const c of SPIN_CONFIGS.slice(2)) await add(c, '6.5', 'arm64', 'stateful', o.spinL4BudgetMs);
  for (const c of SPIN_CONFIGS) await add(c, 'v7', 'arm64', 'stateful', o.v7BudgetMs);
  // The default, as a reviewer runs it: DPOR's first 2,000 executions, then the stateful search (its first finding's time counts both).
  for (const c of SPIN_CONFIGS) await add(c, 'v7', 'arm64', 'auto', o.v7BudgetMs);
  return { available: got.ok, version: got.ok ? got.version : null, why: got.ok ? null : got.why, live, rows };
}

/** Seen in a run: its findings and every outcome value, as strings. */
function observed(r: RunMeasure): Set<string> {
  return new Set([...r.findings.map((f) => `finding ${f}`), ...Object.entries(r.outcomes).flatMap(([name, vs]) => vs.map((v) => `${name} = ${v}`))]);
}

/**
 * Under a preemption bound of 1: every bundled example's unmutated runs and spin-l1/l2 6.5/arm64,
 * under DPOR (partial: docs/perf.md, "Preemption bounds") and the stateful search (every schedule
 * within the bound).
 */
async function boundsSection(o: BenchOptions, examples: readonly string[]): Promise<BoundsSection> {
  const bound = 1;
  o.log(`bench: bounds: the bundled examples under a preemption bound of ${bound}, DPOR then the stateful search`);
  const d = await child({ files: examples, strategy: 'dpor', preemptionBound: bound, budgetMs: o.tableBudgetMs });
  const f = await child({ files: examples, strategy: 'stateful', preemptionBound: bound, budgetMs: o.tableBudgetMs });
  const byKey = new Map(f.runs.map((r) => [key(r), r] as const));
  const missed: BoundsMiss[] = [];
  const extra: BoundsMiss[] = [];
  for (const r of d.runs) {
    const g = byKey.get(key(r));
    if (!g) continue;
    const a = observed(r);
    const b = observed(g);
    const onlyStateful = [...b].filter((x) => !a.has(x));
    const onlyDpor = [...a].filter((x) => !b.has(x));
    if (onlyStateful.length) missed.push({ scenario: r.scenario, run: key(r), seen: onlyStateful });
    if (onlyDpor.length) extra.push({ scenario: r.scenario, run: key(r), seen: onlyDpor });
  }
  const sum = (c: ChildReport, k: 'ms' | 'cpuMs') => c.runs.reduce((a, r) => a + r[k], 0);
  const spin: BoundsSection['spin'][number][] = [];
  for (const file of ['bench/spin-l1.yaml', 'bench/spin-l2.yaml']) {
    o.log(`bench: bounds: ${file} 6.5/arm64 under a preemption bound of ${bound}, DPOR then the stateful search (budget ${o.spinBudgetMs / 1000} s each)`);
    const spec = { files: [file], kernels: ['6.5'], arches: ['arm64'], preemptionBound: bound, budgetMs: o.spinBudgetMs };
    const dc = await child({ ...spec, strategy: 'dpor' });
    const fc = await child({ ...spec, strategy: 'stateful' });
    const [dr, fr] = [dc.runs[0]!, fc.runs[0]!];
    spin.push({ file, dpor: { executions: dr.executions, ms: dr.ms, rssMB: dc.maxRssMB }, stateful: { states: fr.states, finished: fr.complete || isWithinBound(fr.limit), ms: fr.ms, rssMB: fc.maxRssMB } });
  }
  return {
    bound,
    examples: { runs: d.runs.length, dpor: { ms: sum(d, 'ms'), cpuMs: sum(d, 'cpuMs') }, stateful: { states: f.runs.reduce((a, r) => a + (r.states ?? 0), 0), ms: sum(f, 'ms'), cpuMs: sum(f, 'cpuMs') }, missed, extra },
    spin,
  };
}
