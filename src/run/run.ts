/**
 * Running scenarios: which (kernel, arch, mutant) runs a scenario asks for, exploring each with
 * the chosen strategy, and judging its expectations.
 *
 * Expectation semantics over the explored executions (sleep-set-redundant ones excluded):
 *   never      no execution has it;
 *   sometimes  at least one does (found by exploration, with a replayable example);
 *   always     every execution has it (a finding) or ends with that outcome value.
 * `never` and `always` are only proven by a complete search; a bounded or sampled search that
 * agrees with them says so ("holds (bounded)"). With `strict: true` (the default) a finding
 * that no matching expectation mentions makes the run fail too.
 */
import { exploreSlices as exploreProgram } from '../check/explore.ts';
import { DEFAULT_SAMPLES, DEFAULT_SLICE_MS } from '../check/defaults.ts';
import type { Results } from '../check/results.ts';
import { drain, drainAsync, type Sliced } from '../check/slices.ts';
import type { SplitHooks } from '../check/split.ts';
import { makeStrategy, strategyInfo, type StrategyName } from '../check/strategies/index.ts';
import { findMutant, MUTANTS, mutantApplies } from '../kernel/mutants.ts';
import { findRevision } from '../kernel/revisions/index.ts';
import type { Arch, TableFree } from '../kernel/types.ts';
import { buildProgram, type RunConfig } from '../scenarios/build.ts';
import type { ParsedScenario } from '../scenarios/parse.ts';
import type { ExpectationT, ScenarioT } from '../scenarios/schema.ts';
import type { Verdict } from './verdict.ts';

export type { StrategyName };

export interface RunOptions {
  readonly strategy: StrategyName;
  readonly preemptionBound?: number | undefined;
  readonly maxExecutions?: number | undefined;
  readonly maxSteps?: number | undefined;
  /** Stop a run cleanly (partial results) when its heap exceeds this many MB. */
  readonly maxMemoryMB?: number | undefined;
  readonly seed?: number | undefined;
  readonly tableFree?: TableFree | undefined;
  readonly tlbFlush?: 'ipi' | 'broadcast' | undefined;
  readonly collectStates?: boolean;
  readonly shouldStop?: (r: Results) => string | undefined;
  readonly onExecution?: (r: Results) => void;
  /** Random/PCT: executions to sample (default DEFAULT_SAMPLES). */
  readonly samples?: number | undefined;
  /** Explore one work item of a search split between workers (run/pool.ts). */
  readonly split?: SplitHooks | undefined;
  /** Return to the event loop every this many ms (runOneAsync); undefined: never. */
  readonly sliceMs?: number | undefined;
  /** Judge against the expectations of another run (selftest: a mutated run against the unmutated expectations). */
  readonly judgeAs?: RunConfig | undefined;
}

export interface Filters {
  readonly kernels?: readonly string[] | undefined;
  readonly arches?: readonly Arch[] | undefined;
  /** Run these mutants on every selected kernel/arch (instead of the scenario's own mutant runs). */
  readonly mutant?: string | undefined;
}

export interface PlannedRun extends RunConfig {
  readonly scenario: string;
}

const asList = <T>(v: T | readonly T[] | undefined): readonly T[] | undefined => (v === undefined ? undefined : Array.isArray(v) ? (v as T[]) : [v as T]);

/** The runs a scenario asks for, narrowed by command-line filters. */
export function plannedRuns(s: ScenarioT, f: Filters): PlannedRun[] {
  const kernels = s.kernels.filter((k) => !f.kernels || f.kernels.includes(k));
  const arches = s.arches.filter((a) => !f.arches || f.arches.includes(a));
  const runs: PlannedRun[] = [];
  if (f.mutant) {
    const m = findMutant(f.mutant)!;
    const ks = f.kernels ?? s.kernels;
    for (const kernel of ks) {
      if (!mutantApplies(m, findRevision(kernel)!)) continue;
      for (const arch of f.arches ?? s.arches) runs.push({ scenario: s.name, kernel, arch, mutant: m.name });
    }
    return runs;
  }
  for (const kernel of kernels) for (const arch of arches) runs.push({ scenario: s.name, kernel, arch, mutant: null });
  for (const mr of s.mutants) {
    for (const kernel of asList(mr.kernel) ?? s.kernels) {
      if (f.kernels && !f.kernels.includes(kernel)) continue;
      for (const arch of asList(mr.arch) ?? s.arches) {
        if (f.arches && !f.arches.includes(arch)) continue;
        runs.push({ scenario: s.name, kernel, arch, mutant: mr.mutant });
      }
    }
  }
  return runs;
}

