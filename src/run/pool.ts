/**
 * Running many planned runs, in this process or on worker threads (`--workers N`).
 *
 * One worker (the default) runs everything here, in plan order: the simple path, and the
 * reference. With N > 1, runs are handed to N worker threads as they free up; each run is
 * explored start to finish by one worker with the same code, so a run's result does not depend
 * on the worker count, and results come back in plan order whatever order they finish in.
 * A shared flag (SharedArrayBuffer) tells the workers to stop at their next execution boundary
 * (Ctrl-C); runs not yet started are not started.
 *
 * When the queue runs dry, a busy worker donates part of its search tree (check/split.ts), so
 * one large run uses every worker too. The split search explores the same
 * executions (the same count, findings, outcomes; test/run/pool.spec.ts).
 *
 * GUPCHECK_DEBUG_POOL=1 prints each work item's size and the pool's wall time on stderr.
 */
import { availableParallelism } from 'node:os';
import { getHeapStatistics } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { type ErrorKind, GupcheckError } from '../errors.ts';
import { LimitError } from '../sim/world.ts';
import { RunLimitError } from './run-limit.ts';
import { loadScenario } from './load.ts';
import { framesWorkerEntry, workerEntry } from './worker-bundle.ts';
import { findingsDecide, type FindingReport, judgeRun, verdictOf, type PlannedRun, type RunOptions, type RunResult, runOneAsync } from './run.ts';
import { type DonatedNode, type Path, ROOT_ITEM, type SplitItem, SplitSearch } from '../check/split.ts';
import { AUTO_DPOR_EXECUTIONS, DEFAULT_SAMPLES, STOPPED_AT_FINDING } from '../check/defaults.ts';
import { strategyInfo } from '../check/strategies/index.ts';
import { assertNever } from '../sim/op.ts';
import { better, type Frontier, Results, type ResultsData } from '../check/results.ts';
import type { ParsedScenario } from '../scenarios/parse.ts';

export interface Job {
  readonly file: string;
  readonly run: PlannedRun;
  readonly label: string;
}

/** The options that cross to a worker (no callbacks). */
export type JobOptions = Pick<RunOptions, 'strategy' | 'preemptionBound' | 'maxExecutions' | 'maxSteps' | 'maxMemoryMB' | 'stopAtFinding' | 'seed' | 'tableFree' | 'tlbFlush' | 'samples'>;

export interface PoolHooks {
  readonly shouldStop?: () => string | undefined;
  readonly onRunStart?: (job: Job) => void;
  readonly onProgress?: (label: string, executions: number, ms: number, extra: ProgressExtra) => void;
}

/** What a progress line can say beyond the count: the exhaustive search's frontier, or the sample target; the findings met so far. */
export interface ProgressExtra {
  readonly frontier?: Frontier | undefined;
  readonly samples?: number | undefined;
  /**
   * The findings met so far, by id (the keys): a long search can be stopped (Ctrl-C) once the one
   * looked for is there. The search's own map where it runs here, not a copy: this is built after
   * every execution and read only when a line is printed.
   */
  readonly findings?: ReadonlySet<string> | ReadonlyMap<string, unknown> | undefined;
}

function progressExtra(r: Results | undefined, opts: JobOptions, findings: ProgressExtra['findings'] = r?.findings): ProgressExtra {
  if (!strategyInfo(opts.strategy).exhaustive) return { samples: opts.maxExecutions ?? opts.samples ?? DEFAULT_SAMPLES, findings };
  return { frontier: r?.frontier, findings };
}

export interface PoolResult {
  /** In plan order; undefined for runs never started (interrupted before them). */
  readonly results: (RunResult | undefined)[];
  readonly interrupted: boolean;
}

