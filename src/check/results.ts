/**
 * What exploration produces: how many executions, whether the search was complete, and per
 * finding id / outcome, how often it happened and the schedule of the shortest example
 * (fewest preemptions, then fewest steps).
 */
import type { Finding } from '../sim/world.ts';

export interface Example {
  readonly schedule: readonly number[];
  readonly values: readonly number[];
  readonly preemptions: number;
  readonly steps: number;
  readonly message: string;
  /** Transition index of the finding (-1: found by an end-of-run check). */
  readonly at: number;
  readonly thread: number;
}

export interface FindingStats {
  readonly id: string;
  /** Executions in which it occurred. */
  count: number;
  best: Example;
}

export interface ResultsData {
  readonly executions: number;
  readonly transitions: number;
  readonly sleepBlocked: number;
  readonly findings: readonly { readonly id: string; readonly count: number; readonly best: Example }[];
  readonly outcomes: readonly (readonly [string, readonly (readonly [string, number])[]])[];
  /** Per outcome name and value ("CPU0\u0000pinned-fast"): the best example reaching it. */
  readonly outcomeExamples: readonly (readonly [string, Example])[];
  readonly states: readonly string[] | null;
  readonly complete: boolean;
  readonly stopReason: string | undefined;
  readonly limit: string | undefined;
  /** Wall-clock time (ms since the epoch) of the first finding. */
  readonly firstFindingAt: number | undefined;
  /** The stateful search: states stored, and states met again. */
  readonly statesStored?: number | undefined;
  readonly statesMatched?: number | undefined;
}

/** Is a a better example than b: fewer preemptions, then fewer steps, then the smaller schedule (a total order). */
export function better(a: Example, b: Example): boolean {
  if (a.preemptions !== b.preemptions) return a.preemptions < b.preemptions;
  if (a.steps !== b.steps) return a.steps < b.steps;
  for (let i = 0; i < a.schedule.length; i++) if (a.schedule[i] !== b.schedule[i]) return a.schedule[i]! < b.schedule[i]!;
  for (let i = 0; i < a.values.length; i++) if (a.values[i] !== b.values[i]) return a.values[i]! < b.values[i]!;
  return false;
}

export interface Frontier {
  /** Alternatives (thread choices and value choices) not yet explored. */
  readonly pending: number;
  /** Step (depth) of the shallowest one; -1 when none is pending. */
  readonly shallowest: number;
  /** The share of the search tree behind the current path (split.ts exploredFraction), if known. */
  readonly explored?: number;
  /** The stateful search: states stored, the current depth, and this thread's heap (MB). */
  readonly states?: number;
  readonly depth?: number;
  readonly heapMB?: number;
}

/** better() for a whole execution not yet copied into an Example (no allocation unless it wins). */
function betterRun(preemptions: number, schedule: readonly number[], values: readonly number[], b: Example): boolean {
  if (preemptions !== b.preemptions) return preemptions < b.preemptions;
  if (schedule.length !== b.steps) return schedule.length < b.steps;
  for (let i = 0; i < schedule.length; i++) if (schedule[i] !== b.schedule[i]) return schedule[i]! < b.schedule[i]!;
  for (let i = 0; i < values.length; i++) if (values[i] !== b.values[i]) return values[i]! < b.values[i]!;
  return false;
}

export class Results {
  executions = 0;
  transitions = 0;
  /** Executions cut short because every enabled thread was in the sleep set (redundant). */
  sleepBlocked = 0;
  readonly findings = new Map<string, FindingStats>();
  /** outcome name -> value -> executions. */
  readonly outcomes = new Map<string, Map<string, number>>();
  /** `${name}\u0000${value}` -> the best example reaching that outcome (for revision-diff traces). */
  readonly outcomeExamples = new Map<string, Example>();
  /** Final-state keys (only when asked for). */
  readonly states: Set<string> | null;
  /** True only when every execution class was explored (no bound, no limit hit). */
  complete = true;
  /** Why exploration stopped early, if it did. */
  stopReason: string | undefined = undefined;
  /** Which limit stopped it ('executions', 'steps', 'time', 'interrupted', 'preemption-bound'), if any. */
  limit: string | undefined = undefined;
  readonly startedAt = Date.now();
  firstFindingMs: number | undefined = undefined;
  /**
   * Progress only (not merged, not reported): the exhaustive search's frontier after the last
   * execution, i.e. the alternatives known but not yet explored on the DFS stack and the step of
   * the shallowest one. DPOR adds alternatives as it finds races, so the frontier can grow.
   */
  frontier: Frontier | undefined = undefined;
  /** The stateful search: distinct states stored, and states met again and not explored again. */
  statesStored: number | undefined = undefined;
  statesMatched: number | undefined = undefined;
  /** The stateful search: how often it started again after a wrong guess of the object classes (check/coarsen.ts). */
  restarts = 0;

