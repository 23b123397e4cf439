/*
 * The scheduling point: the only thing the checker ever sees of the model.
 *
 * Loom's rule (rt/object.rs, rt/execution.rs): a thread announces the shared access it is
 * *about to* make, then the scheduler decides who runs. Each thread owns one mutable Op
 * record that it fills in and yields before every shared access, so the hot path allocates
 * nothing. The access itself happens when the generator is resumed.
 */

/** Kinds of access, for the dependence relation: two accesses to one object conflict unless both read. */
export const READ = 1;
export const WRITE = 2;
export const RMW = 3;
export type Access = typeof READ | typeof WRITE | typeof RMW;

/** Why an op may be disabled (it cannot run until another thread changes something). */
export const BLOCK_NONE = 0;
export const BLOCK_SPIN = 1; // spin_lock(): enabled when the lock is free
export const BLOCK_RWSEM_READ = 2; // down_read(): enabled when no writer holds it
export const BLOCK_RWSEM_WRITE = 3; // down_write(): enabled when nobody holds it
export const BLOCK_IPI = 4; // IPI-based TLB shootdown: enabled when every target CPU has IRQs on
export const BLOCK_RCU_GP = 5; // end of an RCU grace period: every reader seen at its start has left
export const BLOCK_CELL_CHANGE = 6; // sleep until a cell no longer holds a value (migration_entry_wait)
export type BlockKind = 0 | 1 | 2 | 3 | 4 | 5 | 6;

/**
 * A static call site: which kernel function does what. Created once at module load, shared by
 * every execution, so traces can say "CPU0 gup_pte_range ptep_get_lockless(pte@0x1000)".
 */
export interface Site {
  readonly fn: string;
  readonly action: string;
  readonly id: number;
}

const sites: Site[] = [];
const byKey = new Map<string, Site>();
/** The site for (fn, action); the same object every time it is asked for. */
export function site(fn: string, action: string): Site {
  const key = `${fn}\u0000${action}`;
  let s = byKey.get(key);
  if (!s) {
    s = { fn, action, id: sites.length };
    sites.push(s);
    byKey.set(key, s);
  }
  return s;
}
export function siteById(id: number): Site | undefined {
  return sites[id];
}

/** Something with an identity the checker can see: a cell, a lock, a CPU's IRQ/RCU context. */
export interface SimObject {
  readonly id: number;
}

/**
 * The op a thread is about to perform. One per thread, mutated in place.
 * `obj`/`acc` is the footprint used for dependence. Group footprints (an IPI wait reads every
 * other CPU's IRQ state) set `group` instead: they conflict with every write to a CPU context.
 */
export class Op {
  obj = 0;
  acc: Access = READ;
  /** A second object the op reads (e.g. the page-table page an entry lives in), 0 if none. */
  obj2 = 0;
  /** GROUP_CPU: reads every other CPU's context (IRQ / RCU state). */
  group = 0;
  block: BlockKind = BLOCK_NONE;
  /** The lock / rwsem / grace period the op waits for, when `block` is set. */
  target: unknown = null;
  site: Site = NO_SITE;
  /** Values seen by the access, filled in when it runs (for traces). */
  before: unknown = undefined;
  after: unknown = undefined;
  /** A local nondeterministic choice: the number of alternatives (0 = not a choice). */
  choices = 0;
  /**
   * A release (spin_unlock, up_read/up_write, IRQs re-enabled, rcu_read_unlock). It orders what
   * follows (happens-before) but is never a race partner: the reversal worth exploring is
   * between the acquisitions, not between a release and the next acquire (as Nidhugg treats
   * mutexes).
   */
  release = false;
  /**
   * Counter ops (see sim/atomic.ts): 1 = atomic_add (result not observed), 2 = sub_and_test
   * (observes the sign of the result), 3 = add_unless (observes whether the old value was the
   * "unless" value). With `delta` (and `unless`), the race check can tell when two adjacent
   * counter ops commute: same state, same observations in either order.
   */
  counter = 0;
  delta = 0;
  unless = 0;
}

export const GROUP_CPU = 1;
export const NO_SITE: Site = site('(none)', '(none)');

/** Kernel code is written as generators that yield an Op before each shared access. */
export type Step<T> = Generator<Op, T, number | undefined>;