/** Messages between the pool and a worker (src/run/worker.ts). */
export type ToWorker = {
  readonly type: 'item';
  readonly itemId: number;
  readonly index: number;
  readonly file: string;
  readonly run: PlannedRun;
  readonly opts: JobOptions;
  /** A work item of a split search; null: the whole run (random/PCT, preemption-bounded). */
  readonly item: SplitItem | null;
};
export type FromWorker =
  | {
      readonly type: 'progress';
      readonly itemId: number;
      readonly executions: number;
      readonly frontier: Frontier | undefined;
      readonly findings: readonly string[];
      /** --stop-at-finding in a split search, once the item has a finding: its results so far, for the coordinator to judge with the run's others. */
      readonly results?: ResultsData | undefined;
    }
  | { readonly type: 'request'; readonly itemId: number; readonly depth: number; readonly mask: number }
  | { readonly type: 'values'; readonly itemId: number; readonly n: number }
  | { readonly type: 'donate'; readonly itemId: number; readonly nodes: readonly DonatedNode[] }
  | { readonly type: 'done'; readonly itemId: number; readonly results: ResultsData }
  | { readonly type: 'error'; readonly itemId: number; readonly error: SerializedError };

export interface SerializedError {
  readonly name: string;
  readonly message: string;
  /** A GupcheckError's code, hint and kind (undefined: an internal error). */
  readonly code?: string;
  readonly hint?: string | undefined;
  readonly kind?: ErrorKind;
  readonly limit?: string;
  readonly value?: number;
  readonly detail?: string | undefined;
}

export function serializeError(e: unknown): SerializedError {
  if (e instanceof LimitError) return { name: 'LimitError', message: e.message, code: e.code, kind: e.kind, limit: e.limit, value: e.value, detail: e.detail };
  if (e instanceof GupcheckError) return { name: e.name, message: e.message, code: e.code, hint: e.hint, kind: e.kind };
  const err = e instanceof Error ? e : new Error(String(e));
  return { name: err.name, message: err.message };
}

export function deserializeError(s: SerializedError): Error {
  if (s.name === 'LimitError') {
    const e = new LimitError(s.limit ?? 'unknown', s.value ?? 0, '', s.detail);
    e.message = s.message;
    return e;
  }
  const e = s.code !== undefined ? new GupcheckError(s.code, s.message, s.hint, s.kind) : new Error(s.message);
  e.name = s.name;
  return e;
}

export { RunLimitError };

function atJob<E>(e: E, job: Job): E | RunLimitError {
  return e instanceof LimitError && !(e instanceof RunLimitError) ? new RunLimitError(e, job) : e;
}

/**
 * A worker V8 stopped at its heap limit, as the limit the run hit (the CLI says how to get past
 * it) rather than an internal error; undefined for any other error. The run's results died with
 * the worker: nothing is kept. The search normally stops itself before this (explore.ts
 * nearMemoryLimit()), but one large allocation can jump past its margin.
 */
function outOfMemory(e: Error, job: Job | undefined): RunLimitError | undefined {
  if ((e as NodeJS.ErrnoException).code !== 'ERR_WORKER_OUT_OF_MEMORY') return undefined;
  const limit = Math.round(getHeapStatistics().heap_size_limit / 2 ** 20);
  return new RunLimitError(new LimitError('memory', limit, `the JS heap reached its limit of about ${limit} MB`), job ?? { file: '?', label: 'a run' });
}

/**
 * The frames worker's entry, its bundle built first if stale (a fresh clone builds it at the
 * first stateful run); null if a Ctrl-C or SIGTERM stopped the build. The signal goes to the
 * whole foreground process group, esbuild's service included, whose build then fails ("The
 * service was stopped"): that is the interrupt, not an internal error. The signal's handler may
 * run after the build's failure is seen, hence the short wait before asking.
 */
export async function framesEntry(hooks: PoolHooks, build: () => Promise<URL> = framesWorkerEntry): Promise<URL | null> {
  try {
    return await build();
  } catch (e) {
    await new Promise((r) => setTimeout(r, 100));
    if (hooks.shouldStop?.()) return null;
    throw e;
  }
}

/** The most workers worth starting on this machine. */
export function defaultWorkers(): number {
  return Math.max(1, availableParallelism());
}

