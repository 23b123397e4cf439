/**
 * One execution: a fresh World from the program, threads stepped one transition at a time by
 * whoever drives it (DPOR, naive DFS, random, PCT, replay). A transition runs the access the
 * thread announced and its local code up to the next announcement.
 *
 * For DPOR each executed transition is recorded as an event with its footprint and a vector
 * clock of the happens-before relation induced by program order, spawn, and dependence
 * (conflicting accesses). The checker only ever sees Ops (docs/reference/design.md §1: check -> sim).
 */
import { fingerprint, Frame, hashSums, set, setHashSums, mark as trailMark, restore as restoreStack, snapshot as snapshotStack, type StackSnap, undo as undoTrail } from '../sim/frames.ts';
import type { Coarsening } from './coarsen.ts';
import { COUNTER_ADD, type CounterKind, GROUP_CPU, type Op, READ, type Site, siteById } from '../sim/op.ts';
import { ModelInvariantError } from '../errors.ts';
import { opEnabled } from '../sim/sync.ts';
import type { SimThread, World } from '../sim/world.ts';
import { LimitError } from '../sim/world.ts';
import { DEFAULT_MAX_STEPS } from './defaults.ts';

/** What the checker needs from a scenario. */
export interface Program {
  /** A fresh world: setup done with scheduling off, the CPUs added. */
  start(): World;
  /** End-of-run checks and outcomes, once every thread finished (not after a fatal finding). */
  finish(w: World): void;
  /** A canonical description of the final state (for DPOR-vs-naive equality tests). */
  stateKey?(w: World): string;
  /**
   * The model's own invariants (kernel/invariants.ts), after thread `tid` ran an op at `site`
   * (tid -1: after the setup; site null: a new thread's code up to its first access): what is
   * broken and where, or undefined.
   */
  checkModel?(w: World, tid: number, site: Site | null): string | undefined;
}

export interface Ev {
  readonly tid: number;
  readonly obj: number;
  readonly acc: number;
  readonly obj2: number;
  readonly group: number;
  /** A local choice (independent of everything). */
  readonly choice: boolean;
  /** Writes a CPU context (IRQ/RCU state): conflicts with IPI waits and grace periods. */
  readonly ctxWrite: boolean;
  readonly clock: Int32Array;
  /** Value chosen, for a choice event. */
  readonly value: number;
  /** A release: orders, never races (see Op.release). */
  readonly release: boolean;
  /** Counter op kind (Op.counter): adds commute with each other. */
  readonly counter: CounterKind;
  /**
   * Locks released by ops merged into this event (check/coarsen.ts): later acquirers are
   * ordered after it, as after the release, but it is not their race partner on the lock.
   */
  released?: number[];
  /** Its accesses as the stateful search's summaries intern them (check/summary.ts), once the step is over. */
  sig?: number;
}

/** A thread's state as a checkpoint keeps it: its status, its pending op and its frames. */
interface ThreadSnap {
  readonly done: boolean;
  readonly killed: boolean;
  readonly result: unknown;
  readonly gen: Frame | null;
  readonly stack: StackSnap | null;
  readonly op: Record<string, unknown>;
}

/**
 * A thread's op is the same as in its snapshot. A thread can end the same way (no frames, same
 * result) after another last op than when the snapshot was taken, on another path (found by
 * the property test, seed 1321860966: the restored op differed from the one checkpointed).
 */
function sameOp(snap: Record<string, unknown>, op: Op): boolean {
  const o = op as unknown as Record<string, unknown>;
  for (const k in snap) if (snap[k] !== o[k]) return false;
  return true;
}

/**
 * The state of an execution at one step, to come back to (the stateful explorer). Only for a
 * program compiled to frames (build/frames.ts) running with the undo trail recording: the heap
 * is put back by undoing the trail to `mark`, each thread's frames from its snapshot.
 */
export interface Checkpoint {
  readonly steps: number;
  readonly mark: number;
  readonly threads: readonly ThreadSnap[];
  readonly clocks: readonly Int32Array[];
  readonly primed: number;
  /** Scheduling decisions before this point (steps less the merged ones). */
  readonly decisions: number;
  /** The incremental fingerprint's sums (sim/frames.ts). */
  readonly sums: readonly [number, number];
}

