/**
 * Replay one schedule with recording on: every transition in kernel words (who, which
 * function, what object, the value read or written, state changes noted by the model) and,
 * when the program can describe it, the state after each step.
 *
 * Also `replaySchedule()`: replay without recording and return what happened (used to check a
 * minimized schedule still reaches the finding, and by `gupcheck replay`).
 */
import { READ, RMW, WRITE, type Op } from '../sim/op.ts';
import { isLockWait } from '../sim/sync.ts';
import type { Finding, World } from '../sim/world.ts';
import type { StateSnapshot, TraceStep } from '../trace/schema.ts';
import { type Observer, runOnce } from './explore.ts';
import type { Execution, Program } from './execution.ts';
import { ReplayStrategy } from './strategies/replay.ts';

/** Optional presentation hooks a program offers for traces. */
export interface Presentable {
  /** Format a value read from / written to a named object. */
  formatValue?(objName: string, v: unknown): string;
  /** The state, for the step-by-step viewer. */
  snapshot?(w: World): StateSnapshot;
  /** A kernel function's name as the revision spells it. */
  kernelName?(fn: string): string;
}

export interface Replayed {
  readonly ex: Execution;
  readonly findings: readonly Finding[];
  /** False if the schedule asked for a thread that could not run (the token does not fit the scenario). */
  readonly fits: boolean;
  readonly why?: string;
  /** The execution ended with the schedule (so it was concluded: end-of-run checks ran). */
  readonly ended: boolean;
}

/** Replay a schedule and return what happened (without recording a trace). */
export function replaySchedule(program: Program, schedule: readonly number[], values: readonly number[], track = false, observer?: Observer): Replayed {
  const s = new ReplayStrategy(schedule, values, track);
  s.beginExecution();
  const { ex, ended } = runOnce(program, s, { observer });
  return { ex, findings: ex.w.findings, fits: s.misfit === undefined, ended, ...(s.misfit !== undefined ? { why: s.misfit } : {}) };
}

function accessOf(op: Op): TraceStep['access'] {
  if (op.choices) return 'choice';
  if (isLockWait(op.wait)) return 'lock';
  if (op.wait) return 'wait';
  if (op.obj === 0 && !op.group) return 'local';
  return op.acc === READ ? 'read' : op.acc === WRITE ? 'write' : op.acc === RMW ? 'rmw' : 'read';
}

export interface Recording {
  readonly steps: TraceStep[];
  readonly states: StateSnapshot[];
  readonly initial: StateSnapshot | null;
  readonly findings: readonly Finding[];
  readonly cpus: string[];
  /** The execution ran to its end (false: the trace stops at its finding, mid-run). */
  readonly ended: boolean;
}

/**
 * Replay with recording: an observer of the replay that writes down each transition in kernel
 * words, and the state after it. The schedule must fit (callers replay first to check). Only if
 * the execution ends with the schedule are the end-of-run checks part of its findings.
 */
export function record(program: Program & Presentable, schedule: readonly number[], values: readonly number[]): Recording {
  const steps: TraceStep[] = [];
  const states: StateSnapshot[] = [];
  const fmt = (name: string, v: unknown): string | undefined => {
    if (v === undefined) return undefined;
    if (program.formatValue) return program.formatValue(name, v);
    return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v);
  };
  const kname = (fn: string) => program.kernelName?.(fn) ?? fn;
  let initial: StateSnapshot | null = null;
  let notes: string[] = [];
  type Done = { site: Op['site']; obj: number; before: unknown; after: unknown; acc: TraceStep['access'] };
  /** The access a thread just completed, captured when it announces its next one. */
  const cap: { done: Done | null } = { done: null };
  const hook = (op: Op) => {
    if (op.site.fn === '(none)') return;
    cap.done = { site: op.site, obj: op.obj, before: op.before, after: op.after, acc: accessOf(op) };
  };
  const install = (w: World) => {
    for (const t of w.threads) {
      t.onAccess = hook;
      t.note = (m) => notes.push(m);
    }
  };
  let prev = -1;
  let pre: { site: Op['site']; obj: number; acc: TraceStep['access']; en: number; nFindings: number } | null = null;
  const observer: Observer = {
    beforeStep(ex, tid) {
      const w = ex.w;
      if (initial === null) {
        initial = program.snapshot?.(w) ?? null;
        install(w);
      }
      const op = w.threads[tid]!.op;
      pre = { site: op.site, obj: op.obj, acc: accessOf(op), en: ex.enabledMask(), nFindings: w.findings.length };
      notes = [];
      cap.done = null;
    },
    afterStep(ex, tid) {
      const w = ex.w;
      install(w);
      const t = w.threads[tid]!;
      const p = pre!;
      // The completed access: captured by the hook when the thread announced its next one, or
      // still in its op if it finished.
      const d = cap.done ?? { site: t.op.site, obj: t.op.obj, before: t.op.before, after: t.op.after, acc: p.acc };
      const objName = p.obj ? w.objectName(p.obj) : '';
      const f = w.findings.slice(p.nFindings)[0];
      const fn = kname(p.site.fn);
      // Raised by code that ran after this step's access without a scheduling point of its own.
      const raisedIn = f?.fn !== undefined && kname(f.fn) !== fn ? kname(f.fn) : undefined;
      steps.push({
        i: steps.length,
        cpu: t.name,
        fn,
        action: p.site.action,
        object: objName,
        access: p.acc,
        ...(d.after !== undefined && p.acc !== 'wait' ? { value: fmt(objName, d.after)! } : {}),
        ...(d.before !== undefined && (p.acc === 'write' || p.acc === 'rmw') ? { before: fmt(objName, d.before)! } : {}),
        notes: [...notes],
        ...(f ? { finding: { id: f.id, message: f.message, ...(raisedIn ? { fn: raisedIn } : {}) } } : {}),
        preempted: prev >= 0 && prev !== tid && (p.en & (1 << prev)) !== 0,
      });
      if (program.snapshot) states.push(program.snapshot(w));
      prev = tid;
    },
  };
  const r = replaySchedule(program, schedule, values, false, observer);
  const w = r.ex.w;
  return { steps, states, initial: initial ?? program.snapshot?.(w) ?? null, findings: w.findings, cpus: w.threads.map((t) => t.name), ended: r.ended };
}
