/** `gupcheck check PATH...`: explore every (scenario, kernel, arch, mutant) run and judge its expectations. */
import { Command } from '@commander-js/extra-typings';
import { dirname, join } from 'node:path';
import { findMutant, MUTANTS, mutantApplies, mutantChangesNothing, revisionsChangedByMutant } from '../../kernel/mutants.ts';
import { findRevision, REVISION_NAMES } from '../../kernel/revisions/index.ts';
import type { Arch } from '../../kernel/types.ts';
import { loadScenario, scenarioFiles } from '../../run/load.ts';
import { defaultWorkers, type Job, type PoolHooks, runJobs } from '../../run/pool.ts';
import { type KernelChoice, type KernelResolver, neverJudged, plannedRuns, type RunOptions, type RunResult, type UnjudgedExpectation } from '../../run/run.ts';
import { ensureKernel, moduleSource } from '../../patch/load.ts';
import { patchedName, type KernelSource } from '../../patch/source.ts';
import { isModulePath } from '../../scenarios/schema.ts';
import { existsSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { isStrategyName, STRATEGIES, STRATEGY_NAMES, strategyInfo, type StrategyName } from '../../check/strategies/index.ts';
import { AUTO_DPOR_EXECUTIONS, DEFAULT_MAX_STEPS } from '../../check/defaults.ts';
import { enableCheckModel } from '../../check/execution.ts';
import type { ParsedScenario } from '../../scenarios/parse.ts';
import { buildTrace, shellWord } from '../../run/trace.ts';
import { narrate } from '../../trace/narrate.ts';
import type { Trace } from '../../trace/schema.ts';
import { EXIT_FAIL, EXIT_INTERRUPTED, EXIT_OK, EXIT_TERMINATED, UserError, unknownValue } from '../errors.ts';
import { checkWritableDir, safeName, writeAtomic } from '../files.ts';
import { colors, type Out, table } from '../output.ts';
import { progress } from '../progress.ts';
import { watchParent } from '../parent.ts';
import { ARCHES, parseArch, parseKernel } from './pin.ts';
import { isBuiltinRevision } from '../../kernel/revisions/index.ts';
import { writeReport } from '../../report/html.ts';
import { NO_FINDING, type Verdict, VERDICT_WORDS, verdictSummary } from '../../run/verdict.ts';
import { collisionNote, fingerprintCollision, movedNote, searchLabel } from '../../run/search-words.ts';

export interface CheckFlags {
  kernel?: string | undefined;
  arch?: string | undefined;
  mutant?: string | undefined;
  json: boolean;
  strategy: string;
  seed?: string | undefined;
  preemptionBound?: string | undefined;
  maxExecutions?: string | undefined;
  maxSteps?: string | undefined;
  maxMemory?: string | undefined;
  /** --stop-at-finding: stop each run as soon as its findings decide its verdict. */
  stopAtFinding?: boolean | undefined;
  tableFree?: string | undefined;
  tlbFlush?: string | undefined;
  out: string;
  traces: boolean;
  report?: string | undefined;
  progress: boolean;
  workers?: string | undefined;
  /** C files whose functions replace the --kernel revision's (several allowed). */
  patch?: string[] | undefined;
  /** Runs no expectation covers, and expectations no run is judged by, fail. */
  strict?: boolean | undefined;
  /** --check-model: check the model's own invariants after every step. */
  checkModel?: boolean | undefined;
}

function int(name: string, v: string | undefined, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UserError('GUPCHECK_BAD_ARGUMENT', `${name} must be a whole number from ${min} to ${max} (got '${v}')`, `give ${name} a whole number in that range`);
  }
  return n;
}

