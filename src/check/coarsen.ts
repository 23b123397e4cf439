/**
 * Fewer, larger steps: an op that no other thread can interfere with needs no scheduling point
 * before it, so the executor runs it as part of its thread's previous transition (Execution.step).
 * That is the classic merge of invisible operations (Lipton's movers; the "local" steps of Spin's
 * partial-order reduction) and what lets state matching see the product of few states per thread.
 *
 * Which ops. The objects created before any thread runs (the scenario's setup, the threads'
 * priming) get the same ids in every execution. Of those, an object is
 *   - read-only when no thread writes it: its reads commute with every op of every thread;
 *   - local to a thread when no other thread accesses it: its accesses commute with every op of
 *     every other thread.
 *   - lock-only when every access to it is a lock acquisition (a wait) or a release: a release
 *     is then a left mover (Lipton, "Reduction", CACM 1975): no other thread can touch the lock
 *     between its holder's previous op and the release, except to wait for it.
 * An op is merged when its object (and its second object, if any) is read-only and it reads, or is
 * local to the op's thread, or is lock-only and the op releases it; and it is neither a wait, a
 * choice, nor a group access to the CPU contexts. A merged release still orders the lock's next
 * acquirer after the event it joined (Execution.releaseMerged), so happens-before is unchanged.
 *
 * Where the classes come from, and why the search stays exact. The classes are guessed from a few
 * random executions before the search (learn()), then checked on every op the search executes:
 * a write to a read-only object, an access to another thread's local object or a lock-only
 * object's access that neither acquires nor releases it is a violation, the
 * object becomes shared, and the search starts again (the stateful strategy). A search that ends
 * without a violation is exact: in any execution of the unmerged program, take the first op that
 * would break a class; every merged op before it commutes with the ops of the other threads that
 * separate it from its thread's previous op, so the prefix reorders (same state) into one the
 * merged search runs, and from there the breaking op runs as an ordinary step, where the check
 * sees it. Without a violation, every state the unmerged program reaches between transitions is
 * reached by the merged one, and every finding and outcome with it (docs/perf.md, "The stateful search": fewer scheduling points).
 */
import { GROUP_CPU, type Op, READ } from '../sim/op.ts';
import { isLockWait } from '../sim/sync.ts';
import { LimitError } from '../sim/world.ts';
import { Execution, type Program } from './execution.ts';

/** Per object id: SHARED, READ_ONLY, or LOCAL + thread id. */
const SHARED = 0;
const READ_ONLY = 1;
const LOCAL = 2;
/** Every access is a lock acquisition (a wait) or a release: its releases are left movers (Lipton). */
const LOCK_ONLY = 254;

export class Coarsening {
  /** The classes, indexed by object id (ids from `bound` on are shared). */
  private readonly cls: Uint8Array;

  constructor(
    /** Objects 1..bound-1 exist before any thread runs. */
    readonly bound: number,
    cls: Uint8Array,
    /** The CPU contexts (IRQ/RCU state) among them: a group op (an IPI wait, a grace period) reads them all. */
    private readonly ctx: readonly number[] = [],
  ) {
    this.cls = cls;
  }

  private fits(obj: number, tid: number, read: boolean, release = false): boolean {
    if (obj === 0) return true;
    if (obj >= this.bound) return false;
    const c = this.cls[obj]!;
    return (c === READ_ONLY && read) || c === LOCAL + tid || (c === LOCK_ONLY && release);
  }

  /** The op can run without a scheduling point before it. */
  mergeable(op: Op, tid: number): boolean {
    if (op.wait !== null || op.choices !== 0 || op.group !== 0) return false;
    return this.fits(op.obj, tid, op.acc === READ, op.release) && this.fits(op.obj2, tid, true);
  }

  /** The object whose class this op (about to run on thread tid) breaks, or 0. */
  violation(op: Op, tid: number): number {
    if (op.group === GROUP_CPU)
      for (const o of this.ctx) {
        const b = this.broken(o, tid, true, false);
        if (b !== 0) return b;
      }
    const a = this.broken(op.obj, tid, op.acc === READ, op.release || isLockWait(op.wait));
    return a !== 0 ? a : this.broken(op.obj2, tid, true, false);
  }

