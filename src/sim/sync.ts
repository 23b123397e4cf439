/*
 * The kernel's synchronisation, as primitives the checker sees as enabled/blocked transitions
 * (loom's branch_disable / set_blocked, rt/object.rs). Each carries the kernel's reason.
 *
 * local_irq_save()/local_irq_restore()
 *   "With interrupts disabled, we block page table pages from being freed from under us"
 *   (comment above lockless_pages_from_mm()/gup_fast(), mm/gup.c). A CPU with IRQs off
 *   cannot acknowledge a TLB-shootdown IPI, so an IPI-based flush (x86 bare metal before
 *   6.15) cannot complete while GUP-fast walks. Since the RCU flavours were consolidated
 *   (4.20), an IRQs-off region is also an RCU read-side critical section, which is what
 *   CONFIG_MMU_GATHER_RCU_TABLE_FREE relies on (arm64; x86 since 6.15, a37259732a7d).
 *
 * flush_tlb_ipi_wait()
 *   x86 flush_tlb_mm_range() sends an IPI to the other CPUs of the mm and waits
 *   (smp_call_function_many_cond(..., wait=true)). Modelled as one op that is enabled only
 *   while every other CPU has IRQs on. (Equivalent for reachable states to "wait until each
 *   target acknowledged since the send": the wait reads nothing else.) Broadcast TLB
 *   invalidation (arm64 TLBI, x86 INVLPGB for an mm with a global ASID, paravirt flushes)
 *   does not wait at all.
 *
 * synchronize_rcu() / call_rcu()
 *   A grace period ends once every CPU that was in a read-side critical section when it
 *   started has left it. Inodes (and their address_space) are freed after a grace period
 *   (destroy_inode() -> call_rcu(i_callback)), and so are page tables under
 *   CONFIG_MMU_GATHER_RCU_TABLE_FREE (tlb_remove_table() -> call_rcu()). call_rcu() spawns a
 *   callback task that waits for the grace period and then runs, so the caller goes on.
 *
 * spinlock_t / rw_semaphore (mmap_lock) / seqcount_t (mm->write_protect_seq)
 *   Ordinary locks; a blocked acquire is a disabled transition. The seqcount reader never
 *   blocks: GUP-fast reads write_protect_seq before the walk, refuses to start on an odd
 *   value and discards its pins if it changed (lockless_pages_from_mm()).
 */
import { atomic_add_return } from './atomic.ts';
import { nolog } from './frames.ts';
import { announce, type Cell } from './cell.ts';
import { assertNever, GROUP_CPU, type GpSnapshot, type Op, READ, RMW, type Site, type Step, type Wait, WRITE, site } from './op.ts';
import type { SimThread, ThreadBody, World } from './world.ts';

// ===== IRQs =====

const S_irq_save = site('local_irq_save', 'disable IRQs');
const S_irq_restore = site('local_irq_restore', 'restore IRQs');

/** local_irq_save(): returns the previous state (true = IRQs were off). */
export function* local_irq_save(t: SimThread, s: Site = S_irq_save): Step<boolean> {
  const op = announce(t, t.ctxObj, WRITE, s);
  yield op;
  const was = t.irqOff > 0;
  t.irqOff++;
  op.before = was ? 'off' : 'on';
  op.after = 'off';
  return was;
}

export function* local_irq_restore(t: SimThread, wasOff: boolean, s: Site = S_irq_restore): Step<void> {
  const op = announce(t, t.ctxObj, WRITE, s);
  op.release = !wasOff;
  yield op;
  const wasReader = t.inRcuReader;
  t.irqOff = Math.max(0, t.irqOff - 1);
  if (!wasOff) t.irqOff = 0;
  if (wasReader && !t.inRcuReader) t.rcuQs++;
  op.before = 'off';
  op.after = t.irqOff > 0 ? 'off' : 'on';
}

export function irqs_disabled(t: SimThread): boolean {
  return t.irqOff > 0;
}

// ===== TLB shootdown =====

const S_ipi = site('flush_tlb_mm_range', 'IPI the other CPUs and wait for them (they need IRQs on)');
const WAIT_IPI: Wait = { kind: 'ipi' };

/** Every other CPU must take the flush IPI, which needs its IRQs on. */
export function* flush_tlb_ipi_wait(t: SimThread, s: Site = S_ipi): Step<void> {
  const op = announce(t, 0, READ, s);
  op.group = GROUP_CPU;
  op.wait = WAIT_IPI;
  yield op;
}

export function ipiEnabled(w: World, self: number): boolean {
  for (const o of w.threads) if (o.id !== self && o.isCpu && !o.done && o.irqOff > 0) return false;
  return true;
}

// ===== RCU =====

