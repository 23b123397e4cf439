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
 * Not done: splitting one run's DPOR tree between workers (see docs/perf.md): a single big run
 * still uses one core.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { LimitError } from '../sim/world.ts';
import { loadScenario } from './load.ts';
import { type PlannedRun, type RunOptions, type RunResult, runOneAsync } from './run.ts';
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
  readonly onProgress?: (label: string, executions: number, ms: number) => void;
}

export interface PoolResult {
  /** In plan order; undefined for runs never started (interrupted before them). */
  readonly results: (RunResult | undefined)[];
  readonly interrupted: boolean;
}

/** Messages between the pool and a worker (src/run/worker.ts). */
export type ToWorker = { readonly type: 'run'; readonly index: number; readonly file: string; readonly run: PlannedRun; readonly opts: JobOptions };
export type FromWorker =
  | { readonly type: 'progress'; readonly index: number; readonly executions: number; readonly ms: number }
  | { readonly type: 'done'; readonly index: number; readonly result: RunResult }
  | { readonly type: 'error'; readonly index: number; readonly error: SerializedError };

export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly limit?: string;
  readonly value?: number;
}

export function serializeError(e: unknown): SerializedError {
  if (e instanceof LimitError) return { name: 'LimitError', message: e.message, limit: e.limit, value: e.value };
  const err = e instanceof Error ? e : new Error(String(e));
  return { name: err.name, message: err.message };
}

function deserializeError(s: SerializedError): Error {
  if (s.name === 'LimitError') {
    const e = new LimitError(s.limit ?? 'unknown', s.value ?? 0, '');
    e.message = s.message;
    return e;
  }
  const e = new Error(s.message);
  e.name = s.name;
  return e;
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
  if (workers <= 1 || jobs.length <= 1) return runHere(jobs, opts, hooks, new Map(parsed));
  return runOnWorkers(jobs, opts, Math.min(workers, jobs.length), hooks);
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
      onExecution: (r) => hooks.onProgress?.(job.label, r.executions, Date.now() - t0),
    });
  }
  return { results, interrupted };
}

const WORKER_ENTRY = new URL('./worker.mjs', import.meta.url);

function runOnWorkers(jobs: readonly Job[], opts: JobOptions, n: number, hooks: PoolHooks): Promise<PoolResult> {
  const stopFlag = new Int32Array(new SharedArrayBuffer(4));
  const results: (RunResult | undefined)[] = jobs.map(() => undefined);
  let next = 0;
  let running = 0;
  let interrupted = false;
  let failed: Error | undefined;
  return new Promise<PoolResult>((resolve, reject) => {
    const pool: Worker[] = [];
    const poll = setInterval(() => {
      const why = hooks.shouldStop?.();
      if (why && !interrupted) {
        interrupted = true;
        Atomics.store(stopFlag, 0, 1);
      }
    }, 50);
    const finish = () => {
      clearInterval(poll);
      for (const w of pool) void w.terminate();
      if (failed) reject(failed);
      else resolve({ results, interrupted });
    };
    const feed = (w: Worker) => {
      if (interrupted || failed || next >= jobs.length) {
        if (running === 0) finish();
        return;
      }
      const index = next++;
      const job = jobs[index]!;
      running++;
      hooks.onRunStart?.(job);
      const msg: ToWorker = { type: 'run', index, file: job.file, run: job.run, opts };
      w.postMessage(msg);
    };
    for (let k = 0; k < n; k++) {
      const w = new Worker(WORKER_ENTRY, { workerData: { stopFlag } });
      pool.push(w);
      w.on('message', (m: FromWorker) => {
        if (m.type === 'progress') {
          hooks.onProgress?.(jobs[m.index]!.label, m.executions, m.ms);
          return;
        }
        running--;
        if (m.type === 'done') {
          results[m.index] = m.result;
          if (m.result.limit === 'interrupted') interrupted = true;
        } else failed ??= deserializeError(m.error);
        feed(w);
      });
      w.on('error', (e) => {
        failed ??= e;
        running = 0;
        finish();
      });
      feed(w);
    }
  });
}