/** Run the jobs; `parsed` holds scenarios already loaded here (the workers load their own). */
export async function runJobs(
  jobs: readonly Job[],
  opts: JobOptions,
  workers: number,
  hooks: PoolHooks = {},
  parsed: ReadonlyMap<string, ParsedScenario> = new Map(),
): Promise<PoolResult> {
  if (opts.strategy === 'auto') return runAuto(jobs, opts, workers, hooks, parsed);
  // The stateful search runs on the model compiled to frames, which only its worker bundle has.
  if (strategyInfo(opts.strategy).needsFrames) {
    const entry = await framesEntry(hooks);
    return entry ? runOnWorkers(jobs, opts, Math.max(1, workers), hooks, parsed, entry) : { results: jobs.map(() => undefined), interrupted: true };
  }
  if (workers <= 1) return runHere(jobs, opts, hooks, new Map(parsed));
  return runOnWorkers(jobs, opts, workers, hooks, parsed, workerEntry());
}

/**
 * `--strategy auto` (the default): every run starts with DPOR, which is the reference and costs
 * nothing to start; a run DPOR has not finished after AUTO_DPOR_EXECUTIONS executions starts
 * again with the stateful search, which finishes the large ones DPOR cannot (docs/perf.md,
 * "Default"). At most those executions are lost, a few hundred milliseconds. Runs the stateful
 * search cannot take stay with DPOR, unbounded: revision modules and C patches (the model
 * compiled to frames has none). So do preemption-bounded runs: DPOR's bounded search is the
 * quick, partial one (it misses some schedules within the bound, and its results say so); the
 * stateful search covers every one but costs far more (docs/perf.md, "Preemption bounds"), so a
 * user asks for it by name. With --max-executions at or below the switch, DPOR alone runs,
 * bounded by it as asked.
 */
async function runAuto(jobs: readonly Job[], opts: JobOptions, workers: number, hooks: PoolHooks, parsed: ReadonlyMap<string, ParsedScenario>): Promise<PoolResult> {
  const scenario = (j: Job) => (parsed.get(j.file) ?? loadScenario(j.file)).scenario;
  const canMove = (j: Job) => !j.run.kernelSource && opts.preemptionBound === undefined && scenario(j)['preemption-bound'] === undefined;
  const switches = opts.maxExecutions === undefined || opts.maxExecutions > AUTO_DPOR_EXECUTIONS;
  const results: (RunResult | undefined)[] = jobs.map(() => undefined);
  let interrupted = false;
  const phase = async (idx: readonly number[], o: JobOptions, relabel: (j: Job) => Job = (j) => j) => {
    if (!idx.length || interrupted) return;
    const done = await runJobs(idx.map((i) => relabel(jobs[i]!)), o, workers, hooks, parsed);
    idx.forEach((i, k) => {
      if (done.results[k]) results[i] = done.results[k];
    });
    interrupted ||= done.interrupted;
  };
  const all = jobs.map((_, i) => i);
  const movable = switches ? all.filter((i) => canMove(jobs[i]!)) : [];
  await phase(movable, { ...opts, strategy: 'dpor', maxExecutions: AUTO_DPOR_EXECUTIONS });
  await phase(all.filter((i) => !movable.includes(i)), { ...opts, strategy: 'dpor' });
  const unfinished = movable.filter((i) => results[i] && !results[i].complete && results[i].limit === 'executions');
  const first = new Map(unfinished.map((i) => [i, results[i]!] as const));
  await phase(unfinished, { ...opts, strategy: 'stateful' }, (j) => ({ ...j, label: `${j.label} (stateful)` }));
  for (const [i, d] of first) {
    const r = results[i]!;
    // Not reached by an interrupt: DPOR's partial result stands, as interrupted.
    results[i] = r === d ? { ...d, limit: 'interrupted', stopReason: 'interrupted', verdict: verdictOf(d.verdict !== 'not-judged', d.expectations, 'interrupted') } : movedResult(d, r);
  }
  return { results, interrupted };
}