const S_rcu_lock = site('rcu_read_lock', 'enter RCU read-side');
const S_rcu_unlock = site('rcu_read_unlock', 'leave RCU read-side');
const S_gp_start = site('synchronize_rcu', 'start a grace period');
const S_gp_wait = site('synchronize_rcu', 'wait for pre-existing RCU readers');
const S_call_rcu = site('call_rcu', 'queue a callback after a grace period');

export function* rcu_read_lock(t: SimThread): Step<void> {
  const op = announce(t, t.ctxObj, WRITE, S_rcu_lock);
  yield op;
  t.rcuDepth++;
}

export function* rcu_read_unlock(t: SimThread): Step<void> {
  const op = announce(t, t.ctxObj, WRITE, S_rcu_unlock);
  op.release = true;
  yield op;
  t.rcuDepth--;
  if (!t.inRcuReader) t.rcuQs++;
}

export type { GpSnapshot };

function* gpStart(t: SimThread, s: Site): Step<GpSnapshot> {
  const op = announce(t, 0, READ, s);
  op.group = GROUP_CPU;
  yield op;
  const snap: [SimThread, number][] = [];
  for (const o of t.w.threads) if (o !== t && !o.done && o.inRcuReader) snap.push([o, o.rcuQs]);
  op.after = snap.map(([o]) => o.name).join(',') || 'no readers';
  return snap;
}

function* gpWait(t: SimThread, snap: GpSnapshot, s: Site): Step<void> {
  const op = announce(t, 0, READ, s);
  op.group = GROUP_CPU;
  op.wait = { kind: 'rcu-gp', snap };
  yield op;
}

export function gpEnded(snap: GpSnapshot): boolean {
  for (const [o, qs] of snap) if (!o.done && o.inRcuReader && o.rcuQs === qs) return false;
  return true;
}

export function* synchronize_rcu(t: SimThread): Step<void> {
  const snap = yield* gpStart(t, S_gp_start);
  yield* gpWait(t, snap, S_gp_wait);
}

/**
 * call_rcu(): the callback runs in a new task after a grace period. `make` builds the task
 * object (the kernel model's thread subclass).
 */
export function* call_rcu<T extends SimThread>(
  t: SimThread,
  name: string,
  make: (id: number, name: string, ctxObj: number, spawnedAt: number) => T,
  cb: ThreadBody<T>,
): Step<void> {
  const snap = yield* gpStart(t, S_call_rcu);
  t.w.addThread(name, make, function* (task: T) {
    yield* gpWait(task, snap, S_gp_wait);
    return yield* cb(task);
  });
}

// ===== spinlock_t =====

export class SpinLock {
  owner = -1;
  /** What spin_lock() waits for (one object per lock: acquiring allocates nothing). */
  readonly waitFree: Wait = { kind: 'spin', lock: this };
  constructor(readonly id: number) {}
}

/** A lock acquisition: announced with what it waits for; returns the op, to say what it did. */
function* acquire(t: SimThread, id: number, acc: typeof READ | typeof RMW, wait: Wait, s: Site): Step<Op> {
  const op = announce(t, id, acc, s);
  op.wait = wait;
  yield op;
  return op;
}

const LOCK_TO_UNLOCK: readonly (readonly [string, string])[] = [
  ['mmap_read_lock()', 'mmap_read_unlock()'],
  ['mmap_write_lock', 'mmap_write_unlock'],
  ['pte_offset_map_lock()', 'pte_unmap_unlock()'],
  ['spin_lock(', 'spin_unlock('],
  ['folio_lock()', 'folio_unlock()'],
  ['lock the folio', 'unlock the folio'],
];
const unlockSites = nolog(new Map<Site, Site>());

/**
 * The site a release is shown as: kernel code often passes the site of its lock to the unlock
 * too, which made a trace say "mmap_read_lock()" where the lock was dropped. A lock label becomes
 * its unlock ("mmap_read_lock()" -> "mmap_read_unlock()"); another label is kept, after the
 * unlock (`generic` names it: "spin_unlock()").
 */
function unlockSite(s: Site, generic: string): Site {
  let u = unlockSites.get(s);
  if (!u) {
    const a = s.action;
    const pair = LOCK_TO_UNLOCK.find(([l]) => a.includes(l));
    const action = /unlock|release|drop/.test(a) ? a : pair ? a.replace(pair[0], pair[1]) : `${generic} (after: ${a})`;
    u = site(s.fn, action);
    unlockSites.set(s, u);
  }
  return u;
}

/** A lock release: orders what follows, never a race partner (Op.release). */
function* release(t: SimThread, id: number, acc: typeof READ | typeof WRITE, s: Site): Step<Op> {
  const op = announce(t, id, acc, s);
  op.release = true;
  yield op;
  return op;
}