export function parseRunOptions(f: CheckFlags): RunOptions & { seed: number } {
  if (!isStrategyName(f.strategy)) throw unknownValue('strategy', f.strategy, STRATEGY_NAMES);
  const strategy: StrategyName = f.strategy;
  const tf = f.tableFree;
  if (tf !== undefined && tf !== 'ipi' && tf !== 'rcu') throw unknownValue('--table-free scheme', tf, ['ipi', 'rcu']);
  const tl = f.tlbFlush;
  if (tl !== undefined && tl !== 'ipi' && tl !== 'broadcast') throw unknownValue('--tlb-flush scheme', tl, ['ipi', 'broadcast']);
  return {
    strategy,
    seed: int('--seed', f.seed, 0, 2 ** 31 - 1) ?? 1,
    preemptionBound: int('--preemption-bound', f.preemptionBound, 0, 50),
    maxExecutions: int('--max-executions', f.maxExecutions, 1, 1e9),
    maxSteps: int('--max-steps', f.maxSteps, 10, 1e7),
    maxMemoryMB: int('--max-memory', f.maxMemory, 16, 1 << 20),
    stopAtFinding: f.stopAtFinding ?? false,
    tableFree: tf,
    tlbFlush: tl,
  };
}

/** --workers: a count, or 'auto' for one per CPU. */
export function parseWorkers(v: string | undefined): number {
  if (v === 'auto') return defaultWorkers();
  return int('--workers', v, 1, 64) ?? 1;
}

function list<T extends string>(v: string | undefined, parse: (s: string) => T): T[] | undefined {
  return v === undefined ? undefined : v.split(',').map((s) => parse(s.trim()));
}

export interface FindingOut {
  id: string;
  executions: number;
  message: string;
  expected: boolean;
  replay: string;
  /** The command that replays it (with --scenario FILE unless the scenario is a bundled example, and the options that load a revision module or C patch). */
  command: string;
  trace: string;
  steps: number;
  preemptions: number;
}

export interface ResultOut {
  scenario: string;
  kernel: string;
  arch: Arch;
  mutant: string | null;
  verdict: Verdict;
  findings: FindingOut[];
  outcomes: Record<string, Record<string, number>>;
  executions: number;
  complete: boolean;
  expectations: { expect: string; holds: boolean; observed: string }[];
  transitions: number;
  ms: number;
  strategy: StrategyName;
  limit: string | null;
  /** Why the search stopped early, in words (e.g. the --max-executions bound), or null. */
  stopReason: string | null;
  /** The stateful search: distinct states stored, or null. */
  states: number | null;
  /** The stateful search: the chance that two of its states share a 64-bit fingerprint (fingerprintCollision()), or null. */
  collisionProbability: number | null;
  /** --strategy auto: the DPOR executions explored before the run moved to the stateful search (included in ms), or null. */
  dporFirst: number | null;
}

/** A planned run an interrupt stopped before it started. */
export interface NotStarted {
  readonly scenario: string;
  readonly kernel: string;
  readonly arch: Arch;
  readonly mutant: string | null;
  /** As the progress line and the table name it: "scenario kernel/arch +mutant". */
  readonly label: string;
}