  constructor(collectStates: boolean) {
    this.states = collectStates ? new Set() : null;
  }

  add(findings: readonly Finding[], outcomes: ReadonlyMap<string, string>, schedule: readonly number[], values: readonly number[], preemptions: number, stateKey?: string): void {
    this.executions++;
    this.transitions += schedule.length;
    const seen = new Set<string>();
    for (const f of findings) {
      if (seen.has(f.id)) continue;
      seen.add(f.id);
      this.firstFindingMs ??= Date.now() - this.startedAt;
      // A fatal finding's example ends at the oops: what other CPUs did afterwards is not part of it.
      const end = f.fatal && f.step >= 0 ? f.step + 1 : schedule.length;
      const ex: Example = {
        schedule: schedule.slice(0, end),
        values: values.slice(0, end),
        preemptions,
        steps: end,
        message: f.message,
        at: f.step,
        thread: f.thread,
      };
      const s = this.findings.get(f.id);
      if (!s) this.findings.set(f.id, { id: f.id, count: 1, best: ex });
      else {
        s.count++;
        if (better(ex, s.best)) s.best = ex;
      }
    }
    for (const [k, v] of outcomes) {
      let m = this.outcomes.get(k);
      if (!m) this.outcomes.set(k, (m = new Map<string, number>()));
      m.set(v, (m.get(v) ?? 0) + 1);
      const key = `${k}\u0000${v}`;
      const best = this.outcomeExamples.get(key);
      if (!best || betterRun(preemptions, schedule, values, best)) {
        this.outcomeExamples.set(key, { schedule: schedule.slice(), values: values.slice(), preemptions, steps: schedule.length, message: '', at: -1, thread: -1 });
      }
    }
    if (stateKey !== undefined) this.states?.add(stateKey);
  }

  /** Everything, as plain data (to send from a worker thread). */
  data(): ResultsData {
    return {
      executions: this.executions,
      transitions: this.transitions,
      sleepBlocked: this.sleepBlocked,
      findings: [...this.findings.values()].map((f) => ({ id: f.id, count: f.count, best: f.best })),
      outcomes: [...this.outcomes].map(([k, m]) => [k, [...m]] as const),
      outcomeExamples: [...this.outcomeExamples],
      states: this.states ? [...this.states] : null,
      complete: this.complete,
      stopReason: this.stopReason,
      limit: this.limit,
      firstFindingAt: this.firstFindingMs === undefined ? undefined : this.startedAt + this.firstFindingMs,
      statesStored: this.statesStored,
      statesMatched: this.statesMatched,
    };
  }

  /** Add another part of the same search (a worker's subtree): counts add up, the better example wins. */
  merge(d: ResultsData): void {
    this.executions += d.executions;
    this.transitions += d.transitions;
    this.sleepBlocked += d.sleepBlocked;
    for (const f of d.findings) {
      const s = this.findings.get(f.id);
      if (!s) this.findings.set(f.id, { id: f.id, count: f.count, best: f.best });
      else {
        s.count += f.count;
        if (better(f.best, s.best)) s.best = f.best;
      }
    }
    for (const [k, vs] of d.outcomes) {
      let m = this.outcomes.get(k);
      if (!m) this.outcomes.set(k, (m = new Map<string, number>()));
      for (const [v, n] of vs) m.set(v, (m.get(v) ?? 0) + n);
    }
    for (const [k, ex] of d.outcomeExamples) {
      const best = this.outcomeExamples.get(k);
      if (!best || better(ex, best)) this.outcomeExamples.set(k, ex);
    }
    if (d.states) for (const s of d.states) this.states?.add(s);
    if (d.statesStored !== undefined) this.statesStored = (this.statesStored ?? 0) + d.statesStored;
    if (d.statesMatched !== undefined) this.statesMatched = (this.statesMatched ?? 0) + d.statesMatched;
    if (!d.complete) this.complete = false;
    this.stopReason ??= d.stopReason;
    this.limit ??= d.limit;
    if (d.firstFindingAt !== undefined) {
      const ms = d.firstFindingAt - this.startedAt;
      if (this.firstFindingMs === undefined || ms < this.firstFindingMs) this.firstFindingMs = Math.max(0, ms);
    }
  }

  /** Finding ids with their execution counts, sorted. */
  findingSummary(): Record<string, number> {
    return Object.fromEntries([...this.findings.values()].sort((a, b) => a.id.localeCompare(b.id)).map((s) => [s.id, s.count]));
  }

  /** Outcome values seen, per outcome name, sorted. */
  outcomeSummary(): Record<string, Record<string, number>> {
    const o: Record<string, Record<string, number>> = {};
    for (const k of [...this.outcomes.keys()].sort()) {
      o[k] = Object.fromEntries([...this.outcomes.get(k)!.entries()].sort(([a], [b]) => a.localeCompare(b)));
    }
    return o;
  }

  get elapsedMs(): number {
    return Date.now() - this.startedAt;
  }
}
