/**
 * What the stateful search keeps, per explored state, of the ops that can run below it, so that a
 * path that meets the state again can be analysed for races as the stateless search would have
 * done by running on (Yang, Chen, Gopalakrishnan, Kirby, SPIN 2008, with the happens-before order
 * inside the explored part kept rather than dropped).
 *
 * For an event e' on some explored path π below a state s, the stateless search, running on from
 * a new prefix E that reaches s, would analyse e' against E with the clock of e''s previous event
 * in its thread (analyzeFootprint's `cp`: e''s own dependencies are the races). Two things of π
 * decide that clock, and neither depends on E (happens-before between two events of π goes
 * through events of π only): the threads of the events of π that happen before that previous
 * event (with e''s own thread), whose clocks at s it starts from; and those events' accesses,
 * after which E's conflicting accesses to the same objects are ordered too. A descriptor holds
 * them for one event (its footprint, a thread mask and an interned access set), with `full`: the
 * threads of every event of π that happens before e' at all (its own dependencies included),
 * among which, when no event of E after a race partner is left out of notdep (the race's initials
 * then come from π), lie the initials the stateless search would pick from (see the caller).
 * A state's summary (built lazily by the caller) is the set of descriptors of every event below
 * it, relative to it: when an event x leads from s to a child state, each of the child's
 * descriptors is lifted over x, and x gets its own.
 */
import { COUNTER_ADD, GROUP_CPU, READ } from '../sim/op.ts';
import { accessesConflict, type Ev, type Execution, type Footprint, joinInto } from './execution.ts';
import { IntPool } from './graph.ts';
import { bit } from './split.ts';

/** Atoms of an access set: obj * 4 + kind (1 read, 2 write, 3 add); obj 0 holds the two group atoms. */
const GROUP_ATOM = 1; // reads every CPU context (an IPI wait, a grace period)
const CTXW_ATOM = 2; // writes a CPU context

/** An event's thread and accesses, interned. */
interface Sig {
  readonly tid: number;
  readonly atoms: readonly number[];
}

// A descriptor: an event below a state, as far as a race analysis from a new prefix needs it
// (see the header), kept as DESC ints in Summaries' table. Its fields:

/** Footprint id of the event (Summaries.fp()). */
const D_FP = 0;
/** Its own thread, and the threads of the events of π that happen before its previous event. */
const D_THREADS = 1;
/** Accesses of those events (an atom-set id). */
const D_PAST = 2;
/** Threads of every event of π that happens before it (its own dependencies too), and its own. */
const D_FULL = 3;
/** Accesses of those events and its own (an atom-set id): what an earlier event must conflict with to happen before it. */
const D_FULLPAST = 4;
/**
 * While every event of π that happens before e' happens before its previous event (or is
 * it): the thread of the first of them, or e''s own (it follows no other event of π); 0 once
 * some event happens before e' through e''s own dependencies only. See initials().
 */
const D_INIT = 5;
/** Interned (threads, past): descriptors with the same one start from the same clock. */
const D_START = 6;
/** Ints a descriptor; the first D_START of them are its identity. */
const DESC = 7;

/** A hash of a descriptor's identity (its fields before D_START). */
function descHash(fp: number, threads: number, past: number, full: number, fullPast: number, init: number): number {
  let h = Math.imul(fp, 0x9e3779b1) ^ Math.imul(threads + 0x7f4a7c15, 0x85ebca77);
  h = Math.imul(h ^ past, 0xc2b2ae35) ^ Math.imul(full + 0x165667b1, 0x27d4eb2d);
  h = Math.imul(h ^ fullPast, 0x9e3779b1) ^ Math.imul(init + 0x3c6ef372, 0x85ebca77);
  return h ^ (h >>> 15);
}

function conflicts(x: readonly number[], y: readonly number[]): boolean {
  // Both sorted: a merge over the objects.
  let i = 0;
  let j = 0;
  while (i < x.length && j < y.length) {
    const ox = x[i]! >> 2;
    const oy = y[j]! >> 2;
    if (ox < oy) i++;
    else if (ox > oy) j++;
    else {
      // Same object: compare every pair of kinds on it.
      let i2 = i;
      while (i2 < x.length && x[i2]! >> 2 === ox) i2++;
      let j2 = j;
      while (j2 < y.length && y[j2]! >> 2 === oy) j2++;
      for (let a = i; a < i2; a++)
        for (let b = j; b < j2; b++) {
          const ka = x[a]! & 3;
          const kb = y[b]! & 3;
          if (ox === 0 ? ka !== kb : accessesConflict(ka, kb)) return true;
        }
      i = i2;
      j = j2;
    }
  }
  return false;
}

/**
 * Sorted atoms with one kind per object: a write, or a read and an add of one object together,
 * become a write (they conflict with, and order after, the same accesses as a write does).
 */