/** Run everything, write traces, return results (also used by `npm start` and the report). */
export async function runCheck(
  files: string[],
  flags: CheckFlags,
  hooks: { onRunStart?: (job: Job) => void; shouldStop?: () => string | undefined; onProgress?: PoolHooks['onProgress'] } = {},
): Promise<{ results: ResultOut[]; traces: Trace[]; outcomeTraces: Trace[]; interrupted: boolean; notes: string[]; unjudged: UnjudgedOut[]; notStarted: NotStarted[] }> {
  const opts = parseRunOptions(flags);
  const workers = parseWorkers(flags.workers);
  if (flags.checkModel) enableCheckModel();
  const kernels = await chosenKernels(flags.kernel, flags.patch);
  const arches = list(flags.arch, parseArch);
  const mutant = flags.mutant === undefined ? undefined : findMutant(flags.mutant);
  if (flags.mutant !== undefined && !mutant) throw unknownValue('mutant', flags.mutant, MUTANTS.map((m) => m.name), 'GUPCHECK_UNKNOWN_MUTANT');
  // A mutant that changes nothing on a kernel asked for by name is refused: the run would
  // check the unmutated kernel and say "holds".
  const unchanged = mutant && kernels ? kernels.filter((k) => !mutantApplies(mutant, findRevision(k.name)!)).map((k) => k.name) : [];
  if (mutant && unchanged.length) {
    const e = mutantChangesNothing(mutant, unchanged);
    throw new UserError('GUPCHECK_MUTANT_CHANGES_NOTHING', e.what, e.hint);
  }
  const parsed = new Map(files.map((f) => [f, loadScenario(f)] as const));
  const jobs: Job[] = [];
  const skipped = new Set<string>();
  const unjudged: UnjudgedOut[] = [];
  for (const [file, p] of parsed) {
    const resolve = await scenarioKernels(file, p);
    for (const u of neverJudged(p.scenario, resolve)) unjudged.push(unjudgedOut(p, u));
    for (const run of plannedRuns(p.scenario, { kernels, arches, mutant: flags.mutant }, resolve)) {
      jobs.push({ file, run, label: `${p.scenario.name} ${run.kernel}/${run.arch}${run.mutant ? ` +${run.mutant}` : ''}` });
    }
    if (mutant && !kernels) {
      for (const k of p.scenario.kernels.map(resolve)) if (!mutantApplies(mutant, findRevision(k.name)!)) skipped.add(k.name);
    }
  }
  if (flags.strict && unjudged.length) {
    const u = unjudged[0]!;
    throw new UserError(
      'GUPCHECK_EXPECTATION_NEVER_JUDGED',
      `${u.where}: expectation ${u.expect} is never judged: ${u.why}${unjudged.length > 1 ? ` (and ${unjudged.length - 1} more)` : ''}`,
      'name a kernel, arch or mutant the scenario runs (kernels:, arches:, mutants:), or drop the expectation; without --strict this is a warning',
    );
  }
  if (!jobs.length) {
    const asked = [['--kernel', flags.kernel], ['--arch', flags.arch], ['--mutant', flags.mutant]].filter(([, v]) => v !== undefined).map(([k, v]) => `${k} ${v}`);
    const where = mutant ? ` (${mutant.name} changes only ${revisionsChangedByMutant(mutant).join(', ')})` : '';
    throw new UserError(
      'GUPCHECK_NO_RUNS',
      `nothing to check: no run of ${files.length === 1 ? files[0] : `the ${files.length} scenarios`} matches ${asked.join(' ')}${where}`,
      mutant ? `name a kernel the mutant changes with --kernel (${revisionsChangedByMutant(mutant).join(', ')})` : 'choose kernels and arches the scenarios list in `kernels:` and `arches:`',
    );
  }
  const notes = mutant && skipped.size ? [`mutant ${mutant.name} changes nothing on ${[...skipped].join(', ')}: the scenarios' runs on ${skipped.size === 1 ? 'that kernel' : 'those kernels'} are left out`] : [];
  if (strategyInfo(opts.strategy).needsFrames) {
    const custom = jobs.find((j) => j.run.kernelSource);
    if (custom) {
      throw new UserError(
        'GUPCHECK_STRATEGY_UNSUPPORTED',
        `--strategy ${opts.strategy} runs the model compiled to frames, which has no revision modules or C patches (${custom.run.kernel})`,
        'use --strategy auto (the default: it keeps such runs on dpor), dpor, naive, random or pct for revision modules and C patches',
      );
    }
  }
  const done = await runJobs(jobs, opts, workers, hooks, parsed);
  const results: ResultOut[] = [];
  const traces: Trace[] = [];
  for (const [i, job] of jobs.entries()) {
    const r = done.results[i];
    if (!r) continue;
    const p = parsed.get(job.file)!;
    const run = job.run;
    const findings: FindingOut[] = [];
    for (const f of r.findings) {
      const t = buildTrace(p, run, opts, { findingId: f.id, schedule: f.schedule, values: f.values });
      traces.push(t);
      const path = join(flags.out, `${safeName([p.scenario.name, run.kernel, run.arch, run.mutant ?? '', f.id].filter(Boolean).join('.'))}.trace.json`);
      writeAtomic(path, JSON.stringify(t, null, 1) + '\n');
      findings.push({ id: f.id, executions: f.executions, message: f.message, expected: f.expected, replay: t.replay, command: t.command, trace: path, steps: t.steps.length, preemptions: t.preemptions });
    }
    results.push({
      scenario: r.scenario,
      kernel: r.kernel,
      arch: r.arch,
      mutant: r.mutant,
      verdict: r.verdict,
      findings,
      outcomes: r.outcomes,
      executions: r.executions,
      complete: r.complete,
      expectations: r.expectations.map((e) => ({ expect: e.text, holds: e.holds, observed: e.observed })),
      transitions: r.transitions,
      ms: r.ms,
      strategy: r.strategy,
      limit: r.limit ?? null,
      stopReason: r.stopReason ?? null,
      states: r.statesStored ?? null,
      collisionProbability: r.statesStored === undefined ? null : fingerprintCollision(r.statesStored),
      dporFirst: r.dporFirst ?? null,
    });
  }
  const outcomeTraces = flags.report !== undefined ? diffOutcomeTraces(jobs, done.results, parsed, opts) : [];
  const notStarted = jobs.filter((_, i) => !done.results[i]).map((j) => ({ scenario: j.run.scenario, kernel: j.run.kernel, arch: j.run.arch, mutant: j.run.mutant, label: j.label }));
  return { results, traces, outcomeTraces, interrupted: done.interrupted, notes, unjudged, notStarted };
}

