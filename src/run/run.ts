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
import type { KernelSource } from '../patch/source.ts';
import type { Arch, TableFree } from '../kernel/types.ts';
import { buildProgram, type RunConfig } from '../scenarios/build.ts';
import type { ParsedScenario } from '../scenarios/parse.ts';
import { type ExpectationT, isModulePath, type ScenarioT } from '../scenarios/schema.ts';
import type { Verdict } from './verdict.ts';

export type { StrategyName };

export interface RunOptions {
  readonly strategy: StrategyName;
  readonly preemptionBound?: number | undefined;
  readonly maxExecutions?: number | undefined;
  readonly maxSteps?: number | undefined;
  /** Stop a run cleanly (partial results) when its heap exceeds this many MB. */
  readonly maxMemoryMB?: number | undefined;
  /** Stop each run once its findings decide its verdict (--stop-at-finding, findingsDecide()): not complete, limit 'finding'. */
  readonly stopAtFinding?: boolean | undefined;
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

/** A revision a run is on: its name, how it was asked for, and (not built in) where it is loaded from. */
export interface KernelChoice {
  /** The name the run carries (tables, JSON, traces, tokens). */
  readonly name: string;
  /** How it was asked for: a built-in name, a module path as written, or `BASE+FILE.c`. */
  readonly spec: string;
  readonly source?: KernelSource | undefined;
}

export interface Filters {
  /** Run on these revisions (instead of the scenario's `kernels:`). */
  readonly kernels?: readonly KernelChoice[] | undefined;
  /** Run on these architectures (instead of the scenario's `arches:`). */
  readonly arches?: readonly Arch[] | undefined;
  /** Run these mutants on every selected kernel/arch (instead of the scenario's own mutant runs). */
  readonly mutant?: string | undefined;
}

export interface PlannedRun extends RunConfig {
  readonly scenario: string;
  /** How the kernel was asked for, when not by its name (a module path as written in `kernels:`). */
  readonly kernelSpec?: string | undefined;
  /** Where a revision that is not built in is loaded from (workers load it before they explore). */
  readonly kernelSource?: KernelSource | undefined;
}

const asList = <T>(v: T | readonly T[] | undefined): readonly T[] | undefined => (v === undefined ? undefined : Array.isArray(v) ? (v as T[]) : [v as T]);

/** Built-in revisions by name, as kernel choices. */
export function builtinKernels(names: readonly string[] | undefined): KernelChoice[] | undefined {
  return names?.map((name) => ({ name, spec: name }));
}

/** The scenario's own kernels: built-in names as they are; module paths through `resolve` (loaded beforehand). */
export type KernelResolver = (spec: string) => KernelChoice;

const builtin: KernelResolver = (spec) => {
  if (isModulePath(spec)) throw new Error(`[gupcheck internal bug] revision module ${spec} planned before it was loaded`);
  return { name: spec, spec };
};

function runOf(s: ScenarioT, k: KernelChoice, arch: Arch, mutant: string | null): PlannedRun {
  return { scenario: s.name, kernel: k.name, arch, mutant, ...(k.spec !== k.name ? { kernelSpec: k.spec } : {}), ...(k.source ? { kernelSource: k.source } : {}) };
}

function applies(m: string, kernel: string): boolean {
  const mutant = findMutant(m);
  const rev = findRevision(kernel);
  return !mutant || !rev || mutantApplies(mutant, rev);
}

/**
 * The runs a scenario asks for. `--kernel` and `--arch` choose what runs, whatever the scenario
 * lists (its `kernels:` and `arches:` are the default); a scenario's mutant runs are kept on the
 * chosen kernels and arches they name (all of them, when they name none), where the mutant applies.
 */
export function plannedRuns(s: ScenarioT, f: Filters, resolve: KernelResolver = builtin): PlannedRun[] {
  const own = s.kernels.map(resolve);
  const kernels = f.kernels ?? own;
  const arches = f.arches ?? s.arches;
  const runs: PlannedRun[] = [];
  if (f.mutant) {
    for (const k of kernels) {
      if (!applies(f.mutant, k.name)) continue;
      for (const arch of arches) runs.push(runOf(s, k, arch, f.mutant));
    }
    return runs;
  }
  for (const k of kernels) for (const arch of arches) runs.push(runOf(s, k, arch, null));
  for (const mr of s.mutants) {
    const named = asList(mr.kernel)?.map(resolve);
    const ks = named ? (f.kernels ? named.filter((k) => f.kernels!.some((x) => x.name === k.name)) : named) : kernels;
    for (const k of ks) {
      if (!applies(mr.mutant, k.name)) continue;
      for (const arch of asList(mr.arch) ?? s.arches) {
        if (f.arches && !f.arches.includes(arch)) continue;
        runs.push(runOf(s, k, arch, mr.mutant));
      }
    }
  }
  return runs;
}

/** An expectation that none of the scenario's own runs is judged by (a revision, arch or mutant it does not run). */
export interface UnjudgedExpectation {
  readonly index: number;
  readonly text: string;
  /** Why: what the scenario runs. */
  readonly why: string;
}

/** The expectations of a scenario that match none of the runs it asks for itself. */
export function neverJudged(s: ScenarioT, resolve: KernelResolver = builtin): UnjudgedExpectation[] {
  const runs = plannedRuns(s, {}, resolve);
  const out: UnjudgedExpectation[] = [];
  s.expect.forEach((e, index) => {
    if (runs.some((r) => expectationMatches(e, r))) return;
    const mutants = [...new Set(runs.map((r) => r.mutant).filter((m): m is string => m !== null))];
    const why = `the scenario runs kernels ${s.kernels.join(', ')} on ${s.arches.join(', ')}${mutants.length ? ` (mutants: ${mutants.join(', ')})` : ' (no mutants)'}`;
    out.push({ index, text: describeSelector(e) + ' ' + describeExpectation(e), why });
  });
  return out;
}

function describeSelector(e: ExpectationT): string {
  const parts = [asList(e.kernel)?.join('/'), asList(e.arch)?.join('/'), e.mutant === undefined ? undefined : e.mutant === '*' ? 'any mutant' : `mutant ${e.mutant}`].filter(Boolean);
  return parts.length ? `[${parts.join(', ')}]` : '[every run]';
}

/**
 * holds: every expectation that covers the run holds; violated: one does not; not-judged: no
 * expectation covers the run (e.g. a revision the scenario does not list, chosen with --kernel):
 * its findings and outcomes are shown, and it fails only with --strict.
 */
export type { Verdict };

export interface ExpectationResult {
  readonly text: string;
  readonly holds: boolean;
  /** Not met, but only for want of exploring: a `sometimes` an incomplete search has not met (what it left out may). */
  readonly open?: boolean;
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
  /** --strategy auto: the DPOR executions explored before the run moved to the stateful search (ms includes them). */
  readonly dporFirst?: number | undefined;
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
    stopAtFinding: o.stopAtFinding ? (r) => findingsDecide(s, o.judgeAs ?? run, r) : undefined,
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

/**
 * --stop-at-finding: whether the findings so far decide the run's verdict, so that exploring
 * further could change only counts. Either one fails it for good (a finding expected `never`,
 * one no expectation mentions under `strict`, an execution without a finding expected `always`),
 * or every `sometimes` expectation covering the run (findings and outcomes) has been met. A run no
 * expectation covers stops at its first finding, as Spin and TLC stop at their first error.
 * Monotone in the results: what decides part of a split run's results decides the whole run.
 */
export function findingsDecide(s: ScenarioT, run: RunConfig, r: Results): boolean {
  const matching = s.expect.filter((e) => expectationMatches(e, run));
  if (matching.some((e) => e.is !== 'sometimes' && !judge(e, r).holds)) return true;
  if (s.strict && matching.length > 0) {
    const expected = expectedFinding(matching);
    for (const id of r.findings.keys()) if (!expected(id)) return true;
  }
  return matching.every((e) => e.is !== 'sometimes' || judge(e, r).holds);
}

/**
 * A run's verdict from its judged expectations: not-judged when none covers it (`judged` false);
 * holds when all hold; interrupted when Ctrl-C or SIGTERM stopped it before it met a `sometimes`
 * and nothing else failed (the user stopped it: that is no answer either way); else violated.
 * Any other incomplete search that misses a `sometimes` fails it (docs/scenario-format.md).
 */
export function verdictOf(judged: boolean, expectations: readonly ExpectationResult[], limit: string | undefined): Verdict {
  if (!judged) return 'not-judged';
  const failed = expectations.filter((e) => !e.holds);
  if (!failed.length) return 'holds';
  return limit === 'interrupted' && failed.every((e) => e.open) ? 'interrupted' : 'violated';
}

/** Whether these expectations name a finding id (or `finding: any`); under `strict`, one they do not fails the run. */
function expectedFinding(matching: readonly ExpectationT[]): (id: string) => boolean {
  if (matching.some((e) => e.finding === 'any')) return () => true;
  const named = new Set<string>(matching.flatMap((e) => (e.finding ? [e.finding] : [])));
  return (id) => named.has(id);
}

/** A run's verdict from its explored results (also for results merged from workers). */
export function judgeRun(p: ParsedScenario, run: PlannedRun, o: RunOptions, r: Results, t0: number): RunResult {
  const s = p.scenario;
  const matching = s.expect.filter((e) => expectationMatches(e, o.judgeAs ?? run));
  const expectations = matching.map((e) => judge(e, r));
  const expected = expectedFinding(matching);
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
      expected: expected(f.id),
    }));
  // A run no expectation covers is not judged: its findings are shown, not counted against it.
  const unexpected = s.strict && matching.length > 0 ? findings.filter((f) => !f.expected) : [];
  for (const f of unexpected) {
    expectations.push({ text: `no unexpected finding (${f.id})`, holds: false, observed: `${f.id} in ${f.executions} of ${r.executions} executions: ${f.message}` });
  }
  return {
    scenario: s.name,
    kernel: run.kernel,
    arch: run.arch,
    mutant: run.mutant,
    verdict: verdictOf(matching.length > 0, expectations, r.limit),
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

export function expectationMatches(e: ExpectationT, run: RunConfig & { readonly kernelSpec?: string | undefined }): boolean {
  const ks = asList(e.kernel);
  const as = asList(e.arch);
  if (ks && !ks.includes(run.kernel) && !(run.kernelSpec !== undefined && ks.includes(run.kernelSpec))) return false;
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
  // A `sometimes` met needs no caveat; one not met in an incomplete search may lie in what was not explored.
  const observed = `in ${hits} of ${n} executions${bounded && (e.is !== 'sometimes' || hits === 0) ? ' (search not complete)' : ''}`;
  return { text: describeExpectation(e), holds, observed, ...(bounded && e.is === 'sometimes' && !holds ? { open: true } : {}) };
}

/** Executions with at least one finding (approximated by the largest single-id count when ids overlap). */
function countAnyFinding(r: Results): number {
  let m = 0;
  for (const f of r.findings.values()) m = Math.max(m, f.count);
  return m;
}

export { MUTANTS };
