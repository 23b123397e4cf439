/*
 * Shared memory cells: READ_ONCE / WRITE_ONCE and plain loads and stores.
 *
 * Kernel reason (include/asm-generic/rwonce.h, Documentation/memory-barriers.txt "COMPILER
 * BARRIER"): without READ_ONCE() the compiler may re-load a variable at each use, so a value
 * tested against NULL may not be the value later dereferenced. The model makes that explicit
 * by making every load a scheduling point: kernel code that uses a plain read twice is written
 * with two loads (see folio_mapping() in kernel/util.ts); code that uses READ_ONCE() reads once.
 *
 * Every access yields the thread's Op first (loom's rule: announce, then access), so another
 * CPU may run between the announcement and the access. Values are sequentially consistent:
 * the model explores SC interleavings only (no store buffering, no load reordering).
 */
import { COUNTER_NONE, type Op, READ, RMW, type Site, type Step, WRITE } from './op.ts';
import type { SimThread, World } from './world.ts';

export class Cell<T> {
  constructor(
    readonly id: number,
    public v: T,
  ) {}
}

export function newCell<T>(w: World, v: T, name: () => string): Cell<T> {
  return new Cell(w.newObject(name), v);
}

function announce(t: SimThread, obj: number, acc: 1 | 2 | 3, s: Site): Op {
  const op = t.op;
  if (t.onAccess !== null) t.onAccess(op);
  op.obj = obj;
  op.acc = acc;
  op.obj2 = 0;
  op.group = 0;
  op.wait = null;
  op.site = s;
  op.choices = 0;
  op.release = false;
  op.counter = COUNTER_NONE;
  op.before = undefined;
  op.after = undefined;
  return op;
}

export { announce };

/** READ_ONCE(x): exactly one load. */
export function* READ_ONCE<T>(t: SimThread, c: Cell<T>, s: Site): Step<T> {
  const op = announce(t, c.id, READ, s);
  yield op;
  const v = c.v;
  op.after = v;
  return v;
}

/** A plain C load. Identical to READ_ONCE in one use; the difference is in how often kernel code calls it. */
export const load = READ_ONCE;

/** WRITE_ONCE(x, v) or a plain store. */
export function* WRITE_ONCE<T>(t: SimThread, c: Cell<T>, v: T, s: Site): Step<void> {
  const op = announce(t, c.id, WRITE, s);
  yield op;
  op.before = c.v;
  c.v = v;
  op.after = v;
}
export const store = WRITE_ONCE;

/** An atomic read-modify-write with an arbitrary update (the building block of the atomics). */
export function* rmw<T, R>(t: SimThread, c: Cell<T>, s: Site, f: (old: T) => [T, R]): Step<R> {
  const op = announce(t, c.id, RMW, s);
  yield op;
  const old = c.v;
  const [nv, r] = f(old);
  op.before = old;
  c.v = nv;
  op.after = nv;
  return r;
}

/** Set a cell without a scheduling point: only for setup (scheduling off) and for ghost state. */
export function init<T>(c: Cell<T>, v: T): void {
  c.v = v;
}