/** An expectation no run of its scenario is judged by, for the output. */
export interface UnjudgedOut {
  scenario: string;
  /** file:line:col of the expectation. */
  where: string;
  expect: string;
  why: string;
}

function unjudgedOut(p: ParsedScenario, u: UnjudgedExpectation): UnjudgedOut {
  const pos = p.expectPositions?.[u.index];
  return { scenario: p.scenario.name, where: `${p.file}:${pos ? `${pos.line}:${pos.col}` : '1:1'}`, expect: u.text, why: u.why };
}

/**
 * --kernel: built-in revisions and revision modules (loaded and typechecked now); with --patch,
 * each chosen built-in revision with the C patches applied (`6.1+my-check.c`).
 */
export async function chosenKernels(kernel: string | undefined, patches: readonly string[] | undefined): Promise<KernelChoice[] | undefined> {
  if (patches?.length) {
    if (kernel === undefined) throw new UserError('GUPCHECK_BAD_ARGUMENT', '--patch needs --kernel BASE: the revision whose functions the patch replaces', 'add e.g. --kernel 6.5');
    const given = patches.map((p) => p);
    for (const p of given) {
      if (!existsSync(p)) throw new UserError('GUPCHECK_FILE_NOT_FOUND', `no such patch file: ${p}`, 'check the --patch path');
      if (!/\.([ch]|diff|patch)$/.test(p)) {
        throw new UserError(
          'GUPCHECK_BAD_ARGUMENT',
          `--patch ${p}: a patch is a C file (.c, .h) with the function definitions that replace the base revision's, or a unified diff (.diff, .patch) with whole functions in its hunks`,
          'put the changed functions, whole, in a .c file, or make the diff with git diff --function-context (-W)',
        );
      }
    }
    const out: KernelChoice[] = [];
    for (const base of kernel.split(',').map((x) => x.trim())) {
      if (!isBuiltinRevision(base)) throw new UserError('GUPCHECK_UNKNOWN_KERNEL', `--patch applies to a built-in revision; '${base}' is not one (valid: ${REVISION_NAMES.join(', ')})`, 'give --kernel the revision your patch is against');
      const source: KernelSource = { kind: 'patch', base, patches: given.map((p) => resolvePath(p)), given };
      const rev = await ensureKernel(source);
      out.push({ name: rev.name, spec: patchedName(base, source.patches), source });
    }
    return out;
  }
  if (kernel === undefined) return undefined;
  const out: KernelChoice[] = [];
  for (const k of kernel.split(',').map((x) => x.trim())) {
    const source = isModulePath(k) ? moduleSource(k, process.cwd()) : undefined;
    if (!source) {
      out.push({ name: parseKernel(k), spec: k });
      continue;
    }
    const rev = await ensureKernel(source, { typecheck: true });
    out.push({ name: rev.name, spec: k, source });
  }
  return out;
}