export interface ExpectationResult {
  readonly text: string;
  readonly holds: boolean;
  /** What was observed, in words: "in 3 of 12 executions". */
  readonly observed: string;
}

export interface FindingReport {
  readonly id: string;
  readonly executions: number;
  readonly message: string;
  readonly schedule: readonly number[];
  readonly values: readonly number[];
  readonly preemptions: number;
  readonly steps: number;
  readonly expected: boolean;
}

export interface RunResult {
  readonly scenario: string;
  readonly kernel: string;
  readonly arch: Arch;
  readonly mutant: string | null;
  readonly verdict: Verdict;
  readonly findings: FindingReport[];
  readonly outcomes: Record<string, Record<string, number>>;
  readonly executions: number;
  readonly transitions: number;
  readonly complete: boolean;
  readonly limit: string | undefined;
  readonly stopReason: string | undefined;
  readonly expectations: ExpectationResult[];
  readonly ms: number;
  readonly firstFindingMs: number | undefined;
  readonly strategy: StrategyName;
  readonly preemptionBound: number | undefined;
  readonly tableFree: TableFree | undefined;
  readonly states: readonly string[] | undefined;
  /** Per outcome value reached, the best example (fewest preemptions, then steps), sorted by name and value. */
  readonly outcomeExamples: readonly OutcomeExample[];
  /** The stateful search: distinct states stored (undefined for the other strategies). */
  readonly statesStored: number | undefined;
}

export interface OutcomeExample {
  readonly name: string;
  readonly value: string;
  readonly schedule: readonly number[];
  readonly values: readonly number[];
}

export function explore(s: ScenarioT, run: RunConfig, o: RunOptions): Results {
  return drain(exploreSlices(s, run, o));
}

/** explore() in time slices (o.sliceMs): see check/slices.ts. */
export function exploreSlices(s: ScenarioT, run: RunConfig, o: RunOptions): Sliced<Results> {
  const program = buildProgram(s, { ...run, tableFree: o.tableFree ?? run.tableFree, tlbFlush: o.tlbFlush ?? run.tlbFlush });
  const bound = o.preemptionBound ?? s['preemption-bound'];
  const sampled = !strategyInfo(o.strategy).exhaustive;
  const samples = o.maxExecutions ?? o.samples ?? DEFAULT_SAMPLES;
  const strategy = makeStrategy(o.strategy, { preemptionBound: bound, seed: o.seed, samples, split: o.split });
  return exploreProgram(program, strategy, {
    sliceMs: o.sliceMs,
    // Sampling strategies count their own samples (--max-executions is the sample count).
    maxExecutions: sampled ? undefined : o.maxExecutions,
    maxSteps: o.maxSteps,
    maxMemoryMB: o.maxMemoryMB,
    collectStates: o.collectStates,
    shouldStop: o.shouldStop,
    onExecution: o.onExecution,
  });
}

export function runOne(p: ParsedScenario, run: PlannedRun, o: RunOptions): RunResult {
  return drain(runOneSlices(p, run, o));
}

/** runOne() that lets the event loop run every o.sliceMs (DEFAULT_SLICE_MS): for the CLI's signal handlers. */
export function runOneAsync(p: ParsedScenario, run: PlannedRun, o: RunOptions): Promise<RunResult> {
  return drainAsync(runOneSlices(p, run, { ...o, sliceMs: o.sliceMs ?? DEFAULT_SLICE_MS }));
}

function* runOneSlices(p: ParsedScenario, run: PlannedRun, o: RunOptions): Sliced<RunResult> {
  const t0 = Date.now();
  const r = yield* exploreSlices(p.scenario, run, o);
  return judgeRun(p, run, o, r, t0);
}