function normalize(atoms: readonly number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < atoms.length; ) {
    const obj = atoms[i]! >> 2;
    let kinds = 0;
    for (; i < atoms.length && atoms[i]! >> 2 === obj; i++) kinds |= 1 << (atoms[i]! & 3);
    // obj 0: the two group atoms stay as they are
    if (obj === 0) {
      for (const k of [1, 2]) if (kinds & (1 << k)) out.push(k);
      continue;
    }
    const k = kinds & (1 << 2) || (kinds & (1 << 1) && kinds & (1 << 3)) ? 2 : kinds & (1 << 1) ? 1 : 3;
    out.push(obj * 4 + k);
  }
  return out;
}

function union(x: readonly number[], y: readonly number[]): number[] {
  return normalize([...x, ...y].sort((a, b) => a - b));
}

/** Interned number lists (sorted, unique). */
class Lists {
  private readonly ids = new Map<string, number>();
  readonly lists: (readonly number[])[] = [];
  id(l: readonly number[]): number {
    const k = l.join(',');
    let id = this.ids.get(k);
    if (id === undefined) {
      id = this.lists.length;
      this.lists.push(l);
      this.ids.set(k, id);
    }
    return id;
  }
}

export class Summaries {
  private readonly fps: Footprint[] = [];
  private readonly fpIds = new Map<number | string, number>();
  private readonly sigs: Sig[] = [];
  private readonly sigIds = new Map<string, number>();
  private readonly atomSets = new Lists();
  /** The descriptors, DESC ints each, and an open-addressing index over them by identity (-1: empty). */
  private readonly descs = new IntPool(DESC << 12);
  private descIndex = new Int32Array(1 << 13).fill(-1);
  /** lift()'s results: a cache of at most LIFT_MEMO_SLOTS slots (12 bytes each), emptied when full. */
  private readonly lifted = new PairMap(LIFT_MEMO_SLOTS);
  private readonly empty: number;

  constructor() {
    this.empty = this.atomSets.id([]);
  }

  /** Distinct descriptors made so far. */
  get size(): number {
    return this.descs.n / DESC;
  }

  fp(f: Footprint): number {
    // Packed exactly into a double (52 bits) while object ids stay below 2^20; a string beyond.
    const small = f.tid | (f.acc << 5) | (f.counter << 7) | (f.group << 9) | (f.choice ? 1 << 10 : 0) | (f.ctxWrite ? 1 << 11 : 0);
    const k = f.obj < 0x100000 && f.obj2 < 0x100000 ? (f.obj * 0x100000 + f.obj2) * 4096 + small : `${f.obj},${f.obj2},${small}`;
    let id = this.fpIds.get(k);
    if (id === undefined) {
      id = this.fps.length;
      this.fps.push({ ...f });
      this.fpIds.set(k, id);
    }
    return id;
  }

  private sig(tid: number, atoms: number[]): number {
    atoms.sort((a, b) => a - b);
    const k = `${tid}:${atoms.join(',')}`;
    let id = this.sigIds.get(k);
    if (id === undefined) {
      id = this.sigs.length;
      this.sigs.push({ tid, atoms: normalize(atoms) });
      this.sigIds.set(k, id);
    }
    return id;
  }

  private atomsOf(f: Footprint, released: readonly number[] | undefined): number[] {
    const atoms: number[] = [];
    if (f.choice) return atoms;
    if (f.obj) atoms.push(f.obj * 4 + (f.acc === READ ? 1 : f.counter === COUNTER_ADD ? 3 : 2));
    if (f.obj2) atoms.push(f.obj2 * 4 + 1);
    if (f.group === GROUP_CPU) atoms.push(GROUP_ATOM);
    if (f.ctxWrite) atoms.push(CTXW_ATOM);
    if (released) for (const o of released) atoms.push(o * 4 + 2);
    return atoms;
  }

  private readonly byStart = new PairMap();
  private starts = 0;
  /** clockBefore()'s results for the path as it is now (see beginMatch()). */
  private readonly clocks = new Map<number, Int32Array>();

