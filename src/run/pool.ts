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
 * When the queue runs dry, a busy worker donates part of its search tree (check/dfs.ts
 * SplitItem), so one large run uses every worker too. The split search explores the same
 * executions (the same count, findings, outcomes; test/run/pool.spec.ts).
 *
 * GUPCHECK_DEBUG_POOL=1 prints each work item's size and the pool's wall time on stderr.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { LimitError } from '../sim/world.ts';
import { loadScenario } from './load.ts';
import { workerEntry } from './worker-bundle.ts';
import { judgeRun, type PlannedRun, type RunOptions, type RunResult, runOneAsync } from './run.ts';
import type { DonatedNode, SplitItem } from '../check/dfs.ts';
import { type Frontier, Results, type ResultsData } from '../check/results.ts';
import type { ParsedScenario } from '../scenarios/parse.ts';

export interface Job {
  readonly file: string;
  readonly run: PlannedRun;
  readonly label: string;
}

/** The options that cross to a worker (no callbacks). */
export type JobOptions = Pick<RunOptions, 'strategy' | 'preemptionBound' | 'maxExecutions' | 'maxSteps' | 'seed' | 'tableFree' | 'tlbFlush' | 'samples'>;

export interface PoolHooks {
  readonly shouldStop?: () => string | undefined;
  readonly onRunStart?: (job: Job) => void;
  readonly onProgress?: (label: string, executions: number, ms: number, extra: ProgressExtra) => void;
}

/** What a progress line can say beyond the count: the exhaustive search's frontier, or the sample target. */
export interface ProgressExtra {
  readonly frontier?: Frontier | undefined;
  readonly samples?: number | undefined;
}

function progressExtra(r: Results, opts: JobOptions): ProgressExtra {
  if (opts.strategy === 'random' || opts.strategy === 'pct') return { samples: opts.maxExecutions ?? opts.samples ?? 1000 };
  return { frontier: r.frontier };
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
  | { readonly type: 'progress'; readonly itemId: number; readonly executions: number; readonly frontier: Frontier | undefined }
  | { readonly type: 'request'; readonly itemId: number; readonly depth: number; readonly mask: number }
  | { readonly type: 'values'; readonly itemId: number; readonly n: number }
  | { readonly type: 'donate'; readonly itemId: number; readonly nodes: readonly DonatedNode[] }
  | { readonly type: 'done'; readonly itemId: number; readonly results: ResultsData }
  | { readonly type: 'error'; readonly itemId: number; readonly error: SerializedError };

export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly limit?: string;
  readonly value?: number;
  readonly detail?: string | undefined;
}

export function serializeError(e: unknown): SerializedError {
  if (e instanceof LimitError) return { name: 'LimitError', message: e.message, limit: e.limit, value: e.value, detail: e.detail };
  const err = e instanceof Error ? e : new Error(String(e));
  return { name: err.name, message: err.message };
}

function deserializeError(s: SerializedError): Error {
  if (s.name === 'LimitError') {
    const e = new LimitError(s.limit ?? 'unknown', s.value ?? 0, '', s.detail);
    e.message = s.message;
    return e;
  }
  const e = new Error(s.message);
  e.name = s.name;
  return e;
}

/** A limit one run hit, with the run (the CLI names it in the error). */
export class RunLimitError extends LimitError {
  constructor(
    e: LimitError,
    readonly job: Job,
  ) {
    super(e.limit, e.value, '', e.detail);
    this.message = e.message;
  }
}