/**
 * A run's result under `auto` from DPOR's first executions (d) and the stateful search after
 * them (r): the stateful search's, its findings with DPOR's example where that is shorter. If the
 * stateful search stopped early (--max-memory, the memory guard, Ctrl-C) before it met again a
 * finding DPOR had found, DPOR's result is kept instead, said so: a finding seen is never dropped.
 * One that stopped because its findings decided its verdict (--stop-at-finding) keeps its result,
 * with DPOR's other findings beside its own: they cannot change the verdict (any that could would
 * have stopped DPOR), but they were seen.
 */
export function movedResult(d: RunResult, r: RunResult): RunResult {
  const lost = d.findings.filter((f) => !r.findings.some((g) => g.id === f.id));
  if (!r.complete && lost.length && r.limit !== 'finding') {
    return {
      ...d,
      limit: r.limit,
      verdict: verdictOf(d.verdict !== 'not-judged', d.expectations, r.limit),
      stopReason: `${r.stopReason ?? 'stopped'}; the stateful search after DPOR's first ${d.executions} executions stopped before it met ${lost.map((f) => f.id).join(', ')} again, so the results are DPOR's`,
      ms: r.ms + d.ms,
      complete: false,
    };
  }
  // The first finding's time counts from the run's start: DPOR's, or the stateful search's after DPOR's whole phase.
  const firstFindingMs = d.firstFindingMs ?? (r.firstFindingMs === undefined ? undefined : d.ms + r.firstFindingMs);
  const findings = [...r.findings.map((f) => betterOf(f, d.findings.find((g) => g.id === f.id))), ...lost];
  return { ...r, findings, ms: r.ms + d.ms, firstFindingMs, dporFirst: d.executions };
}

/**
 * A finding's example: the stateful search's, or DPOR's first executions' when that is better
 * (fewer preemptions, then steps; check/results.ts better()). Both are real executions of the
 * run; state matching can leave the shortest one unexplored, DPOR's first executions may have
 * met it. Its count stays the stateful search's.
 */
function betterOf(f: FindingReport, d: FindingReport | undefined): FindingReport {
  const ex = (x: FindingReport) => ({ ...x, at: 0, thread: 0 });
  if (!d || !better(ex(d), ex(f))) return f;
  return { ...f, message: d.message, schedule: d.schedule, values: d.values, preemptions: d.preemptions, steps: d.steps };
}

async function runHere(jobs: readonly Job[], opts: JobOptions, hooks: PoolHooks, parsed: Map<string, ParsedScenario>): Promise<PoolResult> {
  const results: (RunResult | undefined)[] = jobs.map(() => undefined);
  let interrupted = false;
  for (const [i, job] of jobs.entries()) {
    if (interrupted) break;
    let p = parsed.get(job.file);
    if (!p) parsed.set(job.file, (p = loadScenario(job.file)));
    hooks.onRunStart?.(job);
    const t0 = Date.now();
    // runOneAsync returns to the event loop every 50 ms, so Ctrl-C and SIGTERM are seen.
    results[i] = await runOneAsync(p, job.run, {
      ...opts,
      shouldStop: () => {
        const why = hooks.shouldStop?.();
        if (why) interrupted = true;
        return why;
      },
      onExecution: (r) => hooks.onProgress?.(job.label, r.executions, Date.now() - t0, progressExtra(r, opts)),
    }).catch((e: unknown) => {
      throw atJob(e, job);
    });
  }
  return { results, interrupted };
}

/** One run being explored on the workers. */
interface RunState {
  readonly index: number;
  readonly results: Results;
  /** Its split search (exhaustive strategies); null: one whole-run item (sampling, preemption-bounded). */
  readonly split: SplitSearch | null;
  readonly t0: number;
  /** Work items queued or being explored; the run is judged when this reaches 0. */
  items: number;
  executions: number;
}

/** A work item being explored by one worker. */
interface ItemState {
  readonly id: number;
  readonly run: RunState;
  /** The worker's current shared prefix: the item's, plus what it donated since. */
  path: Path;
  executions: number;
  /** The worker's last reported frontier for this item (progress only). */
  frontier?: Frontier | undefined;
  /** The findings the worker had met in this item at its last report (progress only). */
  findings?: readonly string[] | undefined;
  /** --stop-at-finding: the item's results at its last report, once it has a finding. */
  results?: ResultsData | undefined;
}