  /** The descriptor with this identity, made if new. */
  private make(fp: number, threads: number, past: number, full: number, fullPast: number, init: number): number {
    const dv = this.descs.a;
    const idx = this.descIndex;
    const mask = idx.length - 1;
    let i = descHash(fp, threads, past, full, fullPast, init) & mask;
    for (;;) {
      const d = idx[i]!;
      if (d < 0) break;
      const o = d * DESC;
      if (dv[o + D_FP] === fp && dv[o + D_THREADS] === threads && dv[o + D_PAST] === past && dv[o + D_FULL] === full && dv[o + D_FULLPAST] === fullPast && dv[o + D_INIT] === init) return d;
      i = (i + 1) & mask;
    }
    let start = this.byStart.get(threads, past);
    if (start < 0) this.byStart.set(threads, past, (start = this.starts++));
    const o = this.descs.reserve(DESC);
    const id = o / DESC;
    const a = this.descs.a;
    a[o + D_FP] = fp;
    a[o + D_THREADS] = threads;
    a[o + D_PAST] = past;
    a[o + D_FULL] = full;
    a[o + D_FULLPAST] = fullPast;
    a[o + D_INIT] = init;
    a[o + D_START] = start;
    idx[i] = id;
    if (2 * this.size > idx.length) this.reindex();
    return id;
  }

  /** The index at twice the size (kept at most half full). */
  private reindex(): void {
    const idx = new Int32Array(this.descIndex.length * 2).fill(-1);
    const mask = idx.length - 1;
    const dv = this.descs.a;
    for (let d = 0; d < this.size; d++) {
      const o = d * DESC;
      let i = descHash(dv[o + D_FP]!, dv[o + D_THREADS]!, dv[o + D_PAST]!, dv[o + D_FULL]!, dv[o + D_FULLPAST]!, dv[o + D_INIT]!) & mask;
      while (idx[i]! >= 0) i = (i + 1) & mask;
      idx[i] = d;
    }
    this.descIndex = idx;
  }

  /** The descriptor of an op about to run (pending) at a state: nothing below it happens before it. */
  pending(f: Footprint): number {
    const fp = this.fp(f);
    const self = this.sig(f.tid, this.atomsOf(f, undefined));
    return this.make(fp, bit(f.tid), this.empty, bit(f.tid), this.pastWith(this.empty, self), bit(f.tid));
  }

  /** The event's own accesses (with the locks released by ops merged into it); cached on the event, which no longer changes. */
  eventSig(e: Ev): number {
    return (e.sig ??= this.sig(e.tid, this.atomsOf(e, e.released)));
  }

  /** Descriptor d (relative to the state after event x) as seen from the state before x. */
  lift(d: number, x: number, spawned: number): number {
    const memo = spawned === 0;
    if (memo) {
      const got = this.lifted.get(d, x);
      if (got >= 0) return got;
    }
    const dv = this.descs.a;
    const o = d * DESC;
    const threads = dv[o + D_THREADS]!;
    const past = dv[o + D_PAST]!;
    const full = dv[o + D_FULL]!;
    const fullPast = dv[o + D_FULLPAST]!;
    const xs = this.sigs[x]!;
    const t = bit(xs.tid) | spawned;
    let out = d;
    if ((full & t) !== 0 || this.conflictsPast(x, fullPast)) {
      // x happens before e', through e''s previous event or through its own dependencies only;
      // it is now the first event of π before e'.
      const prev = (threads & t) !== 0 || this.conflictsPast(x, past);
      out = this.make(
        dv[o + D_FP]!,
        prev ? threads | bit(xs.tid) : threads,
        prev ? this.pastWith(past, x) : past,
        full | bit(xs.tid),
        this.pastWith(fullPast, x),
        prev && dv[o + D_INIT] !== 0 ? bit(xs.tid) : 0,
      );
    }
    if (memo) this.lifted.set(d, x, out);
    return out;
  }

  private readonly memoConflictsPast = new PairMap();
  private conflictsPast(x: number, past: number): boolean {
    let r = this.memoConflictsPast.get(x, past);
    if (r < 0) this.memoConflictsPast.set(x, past, (r = conflicts(this.sigs[x]!.atoms, this.atomSets.lists[past]!) ? 1 : 0));
    return r === 1;
  }

  private readonly memoPastWith = new PairMap();
  /** Atom set `past` with the accesses of sig x. */
  private pastWith(past: number, x: number): number {
    let r = this.memoPastWith.get(past, x);
    if (r < 0) this.memoPastWith.set(past, x, (r = this.atomSets.id(union(this.atomSets.lists[past]!, this.sigs[x]!.atoms))));
    return r;
  }

  /**
   * Race analysis of descriptor d against the path of `ex` (the state it meets is after event
   * i - 1): calls `race(partner, footprint, initials)` for each race partner, with the initials of
   * notdep(partner, E·π).e' if every event of E after the partner happens after it (else 0: the
   * caller takes the initials from those events).
   */

  footprint(d: number): Footprint {
    return this.fps[this.descs.a[d * DESC + D_FP]!]!;
  }