/** A scenario's own kernels: revision modules it names (relative to its file) loaded now. */
async function scenarioKernels(file: string, p: ParsedScenario): Promise<KernelResolver> {
  const s = p.scenario;
  const specs = new Set([...s.kernels, ...s.mutants.flatMap((m) => (m.kernel === undefined ? [] : Array.isArray(m.kernel) ? m.kernel : [m.kernel]))]);
  const loaded = new Map<string, KernelChoice>();
  for (const spec of specs) {
    const source = moduleSource(spec, dirname(resolvePath(file)));
    if (!source) continue;
    const rev = await ensureKernel(source, { typecheck: true });
    loaded.set(spec, { name: rev.name, spec, source });
  }
  return (spec) => loaded.get(spec) ?? { name: spec, spec };
}

/**
 * For the report's revision diff: a trace for each outcome that some revision of a scenario
 * reaches and another revision (same arch and mutant) does not, one per run that reaches it. The
 * example is the one the search kept (fewest preemptions, then fewest steps), not minimized.
 */
function diffOutcomeTraces(jobs: readonly Job[], results: readonly (RunResult | undefined)[], parsed: ReadonlyMap<string, ParsedScenario>, opts: RunOptions): Trace[] {
  const groups = new Map<string, { job: Job; r: RunResult }[]>();
  for (const [i, job] of jobs.entries()) {
    const r = results[i];
    if (!r) continue;
    const k = JSON.stringify([job.file, r.arch, r.mutant]);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push({ job, r });
  }
  const out: Trace[] = [];
  const key = (name: string, value: string) => `${name}\u0000${value}`;
  for (const g of groups.values()) {
    if (g.length < 2) continue;
    const reached = g.map(({ r }) => new Set(r.outcomeExamples.map((e) => key(e.name, e.value))));
    for (const [i, { job, r }] of g.entries()) {
      for (const e of r.outcomeExamples) {
        if (reached.every((s, j) => j === i || s.has(key(e.name, e.value)))) continue;
        out.push(buildTrace(parsed.get(job.file)!, job.run, opts, { findingId: null, outcome: { name: e.name, value: e.value }, schedule: e.schedule, values: e.values }, false));
      }
    }
  }
  return out;
}

/** The verdict column's word, coloured by its tone (the words are in run/verdict.ts). */
function verdictCell(c: ReturnType<typeof colors>, v: Verdict): string {
  const w = VERDICT_WORDS[v];
  return w.tone === 'bad' ? c.red(w.word) : w.tone === 'open' ? c.yellow(w.word) : c.green(w.word);
}

/** Did the check pass: nothing violated; with --strict also nothing not judged and no expectation never judged. */
export function checkPassed(results: readonly ResultOut[], unjudged: readonly UnjudgedOut[], strict: boolean): boolean {
  return results.every((r) => r.verdict === 'holds' || (r.verdict === 'not-judged' && !strict)) && (!strict || unjudged.length === 0);
}

