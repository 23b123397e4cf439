/**
 * Replay one schedule with recording on: every transition in kernel words (who, which
 * function, what object, the value read or written, state changes noted by the model) and,
 * when the program can describe it, the state after each step.
 *
 * Also `replaySchedule()`: replay without recording and return what happened (used to check a
 * minimized schedule still reaches the finding, and by `gupcheck replay`).
 */
import { BLOCK_RWSEM_READ, BLOCK_RWSEM_WRITE, BLOCK_SPIN, READ, RMW, WRITE, type Op } from '../sim/op.ts';
import type { Finding, World } from '../sim/world.ts';
import type { StateSnapshot, TraceStep } from '../trace/schema.ts';
import { conclude } from './conclude.ts';
import { Execution, type Program } from './execution.ts';

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
}

export function replaySchedule(program: Program, schedule: readonly number[], values: readonly number[], track = false): Replayed {
  const ex = new Execution(program, track);
  for (let i = 0; i < schedule.length; i++) {
    if (ex.w.stopped) break;
    const t = schedule[i]!;
    const en = ex.enabledMask();
    if (!(en & (1 << t))) {
      return { ex, findings: ex.w.findings, fits: false, why: `step ${i}: ${ex.threads[t]?.name ?? `thread ${t}`} cannot run there` };
    }
    const op = ex.pending(t);
    const v = values[i] ?? -1;
    if (op.choices && (v < 0 || v >= op.choices)) return { ex, findings: ex.w.findings, fits: false, why: `step ${i}: bad choice value` };
    ex.step(t, v < 0 ? 0 : v);
  }
  if (!ex.w.stopped && ex.liveMask() === 0) conclude(ex);
  else if (!ex.w.stopped && ex.enabledMask() === 0) conclude(ex);
  return { ex, findings: ex.w.findings, fits: true };
}

function accessOf(op: Op): TraceStep['access'] {
  if (op.choices) return 'choice';
  if (op.block === BLOCK_SPIN || op.block === BLOCK_RWSEM_READ || op.block === BLOCK_RWSEM_WRITE) return 'lock';
  if (op.block) return 'wait';
  if (op.obj === 0 && !op.group) return 'local';
  return op.acc === READ ? 'read' : op.acc === WRITE ? 'write' : op.acc === RMW ? 'rmw' : 'read';
}

export interface Recording {
  readonly steps: TraceStep[];
  readonly states: StateSnapshot[];
  readonly initial: StateSnapshot | null;
  readonly findings: readonly Finding[];
  readonly cpus: string[];
}

/** Replay with recording. The schedule must fit (callers replay first to check). */
export function record(program: Program & Presentable, schedule: readonly number[], values: readonly number[]): Recording {
  const ex = new Execution(program, false);
  const w = ex.w;
  const steps: TraceStep[] = [];
  const states: StateSnapshot[] = [];
  const fmt = (name: string, v: unknown): string | undefined => {
    if (v === undefined) return undefined;
    if (program.formatValue) return program.formatValue(name, v);
    return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v);
  };
  const kname = (fn: string) => program.kernelName?.(fn) ?? fn;
  const initial = program.snapshot?.(w) ?? null;
  let notes: string[] = [];
  type Done = { site: Op['site']; obj: number; before: unknown; after: unknown; acc: TraceStep['access'] };
  /** The access a thread just completed, captured when it announces its next one. */
  const cap: { done: Done | null } = { done: null };
  const hook = (op: Op) => {
    if (op.site.fn === '(none)') return;
    cap.done = { site: op.site, obj: op.obj, before: op.before, after: op.after, acc: accessOf(op) };
  };
  const install = () => {
    for (const t of w.threads) {
      t.onAccess = hook;
      t.note = (m) => notes.push(m);
    }
  };
  install();
  let prev = -1;
  for (let i = 0; i < schedule.length && !w.stopped; i++) {
    const tid = schedule[i]!;
    const en = ex.enabledMask();
    const t = w.threads[tid]!;
    const op = t.op;
    const pre = { site: op.site, obj: op.obj, acc: accessOf(op) };
    const nFindings = w.findings.length;
    notes = [];
    cap.done = null;
    ex.step(tid, Math.max(0, values[i] ?? 0));
    install();
    // The completed access: captured by the hook when the thread announced its next one, or
    // still in its op if it finished.
    const d = cap.done ?? { site: t.op.site, obj: t.op.obj, before: t.op.before, after: t.op.after, acc: pre.acc };
    const objName = pre.obj ? w.objectName(pre.obj) : '';
    const f = w.findings.slice(nFindings)[0];
    steps.push({
      i,
      cpu: t.name,
      fn: kname(pre.site.fn),
      action: pre.site.action,
      object: objName,
      access: pre.acc,
      ...(d.after !== undefined && pre.acc !== 'wait' ? { value: fmt(objName, d.after)! } : {}),
      ...(d.before !== undefined && (pre.acc === 'write' || pre.acc === 'rmw') ? { before: fmt(objName, d.before)! } : {}),
      notes: [...notes],
      ...(f ? { finding: { id: f.id, message: f.message } } : {}),
      preempted: prev >= 0 && prev !== tid && (en & (1 << prev)) !== 0,
    });
    if (program.snapshot) states.push(program.snapshot(w));
    prev = tid;
  }
  if (!w.stopped) conclude(ex);
  return { steps, states, initial, findings: w.findings, cpus: w.threads.map((t) => t.name) };
}