  /**
   * For a race of the descriptor's e' with a partner of the path E where no event of E after the
   * partner is in notdep(partner, E·π): a thread whose first event in notdep(partner, E·π).e' is
   * its first, so an initial of it, as source-DPOR picks one. Such an event x of π happens before
   * e''s previous event (or is e'), so the partner, which is not ordered before that event's
   * clock, is not ordered before x either. 0 where e' has a dependency in π that does not happen
   * before its previous event: the race analysis, which starts from that clock as the stateless
   * search does, can then report a partner that is ordered before e' through that dependency,
   * and that dependency's first event may be after the partner; the caller takes every thread
   * of fullThreads() then.
   */
  initials(d: number): number {
    return this.descs.a[d * DESC + D_INIT]!;
  }

  /** Threads of every event below the state that happens before the descriptor's (and its own). */
  fullThreads(d: number): number {
    return this.descs.a[d * DESC + D_FULL]!;
  }

  /** A path meets an explored state: clockBefore() results from an earlier path are forgotten. */
  beginMatch(): void {
    this.clocks.clear();
  }

  /**
   * The clock e' would start from after the path of `ex` (its past's threads and accesses); the
   * same for descriptors with the same threads and past, so kept until beginMatch(). Read only.
   */
  clockBefore(ex: Execution, d: number): Int32Array {
    const o = d * DESC;
    const start = this.descs.a[o + D_START]!;
    const got = this.clocks.get(start);
    if (got) return got;
    const cp = new Int32Array(ex.width);
    this.clocks.set(start, cp);
    const n = ex.threads.length;
    for (let m = this.descs.a[o + D_THREADS]!; m; m &= m - 1) {
      const t = 31 - Math.clz32(m & -m);
      if (t < n) joinInto(cp, ex.threadClock(t));
    }
    for (const atom of this.atomSets.lists[this.descs.a[o + D_PAST]!]!) {
      if (atom === CTXW_ATOM) continue; // its (ctx, write) atom is there too
      if (atom === GROUP_ATOM) {
        for (const o of ex.ctxObjects()) joinObject(ex, cp, o, 1);
      } else joinObject(ex, cp, atom >> 2, atom & 3);
    }
    return cp;
  }
}

/** Join into `cp` the clocks of the path's accesses to obj that an access of `kind` would follow. */
function joinObject(ex: Execution, cp: Int32Array, obj: number, kind: number): void {
  const l = ex.accesses.get(obj);
  if (!l) return;
  for (let i = l.length - 1; i >= 0; i--) {
    const a = l[i]!;
    const k = a & 3;
    const e = ex.events[a >> 2]!;
    if (k === 2) {
      joinInto(cp, e.clock);
      return;
    }
    if (accessesConflict(kind, k)) joinInto(cp, e.clock);
  }
}

/**
 * The lift memo's size: 8 M slots (96 MB). Uncapped it reached 384 MB at 600 k spin-l2 states,
 * a third of the search's memory there.
 */
const LIFT_MEMO_SLOTS = 1 << 23;

/**
 * A map from pairs of non-negative int32s to non-negative int32s (open addressing; -1: absent).
 * With `maxSlots`, a cache: when full at that size it is emptied instead of grown.
 */
class PairMap {
  private keysA = new Int32Array(1 << 12).fill(-1);
  private keysB = new Int32Array(1 << 12);
  private vals = new Int32Array(1 << 12);
  private n = 0;

  constructor(private readonly maxSlots = Infinity) {}

  private slot(a: number, b: number, mask: number): number {
    let h = Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca77);
    h ^= h >>> 15;
    return h & mask;
  }

  get(a: number, b: number): number {
    const mask = this.keysA.length - 1;
    for (let i = this.slot(a, b, mask); ; i = (i + 1) & mask) {
      const k = this.keysA[i]!;
      if (k === -1) return -1;
      if (k === a && this.keysB[i] === b) return this.vals[i]!;
    }
  }

  set(a: number, b: number, v: number): void {
    if (2 * (this.n + 1) > this.keysA.length) {
      if (this.keysA.length >= this.maxSlots) {
        this.keysA.fill(-1);
        this.n = 0;
      } else this.grow();
    }
    const mask = this.keysA.length - 1;
    for (let i = this.slot(a, b, mask); ; i = (i + 1) & mask) {
      const k = this.keysA[i]!;
      if (k === -1) {
        this.keysA[i] = a;
        this.keysB[i] = b;
        this.vals[i] = v;
        this.n++;
        return;
      }
      if (k === a && this.keysB[i] === b) {
        this.vals[i] = v;
        return;
      }
    }
  }

  private grow(): void {
    const [ka, kb, vs] = [this.keysA, this.keysB, this.vals];
    const size = ka.length * 2;
    this.keysA = new Int32Array(size).fill(-1);
    this.keysB = new Int32Array(size);
    this.vals = new Int32Array(size);
    this.n = 0;
    for (let i = 0; i < ka.length; i++) if (ka[i] !== -1) this.set(ka[i]!, kb[i]!, vs[i]!);
  }
}