/** A run's verdict from its explored results (also for results merged from workers). */
export function judgeRun(p: ParsedScenario, run: PlannedRun, o: RunOptions, r: Results, t0: number): RunResult {
  const s = p.scenario;
  const matching = s.expect.filter((e) => expectationMatches(e, o.judgeAs ?? run));
  const expectations = matching.map((e) => judge(e, r));
  const mentioned = new Set<string>(matching.filter((e) => e.finding && e.finding !== 'any').map((e) => e.finding!));
  const anyCovered = matching.some((e) => e.finding === 'any');
  const findings: FindingReport[] = [...r.findings.values()]
    .sort((a, b) => a.id.localeCompare(b.id))
    .map((f) => ({
      id: f.id,
      executions: f.count,
      message: f.best.message,
      schedule: f.best.schedule,
      values: f.best.values,
      preemptions: f.best.preemptions,
      steps: f.best.steps,
      expected: mentioned.has(f.id) || anyCovered,
    }));
  const unexpected = s.strict ? findings.filter((f) => !f.expected) : [];
  for (const f of unexpected) {
    expectations.push({ text: `no unexpected finding (${f.id})`, holds: false, observed: `${f.id} in ${f.executions} of ${r.executions} executions: ${f.message}` });
  }
  const holds = expectations.every((e) => e.holds);
  return {
    scenario: s.name,
    kernel: run.kernel,
    arch: run.arch,
    mutant: run.mutant,
    verdict: holds ? 'holds' : 'violated',
    findings,
    outcomes: r.outcomeSummary(),
    executions: r.executions,
    transitions: r.transitions,
    complete: r.complete,
    limit: r.limit,
    stopReason: r.stopReason,
    expectations,
    ms: Date.now() - t0,
    firstFindingMs: r.firstFindingMs,
    strategy: o.strategy,
    preemptionBound: o.preemptionBound ?? s['preemption-bound'],
    tableFree: o.tableFree ?? s['table-free'],
    states: r.states ? [...r.states].sort() : undefined,
    statesStored: r.statesStored,
    outcomeExamples: [...r.outcomeExamples]
      .map(([k, ex]) => {
        const [name, value] = k.split('\u0000') as [string, string];
        return { name, value, schedule: ex.schedule, values: ex.values };
      })
      .sort((a, b) => a.name.localeCompare(b.name) || a.value.localeCompare(b.value)),
  };
}

export function expectationMatches(e: ExpectationT, run: RunConfig): boolean {
  const ks = asList(e.kernel);
  const as = asList(e.arch);
  if (ks && !ks.includes(run.kernel)) return false;
  if (as && !as.includes(run.arch)) return false;
  if (e.mutant === '*') return true;
  return (e.mutant ?? null) === run.mutant;
}

export function describeExpectation(e: ExpectationT): string {
  const what = e.finding ? (e.finding === 'any' ? 'any finding' : e.finding) : Object.entries(e.outcome!).map(([k, v]) => `${k} ${v}`).join(', ');
  return `${what}: ${e.is}`;
}

function judge(e: ExpectationT, r: Results): ExpectationResult {
  const n = r.executions;
  let hits: number;
  if (e.finding) {
    hits = e.finding === 'any' ? countAnyFinding(r) : (r.findings.get(e.finding)?.count ?? 0);
  } else {
    // Every named outcome must have the value (in the same execution is not tracked: with one
    // key per expectation, count that key's value).
    const [[key, val]] = Object.entries(e.outcome!) as [[string, string]];
    hits = r.outcomes.get(key)?.get(val) ?? 0;
  }
  const bounded = !r.complete;
  let holds: boolean;
  switch (e.is) {
    case 'never':
      holds = hits === 0;
      break;
    case 'sometimes':
      holds = hits > 0;
      break;
    case 'always':
      holds = n > 0 && hits === n;
      break;
  }
  const observed = `in ${hits} of ${n} executions${bounded && e.is !== 'sometimes' ? ' (search not complete)' : ''}`;
  return { text: describeExpectation(e), holds, observed };
}

/** Executions with at least one finding (approximated by the largest single-id count when ids overlap). */
function countAnyFinding(r: Results): number {
  let m = 0;
  for (const f of r.findings.values()) m = Math.max(m, f.count);
  return m;
}

export { MUTANTS };