export function renderResults(out: Out, results: ResultOut[], traces: Trace[], showTraces: boolean, unjudged: readonly UnjudgedOut[] = [], strict = false): string {
  const c = colors(out);
  // No run ended (an interrupt before the first one did): no table of nothing, and no "0/0 runs".
  if (!results.length) return `No run finished. Model: SC interleavings only; see \`gupcheck explain limits\`.\n`;
  let s = table(
    out,
    ['scenario', 'kernel', 'arch', 'mutant', 'verdict', 'findings', 'executions', 'search', 'time'],
    results.map((r) => [
      r.scenario,
      r.kernel,
      r.arch,
      r.mutant ?? '',
      verdictCell(c, r.verdict),
      r.findings.length ? r.findings.map((f) => `${f.id}${f.expected ? '' : '!'}`).join(', ') : NO_FINDING,
      r.executions,
      searchLabel(r),
      `${(r.ms / 1000).toFixed(2)}s`,
    ]),
  );
  const bad = results.filter((r) => r.verdict === 'violated');
  // The runs not as expected, then those an interrupt stopped before they met a `sometimes`: what was not met.
  for (const r of [...bad, ...results.filter((x) => x.verdict === 'interrupted')]) {
    s += `\n${verdictCell(c, r.verdict)}: ${r.scenario} on ${r.kernel}/${r.arch}${r.mutant ? ` with mutant ${r.mutant}` : ''}\n`;
    for (const e of r.expectations.filter((x) => !x.holds)) s += `  expected ${e.expect}, observed ${e.observed}\n`;
  }
  const withFindings = results.filter((r) => r.findings.length);
  if (withFindings.length) {
    s += `\n${c.bold('findings')} (replay with the command shown; JSON traces in the files named):\n`;
    for (const r of withFindings) {
      for (const f of r.findings) {
        s += `  ${r.scenario} ${r.kernel}/${r.arch}${r.mutant ? ` +${r.mutant}` : ''}: ${c.yellow(f.id)} in ${f.executions}/${r.executions} executions, ${f.steps}-step trace\n`;
        s += `    ${f.message}\n    ${f.command}\n    ${c.dim(f.trace)}\n`;
      }
    }
  }
  if (showTraces) for (const t of traces) s += '\n' + narrate(t, { c });
  const stopped = new Map<string, number>();
  for (const r of results) if (r.stopReason && r.limit !== 'interrupted') stopped.set(r.stopReason, (stopped.get(r.stopReason) ?? 0) + 1);
  for (const [why, n] of stopped) s += `\n${n === 1 ? '1 run' : `${n} runs`} ${why}\n`;
  const moved = results.filter((r) => r.dporFirst !== null);
  if (moved.length) s += `\n${movedNote(moved.length, AUTO_DPOR_EXECUTIONS)}\n`;
  const collisions = collisionNote(results.map((r) => r.states));
  if (collisions) s += `\nstateful: ${collisions}\n`;
  const notJudged = results.filter((r) => r.verdict === 'not-judged').length;
  if (notJudged) {
    s += `\n${notJudged === 1 ? '1 run is' : `${notJudged} runs are`} not judged: no expectation of the scenario covers ${notJudged === 1 ? 'it' : 'them'} (${strict ? '--strict fails' : '--strict would fail'} ${notJudged === 1 ? 'it' : 'them'}); what ${notJudged === 1 ? 'it' : 'they'} found:\n`;
    for (const r of results.filter((x) => x.verdict === 'not-judged')) {
      const outcomes = Object.entries(r.outcomes).map(([cpu, vs]) => `${cpu} ${Object.entries(vs).map(([v, n]) => `${v} ×${n}`).join(', ')}`);
      s += `  ${r.scenario} ${r.kernel}/${r.arch}${r.mutant ? ` +${r.mutant}` : ''}: ${r.findings.length ? r.findings.map((f) => `${f.id} ×${f.executions}`).join(', ') : NO_FINDING}; outcomes: ${outcomes.join('; ') || 'none'}\n`;
    }
  }
  for (const u of unjudged) s += `\n${c.yellow('never judged')}: ${u.where}: expectation ${u.expect}: ${u.why}\n`;
  const summary = verdictSummary(results);
  s += `\n${bad.length ? c.red(summary) : summary}. Model: SC interleavings only; see \`gupcheck explain limits\`.\n`;
  return s;
}

interface OptionSource {
  readonly options: readonly { attributeName(): string; readonly long?: string | undefined; readonly flags: string; readonly negate: boolean }[];
  getOptionValueSource(key: string): string | undefined;
  getOptionValue(key: string): unknown;
}

/**
 * The command as given, with every option set on the command line (--kernel, --arch, --mutant,
 * ...): what the report says produced it. Paths first, then the options in their definition order.
 */