const CHECK_RESTORE = !!process.env.GUPCHECK_CHECK_RESTORE;
/**
 * Whether executions check the model's invariants after every step (kernel/invariants.ts):
 * GUPCHECK_CHECK_MODEL set (not to 0), as the test suite sets it and `--check-model` does. Read
 * when an execution starts, so worker threads, which get a copy of the environment, follow too.
 */
export function checkModelEnabled(): boolean {
  const v = process.env.GUPCHECK_CHECK_MODEL;
  return v !== undefined && v !== '' && v !== '0';
}

/** `--check-model`: every execution from now on, in this thread and in workers started later, checks the model's invariants. */
export function enableCheckModel(): void {
  process.env.GUPCHECK_CHECK_MODEL = '1';
}
const dumps = new WeakMap<Checkpoint, string>();
function firstDiff(a: string, b: string): string {
  const x = a.split('\n');
  const y = b.split('\n');
  for (let i = 0; i < Math.max(x.length, y.length); i++) if (x[i] !== y[i]) return `was: ${x[i]}\nnow: ${y[i]}`;
  return '(same)';
}

export class Execution {
  readonly w: World;
  readonly events: Ev[] = [];
  /** Vector clock of each thread's last event (or its spawn point). */
  private readonly clocks: Int32Array[] = [];
  private readonly ctxObjs = new Set<number>();
  private primed = 0;
  readonly width: number;
  /**
   * Per object: the events that accessed it, in order, as `index * 4 + kind` (kind 1 = read,
   * 2 = write or read-modify-write). A group read (IPI wait, grace period) is entered as a read
   * of every CPU context object. Used to compute clocks and find races without scanning every
   * earlier event.
   */
  readonly accesses = new Map<number, number[]>();
  /** The schedule so far: thread id per transition. */
  readonly schedule: number[] = [];
  readonly values: number[] = [];
  /** The enabled mask at each transition (for counting preemptions). */
  readonly enabledAt: number[] = [];
  steps = 0;
  /**
   * Scheduling decisions so far: steps less those merged into their thread's previous transition
   * (check/coarsen.ts). Without a coarsening they are the steps. Events (tracked executions) are
   * one per decision.
   */
  decisions = 0;
  /** Ops merged into the previous transition so far. */
  merged = 0;
  /** The first object whose class an executed op broke (check/coarsen.ts), 0 if none. */
  violation = 0;
  /** Ops that need no scheduling point (null: every op is one). */
  coarse: Coarsening | null = null;
  /** The model's invariants, checked after every step (null: not asked for, or the program has none). */
  private readonly invariants: Program['checkModel'] | null;

  constructor(
    readonly program: Program,
    /** Record events and vector clocks (DPOR); false for naive/random runs. */
    readonly track: boolean,
    readonly maxSteps = DEFAULT_MAX_STEPS,
    /** Check the model's invariants after every step (--check-model). */
    checkModel = checkModelEnabled(),
  ) {
    this.invariants = checkModel && program.checkModel ? program.checkModel.bind(program) : null;
    this.w = program.start();
    this.w.live = true;
    this.width = this.w.maxThreads;
    this.verify(-1, null);
    this.primeNew(-1);
  }

  /** Throw ModelInvariantError if the model's invariants do not hold after thread tid ran an op at `site`. */
  private verify(tid: number, site: Site | null): void {
    if (this.invariants === null || this.invariants === undefined) return;
    const broken = this.invariants(this.w, tid, site);
    if (broken !== undefined) throw new ModelInvariantError(`${this.steps === 0 ? 'before the first step' : `at step ${this.steps - 1}`}: ${broken}`);
  }

  /** Run newly added threads to their first announcement; give them their spawn clock. */
  private primeNew(spawner: number): void {
    const ts = this.w.threads;
    while (this.primed < ts.length) {
      const t = ts[this.primed]!;
      this.ctxObjs.add(t.ctxObj);
      const base = new Int32Array(this.width);
      if (spawner >= 0 && this.track) base.set(this.clocks[spawner]!);
      this.clocks.push(base);
      this.advance(t, undefined);
      this.primed++;
      // A new thread ran its local code up to its first access: check what that did.
      if (this.invariants) this.verify(t.id, null);
    }
  }