  private broken(obj: number, tid: number, read: boolean, lockOp: boolean): number {
    if (obj === 0 || obj >= this.bound) return 0;
    const c = this.cls[obj]!;
    if (c === SHARED) return 0;
    if (c === READ_ONLY) return read ? 0 : obj;
    if (c === LOCK_ONLY) return lockOp ? 0 : obj;
    return c === LOCAL + tid ? 0 : obj;
  }

  /**
   * The same classes with the lock-only objects shared, for a preemption-bounded search: merging
   * a release into its holder's previous step takes away the state where another thread waits for
   * the lock, and with it a switch that is not a preemption (strategies/stateful.ts). Merging a
   * read-only read or a local access changes no other thread's enabledness, and spends no more
   * preemptions than the unmerged schedule does.
   */
  withoutLockMovers(): Coarsening {
    return new Coarsening(this.bound, this.cls.map((c) => (c === LOCK_ONLY ? SHARED : c)), this.ctx);
  }

  /** The same classes with `obj` shared. */
  without(obj: number): Coarsening {
    const cls = this.cls.slice();
    cls[obj] = SHARED;
    return new Coarsening(this.bound, cls, this.ctx);
  }

  /**
   * Guess the classes from up to `samples` random executions of `program` (a fixed seed: the same
   * guess on every run), fewer once `settled` in a row add nothing. A group op counts as a read of every CPU context; where no thread waits for an
   * IPI or a grace period, a CPU's IRQ and RCU state is its own, and local_irq_save()/restore()
   * need no scheduling point.
   */
  static learn(program: Program, samples = 32, maxSteps?: number, settled = 4): Coarsening {
    const writers = new Set<number>();
    const nonLock = new Set<number>(); // objects with an access that is not a lock acquisition or release
    let cls = new Uint8Array(0);
    let bound = 0;
    let ctx: number[] = [];
    let rng = 0x2545f491;
    const rand = (n: number): number => {
      rng ^= rng << 13;
      rng ^= rng >>> 17;
      rng ^= rng << 5;
      return (rng >>> 0) % n;
    };
    let changed: boolean; // set at the start of every sample
    const note = (obj: number, tid: number, write: boolean): void => {
      if (obj === 0 || obj >= bound) return;
      if (write && !writers.has(obj)) {
        writers.add(obj);
        changed = true;
      }
      const c = cls[obj]!;
      if (c === UNSEEN) cls[obj] = LOCAL + tid;
      else if (c !== SHARED && c !== LOCAL + tid && c !== READ_ONLY) cls[obj] = READ_ONLY;
      else return;
      changed = true;
    };
    const nonLockAdd = (obj: number): void => {
      if (nonLock.has(obj)) return;
      nonLock.add(obj);
      changed = true;
    };
    // Stop early once `settled` samples in a row taught nothing new (a small program has few paths).
    for (let s = 0, quiet = 0; s < samples && quiet < settled; s++, quiet = changed ? 0 : quiet + 1) {
      changed = false;
      const ex = new Execution(program, false, maxSteps);
      if (s === 0) {
        bound = ex.w.objectCount + 1;
        cls = new Uint8Array(bound).fill(UNSEEN);
        cls[0] = SHARED;
      }
      if (s === 0) ctx = ex.threads.filter((t) => t.ctxObj < bound).map((t) => t.ctxObj);
      try {
        for (;;) {
          const en = ex.enabledMask();
          if (en === 0) break;
          const ids: number[] = [];
          for (let m = en; m; m &= m - 1) ids.push(31 - Math.clz32(m & -m));
          const tid = ids[rand(ids.length)]!;
          const op = ex.pending(tid);
          if (op.group === 0) {
            note(op.obj, tid, op.acc !== READ);
            note(op.obj2, tid, false);
            if (!op.release && !isLockWait(op.wait)) nonLockAdd(op.obj);
            nonLockAdd(op.obj2);
          } else
            for (const o of ctx) {
              note(o, tid, false);
              nonLockAdd(o);
            }
          ex.step(tid, op.choices ? rand(op.choices) : 0, en);
        }
      } catch (e) {
        if (!(e instanceof LimitError)) throw e; // a sample that hits --max-steps still taught what it saw
      }
    }
    for (let o = 1; o < bound; o++) {
      const c = cls[o]!;
      if (c === UNSEEN) cls[o] = SHARED; // never accessed in the samples: no guess
      else if (c === READ_ONLY && writers.has(o)) cls[o] = nonLock.has(o) ? SHARED : LOCK_ONLY;
    }
    return new Coarsening(bound, cls, ctx);
  }
}

const UNSEEN = 255;