export function commandLine(cmd: OptionSource, paths: readonly string[]): string {
  const words = ['gupcheck', 'check', ...paths];
  for (const opt of cmd.options) {
    const key = opt.attributeName();
    if (cmd.getOptionValueSource(key) !== 'cli') continue;
    const v: unknown = cmd.getOptionValue(key);
    if (v === true || (v === false && opt.negate)) words.push(opt.long ?? opt.flags);
    else if (typeof v === 'string') words.push(opt.long ?? opt.flags, v);
  }
  return words.map(shellWord).join(' ');
}

export function checkCommand(out: Out) {
  return new Command('check')
    .description('explore every run of the scenarios and check their expectations')
    .argument('<paths...>', 'scenario files or directories (*.yaml, *.yml, *.json)')
    .option('--kernel <revs>', `run on these kernel revisions instead of the scenario's, comma-separated (${REVISION_NAMES.join(', ')}), or a revision module (./my-rev.ts)`)
    .option('--patch <file.c>', 'replace functions of the --kernel revision with the C definitions in this file, or the functions a unified diff changes (whole in its hunks: git diff -W) (repeatable); the runs are named BASE+file.c', (v: string, prev: string[] | undefined) => [...(prev ?? []), v])
    .option('--arch <arches>', `run on these architectures instead of the scenario's (${ARCHES.join(', ')})`)
    .option('--mutant <name>', `run this mutant on every selected kernel/arch (${MUTANTS.map((m) => m.name).join(', ')})`)
    .option('--strategy <s>', STRATEGIES.map((s) => `${s.name}: ${s.summary}`).join('; '), 'auto')
    .option('--seed <n>', 'seed for random/pct')
    .option('--preemption-bound <n>', 'explore schedules with at most n preemptions (not complete; dpor explores some of them, stateful every one)')
    .option('--max-executions <n>', 'stop each run after n executions (not complete)')
    .option('--max-memory <MB>', 'stop each run cleanly, with partial results, once its heap (JS objects and typed arrays) exceeds this many MB (the stateful search grows with the states it stores)')
    .option('--stop-at-finding', 'stop each run as soon as its findings decide its verdict (every finding it expects `sometimes` met, or one that fails it), as Spin stops at its first error; not complete', false)
    .option('--max-steps <n>', `transitions per execution before it is reported as a livelock (default ${DEFAULT_MAX_STEPS})`)
    .option('--table-free <s>', 'override how page tables are freed: ipi or rcu')
    .option('--tlb-flush <s>', 'override how the TLB is flushed: ipi or broadcast')
    .option('--out <dir>', 'where trace files go', 'gupcheck-out')
    .option('--traces', 'print every finding\'s trace', false)
    .option('--report <file>', 'also write a self-contained HTML report')
    .option('--json', 'print {"results": [...]} as JSON on stdout', false)
    .option('--workers <n>', "explore runs on n worker threads ('auto': one per CPU); results do not depend on n", '1')
    .option('--no-progress', 'no progress line on stderr')
    .option('--strict', 'fail runs that no expectation covers (not judged), and expectations that no run is judged by', false)
    .option('--check-model', "check the model's own invariants after every step (slower; a broken one is a bug in gupcheck: exit 3)", false)
    .addHelpText(
      'after',
      `
Exit status: 0 if every expectation holds, 1 if one does not, 2 for bad input or a limit hit,
130 if interrupted (Ctrl-C), 143 if terminated (SIGTERM); see docs/cli.md.

Examples:
  gupcheck check examples/
  gupcheck check examples/09-fast-pin-vs-unmap-reuse.yaml --kernel v7 --arch arm64 --traces
  gupcheck check examples/07-fast-pin-vs-truncate.yaml --kernel 6.5 --arch arm64 --mutant no-read-once
  gupcheck check examples/ --json > results.json
  gupcheck check bench/spin-l4-anon.yaml --kernel v7 --arch arm64 --strategy stateful --stop-at-finding`,
    )
    .action(async (paths, o, cmd) => {
      const flags: CheckFlags = { ...o, json: o.json, traces: o.traces, out: o.out, progress: o.progress };
      const files = scenarioFiles(paths);
      checkWritableDir(o.out, '--out');
      if (o.report) checkWritableDir(dirname(o.report), '--report');
      let stop: string | undefined;
      let signal: NodeJS.Signals | undefined;
      let signalledAt = 0;
      let finished = false; // the run is over: a late notice that npm exited changes nothing
      const onSig = (sig: NodeJS.Signals) => {
        // `timeout -s INT N gupcheck` delivers its signal twice, to gupcheck and to its process
        // group, microseconds apart: the same signal again within 200 ms is that one interrupt,
        // not a user pressing Ctrl-C a second time.
        if (sig === signal && Date.now() - signalledAt < 200) return;
        if (signal !== undefined) {
          // A second signal: the user does not want to wait for the partial results.
          process.stderr.write(`\ngupcheck: ${sig === 'SIGINT' ? 'Ctrl-C' : sig} again: quitting without printing or writing the partial results\n`);
          process.exit(sig === 'SIGTERM' ? EXIT_TERMINATED : EXIT_INTERRUPTED);
        }
        signal = sig;
        signalledAt = Date.now();
        stop = `interrupted (${sig === 'SIGINT' ? 'Ctrl-C' : sig}): the results above are partial`;
        process.stderr.write(`\ngupcheck: ${sig === 'SIGINT' ? 'Ctrl-C' : sig}: stopping; the partial results follow (${sig === 'SIGINT' ? 'Ctrl-C' : 'signal'} again to quit without them)\n`);
      };
      process.on('SIGINT', onSig);
      process.on('SIGTERM', onSig);
      // Under npm the signal may end npm and its shell and never reach us (cli/parent.ts).
      const unwatch = watchParent(() => {
        // A signal to the whole process group (`timeout N npx gupcheck`) ends npm and reaches
        // gupcheck at about the same time, in either order: give ours 300 ms to arrive, so that
        // it counts as the one interrupt and is not taken for a second one.
        setTimeout(() => {
          if (signal !== undefined || finished) return; // the signal reached us too: that one counts
          signal = 'SIGTERM';
          signalledAt = Date.now();
          stop = 'interrupted (npm, which started gupcheck, exited: it was signalled): the results above are partial';
          process.stderr.write('\ngupcheck: npm, which started gupcheck, exited (a signal for it did not reach gupcheck): stopping; the partial results follow\n');
        }, 300).unref();
      });
      const prog = progress(!o.json && o.progress);
      let res: Awaited<ReturnType<typeof runCheck>>;
      try {
        res = await runCheck(files, flags, { shouldStop: () => stop, onProgress: (l, n, ms, extra) => prog.update(l, n, ms, extra) });
      } finally {
        finished = true;
        prog.done();
        unwatch();
        process.off('SIGINT', onSig);
        process.off('SIGTERM', onSig);
      }
      if (o.report) writeReport(o.report, res.results, [...res.traces, ...res.outcomeTraces], { interrupted: res.interrupted, command: commandLine(cmd, paths), notStarted: res.notStarted.map((r) => r.label) });
      if (o.json) out.write(JSON.stringify({ results: res.results, unjudgedExpectations: res.unjudged, ...(res.interrupted ? { interrupted: true, notStarted: res.notStarted } : {}) }, null, 2) + '\n');
      else {
        for (const n of res.notes) out.write(`note: ${n}\n`);
        out.write(renderResults(out, res.results, res.traces, o.traces, res.unjudged, o.strict));
        if (res.interrupted) out.write(`${stop ?? 'interrupted'}\n`);
        if (res.notStarted.length) out.write(`not started (${res.notStarted.length === 1 ? '1 run' : `${res.notStarted.length} runs`}): ${res.notStarted.map((r) => r.label).join(', ')}\n`);
        if (o.report) out.write(`report: ${o.report}\n`);
      }
      process.exitCode = res.interrupted ? (signal === 'SIGTERM' ? EXIT_TERMINATED : EXIT_INTERRUPTED) : checkPassed(res.results, res.unjudged, o.strict) ? EXIT_OK : EXIT_FAIL;
    });
}