interface Queued {
  readonly run: RunState;
  readonly item: SplitItem | null;
  readonly path: Path;
}

/**
 * The pool's coordinator. Workers take work items from one queue: first each run whole, in
 * plan order; when the queue is empty and a worker is idle, a busy worker is asked to donate part
 * of its search tree (check/split.ts), so a single large run is explored by all workers. Results
 * of a run's items are merged (counts add up; each finding keeps the better example by a fixed
 * order), then judged as one run.
 */
class Coordinator {
  /** Set by the coordinator on Ctrl-C: workers stop at their next execution boundary. */
  private readonly stopFlag = new Int32Array(new SharedArrayBuffer(4));
  /** Per worker: the coordinator wants it to donate part of its tree. */
  private readonly wanted: Int32Array;
  /** Executions per run, counted by all of its items (--max-executions applies to the run). */
  private readonly executions: Int32Array;
  /** Per run: 1 once one of its items' findings decided its verdict (--stop-at-finding stops the others). */
  private readonly found: Int32Array;
  private readonly results: (RunResult | undefined)[];
  private readonly splittable: boolean;
  private readonly queue: Queued[] = [];
  private readonly items = new Map<number, ItemState>();
  /** Per worker: the item it explores, or null when idle. */
  private readonly busy: (ItemState | null)[];
  /** Per worker: asked to donate since the last poll. */
  private readonly asked: boolean[];
  private readonly started: RunState[] = [];
  private readonly workers: Worker[] = [];
  private nextJob = 0;
  private nextItem = 1;
  private interrupted = false;
  private failed: Error | undefined;
  private finished = false;
  private poll: NodeJS.Timeout | undefined;
  private readonly t0 = Date.now();

  constructor(
    private readonly jobs: readonly Job[],
    private readonly opts: JobOptions,
    private readonly n: number,
    private readonly hooks: PoolHooks,
    private readonly parsed: ReadonlyMap<string, ParsedScenario>,
    private readonly resolve: (r: PoolResult) => void,
    private readonly reject: (e: Error) => void,
  ) {
    this.wanted = new Int32Array(new SharedArrayBuffer(4 * n));
    this.executions = new Int32Array(new SharedArrayBuffer(4 * Math.max(1, jobs.length)));
    this.found = new Int32Array(new SharedArrayBuffer(4 * Math.max(1, jobs.length)));
    this.results = jobs.map(() => undefined);
    this.splittable = strategyInfo(opts.strategy).splittable && opts.preemptionBound === undefined;
    this.busy = Array.from({ length: n }, () => null);
    this.asked = Array.from({ length: n }, () => false);
  }

  start(entry: URL): void {
    this.poll = setInterval(() => this.onPoll(), 50);
    for (let k = 0; k < this.n; k++) {
      // A smaller young generation than V8's default for workers: measured on scaled-reuse (2 workers,
      // 20,000 executions per run) peak RSS 311-315 MB -> 277-283 MB, CPU time the same within noise
      // (8 MB saved more but cost ~8% CPU in extra scavenges).
      const w = new Worker(entry, {
        workerData: { stopFlag: this.stopFlag, wanted: this.wanted, executions: this.executions, found: this.found, id: k },
        resourceLimits: { maxYoungGenerationSizeMb: 24 },
      });
      this.workers.push(w);
      w.on('message', (m: FromWorker) => this.onMessage(k, m));
      w.on('error', (e) => {
        const item = this.busy[k];
        this.failed ??= outOfMemory(e, item ? this.jobs[item.run.index] : undefined) ?? e;
        this.finish();
      });
    }
    this.dispatch();
  }

  /** Start the next planned run: one item for the whole run (its split search hands out more). */
  private startRun(): boolean {
    if (this.nextJob >= this.jobs.length) return false;
    const index = this.nextJob++;
    this.hooks.onRunStart?.(this.jobs[index]!);
    const run: RunState = {
      index,
      results: new Results(false),
      split: this.splittable ? new SplitSearch((item, path) => this.enqueue(run, item, path)) : null,
      t0: Date.now(),
      items: 0,
      executions: 0,
    };
    this.started.push(run);
    if (run.split) {
      const { item, path } = run.split.root();
      this.enqueue(run, item, path);
    } else this.enqueue(run, null, ROOT_ITEM);
    return true;
  }

