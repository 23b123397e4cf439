/**
 * The one exploration loop (docs/reference/design.md §6; Shuttle's `Scheduler`, loom's pending ops).
 *
 * Every strategy (dpor, naive, random, pct, replay; check/strategies/) drives the same loop:
 * runOnce() builds a fresh execution and asks the strategy, at each state, which enabled thread
 * runs next (and which value a local choice takes). A strategy may abandon an execution
 * (sleep-set blocked, or a replayed schedule that ran out): only an execution that really ended
 * (no thread can run) is concluded, so end-of-run checks (the refcount audit, deadlock) never
 * run on a cut-off prefix while CPUs are mid-operation.
 *
 * explore() repeats runOnce() until the strategy says exploration is over, under the limits
 * (--max-executions, Ctrl-C / time budget), recording each concluded execution in Results, and
 * yields between executions when a time slice runs out (check/slices.ts).
 *
 * Observers (trace recording) see each transition before and after it runs: recording a trace
 * is a replay strategy plus an observer, not a loop of its own.
 */
import { totalmem } from 'node:os';
import { getHeapStatistics } from 'node:v8';
import { conclude, countPreemptions } from './conclude.ts';
import { Execution, type Program } from './execution.ts';
import { type Frontier, Results } from './results.ts';
import { type Sliced, SliceClock } from './slices.ts';
import { BOUNDED_HINT, STOPPED_AT_FINDING } from './defaults.ts';

export interface Strategy {
  /** Whether executions record events and vector clocks (DPOR's race analysis needs them). */
  readonly track: boolean;
  /** Called before each execution: false when exploration is over. */
  beginExecution(): boolean;
  /** The thread to run at this state (one of the bits of `enabled`), or -1 to abandon the execution. */
  nextThread(ex: Execution, enabled: number): number;
  /** The value a local choice of thread `tid` with `n` alternatives takes. */
  nextValue(ex: Execution, tid: number, n: number): number;
  /** After an execution; `ended`: it ran until no thread could run (false: abandoned). */
  endExecution(ex: Execution, ended: boolean): void;
  /** Alternatives known but not yet explored (exhaustive strategies, for progress lines). */
  frontier?(): Frontier;
  /** Once, after the last execution: mark the results incomplete if the strategy was bounded or sampled. */
  finish(r: Results): void;
  /** The execution to continue (a stateful search rewinds one); undefined: a fresh one. */
  resume?(program: Program, o: RunOnceOptions): Execution | undefined;
}

/** Sees every transition of one execution (trace recording). */
export interface Observer {
  beforeStep?(ex: Execution, tid: number): void;
  afterStep?(ex: Execution, tid: number): void;
}

export interface RunOnceOptions {
  readonly maxSteps?: number | undefined;
  readonly observer?: Observer | undefined;
}

export interface RunOnce {
  readonly ex: Execution;
  /** True if the execution ran to its end (no thread enabled, or a fatal finding outside any thread). */
  readonly ended: boolean;
}

/** One execution under a strategy. Concludes it only if it really ended. */
export function runOnce(program: Program, s: Strategy, o: RunOnceOptions = {}): RunOnce {
  const ex = s.resume?.(program, o) ?? new Execution(program, s.track, o.maxSteps);
  const obs = o.observer;
  for (;;) {
    if (ex.w.stopped) break;
    const en = ex.enabledMask();
    if (en === 0) break;
    const t = s.nextThread(ex, en);
    if (t < 0) return { ex, ended: false };
    const n = ex.pending(t).choices;
    const v = n ? s.nextValue(ex, t, n) : 0;
    obs?.beforeStep?.(ex, t);
    ex.step(t, v, en);
    obs?.afterStep?.(ex, t);
  }
  conclude(ex);
  return { ex, ended: true };
}

export interface ExploreOptions {
  readonly maxExecutions?: number | undefined;
  readonly maxSteps?: number | undefined;
  /** Keep each concluded execution's final-state key (DPOR-vs-naive tests). */
  readonly collectStates?: boolean | undefined;
  /** Checked between executions: a reason to stop (Ctrl-C, a time budget). */
  readonly shouldStop?: ((r: Results) => string | undefined) | undefined;
  /** Called after every concluded execution. */
  readonly onExecution?: ((r: Results) => void) | undefined;
  /** Yield between executions every this many ms (exploreSlices); see slices.ts. */
  readonly sliceMs?: number | undefined;
  /** Stop (not complete, limit 'memory') once this thread's JS heap and typed arrays exceed this many MB. */
  readonly maxMemoryMB?: number | undefined;
  /**
   * Asked after each execution with a finding: true stops the search there (not complete, limit
   * 'finding'; --stop-at-finding, where the run's expectations say when, run/run.ts findingsDecide()).
   */
  readonly stopAtFinding?: ((r: Results) => boolean) | undefined;
}

