/*
 * Atomics on number cells: each is one indivisible read-modify-write, one scheduling point.
 *
 * Kernel reasons:
 * - atomic_add_unless(v, a, 0) is what folio_try_get() / folio_ref_try_add_rcu() build on:
 *   GUP-fast may only take a reference on a folio whose refcount is not zero, because zero
 *   means "being freed" or "frozen by split/migration/reclaim" (include/linux/page_ref.h).
 * - cmpxchg is folio_ref_freeze(): refcount := 0 only if it equals the expected count, so a
 *   reference taken by GUP-fast first makes the freeze fail (mm/huge_memory.c, mm/vmscan.c).
 * - xchg is ptep_get_and_clear(): the PTE is read and cleared in one step, so a racing
 *   hardware dirty-bit update is not lost (zap_pte_range()).
 *
 * Counter ops tag themselves (Op.counter): two plain atomic_add()s on one counter commute, since
 * neither observes the value, so the checker does not treat them as a race
 * (check/execution.ts: dependent(), accessesConflict()). atomic_sub_and_test and
 * atomic_add_unless observe the value and stay dependent on every other access.
 */
import { type Cell, announce } from './cell.ts';
import { COUNTER_ADD, COUNTER_ADD_UNLESS, COUNTER_NONE, COUNTER_SUB_AND_TEST, type CounterKind, RMW, type Site, type Step } from './op.ts';
import type { SimThread } from './world.ts';

/** Add `a` in one step and return the new value; `kind` says what the caller observes of it. */
function* add(t: SimThread, c: Cell<number>, a: number, s: Site, kind: CounterKind): Step<number> {
  const op = announce(t, c.id, RMW, s);
  op.counter = kind;
  yield op;
  op.before = c.v;
  c.v += a;
  op.after = c.v;
  return c.v;
}

/** atomic_add(a, v): the result is not observed, so adds commute with each other. */
export function* atomic_add(t: SimThread, c: Cell<number>, a: number, s: Site): Step<void> {
  yield* add(t, c, a, s, COUNTER_ADD);
}

/** atomic_sub_and_test(a, v) (as atomic_add of -a): returns the new value; callers test it for zero (and for < 0). */
export function* atomic_sub_and_test(t: SimThread, c: Cell<number>, a: number, s: Site): Step<number> {
  return yield* add(t, c, -a, s, COUNTER_SUB_AND_TEST);
}

/** atomic_add_return(a, v): returns the new value (observed: not a commuting add). */
export function* atomic_add_return(t: SimThread, c: Cell<number>, a: number, s: Site): Step<number> {
  return yield* add(t, c, a, s, COUNTER_NONE);
}

/** atomic_add_unless(v, a, u): adds unless the value is u; returns whether it added. */
export function* atomic_add_unless(t: SimThread, c: Cell<number>, a: number, u: number, s: Site): Step<boolean> {
  const op = announce(t, c.id, RMW, s);
  op.counter = COUNTER_ADD_UNLESS;
  yield op;
  const old = c.v;
  op.before = old;
  if (old === u) {
    op.after = old;
    return false;
  }
  c.v = old + a;
  op.after = c.v;
  return true;
}

/** atomic_cmpxchg(v, old, new): returns the value found. */
export function* atomic_cmpxchg(t: SimThread, c: Cell<number>, expected: number, nv: number, s: Site): Step<number> {
  const op = announce(t, c.id, RMW, s);
  yield op;
  const old = c.v;
  op.before = old;
  if (old === expected) c.v = nv;
  op.after = c.v;
  return old;
}

/** xchg(v, new): returns the old value. */
export function* xchg<T>(t: SimThread, c: Cell<T>, nv: T, s: Site): Step<T> {
  const op = announce(t, c.id, RMW, s);
  yield op;
  const old = c.v;
  op.before = old;
  c.v = nv;
  op.after = nv;
  return old;
}

/** Atomic bit operations on a boolean cell (set_bit / clear_bit / test_and_set_bit): xchg of the bit. */
export function test_and_set(t: SimThread, c: Cell<boolean>, v: boolean, s: Site): Step<boolean> {
  return xchg(t, c, v, s);
}