  private advance(t: SimThread, v: number | undefined): void {
    const prev = this.w.current;
    this.w.current = t.id;
    const r = t.gen!.next(v);
    this.w.current = prev;
    // Through the write barrier: a stateful search undoes and fingerprints these too.
    if (r.done) {
      set(t, 'done', true);
      set(t, 'result', r.value);
      set(t, 'gen', null);
    } else if (t.killed) {
      // An oops kills the task that hit it; the other CPUs go on (World.report()).
      set(t, 'done', true);
      set(t, 'gen', null);
    }
  }

  get threads(): readonly SimThread[] {
    return this.w.threads;
  }

  /** Each thread's last snapshot (reused while the thread does not run). */
  private readonly lastSnaps: (ThreadSnap | undefined)[] = [];

  /** Save this state (see Checkpoint). */
  checkpoint(): Checkpoint {
    const ts = this.w.threads;
    const threads: ThreadSnap[] = [];
    for (let i = 0; i < ts.length; i++) {
      const t = ts[i]!;
      const gen = t.gen;
      if (gen !== null && !(gen instanceof Frame)) throw new Error('[gupcheck internal bug] a checkpoint needs the program compiled to frames (build/frames.ts)');
      // A thread that has not run since its last snapshot (same frames, same status) keeps it.
      const last = this.lastSnaps[i];
      const stack = gen ? snapshotStack(gen) : null;
      if (last && last.gen === gen && last.stack === stack && last.done === t.done && last.killed === t.killed && last.result === t.result && sameOp(last.op, t.op)) threads.push(last);
      else threads.push((this.lastSnaps[i] = { done: t.done, killed: t.killed, result: t.result, gen, stack, op: { ...t.op } }));
    }
    const cp = { steps: this.steps, decisions: this.decisions, mark: trailMark(), threads, clocks: this.clocks.slice(), primed: this.primed, sums: hashSums() };
    if (CHECK_RESTORE) dumps.set(cp, fingerprint(this.w, true).text);
    return cp;
  }

  /** Come back to a checkpoint taken earlier in this execution. */
  rewind(cp: Checkpoint): void {
    if (this.track && this.events.length > cp.decisions) {
      // Each list holds event indices in order: drop the events from the checkpoint on.
      for (const l of this.accesses.values()) while (l.length && l[l.length - 1]! >> 2 >= cp.decisions) l.pop();
    }
    this.events.length = Math.min(this.events.length, cp.decisions);
    this.schedule.length = this.values.length = this.enabledAt.length = cp.steps;
    this.steps = cp.steps;
    this.decisions = cp.decisions;
    undoTrail(cp.mark);
    setHashSums(cp.sums);
    const ts = this.w.threads;
    if (ts.length !== cp.threads.length) throw new Error(`[gupcheck internal bug] rewind: ${ts.length} threads, the checkpoint has ${cp.threads.length}`);
    for (let i = 0; i < ts.length; i++) {
      const t = ts[i]!;
      const s = cp.threads[i]!;
      t.done = s.done;
      t.killed = s.killed;
      t.result = s.result;
      t.gen = s.gen as unknown as SimThread['gen'];
      if (s.gen && s.stack) restoreStack(s.gen, s.stack);
      Object.assign(t.op, s.op);
    }
    this.clocks.length = 0;
    this.clocks.push(...cp.clocks);
    this.primed = cp.primed;
    this.ctxObjs.clear();
    for (const t of ts) this.ctxObjs.add(t.ctxObj);
    if (CHECK_RESTORE) {
      const now = fingerprint(this.w, true).text;
      const was = dumps.get(cp);
      if (was !== now) throw new Error(`[gupcheck internal bug] rewind to step ${cp.steps} did not restore the state:\n${firstDiff(was ?? '', now)}`);
    }
  }

  /** Bitmask of threads whose next op can run now. */
  enabledMask(): number {
    if (this.w.stopped) return 0;
    let m = 0;
    const ts = this.w.threads;
    for (let i = 0; i < ts.length; i++) {
      const t = ts[i]!;
      if (!t.done && opEnabled(this.w, t, t.op)) m |= 1 << i;
    }
    return m;
  }

  /** Threads that are not done (blocked or enabled). */
  liveMask(): number {
    let m = 0;
    const ts = this.w.threads;
    for (let i = 0; i < ts.length; i++) if (!ts[i]!.done) m |= 1 << i;
    return m;
  }

  pending(tid: number): Op {
    return this.w.threads[tid]!.op;
  }

  isCtxObj(id: number): boolean {
    return this.ctxObjs.has(id);
  }

