/*
 * One execution's world: the threads (CPUs and spawned tasks such as RCU callbacks), the
 * objects the checker can see, and the findings and outcomes recorded so far.
 *
 * A new World is built for every execution (stateless exploration, as loom and Shuttle do):
 * the scenario's setup runs with scheduling switched off, then the threads start.
 */
import { GupcheckError } from '../errors.ts';
import { notState } from './frames.ts';
import { Op, type Step } from './op.ts';

/** What the checker reports. Findings are values, never exceptions (docs/reference/design.md §8). */
export interface Finding {
  /** Stable id, e.g. 'wild-deref'. */
  readonly id: string;
  /** One line in kernel words. */
  readonly message: string;
  /** Thread that hit it and the index of the transition in the execution (-1 = end-of-run check). */
  readonly thread: number;
  readonly step: number;
  /** A memory-safety finding ends the execution: the kernel would have oopsed. */
  readonly fatal: boolean;
  /**
   * The function that raised it, when the reporter knows it (an assertion, a WARN): it may run
   * after the thread's last scheduling point, so the trace step it lands on can be another
   * function's (a trace says "then, in fn()").
   */
  readonly fn?: string | undefined;
}

/** A finding as the world records it; its step is where on this path, not part of the state. */
class FindingRecord implements Finding {
  constructor(
    readonly id: string,
    readonly message: string,
    readonly thread: number,
    readonly step: number,
    readonly fatal: boolean,
    readonly fn?: string,
  ) {}
}
notState(FindingRecord.prototype, 'step');

export class SimThread {
  readonly op = new Op();
  /** The world this thread lives in (set by World.addThread). */
  w!: World;
  /** Trace recording only: called with each completed access before the next is announced. */
  onAccess: ((op: Op) => void) | null = null;
  /** Trace notes (state changes in words); set only while recording. */
  note: ((msg: string) => void) | undefined = undefined;
  gen: Step<unknown> | null = null;
  done = false;
  /** Hit a fatal finding (an oops): the task is killed at its next scheduling point. */
  killed = false;
  /** Result of the thread's program, when done. */
  result: unknown = undefined;

  // ----- CPU context (IRQ and RCU state), one SimObject per thread -----
  /** local_irq_save() nesting depth; > 0 means IRQs are off. */
  irqOff = 0;
  /** rcu_read_lock() nesting depth. IRQs-off is also an RCU read-side section. */
  rcuDepth = 0;
  /** Number of times this thread has left an RCU read-side section (a quiescent state). */
  rcuQs = 0;

  constructor(
    readonly id: number,
    readonly name: string,
    /** Object id of this thread's IRQ/RCU context, for the dependence relation. */
    readonly ctxObj: number,
    /** Index of the spawning transition, -1 for threads present at the start. */
    readonly spawnedAt: number,
    /** True for a CPU (IPI target); false for a deferred task such as an RCU callback. */
    readonly isCpu: boolean,
  ) {}

  get inRcuReader(): boolean {
    return this.irqOff > 0 || this.rcuDepth > 0;
  }
}

export type ThreadBody<T extends SimThread = SimThread> = (t: T) => Step<unknown>;
/** Builds the thread object; the kernel model uses a subclass that also carries the Kernel. */
export type ThreadMaker<T extends SimThread> = (id: number, name: string, ctxObj: number, spawnedAt: number) => T;

export class World {
  readonly threads: SimThread[] = [];
  readonly findings: Finding[] = [];
  /** Named outcomes, e.g. "CPU0" -> "pinned-fast". */
  readonly outcomes = new Map<string, string>();
  /**
   * A fatal finding happened (an oops). The thread that hit it is killed; the other threads run
   * on, so the checker still sees their later accesses and can reorder them before the oops
   * (stopping the whole execution there hid those races from DPOR: the regression test
   * 'states after a fatal finding' in test/property/dpor-naive.spec.ts).
   * End-of-run checks and outcomes are skipped.
   */
  oopsed = false;
  /** A fatal finding outside any thread (setup, end-of-run): nothing runs after it. */
  stopped = false;
  /** Index of the transition being executed (maintained by the executor). */
  step = 0;
  /** The thread currently running (maintained by the executor; -1 in setup). */
  current = -1;
  /** Whether scheduling is live (false while the scenario's setup runs). */
  live = false;
  private nextObj = 1;
  /** Names of objects (by id, dense), computed lazily for traces. */
  private readonly namers: ((() => string) | undefined)[] = [];
  /** Threads spawned while running; the executor starts them. */
  readonly maxThreads: number;

  constructor(maxThreads = 16) {
    this.maxThreads = maxThreads;
  }

  /** How many objects have been created (ids 1..objectCount). */
  get objectCount(): number {
    return this.nextObj - 1;
  }

  newObject(namer?: () => string): number {
    const id = this.nextObj++;
    if (namer) this.namers[id] = namer;
    return id;
  }

  objectName(id: number): string {
    const n = this.namers[id];
    return n ? n() : `obj#${id}`;
  }

  addThread<T extends SimThread>(name: string, make: ThreadMaker<T>, body: ThreadBody<T>): T {
    if (this.threads.length >= this.maxThreads) {
      throw new LimitError(
        'threads',
        this.maxThreads,
        `more than ${this.maxThreads} threads (CPUs plus spawned RCU callbacks)`,
      );
    }
    const t = make(this.threads.length, name, this.newObject(() => `${name} IRQs`), this.live ? this.step : -1);
    t.w = this;
    t.gen = body(t);
    this.threads.push(t);
    return t;
  }

  report(id: string, message: string, fatal: boolean, thread = this.current, fn?: string): void {
    this.findings.push(new FindingRecord(id, message, thread, thread < 0 ? -1 : this.step, fatal, fn));
    if (!fatal) return;
    this.oopsed = true;
    const t = this.live && thread >= 0 ? this.threads[thread] : undefined;
    if (t) t.killed = true;
    else this.stopped = true;
  }
}

/**
 * A configured limit was hit. It names the limit ('steps', 'threads'); the CLI says which option
 * raises it (cli/errors.ts limitError()).
 */
export class LimitError extends GupcheckError {
  constructor(
    readonly limit: string,
    readonly value: number,
    what: string,
    /** What was going on when the limit was hit (for a livelock: which threads spun, and where). */
    readonly detail?: string,
  ) {
    super(`GUPCHECK_LIMIT_${limit.toUpperCase()}`, `limit reached: ${what}${detail ? ` (${detail})` : ''}`, undefined, 'limit');
  }
}

// What an execution's path says, not its state: the executor's position, a thread's spawn step.
notState(World.prototype, 'step', 'current', 'namers');
notState(SimThread.prototype, 'spawnedAt', 'onAccess', 'note');