function atJob<E>(e: E, job: Job): E | RunLimitError {
  return e instanceof LimitError && !(e instanceof RunLimitError) ? new RunLimitError(e, job) : e;
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
  if (workers <= 1) return runHere(jobs, opts, hooks, new Map(parsed));
  return runOnWorkers(jobs, opts, workers, hooks, parsed);
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

/** A state on a shared prefix whose alternatives the coordinator hands out (check/dfs.ts SplitItem). */
interface SharedNode {
  readonly path: Path;
  readonly enabled: number;
  readonly sleep: number;
  done: number;
  backtrack: number;
}

/** A schedule prefix with, per step, the choice's value, doneBefore and known backtrack set. */
interface Path {
  readonly schedule: readonly number[];
  readonly values: readonly number[];
  readonly doneBefore: readonly number[];
  readonly backtrack: readonly number[];
}

interface RunState {
  readonly index: number;
  readonly results: Results;
  readonly nodes: Map<string, SharedNode>;
  readonly t0: number;
  items: number;
  executions: number;
}

interface ItemState {
  readonly id: number;
  readonly run: RunState;
  /** The worker's current shared prefix: the item's, plus what it donated since. */
  path: Path;
  executions: number;
  /** The worker's last reported frontier for this item (progress only). */
  frontier?: Frontier | undefined;
}

const keyOf = (schedule: readonly number[], values: readonly number[], depth: number) => {
  let k = '';
  for (let i = 0; i < depth; i++) k += `${schedule[i]}.${values[i]},`;
  return k;
};

function extend(p: Path, chosen: number, value: number, doneBefore: number, backtrack: number): Path {
  return { schedule: [...p.schedule, chosen], values: [...p.values, value], doneBefore: [...p.doneBefore, doneBefore], backtrack: [...p.backtrack, backtrack] };
}

const EMPTY: Path = { schedule: [], values: [], doneBefore: [], backtrack: [] };

/**
 * Workers take work items from one queue: first each run whole, in plan order; when the queue is
 * empty and a worker is idle, a busy worker is asked to donate part of its search tree, so a
 * single large run is explored by all workers. Results of a run's items are merged (counts add
 * up; each finding keeps the better example by a fixed order), then judged as one run.
 */
function runOnWorkers(jobs: readonly Job[], opts: JobOptions, n: number, hooks: PoolHooks, parsed: ReadonlyMap<string, ParsedScenario>): Promise<PoolResult> {
  const stopFlag = new Int32Array(new SharedArrayBuffer(4));
  const wanted = new Int32Array(new SharedArrayBuffer(4 * n));
  // Executions per run, counted by all of its items (--max-executions applies to the run).
  const executions = new Int32Array(new SharedArrayBuffer(4 * Math.max(1, jobs.length)));
  const results: (RunResult | undefined)[] = jobs.map(() => undefined);
  const splittable = opts.strategy === 'dpor' || opts.strategy === 'naive';
  const queue: { run: RunState; item: SplitItem | null; path: Path }[] = [];
  const items = new Map<number, ItemState>();
  const busy: (ItemState | null)[] = Array.from({ length: n }, () => null);
  const asked: boolean[] = Array.from({ length: n }, () => false);
  const started: RunState[] = [];
  let nextJob = 0;
  let nextItem = 1;
  let interrupted = false;
  let failed: Error | undefined;

  const startRun = (): boolean => {
    if (nextJob >= jobs.length) return false;
    const index = nextJob++;
    const job = jobs[index]!;
    hooks.onRunStart?.(job);
    const run: RunState = { index, results: new Results(false), nodes: new Map(), t0: Date.now(), items: 0, executions: 0 };
    started.push(run);
    const item: SplitItem | null = splittable && opts.preemptionBound === undefined ? { schedule: [], values: [], doneBefore: [], backtrack: [], freshChoice: false } : null;
    queue.push({ run, item, path: EMPTY });
    run.items++;
    return true;
  };

  const handOut = (node: SharedNode, run: RunState) => {
    let cand = node.backtrack & ~node.done & ~node.sleep & node.enabled;
    while (cand) {
      const q = 31 - Math.clz32(cand & -cand);
      cand &= cand - 1;
      const path = extend(node.path, q, 0, node.done, node.backtrack);
      node.done |= 1 << q;
      queue.push({ run, item: { ...path, freshChoice: true }, path });
      run.items++;
    }
  };

  // A run's frontier: its busy items' frontiers plus its queued items (each one open branch).
  const runFrontier = (run: RunState): Frontier => {
    let pending = 0;
    let shallowest = -1;
    const at = (d: number) => {
      if (d >= 0 && (shallowest < 0 || d < shallowest)) shallowest = d;
    };
    for (const b of busy) {
      if (b?.run !== run || !b.frontier) continue;
      pending += b.frontier.pending;
      at(b.frontier.shallowest);
    }
    for (const q of queue) {
      if (q.run !== run) continue;
      pending++;
      at(q.path.schedule.length - 1);
    }
    return { pending, shallowest };
  };

  const judge = (run: RunState) => {
    const job = jobs[run.index]!;
    results[run.index] = judgeRun(parsed.get(job.file) ?? loadScenario(job.file), job.run, opts, run.results, run.t0);
  };

  return new Promise<PoolResult>((resolve, reject) => {
    const pool: Worker[] = [];
    const poolStart = Date.now();
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearInterval(poll);
      for (const w of pool) void w.terminate();
      // Runs cut short by Ctrl-C: judged on what was explored, marked incomplete.
      for (const run of started) {
        if (results[run.index] || failed) continue;
        run.results.complete = false;
        run.results.limit ??= 'interrupted';
        run.results.stopReason ??= 'interrupted';
        judge(run);
      }
      if (process.env.GUPCHECK_DEBUG_POOL) process.stderr.write(`pool: ${nextItem - 1} items, ${started.length} runs, ${Date.now() - poolStart} ms\n`);
      if (failed) reject(failed);
      else resolve({ results, interrupted });
    };
    const dispatch = () => {
      if (finished) return;
      for (let k = 0; k < n; k++) {
        if (busy[k] || interrupted || failed) continue;
        if (!queue.length && !startRun()) break;
        const q = queue.shift()!;
        if (opts.maxExecutions !== undefined && Atomics.load(executions, q.run.index) >= opts.maxExecutions) {
          // The run has used up --max-executions: its remaining items are not explored.
          q.run.results.complete = false;
          q.run.results.limit ??= 'executions';
          q.run.results.stopReason ??= `stopped after --max-executions ${opts.maxExecutions} executions; raise it to explore further`;
          q.run.items--;
          if (q.run.items === 0) judge(q.run);
          k--; // try this worker again with the next item
          continue;
        }
        const st: ItemState = { id: nextItem++, run: q.run, path: q.path, executions: 0 };
        items.set(st.id, st);
        busy[k] = st;
        asked[k] = false;
        const job = jobs[q.run.index]!;
        const msg: ToWorker = { type: 'item', itemId: st.id, index: q.run.index, file: job.file, run: job.run, opts, item: q.item };
        pool[k]!.postMessage(msg);
      }
      if (busy.every((b) => b === null)) {
        finish();
        return;
      }
      // Idle workers and nothing queued: ask one busy worker to donate.
      if (!interrupted && !failed && !queue.length && nextJob >= jobs.length && busy.some((b) => b === null)) {
        const k = busy.findIndex((b, i) => b !== null && !asked[i]);
        if (k >= 0 && Atomics.load(wanted, k) === 0) {
          asked[k] = true;
          Atomics.store(wanted, k, 1);
        }
      }
    };
    const poll = setInterval(() => {
      const why = hooks.shouldStop?.();
      if (why && !interrupted) {
        interrupted = true;
        Atomics.store(stopFlag, 0, 1);
      }
      asked.fill(false); // a worker with nothing to give may have some now
      dispatch();
    }, 50);
    const onMessage = (k: number, m: FromWorker) => {
      const st = items.get(m.itemId);
      if (!st) return;
      const run = st.run;
      switch (m.type) {
        case 'progress':
          run.executions += m.executions - st.executions;
          st.executions = m.executions;
          st.frontier = m.frontier;
          hooks.onProgress?.(jobs[run.index]!.label, run.executions, Date.now() - run.t0, splittable ? { frontier: runFrontier(run) } : { samples: opts.maxExecutions ?? opts.samples ?? 1000 });
          return;
        case 'request': {
          const node = run.nodes.get(keyOf(st.path.schedule, st.path.values, m.depth));
          if (!node) return; // the root item's own nodes are never shared before a donation
          node.backtrack |= m.mask;
          handOut(node, run);
          break;
        }
        case 'values': {
          const d = st.path.schedule.length;
          for (let v = 1; v < m.n; v++) {
            const path: Path = { ...st.path, values: [...st.path.values.slice(0, d - 1), v] };
            queue.push({ run, item: { ...path, freshChoice: false }, path });
            run.items++;
          }
          break;
        }
        case 'donate': {
          if (!m.nodes.length) break;
          let path = st.path;
          let last: SharedNode | undefined;
          for (const d of m.nodes) {
            const node: SharedNode = { path, enabled: d.enabled, sleep: d.sleep, done: d.done, backtrack: d.backtrack };
            run.nodes.set(keyOf(path.schedule, path.values, path.schedule.length), node);
            last = node;
            path = extend(path, d.chosen, d.value, d.done & ~(1 << d.chosen), d.backtrack);
          }
          st.path = path;
          // The donated node's other values of the chosen thread, then its other threads.
          const d = m.nodes.at(-1)!;
          for (let v = d.value + 1; v < d.nValues; v++) {
            const p: Path = { ...path, values: [...path.values.slice(0, -1), v] };
            queue.push({ run, item: { ...p, freshChoice: false }, path: p });
            run.items++;
          }
          handOut(last!, run);
          break;
        }
        case 'done':
          if (process.env.GUPCHECK_DEBUG_POOL) process.stderr.write(`item ${m.itemId} w${k} depth ${st.path.schedule.length}: ${m.results.executions} execs, ${m.results.sleepBlocked} blocked, t=${Date.now() - poolStart}\n`);
          run.results.merge(m.results);
          run.items--;
          items.delete(m.itemId);
          busy[k] = null;
          if (m.results.limit === 'interrupted') interrupted = true;
          if (run.items === 0) judge(run);
          break;
        case 'error':
          failed ??= atJob(deserializeError(m.error), jobs[run.index]!);
          items.delete(m.itemId);
          busy[k] = null;
          break;
      }
      dispatch();
    };
    const entry = workerEntry();
    for (let k = 0; k < n; k++) {
      // A smaller young generation than V8's default for workers: measured on scaled-reuse (2 workers,
      // 20,000 executions per run) peak RSS 311-315 MB -> 277-283 MB, CPU time the same within noise
      // (8 MB saved more but cost ~8% CPU in extra scavenges).
      const w = new Worker(entry, { workerData: { stopFlag, wanted, executions, id: k }, resourceLimits: { maxYoungGenerationSizeMb: 24 } });
      pool.push(w);
      w.on('message', (m: FromWorker) => onMessage(k, m));
      w.on('error', (e) => {
        failed ??= e;
        finish();
      });
    }
    dispatch();
  });
}
