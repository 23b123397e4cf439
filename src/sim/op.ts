/*
 * The scheduling point: the only thing the checker ever sees of the model.
 *
 * Loom's rule (rt/object.rs, rt/execution.rs): a thread announces the shared access it is
 * *about to* make, then the scheduler decides who runs. Each thread owns one mutable Op
 * record that it fills in and yields before every shared access, so the hot path allocates
 * nothing. The access itself happens when the generator is resumed.
 */
import { NOLOG, nolog, PENDING_OP } from './frames.ts';

/** Kinds of access, for the dependence relation: two accesses to one object conflict unless both read. */
export const READ = 1;
export const WRITE = 2;
export const RMW = 3;
export type Access = typeof READ | typeof WRITE | typeof RMW;

/**
 * Counter ops (sim/atomic.ts) say what they observe, so the race check can tell when two adjacent
 * counter ops commute (same state, same observations in either order): two plain adds do; an
 * add and a sub_and_test or add_unless do not (the latter observe the value).
 */
export const COUNTER_NONE = 0;
/** atomic_add(): the result is not observed. */
export const COUNTER_ADD = 1;
/** atomic_sub_and_test(): observes the sign of the result. */
export const COUNTER_SUB_AND_TEST = 2;
/** atomic_add_unless(): observes whether the old value was the "unless" value. */
export const COUNTER_ADD_UNLESS = 3;
export type CounterKind = typeof COUNTER_NONE | typeof COUNTER_ADD | typeof COUNTER_SUB_AND_TEST | typeof COUNTER_ADD_UNLESS;

/**
 * A static call site: which kernel function does what. Created once at module load, shared by
 * every execution, so traces can say "CPU0 gup_pte_range ptep_get_lockless(pte@0x1000)".
 */
export interface Site {
  readonly fn: string;
  readonly action: string;
  readonly id: number;
}

// Interned for the whole process: never undone by the stateful explorer (sim/frames.ts nolog).
const sites: Site[] = nolog([]);
const byKey = nolog(new Map<string, Site>());
/** The site for (fn, action); the same object every time it is asked for. */
export function site(fn: string, action: string): Site {
  const key = `${fn}\u0000${action}`;
  let s = byKey.get(key);
  if (!s) {
    s = nolog({ fn, action, id: sites.length });
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
 * What a blocking op waits for (loom's rt/object.rs actions): the op is enabled only once the
 * wait is over (sim/sync.ts waitOver()). Tagged, so a new blocking primitive is one new case
 * here, in waitOver() and in waitWords(), and the compiler checks every switch over it.
 */
export type Wait =
  | { readonly kind: 'spin'; readonly lock: { readonly owner: number } }
  | { readonly kind: 'rwsem-read'; readonly sem: { readonly writer: number } }
  | { readonly kind: 'rwsem-write'; readonly sem: { readonly writer: number; readonly readers: number } }
  | { readonly kind: 'ipi' }
  | { readonly kind: 'rcu-gp'; readonly snap: GpSnapshot }
  | { readonly kind: 'cell-change'; readonly cell: { readonly v: unknown }; readonly value: unknown };

/** The readers a grace period must wait for: [thread, quiescent-state count at the start]. */
export type GpSnapshot = readonly (readonly [{ readonly done: boolean; readonly inRcuReader: boolean; readonly rcuQs: number; readonly name: string }, number])[];

export function assertNever(x: never): never {
  throw new Error(`[gupcheck internal bug] unexpected case ${JSON.stringify(x)}`);
}

/**
 * The op a thread is about to perform. One per thread, mutated in place.
 * `obj`/`acc` is the footprint used for dependence. Group footprints (an IPI wait reads every
 * other CPU's IRQ state) set `group` instead: they conflict with every write to a CPU context.
 */
export class Op {
  /** The op is per-thread state the stateful explorer saves with the thread, not through the undo trail. */
  readonly [NOLOG] = true;
  /** ... but its footprint and wait are part of the state's fingerprint (sim/frames.ts stackHash). */
  readonly [PENDING_OP] = true;
  obj = 0;
  acc: Access = READ;
  /** A second object the op reads (e.g. the page-table page an entry lives in), 0 if none. */
  obj2 = 0;
  /** GROUP_CPU: reads every other CPU's context (IRQ / RCU state). */
  group = 0;
  /** What the op waits for before it can run; null: it can always run. */
  wait: Wait | null = null;
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
  /** Which counter op this is (COUNTER_*), for the commutation check. */
  counter: CounterKind = COUNTER_NONE;
}

export const GROUP_CPU = 1;
export const NO_SITE: Site = site('(none)', '(none)');

/** Kernel code is written as generators that yield an Op before each shared access. */
export type Step<T> = Generator<Op, T, number | undefined>;