  /** Execute thread tid's pending op (with `value` if it is a choice); `enabled` is enabledMask() now, if known. */
  step(tid: number, value = 0, enabled = this.enabledMask()): void {
    const t = this.w.threads[tid]!;
    if (this.steps >= this.maxSteps) {
      throw new LimitError(
        'steps',
        this.maxSteps,
        `more than ${this.maxSteps} transitions in one execution (the steps limit): a retry loop (e.g. try_get_folio's goto retry) never ends under this schedule, or the scenario is long`,
        this.spinning(),
      );
    }
    const op = t.op;
    if (this.coarse && this.violation === 0) this.violation = this.coarse.violation(op, tid);
    this.w.step = this.steps;
    this.enabledAt.push(enabled);
    if (this.track) this.record(t, op, value);
    this.schedule.push(tid);
    this.values.push(op.choices ? value : -1);
    this.steps++;
    this.decisions++;
    const before = this.w.threads.length;
    const site = this.invariants ? op.site : null;
    this.advance(t, op.choices ? value : undefined);
    if (site !== null) this.verify(tid, site);
    if (this.w.threads.length > before) this.primeNew(tid);
    if (this.coarse) this.runMerged(t, enabled);
  }

  /**
   * Run t's next ops that no other thread can interfere with (check/coarsen.ts) as part of this
   * transition. They stay in the schedule, each as its own step, so a replay without the
   * coarsening (a trace, a token) runs the same ops; they get no event and no decision.
   */
  private runMerged(t: SimThread, enabled: number): void {
    const coarse = this.coarse!;
    while (!t.done && !this.w.stopped && coarse.mergeable(t.op, t.id)) {
      if (this.steps >= this.maxSteps) return; // the next step() reports the limit
      this.w.step = this.steps;
      this.enabledAt.push(enabled);
      this.schedule.push(t.id);
      this.values.push(-1);
      this.steps++;
      this.merged++;
      if (this.track && t.op.release) this.releaseMerged(t.op.obj);
      const before = this.w.threads.length;
      const site = this.invariants ? t.op.site : null;
      this.advance(t, undefined);
      if (site !== null) this.verify(t.id, site);
      if (this.w.threads.length > before) this.primeNew(t.id);
    }
  }

  /** A release run inside the last event: that event now orders the lock's next acquirer. */
  private releaseMerged(obj: number): void {
    const idx = this.events.length - 1;
    const e = this.events[idx];
    if (!e) return;
    (e.released ??= []).push(obj);
    let l = this.accesses.get(obj);
    if (!l) this.accesses.set(obj, (l = []));
    l.push(idx * 4 + 2);
  }

  /** Who ran the last transitions of an execution that hit --max-steps, and where each is now. */
  private spinning(): string {
    const last = this.schedule.slice(-1000);
    const count = new Map<number, number>();
    for (const t of last) count.set(t, (count.get(t) ?? 0) + 1);
    const who = [...count].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, 2);
    const at = who.map(([tid, n]) => {
      const t = this.w.threads[tid]!;
      const s = siteById(t.op.site.id);
      return `${t.name} ran ${n}${s ? ` and is at ${s.fn}: ${s.action}` : ''}`;
    });
    return `of the last ${last.length} transitions, ${at.join('; ')}`;
  }

  /** Event for the op about to run, with its vector clock (program order + spawn + dependence). */
  private record(t: SimThread, op: Op, value: number): void {
    const clock = new Int32Array(this.width);
    clock.set(this.clocks[t.id]!);
    const e: Ev = {
      tid: t.id,
      obj: op.obj,
      acc: op.acc,
      obj2: op.obj2,
      group: op.group,
      choice: op.choices > 0,
      ctxWrite: op.acc !== READ && this.ctxObjs.has(op.obj),
      clock,
      value,
      release: op.release,
      counter: op.counter,
    };
    const idx = this.events.length;
    if (!e.choice) {
      joinDependencies(this, clock, e);
      forEachAccess(this, e, (obj, kind) => {
        let l = this.accesses.get(obj);
        if (!l) this.accesses.set(obj, (l = []));
        l.push(idx * 4 + kind);
      });
    }
    clock[t.id] = (clock[t.id] ?? 0) + 1;
    this.events.push(e);
    this.clocks[t.id] = clock;
  }

  /** Every CPU context object (IRQ/RCU state), for group accesses. */
  ctxObjects(): Iterable<number> {
    return this.ctxObjs;
  }

  /** The clock thread tid's next event would start from (its last event's clock). */
  threadClock(tid: number): Int32Array {
    return this.clocks[tid]!;
  }
}