export function* spin_lock(t: SimThread, l: SpinLock, s: Site): Step<void> {
  const op = yield* acquire(t, l.id, RMW, l.waitFree, s);
  l.owner = t.id;
  op.after = 'taken';
}

export function* spin_unlock(t: SimThread, l: SpinLock, s: Site): Step<void> {
  const op = yield* release(t, l.id, WRITE, unlockSite(s, 'spin_unlock()'));
  l.owner = -1;
  op.after = 'released';
}

// ===== rw_semaphore =====

export class RwSem {
  readers = 0;
  writer = -1;
  readonly waitRead: Wait = { kind: 'rwsem-read', sem: this };
  readonly waitWrite: Wait = { kind: 'rwsem-write', sem: this };
  constructor(readonly id: number) {}
}

/* Read acquire/release are READ accesses: two readers commute and never block each other. */
export function* down_read(t: SimThread, l: RwSem, s: Site): Step<void> {
  const op = yield* acquire(t, l.id, READ, l.waitRead, s);
  l.readers++;
  op.after = 'taken (read)';
}
export function* up_read(t: SimThread, l: RwSem, s: Site): Step<void> {
  const op = yield* release(t, l.id, READ, unlockSite(s, 'up_read()'));
  l.readers--;
  op.after = 'released (read)';
}
export function* down_write(t: SimThread, l: RwSem, s: Site): Step<void> {
  const op = yield* acquire(t, l.id, RMW, l.waitWrite, s);
  l.writer = t.id;
  op.after = 'taken (write)';
}
export function* up_write(t: SimThread, l: RwSem, s: Site): Step<void> {
  const op = yield* release(t, l.id, WRITE, unlockSite(s, 'up_write()'));
  l.writer = -1;
  op.after = 'released (write)';
}

// ===== enabledness of blocking ops (used by the executor) =====

/** Is the wait over, so the op can run? */
export function waitOver(w: World, t: SimThread, x: Wait | null): boolean {
  if (x === null) return true;
  switch (x.kind) {
    case 'spin':
      return x.lock.owner === -1;
    case 'rwsem-read':
      return x.sem.writer === -1;
    case 'rwsem-write':
      return x.sem.writer === -1 && x.sem.readers === 0;
    case 'ipi':
      return ipiEnabled(w, t.id);
    case 'rcu-gp':
      return gpEnded(x.snap);
    case 'cell-change':
      return x.cell.v !== x.value;
    default:
      return assertNever(x);
  }
}

/** Can thread t run its pending op now? */
export function opEnabled(w: World, t: SimThread, op: Op): boolean {
  return waitOver(w, t, op.wait);
}

/** What a blocked op waits for, in words (traces and the viewer). */
export function waitWords(x: Wait): string {
  switch (x.kind) {
    case 'spin':
      return 'waits for a spinlock';
    case 'rwsem-read':
      return 'waits for mmap_lock (read)';
    case 'rwsem-write':
      return 'waits for mmap_lock (write)';
    case 'ipi':
      return 'waits for every other CPU to take the TLB-flush IPI (IRQs on)';
    case 'rcu-gp':
      return 'waits for an RCU grace period';
    case 'cell-change':
      return 'waits for a migration entry to be replaced';
    default:
      return assertNever(x);
  }
}

/** A lock acquisition (as opposed to another kind of wait), for trace access kinds. */
export function isLockWait(x: Wait | null): boolean {
  return x !== null && (x.kind === 'spin' || x.kind === 'rwsem-read' || x.kind === 'rwsem-write');
}

// ===== local nondeterministic choice =====

/**
 * A choice the environment makes (which new owner gets a freed page, say). Local to the
 * thread, so independent of every other op; the explorer tries every alternative.
 */
export function* choose(t: SimThread, n: number, s: Site, labels?: readonly string[]): Step<number> {
  const op = announce(t, 0, READ, s);
  op.choices = n;
  const v = (yield op) ?? 0;
  op.after = labels?.[v] ?? v;
  return v;
}

// ===== seqcount_t =====

/** raw_read_seqcount(): may return an odd value (a writer is active). */
export function* raw_read_seqcount(t: SimThread, c: Cell<number>, s: Site): Step<number> {
  const op = announce(t, c.id, READ, s);
  yield op;
  op.after = c.v;
  return c.v;
}

/** read_seqcount_retry(): true if a writer ran since `start`. */
export function* read_seqcount_retry(t: SimThread, c: Cell<number>, start: number, s: Site): Step<boolean> {
  const op = announce(t, c.id, READ, s);
  yield op;
  op.after = c.v;
  return c.v !== start;
}

/** raw_write_seqcount_begin() / _end(): the writer bumps the count (odd while writing). */
export function* raw_write_seqcount_bump(t: SimThread, c: Cell<number>, s: Site): Step<void> {
  yield* atomic_add_return(t, c, 1, s);
}