  private enqueue(run: RunState, item: SplitItem | null, path: Path): void {
    this.queue.push({ run, item, path });
    run.items++;
  }

  /** A run's frontier: its busy items' frontiers plus its queued items (each one open branch). */
  private runFrontier(run: RunState): Frontier {
    let pending = 0;
    let shallowest = -1;
    const at = (d: number) => {
      if (d >= 0 && (shallowest < 0 || d < shallowest)) shallowest = d;
    };
    for (const b of this.busy) {
      if (b?.run !== run || !b.frontier) continue;
      pending += b.frontier.pending;
      at(b.frontier.shallowest);
    }
    for (const q of this.queue) {
      if (q.run !== run) continue;
      pending++;
      at(q.path.schedule.length - 1);
    }
    return { pending, shallowest };
  }

  /** The findings a run has met so far: in its finished items and at its busy items' last reports. */
  private runFindings(run: RunState): Set<string> {
    const ids = new Set(run.results.findings.keys());
    for (const b of this.busy) if (b?.run === run) for (const id of b.findings ?? []) ids.add(id);
    return ids;
  }

  /**
   * --stop-at-finding on a split run: whether the findings of all its items together (the
   * finished ones, and the busy ones at their last report) decide its verdict; if so, its other
   * items stop at their next execution and its queued ones are dropped. An item whose own
   * findings decide it stops by itself (findingsDecide() is monotone); this catches findings
   * that decide only together (one item met one finding expected `sometimes`, another the other).
   */
  private stopIfDecided(run: RunState): void {
    if (!this.opts.stopAtFinding || !run.split || Atomics.load(this.found, run.index)) return;
    const all = new Results(false);
    all.merge(run.results.data());
    for (const b of this.busy) if (b?.run === run && b.results) all.merge(b.results);
    if (all.findings.size === 0) return;
    const job = this.jobs[run.index]!;
    if (findingsDecide((this.parsed.get(job.file) ?? loadScenario(job.file)).scenario, job.run, all)) Atomics.store(this.found, run.index, 1);
  }

  private judge(run: RunState): void {
    const job = this.jobs[run.index]!;
    this.results[run.index] = judgeRun(this.parsed.get(job.file) ?? loadScenario(job.file), job.run, this.opts, run.results, run.t0);
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    clearInterval(this.poll);
    for (const w of this.workers) void w.terminate();
    // Runs cut short by Ctrl-C: judged on what was explored, marked incomplete.
    for (const run of this.started) {
      if (this.results[run.index] || this.failed) continue;
      run.results.complete = false;
      run.results.limit ??= 'interrupted';
      run.results.stopReason ??= 'interrupted';
      this.judge(run);
    }
    if (process.env.GUPCHECK_DEBUG_POOL) process.stderr.write(`pool: ${this.nextItem - 1} items, ${this.started.length} runs, ${Date.now() - this.t0} ms\n`);
    if (this.failed) this.reject(this.failed);
    else this.resolve({ results: this.results, interrupted: this.interrupted });
  }