export function joinInto(a: Int32Array, b: Int32Array): void {
  for (let i = 0; i < a.length; i++) if (b[i]! > a[i]!) a[i] = b[i]!;
}

/** x happens-before (or equals) y, by their clocks. */
export function hb(x: Ev, y: { clock: Int32Array }): boolean {
  return x.clock[x.tid]! <= y.clock[x.tid]!;
}

export interface Footprint {
  readonly tid: number;
  readonly obj: number;
  readonly acc: number;
  /** COUNTER_ADD for atomic_add (adds commute with each other). */
  readonly counter: CounterKind;
  readonly obj2: number;
  readonly group: number;
  readonly choice: boolean;
  readonly ctxWrite: boolean;
}

function conflict(o1: number, a1: number, o2: number, a2: number): boolean {
  return o1 !== 0 && o1 === o2 && (a1 !== READ || a2 !== READ);
}

/** The dependence relation: two ops of different threads that do not commute. */
export function dependent(x: Footprint, y: Footprint): boolean {
  if (x.tid === y.tid || x.choice || y.choice) return false;
  if (conflict(x.obj, x.acc, y.obj, y.acc) && !(x.counter === COUNTER_ADD && y.counter === COUNTER_ADD)) return true;
  if (x.obj2 && conflict(x.obj2, READ, y.obj, y.acc)) return true;
  if (y.obj2 && conflict(x.obj, x.acc, y.obj2, READ)) return true;
  if (x.group === GROUP_CPU && y.ctxWrite) return true;
  if (y.group === GROUP_CPU && x.ctxWrite) return true;
  return false;
}

type MutableFootprint = { -readonly [K in keyof Footprint]: Footprint[K] };
const scratch: MutableFootprint[] = [];

/**
 * The footprint of a thread's pending op (for sleep sets and race checks before it runs). The
 * object is the thread's scratch copy, overwritten by the next call for the same thread: copy it
 * to keep it.
 */
export function footprintOf(ex: Execution, tid: number): Footprint {
  const op = ex.pending(tid);
  const f = (scratch[tid] ??= { tid, obj: 0, acc: READ, counter: 0, obj2: 0, group: 0, choice: false, ctxWrite: false });
  f.obj = op.obj;
  f.acc = op.acc;
  f.counter = op.counter;
  f.obj2 = op.obj2;
  f.group = op.group;
  f.choice = op.choices > 0;
  f.ctxWrite = op.acc !== READ && ex.isCtxObj(op.obj);
  return f;
}

/** The objects an op touches, with the kind of access (1 read, 2 write, 3 add: commutes with adds). */
export function forEachAccess(ex: Execution, f: Footprint, fn: (obj: number, kind: 1 | 2 | 3) => void): void {
  if (f.choice) return;
  if (f.obj) fn(f.obj, f.acc === READ ? 1 : f.counter === COUNTER_ADD ? 3 : 2);
  if (f.obj2) fn(f.obj2, 1);
  if (f.group === GROUP_CPU) for (const o of ex.ctxObjects()) fn(o, 1);
}

/**
 * Join into `clock` the clocks of the earlier events this access depends on: per object, the
 * last write, and for a write also the reads since it (earlier accesses are ordered before those
 * already).
 */
export function joinDependencies(ex: Execution, clock: Int32Array, f: Footprint): void {
  forEachAccess(ex, f, (obj, kind) => {
    const l = ex.accesses.get(obj);
    if (!l) return;
    for (let i = l.length - 1; i >= 0; i--) {
      const a = l[i]!;
      const k = a & 3;
      const e = ex.events[a >> 2]!;
      if (e.tid === f.tid) {
        if (k === 2) return;
        continue;
      }
      if (k === 2) {
        joinInto(clock, e.clock);
        return;
      }
      if (accessesConflict(kind, k)) joinInto(clock, e.clock);
    }
  });
}

/** Do two access kinds (1 read, 2 write, 3 add) to one object conflict? */
export function accessesConflict(a: number, b: number): boolean {
  if (a === 1) return b !== 1;
  if (a === 3) return b !== 3;
  return true;
}