/** The share of V8's heap limit, and of the machine's memory, at which a search stops on its own (nearMemoryLimit()). */
const NEAR_LIMIT = 0.9;
let nearAt = -Infinity;

/**
 * Whether this thread's JS heap, or the process, is near what it may use: V8's heap limit (past
 * it V8 aborts the process, or kills the worker, and every result is lost) or the machine's
 * memory (past it the kernel's OOM killer does). Said in words, or null. Read at most every 50 ms.
 * Garbage not yet collected counts, so a search may stop a little early; never too late.
 */
export function nearMemoryLimit(): string | null {
  const now = Date.now();
  if (now - nearAt < 50) return null;
  nearAt = now;
  const h = getHeapStatistics();
  // What is left before the limit includes the young generation's reserve (tens of MB), which
  // old objects cannot use: hence the fixed part of the margin.
  if (h.total_available_size < (1 - NEAR_LIMIT) * h.heap_size_limit + 64 * 2 ** 20) {
    return `the JS heap holds ${mb(h.used_heap_size)} MB, and about ${mb(h.total_available_size)} MB are left before its limit of ${mb(h.heap_size_limit)} MB`;
  }
  const rss = process.memoryUsage.rss();
  if (rss > NEAR_LIMIT * totalmem()) return `the process uses ${mb(rss)} MB of the machine's ${mb(totalmem())} MB`;
  return null;
}
const mb = (bytes: number) => Math.round(bytes / 2 ** 20);

/**
 * Why a search must stop for memory now (--max-memory, or nearMemoryLimit()), and how to get past
 * it; null to go on. Each reading is taken at most every 50 ms, so this is asked every execution.
 */
function memoryStop(maxMB: number | undefined): { readonly why: string; readonly fix: string } | null {
  if (maxMB !== undefined) {
    const heap = heapMB();
    if (heap > maxMB) return { why: `stopped at --max-memory ${maxMB} MB (heap ${Math.round(heap)} MB)`, fix: 'raise it' };
  }
  const near = nearMemoryLimit();
  return near ? { why: `stopped before running out of memory: ${near}`, fix: "give the search more memory (NODE_OPTIONS=--max-old-space-size=MB raises the JS heap's limit)" } : null;
}

let heapAt = -Infinity;
let heapLast = 0;
/** This thread's JS heap and typed arrays in MB (per isolate: a worker's own), read at most every 50 ms (callers ask once per execution). */
export function heapMB(): number {
  const now = Date.now();
  if (now - heapAt >= 50) {
    // The stateful search keeps its table and summaries in typed arrays, whose memory is not in
    // heapUsed: count it too (per isolate, so a worker counts its own).
    const m = process.memoryUsage();
    heapLast = (m.heapUsed + m.arrayBuffers) / 2 ** 20;
    heapAt = now;
  }
  return heapLast;
}

/** explore() as a generator that yields between executions when o.sliceMs has run out. */
export function* exploreSlices(program: Program, s: Strategy, o: ExploreOptions = {}): Sliced<Results> {
  const slice = new SliceClock(o.sliceMs);
  const r = new Results(o.collectStates ?? false);
  let first = true;
  while (s.beginExecution()) {
    if (o.maxExecutions !== undefined && r.executions >= o.maxExecutions) {
      r.complete = false;
      r.limit = 'executions';
      r.stopReason = `stopped after --max-executions ${o.maxExecutions} executions; raise it to explore further`;
      break;
    }
    const memory = memoryStop(o.maxMemoryMB);
    if (memory) {
      r.complete = false;
      r.limit = 'memory';
      r.stopReason = `${memory.why}; the results so far are partial: ${memory.fix}, or use --strategy dpor, whose memory does not grow, or ${BOUNDED_HINT}`;
      break;
    }
    if (!first) {
      if (slice.over()) yield;
      const why = o.shouldStop?.(r);
      if (why) {
        r.complete = false;
        r.limit = 'interrupted';
        r.stopReason = why;
        break;
      }
    }
    first = false;
    const { ex, ended } = runOnce(program, s, o);
    s.endExecution(ex, ended);
    if (!ended) {
      r.sleepBlocked++;
      continue;
    }
    r.add(ex.w.findings, ex.w.outcomes, ex.schedule, ex.values, countPreemptions(ex.schedule, ex.enabledAt), o.collectStates ? program.stateKey?.(ex.w) : undefined);
    if (o.onExecution) {
      r.frontier = s.frontier?.();
      o.onExecution(r);
    }
    if (o.stopAtFinding && ex.w.findings.length > 0 && o.stopAtFinding(r)) {
      r.complete = false;
      r.limit = 'finding';
      r.stopReason = STOPPED_AT_FINDING;
      break;
    }
  }
  s.finish(r);
  return r;
}