  private dispatch(): void {
    if (this.finished) return;
    const { opts, busy } = this;
    for (let k = 0; k < this.n; k++) {
      if (busy[k] || this.interrupted || this.failed) continue;
      if (!this.queue.length && !this.startRun()) break;
      const q = this.queue.shift()!;
      // A run that used up --max-executions, or whose verdict another item's findings decided
      // (--stop-at-finding): its remaining items are not explored.
      const cut =
        opts.maxExecutions !== undefined && Atomics.load(this.executions, q.run.index) >= opts.maxExecutions
          ? { limit: 'executions', why: `stopped after --max-executions ${opts.maxExecutions} executions; raise it to explore further` }
          : opts.stopAtFinding && Atomics.load(this.found, q.run.index)
            ? { limit: 'finding', why: STOPPED_AT_FINDING }
            : null;
      if (cut) {
        const r = q.run.results;
        r.complete = false;
        r.limit ??= cut.limit;
        r.stopReason ??= cut.why;
        q.run.items--;
        if (q.run.items === 0) this.judge(q.run);
        k--; // try this worker again with the next item
        continue;
      }
      const st: ItemState = { id: this.nextItem++, run: q.run, path: q.path, executions: 0 };
      this.items.set(st.id, st);
      busy[k] = st;
      this.asked[k] = false;
      const job = this.jobs[q.run.index]!;
      const msg: ToWorker = { type: 'item', itemId: st.id, index: q.run.index, file: job.file, run: job.run, opts, item: q.item };
      this.workers[k]!.postMessage(msg);
    }
    if (busy.every((b) => b === null)) {
      this.finish();
      return;
    }
    // Idle workers and nothing queued: ask one busy worker to donate.
    if (!this.interrupted && !this.failed && !this.queue.length && this.nextJob >= this.jobs.length && busy.some((b) => b === null)) {
      const k = busy.findIndex((b, i) => b !== null && !this.asked[i]);
      if (k >= 0 && Atomics.load(this.wanted, k) === 0) {
        this.asked[k] = true;
        Atomics.store(this.wanted, k, 1);
      }
    }
  }

  private onPoll(): void {
    const why = this.hooks.shouldStop?.();
    if (why && !this.interrupted) {
      this.interrupted = true;
      Atomics.store(this.stopFlag, 0, 1);
    }
    this.asked.fill(false); // a worker with nothing to give may have some now
    this.dispatch();
  }

  private onMessage(k: number, m: FromWorker): void {
    const st = this.items.get(m.itemId);
    if (!st) return;
    const run = st.run;
    switch (m.type) {
      case 'progress': {
        run.executions += m.executions - st.executions;
        st.executions = m.executions;
        st.frontier = m.frontier;
        st.findings = m.findings;
        if (m.results) {
          st.results = m.results;
          this.stopIfDecided(run);
        }
        // A whole run on one worker reports its own frontier (and, for the stateful search, its states).
        const findings = this.runFindings(run);
        const extra = run.split ? { frontier: this.runFrontier(run), findings } : strategyInfo(this.opts.strategy).exhaustive ? { frontier: m.frontier, findings } : progressExtra(undefined, this.opts, findings);
        this.hooks.onProgress?.(this.jobs[run.index]!.label, run.executions, Date.now() - run.t0, extra);
        return;
      }
      case 'request':
        run.split?.request(st.path, m.depth, m.mask);
        break;
      case 'values':
        run.split?.moreValues(st.path, m.n);
        break;
      case 'donate':
        if (run.split) st.path = run.split.donated(st.path, m.nodes);
        break;
      case 'done':
        if (process.env.GUPCHECK_DEBUG_POOL) process.stderr.write(`item ${m.itemId} w${k} depth ${st.path.schedule.length}: ${m.results.executions} execs, ${m.results.sleepBlocked} blocked, t=${Date.now() - this.t0}\n`);
        run.results.merge(m.results);
        run.items--;
        this.items.delete(m.itemId);
        this.busy[k] = null;
        this.stopIfDecided(run);
        if (m.results.limit === 'interrupted') this.interrupted = true;
        if (run.items === 0) this.judge(run);
        break;
      case 'error':
        this.failed ??= atJob(deserializeError(m.error), this.jobs[run.index]!);
        this.items.delete(m.itemId);
        this.busy[k] = null;
        break;
      default:
        assertNever(m);
    }
    this.dispatch();
  }
}

function runOnWorkers(jobs: readonly Job[], opts: JobOptions, n: number, hooks: PoolHooks, parsed: ReadonlyMap<string, ParsedScenario>, entry: URL): Promise<PoolResult> {
  return new Promise<PoolResult>((resolve, reject) => new Coordinator(jobs, opts, n, hooks, parsed, resolve, reject).start(entry));
}
