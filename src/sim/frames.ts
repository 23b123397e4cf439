/**
 * The runtime of the model as the frame compiler (build/frames.ts) emits it: what makes a state
 * of an execution something that can be saved, restored and hashed.
 *
 * Frames. A compiled generator function returns a Frame: its state machine (fn) and its context
 * (ctx: the resume point `n`, the value sent in `v`, and every local and parameter as `$name`).
 * A Frame is also an iterator: next() runs the stack of frames rooted at it (a `yield*` pushes
 * the callee, its return pops it), so a compiled thread body runs where a native generator did.
 * A thread's state is that stack: snapshot() copies each frame's context, restore() writes the
 * copies back, in place (closures made by a frame keep seeing its variables).
 *
 * The undo trail. Every heap write the model makes goes through set()/upd()/inc()/del() or a
 * container mutator (m_push, m_set, ...). While recording (startRecording()), each logs what it
 * overwrites; undo(mark) puts the heap back as it was at mark. Objects marked nolog() (the
 * per-thread Op record, caches of interned values) are written directly. Undoing a Map or Set
 * delete, or an array's splice/sort/pop, restores the whole container, so iteration order is what
 * it was.
 */

// ===== frames =====

let frameVersions = 0;

/** What a frame's state machine returns when it calls another generator (yield*). */
const DELEGATE = { frames: 'delegate' };
/** ... when it returns. */
const RETURN = { frames: 'return' };
/** ... when it jumps (break/continue lowered by regenerator): run it again. */
const CONTINUE = { frames: 'continue' };

export interface FrameCtx {
  n: number;
  v: unknown;
  _child: unknown;
  _ret: unknown;
  [local: `$${string}`]: unknown;
}

type StateMachine = (ctx: FrameCtx) => unknown;

/** A native iterator a compiled frame delegated to (tests' hand-written programs); not restorable. */
interface NativeFrame {
  readonly native: Iterator<unknown, unknown, unknown>;
}

export class Frame implements Iterator<unknown, unknown, unknown> {
  /** The running stack, when this frame is a thread's root (set on the first next()). */
  stack: (Frame | NativeFrame)[] | null = null;
  /** Bumped whenever the thread this frame roots runs or is restored (the fingerprint caches its stack's hash by it). */
  version = 0;
  /** The last snapshot of this root's stack, valid while `version` is `snapVersion` (a thread that did not run is not copied again). */
  snapCache: StackSnap | null = null;
  snapVersion = -1;
  /** Bumped whenever this frame's own code runs (or it is restored): its context may have changed. */
  ver = ++frameVersions;
  /** This frame's hash (hA, hB) as of version hVer (stackHash()). */
  hA = 0;
  hB = 0;
  hVer = -1;
  /** Its last hash met a byValue() object (mixLocal()): rehash it whenever its thread ran. */
  hLocal = false;
  /** A copy of its context as of version snapVer (snapshot()). */
  snapCtx: FrameCtx | null = null;
  snapVer = -1;
  private readonly res: { done: boolean; value: unknown } = { done: false, value: undefined };

  constructor(
    readonly fn: StateMachine,
    readonly ctx: FrameCtx,
    /** The compiled function's id (stable for a build). */
    readonly id: number,
  ) {}

  next(v?: unknown): IteratorResult<unknown, unknown> {
    const st = (this.stack ??= [this]);
    this.version = ++frameVersions;
    const res = this.res;
    let arg = v;
    for (;;) {
      const top = st[st.length - 1];
      if (top === undefined) {
        res.done = true;
        return res;
      }
      if (!(top instanceof Frame)) {
        const r = top.native.next(arg);
        if (!r.done) {
          res.done = false;
          res.value = r.value;
          return res;
        }
        st.pop();
        arg = r.value;
        if (st.length === 0) {
          res.done = true;
          res.value = arg;
          return res;
        }
        continue;
      }
      const ctx = top.ctx;
      ctx.v = arg;
      top.ver = ++frameVersions;
      const r = top.fn(ctx);
      if (r === CONTINUE) {
        arg = ctx.v;
        continue;
      }
      if (r === DELEGATE) {
        const child = ctx._child;
        ctx._child = null;
        st.push(child instanceof Frame ? child : { native: child as Iterator<unknown, unknown, unknown> });
        arg = undefined;
        continue;
      }
      if (r === RETURN) {
        st.pop();
        arg = ctx._ret;
        if (st.length === 0) {
          res.done = true;
          res.value = arg;
          return res;
        }
        continue;
      }
      res.done = false;
      res.value = r;
      return res;
    }
  }

  throw(e?: unknown): IteratorResult<unknown, unknown> {
    this.stack = [];
    throw e;
  }

  return(value?: unknown): IteratorResult<unknown, unknown> {
    this.stack = [];
    return { done: true, value };
  }

  [Symbol.iterator](): this {
    return this;
  }
}

/** A compiled generator function's call: its frame (regenerator's wrap()). */
export function w(fn: StateMachine, ctx: FrameCtx, id: number): Frame {
  return new Frame(fn, ctx, id);
}

/** `yield* child` in a compiled frame: resume at `loc` with the child's return value. */
export function d(ctx: FrameCtx, child: unknown, loc: number): unknown {
  ctx.n = loc;
  ctx._child = child;
  return DELEGATE;
}

/** regenerator's abrupt completion: 2 = return `arg`; 3 = jump to `arg` (break/continue). */
export function a(ctx: FrameCtx, type: number, arg?: unknown): unknown {
  if (type === 2) {
    ctx._ret = arg;
    return RETURN;
  }
  if (type === 3) {
    ctx.n = arg as number;
    return CONTINUE;
  }
  throw new Error(`[gupcheck internal bug] compiled frame completion type ${type} (try/catch is not supported)`);
}

/** A for-of source iterated by index in a frame: the array itself, or a copy of another iterable. */
export function arr<T>(it: Iterable<T>): readonly T[] {
  return Array.isArray(it) ? (it as T[]) : Array.from(it);
}

/** A thread's saved state: its stack and a copy of each frame's context (shared between snapshots while the frame does not run). */
export interface StackSnap {
  readonly frames: readonly Frame[];
  readonly ctxs: readonly FrameCtx[];
  readonly vers: readonly number[];
}

export function snapshot(root: Frame): StackSnap {
  if (root.snapCache !== null && root.snapVersion === root.version) return root.snapCache;
  const st = root.stack ?? [root];
  const frames: Frame[] = [];
  const ctxs: FrameCtx[] = [];
  const vers: number[] = [];
  for (const f of st) {
    if (!(f instanceof Frame)) throw new Error('[gupcheck internal bug] a thread runs native generator code: it cannot be saved (compile it with the frame compiler)');
    if (f.snapVer !== f.ver || VOLATILE.has(f.id)) {
      f.snapCtx = { ...f.ctx };
      f.snapVer = f.ver;
    }
    frames.push(f);
    ctxs.push(f.snapCtx!);
    vers.push(f.ver);
  }
  const snap = { frames, ctxs, vers };
  root.snapCache = snap;
  root.snapVersion = root.version;
  return snap;
}

export function restore(root: Frame, s: StackSnap): void {
  root.stack = s.frames.slice();
  root.version = ++frameVersions;
  for (let i = 0; i < s.frames.length; i++) {
    const f = s.frames[i]!;
    // A frame that has not run since the snapshot still holds that context.
    if (f.ver === s.vers[i] && !VOLATILE.has(f.id)) continue;
    Object.assign(f.ctx, s.ctxs[i]);
    f.ver = s.vers[i]!;
  }
  // The stack is now exactly s.
  root.snapCache = s;
  root.snapVersion = root.version;
}

// ----- what a frame needs at each point it can be suspended (build/frames.ts pass 4) -----

/** Compiled function id -> resume point -> its live locals (names without `$`, space-separated). */
const LIVE = new Map<number, Record<number, string>>();
/** Compiled functions whose locals a nested function writes: their contexts change without running. */
const VOLATILE = new Set<number>();

/** Registered by the compiled code: the live locals of function `id` at each resume point. */
export function live(id: number, table: Record<number, string>): void {
  LIVE.set(id, table);
}

export function volatile(id: number): void {
  VOLATILE.add(id);
}

interface FnLayout {
  /** The context's locals (`$name`) and their hashes, in its key order. */
  readonly keys: readonly string[];
  readonly hashes: readonly number[];
  /** Resume point -> indices into keys of the live locals (absent: every local). */
  readonly live: Map<number, readonly number[]>;
}

const layouts: (FnLayout | undefined)[] = [];

function layoutOf(f: Frame): FnLayout {
  let l = layouts[f.id];
  if (l === undefined) {
    const keys = Object.keys(f.ctx).filter((k) => k.startsWith('$'));
    const table = LIVE.get(f.id);
    const live = new Map<number, readonly number[]>();
    if (table && !VOLATILE.has(f.id))
      for (const [n, names] of Object.entries(table)) {
        const want = new Set(names ? names.split(' ').map((x) => `$${x}`) : []);
        live.set(Number(n), keys.flatMap((k, i) => (want.has(k) ? [i] : [])));
      }
    l = { keys, hashes: keys.map(hashString), live };
    layouts[f.id] = l;
  }
  return l;
}

/** Indices (into layoutOf(f).keys) of the locals frame f needs where it is suspended now. */
function liveNow(f: Frame, l: FnLayout): readonly number[] | undefined {
  return l.live.get(f.ctx.n);
}

// ===== the write barrier and the undo trail =====

/** Objects whose writes are not logged. */
export const NOLOG: unique symbol = Symbol('gupcheck.nolog');
/** Marks a thread's pending op (sim/op.ts Op): not logged, but part of the state's canonical dump. */
export const PENDING_OP: unique symbol = Symbol('gupcheck.pendingOp');

/** Mark an object as not logged (its state is saved another way, or it is a cache of interned values). */
export function nolog<T extends object>(o: T): T {
  (o as { [NOLOG]?: boolean })[NOLOG] = true;
  return o;
}

/**
 * Mark a structure that never changes during an execution (a revision's function table, the
 * scenario as parsed, the filesystem table): not logged, and not part of a state's fingerprint.
 * Plain objects, arrays and Maps are marked deeply; functions are left alone.
 */
export function constant<T>(o: T, seen = new Set<object>()): T {
  if (o === null || typeof o !== 'object' || seen.has(o)) return o;
  seen.add(o);
  nolog(o);
  if (Array.isArray(o)) for (const x of o) constant(x, seen);
  else if (o instanceof Map) for (const x of o.values()) constant(x, seen);
  else for (const k of Object.keys(o)) constant((o as Record<string, unknown>)[k], seen);
  return o;
}

const enum Tag {
  Prop, // (obj, key, old)
  PropAbsent, // (obj, key): delete on undo
  ArraySnap, // (arr, copy)
  MapNew, // (map, key): delete on undo
  MapOld, // (map, key, old)
  MapSnap, // (map, entries)
  SetNew, // (set, key)
  SetSnap, // (set, values)
  PathCount, // (pathCounts, path, old count)
}

let recording = false;
const tags: Tag[] = [];
const objs: object[] = [];
const keys: unknown[] = [];
const olds: unknown[] = [];

/** Start logging writes (the stateful explorer); stopRecording() stops and forgets the trail. */
export function startRecording(): void {
  recording = true;
  tags.length = objs.length = keys.length = olds.length = 0;
  resetHashes();
}

export function stopRecording(): void {
  recording = false;
  tags.length = objs.length = keys.length = olds.length = 0;
}

export function isRecording(): boolean {
  return recording;
}

/** The trail's position now. */
export function mark(): number {
  return tags.length;
}

function log(tag: Tag, o: object, k: unknown, old: unknown): void {
  if ((o as { [SID_A]?: number })[SID_A] !== undefined) markDirty(o);
  else {
    // A byValue() object: the objects whose terms include its contents changed with it, and so
    // did the stacks of the threads whose locals refer to it (their cached hashes are dropped).
    const hs = (o as { [HOLDERS]?: Set<object> })[HOLDERS];
    if (hs !== undefined)
      for (const h of hs) {
        if (h instanceof Frame) h.version = ++frameVersions;
        else if ((h as { [SID_A]?: number })[SID_A] !== undefined) markDirty(h);
      }
  }
  rawLog(tag, o, k, old);
}

function markDirty(o: object): void {
  if ((o as { [DIRTY]?: boolean })[DIRTY] === true) return;
  (o as { [DIRTY]?: boolean })[DIRTY] = true;
  dirty.push(o);
}

/** Log without marking the object changed (the fingerprint's own bookkeeping). */
function rawLog(tag: Tag, o: object, k: unknown, old: unknown): void {
  tags.push(tag);
  objs.push(o);
  keys.push(k);
  olds.push(old);
}

const skip = (o: object): boolean => !recording || (o as { [NOLOG]?: boolean })[NOLOG] === true;

/** Undo every write logged since `to` (a mark taken where the fingerprint was up to date). */
export function undo(to: number): void {
  for (const o of dirty) (o as { [DIRTY]?: boolean })[DIRTY] = false;
  dirty.length = 0;
  for (let i = tags.length - 1; i >= to; i--) {
    const o = objs[i]!;
    const k = keys[i];
    switch (tags[i]!) {
      case Tag.Prop:
        (o as Record<PropertyKey, unknown>)[k as PropertyKey] = olds[i];
        break;
      case Tag.PropAbsent:
        delete (o as Record<PropertyKey, unknown>)[k as PropertyKey];
        dropShape(o);
        break;
      case Tag.ArraySnap: {
        const a = o as unknown[];
        const copy = olds[i] as unknown[];
        a.length = 0;
        for (const x of copy) a.push(x);
        break;
      }
      case Tag.MapNew:
        (o as Map<unknown, unknown>).delete(k);
        break;
      case Tag.MapOld:
        (o as Map<unknown, unknown>).set(k, olds[i]);
        break;
      case Tag.MapSnap: {
        const m = o as Map<unknown, unknown>;
        m.clear();
        for (const [x, y] of olds[i] as [unknown, unknown][]) m.set(x, y);
        break;
      }
      case Tag.SetNew:
        (o as Set<unknown>).delete(k);
        break;
      case Tag.SetSnap: {
        const s = o as Set<unknown>;
        s.clear();
        for (const x of olds[i] as unknown[]) s.add(x);
        break;
      }
      case Tag.PathCount:
        if (olds[i] === undefined) pathCounts.delete(k as number);
        else pathCounts.set(k as number, olds[i] as number);
        break;
    }
  }
  tags.length = objs.length = keys.length = olds.length = to;
}

function logProp(o: object, k: PropertyKey): void {
  const r = o as Record<PropertyKey, unknown>;
  if (Array.isArray(o)) {
    if (k === 'length') {
      log(Tag.ArraySnap, o, undefined, o.slice());
      return;
    }
    // A write past the end grows the array: undo shrinks it back (deleting would leave holes).
    if (typeof k === 'number' ? k >= o.length : Number(k) >= o.length) {
      log(Tag.Prop, o, 'length', o.length);
      return;
    }
  }
  if (r[k] === undefined && !(k in r)) {
    log(Tag.PropAbsent, o, k, undefined);
    dropShape(o);
  } else log(Tag.Prop, o, k, r[k]);
}

/** obj[key] = v */
export function set<T>(o: object, k: PropertyKey, v: T): T {
  if (!skip(o)) logProp(o, k);
  (o as Record<PropertyKey, unknown>)[k] = v;
  return v;
}

/** obj[key] op= v (op: build/frames.ts COMPOUND). */
export function upd(o: object, k: PropertyKey, op: number, v: unknown): unknown {
  const r = o as Record<PropertyKey, unknown>;
  const x = r[k] as never;
  const y = v as never;
  let nv: unknown;
  switch (op) {
    case 1:
      nv = (x as number) + (y as number);
      break;
    case 2:
      nv = x - y;
      break;
    case 3:
      nv = x | y;
      break;
    case 4:
      nv = x & y;
      break;
    case 5:
      nv = x * y;
      break;
    case 6:
      if (x !== null && x !== undefined) return x;
      nv = v;
      break;
    case 7:
      if (x) return x;
      nv = v;
      break;
    case 8:
      if (!x) return x;
      nv = v;
      break;
    case 9:
      nv = x ^ y;
      break;
    case 10:
      nv = x << y;
      break;
    case 11:
      nv = x >> y;
      break;
    case 12:
      nv = x >>> y;
      break;
    default:
      throw new Error(`[gupcheck internal bug] compound assignment ${op}`);
  }
  return set(o, k, nv);
}

/** obj[key]++ / -- (prefix or postfix). */
export function inc(o: object, k: PropertyKey, delta: number, prefix: boolean): number {
  const old = (o as Record<PropertyKey, number>)[k]!;
  set(o, k, old + delta);
  return prefix ? old + delta : old;
}

/** delete obj[key] */
export function del(o: object, k: PropertyKey): boolean {
  if (!skip(o) && k in o) log(Tag.Prop, o, k, (o as Record<PropertyKey, unknown>)[k]);
  return delete (o as Record<PropertyKey, unknown>)[k];
}

// ----- container mutators (anything else with a method of that name is called as it is) -----

/** Call method `m` of `o` as the source did (`o.m(...xs)`). */
function call(o: object, m: string, xs: readonly unknown[]): unknown {
  return (o as Record<string, (...a: readonly unknown[]) => unknown>)[m]!(...xs);
}

function arraySnap(o: object): void {
  if (Array.isArray(o) && !skip(o)) log(Tag.ArraySnap, o, undefined, o.slice());
}

export function m_push(o: object, ...xs: unknown[]): unknown {
  if (Array.isArray(o) && !skip(o)) log(Tag.Prop, o, 'length', o.length);
  return call(o, 'push', xs);
}
export function m_pop(o: object): unknown {
  arraySnap(o);
  return call(o, 'pop', []);
}
export function m_shift(o: object): unknown {
  arraySnap(o);
  return call(o, 'shift', []);
}
export function m_unshift(o: object, ...xs: unknown[]): unknown {
  arraySnap(o);
  return call(o, 'unshift', xs);
}
export function m_splice(o: object, ...xs: unknown[]): unknown {
  arraySnap(o);
  return call(o, 'splice', xs);
}
export function m_sort(o: object, ...xs: unknown[]): unknown {
  arraySnap(o);
  return call(o, 'sort', xs);
}
export function m_reverse(o: object): unknown {
  arraySnap(o);
  return call(o, 'reverse', []);
}
export function m_fill(o: object, ...xs: unknown[]): unknown {
  arraySnap(o);
  return call(o, 'fill', xs);
}

export function m_set(o: object, k: unknown, v: unknown): unknown {
  if (o instanceof Map && !skip(o)) {
    if (o.has(k)) log(Tag.MapOld, o, k, o.get(k));
    else log(Tag.MapNew, o, k, undefined);
  }
  return call(o, 'set', [k, v]);
}

export function m_delete(o: object, k: unknown): unknown {
  if (!skip(o)) {
    if (o instanceof Map && o.has(k)) log(Tag.MapSnap, o, undefined, [...(o as Map<unknown, unknown>)]);
    else if (o instanceof Set && o.has(k)) log(Tag.SetSnap, o, undefined, [...(o as Set<unknown>)]);
  }
  return call(o, 'delete', [k]);
}

export function m_clear(o: object): unknown {
  if (!skip(o)) {
    if (o instanceof Map) log(Tag.MapSnap, o, undefined, [...(o as Map<unknown, unknown>)]);
    else if (o instanceof Set) log(Tag.SetSnap, o, undefined, [...(o as Set<unknown>)]);
  }
  return call(o, 'clear', []);
}

export function m_add(o: object, k: unknown): unknown {
  if (o instanceof Set && !skip(o) && !o.has(k)) log(Tag.SetNew, o, k, undefined);
  return call(o, 'add', [k]);
}

// ===== fingerprints =====

/** Keys an object's prototype lists here are not part of the state (path facts: step indices, trace hooks). */
export const NOT_STATE: unique symbol = Symbol('gupcheck.notState');

/** Mark keys of a class's instances as not part of the state (call on the prototype). */
export function notState(proto: object, ...keys: string[]): void {
  (proto as { [NOT_STATE]?: ReadonlySet<string> })[NOT_STATE] = new Set([...((proto as { [NOT_STATE]?: ReadonlySet<string> })[NOT_STATE] ?? []), ...keys]);
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const strHash = new Map<string, number>();
function hashString(s: string): number {
  let h = strHash.get(s);
  if (h === undefined) {
    h = 0x811c9dc5;
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
    h = fmix(h);
    if (strHash.size < 1 << 16) strHash.set(s, h);
  }
  return h;
}

const BY_VALUE: unique symbol = Symbol('gupcheck.byValue');
/**
 * A byValue() object's holders: the registered objects whose terms mixed its contents, and the
 * threads (their root frames) whose stack hashes did (a superset: extra ones are only rehashed).
 */
const HOLDERS: unique symbol = Symbol('gupcheck.holders');

/**
 * Mark an object to be fingerprinted by its contents wherever it is referred to, never as an
 * object of its own: two states where it has the same contents match whichever interleaving made
 * it, and it leaves no term behind once dropped. For small records of gupcheck's own books that
 * a list holds while they are live (kernel/gup.ts watch()). A write to it marks its holders
 * changed. The canonical dump takes it by contents too, so the test mode cannot check the
 * contract, which its user argues: nothing may tell two of them with equal contents apart by
 * identity (equal ones stay equal, and a live reference to one is held only while its list holds
 * it).
 */
export function byValue<T extends object>(o: T): T {
  Object.defineProperty(o, BY_VALUE, { value: true, enumerable: false });
  Object.defineProperty(o, HOLDERS, { value: new Set<object>(), enumerable: false });
  return o;
}

const MARK: unique symbol = Symbol('gupcheck.walk');
const SHAPE: unique symbol = Symbol('gupcheck.shape');
let walkEpoch = 0;

interface Shape {
  readonly keys: readonly string[];
  readonly hashes: readonly number[];
  readonly name: number;
}

/**
 * An object's own enumerable keys with their hashes, cached on it. The barrier drops the cache when
 * a write adds a key (logProp) or its undo removes one.
 */
function shapeOf(o: object): Shape {
  const c = (o as { [SHAPE]?: Shape })[SHAPE];
  if (c !== undefined) return c;
  const skip = (o as { [NOT_STATE]?: ReadonlySet<string> })[NOT_STATE];
  const keys = Object.keys(o).filter((k) => !skip?.has(k));
  const sh: Shape = { keys, hashes: keys.map(hashString), name: hashString(o.constructor?.name ?? '') };
  Object.defineProperty(o, SHAPE, { value: sh, writable: true, configurable: true, enumerable: false });
  return sh;
}

function dropShape(o: object): void {
  if ((o as { [SHAPE]?: Shape })[SHAPE] !== undefined) (o as { [SHAPE]?: Shape | undefined })[SHAPE] = undefined;
}

/**
 * A 64-bit fingerprint (two 32-bit halves) of everything reachable from `root`: each object's
 * own enumerable fields in order (Maps and Sets in their iteration order, which the model's
 * behaviour may depend on), objects by the order the walk first meets them (so equal states built
 * in a different order hash equal), functions, nolog() and constant() objects as constants. `dump`
 * = true also returns the canonical text the hash is of (for the collision check in tests).
 */
export function fingerprint(root: object, dump = false): { hi: number; lo: number; text: string } {
  let a = 0x9747b28c;
  let b = 0x3c6ef372;
  const epoch = ++walkEpoch;
  const queue: object[] = [];
  const out: string[] | null = dump ? [] : null;
  const word = (x: number) => {
    a = Math.imul(a ^ x, 0x01000193) + 0x7ed55d16;
    b = Math.imul(b ^ (x + 0x165667b1), 0x27d4eb2d) ^ (b >>> 15);
  };
  const value = (v: unknown): void => {
    switch (typeof v) {
      case 'number':
        if ((v | 0) === v) {
          word(1);
          word(v);
        } else if (Number.isSafeInteger(v)) {
          word(12);
          word(v % 0x100000000 | 0);
          word(Math.floor(v / 0x100000000) | 0);
        } else {
          word(2);
          word(hashString(String(v)));
        }
        if (out) out.push(String(v));
        return;
      case 'string':
        word(3);
        word(hashString(v));
        if (out) out.push(JSON.stringify(v));
        return;
      case 'boolean':
        word(v ? 4 : 5);
        if (out) out.push(String(v));
        return;
      case 'undefined':
        word(6);
        if (out) out.push('u');
        return;
      case 'object': {
        if (v === null) {
          word(9);
          if (out) out.push('null');
          return;
        }
        if ((v as { [NOLOG]?: boolean })[NOLOG] === true) {
          word(10);
          if ((v as { [PENDING_OP]?: boolean })[PENDING_OP] === true) {
            // A thread's pending op: what stackHash() takes of it.
            const op = v as unknown as PendingOp;
            for (const x of [op.site.id, op.obj, op.obj2, op.acc, op.group, op.release ? 1 : 0, op.counter, op.choices]) word(x);
            if (out) out.push(`op(${op.site.id} ${op.obj} ${op.obj2} ${op.acc} ${op.group} ${op.release} ${op.counter} ${op.choices} wait=`);
            value(op.wait);
            if (out) out.push(')');
            return;
          }
          if (out) out.push('nolog');
          return;
        }
        if ((v as { [BY_VALUE]?: boolean })[BY_VALUE] === true) {
          // By its contents, as the incremental fingerprint takes it (byValue()).
          word(18);
          if (out) out.push('value(');
          if (Array.isArray(v)) for (const x of v) value(x);
          else {
            const sh = shapeOf(v);
            for (let i = 0; i < sh.keys.length; i++) {
              word(sh.hashes[i]!);
              if (out) out.push(` ${sh.keys[i]}=`);
              value((v as Record<string, unknown>)[sh.keys[i]!]);
            }
          }
          if (out) out.push(')');
          return;
        }
        const m = (v as { [MARK]?: number })[MARK];
        let id: number;
        if (m !== undefined && m >= epoch * 0x10000 && m < (epoch + 1) * 0x10000) id = m - epoch * 0x10000;
        else {
          id = queue.length;
          (v as { [MARK]?: number })[MARK] = epoch * 0x10000 + id;
          queue.push(v);
        }
        word(11);
        word(id);
        if (out) out.push(`#${id}`);
        return;
      }
      default:
        word(8);
        if (out) out.push('f');
    }
  };
  value(root);
  for (let q = 0; q < queue.length; q++) {
    const o = queue[q]!;
    if (out) out.push(`\n#${q} `);
    if (Array.isArray(o)) {
      word(20);
      word(o.length);
      if (out) out.push('[');
      for (let i = 0; i < o.length; i++) value(o[i]);
    } else if (o instanceof Map) {
      word(21);
      word(o.size);
      if (out) out.push('Map');
      for (const [k, v] of o) {
        value(k);
        value(v);
      }
    } else if (o instanceof Set) {
      word(22);
      word(o.size);
      if (out) out.push('Set');
      for (const v of o) value(v);
    } else if (o instanceof Frame) {
      // As stackHash() sees it: the function, where it is suspended, the live locals, the stack.
      word(23);
      word(o.id);
      word(o.ctx.n);
      if (out) out.push(`Frame ${o.id}@${o.ctx.n}`);
      const l = layoutOf(o);
      const idx = liveNow(o, l);
      const n = idx ? idx.length : l.keys.length;
      for (let j = 0; j < n; j++) {
        const i = idx ? idx[j]! : j;
        word(l.hashes[i]!);
        if (out) out.push(` ${l.keys[i]}=`);
        value((o.ctx as unknown as Record<string, unknown>)[l.keys[i]!]);
      }
      if (out) out.push(' stack=');
      value(o.stack);
    } else {
      const sh = shapeOf(o);
      word(sh.name);
      if (out) out.push(o.constructor?.name ?? '');
      const keys = sh.keys;
      for (let i = 0; i < keys.length; i++) {
        word(sh.hashes[i]!);
        if (out) out.push(` ${keys[i]}=`);
        value((o as Record<string, unknown>)[keys[i]!]);
      }
    }
  }
  return { hi: fmix(a) >>> 0, lo: fmix(b ^ a) >>> 0, text: out ? out.join('') : '' };
}

// A frame's iterator result is read at once by whoever resumed it: not state.
notState(Frame.prototype, 'res', 'version', 'snapCache', 'snapVersion');

// ===== incremental fingerprints =====
//
// The stateful explorer fingerprints every state, so the full walk above (hundreds of µs) is kept
// for tests, and this is what it uses: a sum over every registered object of a hash of its
// contents (its stable id, its fields, the objects it refers to by their ids), kept up to date by
// the write barrier (a write marks its object dirty; the next fingerprint rehashes the dirty
// objects), plus each thread's frames, rehashed when the thread ran. Every change is logged on the
// undo trail, so a rewind restores the sums with the heap.
//
// Ids. An object's id is the path it was first reached by (its referrer's id and the field, index
// or key), and how many objects were registered at that path before: the same on every
// interleaving that reaches the state the same way, and never shared by two objects. Objects that
// became garbage keep their terms (two states that differ only in garbage are kept apart: sound,
// only fewer matches).

const SID_A: unique symbol = Symbol('gupcheck.sidA');
const SID_B: unique symbol = Symbol('gupcheck.sidB');
const CA: unique symbol = Symbol('gupcheck.contribA');
const CB: unique symbol = Symbol('gupcheck.contribB');
const DIRTY: unique symbol = Symbol('gupcheck.dirty');
const FRAME_HASH: unique symbol = Symbol('gupcheck.frameHash');

type Reg = { [SID_A]?: number; [SID_B]?: number; [CA]?: number; [CB]?: number; [DIRTY]?: boolean };

const dirty: object[] = [];
const pathCounts = new Map<number, number>();
let sumA = 0;
let sumB = 0;

function resetHashes(): void {
  for (const o of dirty) (o as Reg)[DIRTY] = false;
  dirty.length = 0;
  pathCounts.clear();
  sumA = sumB = 0;
}

/** The sums at this point (a checkpoint keeps them). */
export function hashSums(): readonly [number, number] {
  return [sumA, sumB];
}

export function setHashSums(s: readonly [number, number]): void {
  sumA = s[0];
  sumB = s[1];
}

function setHidden(o: object, k: symbol, v: unknown): void {
  if (recording) {
    const r = o as Record<symbol, unknown>;
    if (r[k] === undefined && !(k in r)) rawLog(Tag.PropAbsent, o, k, undefined);
    else rawLog(Tag.Prop, o, k, r[k]);
  }
  (o as Record<symbol, unknown>)[k] = v;
}

const pending: object[] = [];
let probing = false;

function register(o: object, pa: number, pb: number): void {
  const n = pathCounts.get(pa);
  if (recording) rawLog(Tag.PathCount, pathCounts, pa, n);
  pathCounts.set(pa, (n ?? 0) + 1);
  const c = n ?? 0;
  setHidden(o, SID_A, fmix(pa ^ Math.imul(c + 1, 0x9e3779b1)));
  setHidden(o, SID_B, fmix(pb + Math.imul(c + 1, 0x85ebca77)));
  pending.push(o);
}

/** Mix a value into the lanes (objects by id, registering new ones at `path`). */
let la = 0;
let lb = 0;
function mixWord(x: number): void {
  la = Math.imul(la ^ x, 0x01000193) + 0x7ed55d16;
  lb = Math.imul(lb ^ (x + 0x165667b1), 0x27d4eb2d) ^ (lb >>> 15);
}

function mixValue(v: unknown, pa: number, pb: number): void {
  switch (typeof v) {
    case 'number':
      if ((v | 0) === v) {
        mixWord(1);
        mixWord(v);
      } else if (Number.isSafeInteger(v)) {
        mixWord(12);
        mixWord(v % 0x100000000 | 0);
        mixWord(Math.floor(v / 0x100000000) | 0);
      } else {
        mixWord(2);
        mixWord(hashString(String(v)));
      }
      return;
    case 'string':
      mixWord(3);
      mixWord(hashString(v));
      return;
    case 'boolean':
      mixWord(v ? 4 : 5);
      return;
    case 'undefined':
      mixWord(6);
      return;
    case 'object': {
      if (v === null) return mixWord(9);
      if ((v as { [NOLOG]?: boolean })[NOLOG] === true) return mixWord(10);
      if (v instanceof Frame) return mixWord(13); // a thread's frames are hashed with the thread
      if ((v as { [BY_VALUE]?: boolean })[BY_VALUE] === true) {
        if (holder !== null) (v as { [HOLDERS]?: Set<object> })[HOLDERS]!.add(holder);
        mixWord(18);
        mixContents(v, pa, pb);
        return;
      }
      let a = (v as Reg)[SID_A];
      if (a === undefined) {
        if (probing) {
          // staleTerms(): an object not yet registered would be registered at this path
          mixWord(15);
          mixWord(pa);
          return;
        }
        register(v, pa, pb);
        a = (v as Reg)[SID_A]!;
      }
      mixWord(11);
      mixWord(a);
      mixWord((v as Reg)[SID_B]!);
      return;
    }
    default:
      mixWord(8);
  }
}

const slot = (sa: number, k: number) => fmix(sa ^ Math.imul(k, 0x2c1b3c6d));

/** The registered object being rehashed (a byValue() object met is recorded as held by it). */
let holder: object | null = null;

/** Rehash one registered object's contents; update the sums. */
function rehash(o: object): void {
  holder = o;
  const sa = (o as Reg)[SID_A]!;
  const sb = (o as Reg)[SID_B]!;
  la = sa;
  lb = sb;
  mixContents(o, sa, sb);
  const na = fmix(la);
  const nb = fmix(lb ^ la);
  const oa = (o as Reg)[CA] ?? 0;
  const ob = (o as Reg)[CB] ?? 0;
  sumA = (sumA - oa + na) | 0;
  sumB = (sumB - ob + nb) | 0;
  setHidden(o, CA, na);
  setHidden(o, CB, nb);
  holder = null;
}

/** What a thread is about to do, as the fingerprint sees it (sim/op.ts Op; nolog, saved with the thread). */
interface PendingOp {
  readonly obj: number;
  readonly acc: number;
  readonly obj2: number;
  readonly group: number;
  readonly choices: number;
  readonly release: boolean;
  readonly counter: number;
  readonly site: { readonly id: number };
  readonly wait: object | null;
}

/**
 * The pending op's part of a thread's hash: what it accesses and waits for. The frames alone do
 * not always say it: the locals an op was announced from may be dead once it is yielded.
 */
function mixOp(op: PendingOp, ta: number, tb: number): void {
  mixWord(op.site.id);
  mixWord(op.obj);
  mixWord(op.obj2);
  mixWord(op.acc | (op.group << 4) | (op.release ? 1 << 8 : 0) | (op.counter << 9));
  mixWord(op.choices);
  mixValue(op.wait, slot(ta, 0x57a17), slot(tb, 0x57a17));
}

/** The hash of a thread's frames and pending op (cached on its root frame by version; each frame's own part cached by its version). */
function stackHash(root: Frame, ta: number, tb: number, op: PendingOp | undefined): readonly [number, number, number] {
  const c = (root as unknown as { [FRAME_HASH]?: readonly [number, number, number] })[FRAME_HASH];
  if (c !== undefined && c[2] === root.version) return c;
  const st = root.stack ?? [root];
  localIds.clear();
  hashingRoot = root;
  let a = ta ^ 0x3c6ef372;
  let b = tb ^ 0xa54ff53a;
  for (let d = 0; d < st.length; d++) {
    const f = st[d]!;
    if (!(f instanceof Frame)) {
      a = Math.imul(a ^ 14, 0x01000193);
      continue;
    }
    if (f.hVer !== f.ver || f.hLocal || VOLATILE.has(f.id)) frameHash(f, d, ta, tb);
    a = Math.imul(a ^ f.hA, 0x01000193) + 0x7ed55d16;
    b = Math.imul(b ^ (f.hB + 0x165667b1), 0x27d4eb2d) ^ (b >>> 15);
  }
  if (op) {
    la = a;
    lb = b;
    mixOp(op, ta, tb);
    a = la;
    b = lb;
  }
  const h = [fmix(a), fmix(b ^ a), root.version] as const;
  Object.defineProperty(root, FRAME_HASH, { value: h, writable: true, configurable: true, enumerable: false });
  return h;
}

// byValue() objects (see there) are mixed by their contents where they are referred to. In a
// thread's stack they are numbered by first meeting, so two locals referring to one count; the
// frames that met one are rehashed whenever their thread's stack is (hLocal), which a write to
// the object forces (log()): a stack hash with an old `seen` would let two states match whose
// watchers are the same list swapped between two CPUs.

const localIds = new Map<object, number>();
let metLocal = false;
/** The root frame of the thread whose stack is being hashed. */
let hashingRoot: Frame | null = null;

/** A frame local's value. */
function mixLocal(v: unknown, pa: number, pb: number): void {
  if (typeof v !== 'object' || v === null || (v as { [BY_VALUE]?: boolean })[BY_VALUE] !== true) {
    mixValue(v, pa, pb);
    return;
  }
  metLocal = true;
  (v as { [HOLDERS]?: Set<object> })[HOLDERS]!.add(hashingRoot!);
  const seen = localIds.get(v);
  if (seen !== undefined) {
    mixWord(16);
    mixWord(seen);
    return;
  }
  localIds.set(v, localIds.size);
  mixWord(17);
  mixContents(v, pa, pb);
}

/** An object's contents (its fields, elements or entries), objects in them registered at paths under (sa, sb). */
function mixContents(o: object, sa: number, sb: number): void {
  if (Array.isArray(o)) {
    mixWord(20);
    mixWord(o.length);
    for (let i = 0; i < o.length; i++) mixValue(o[i], slot(sa, i + 1), slot(sb, i + 1));
  } else if (o instanceof Map) {
    mixWord(21);
    mixWord(o.size);
    let i = 0;
    for (const [k, v] of o) {
      i++;
      mixValue(k, slot(sa, 0x10000 + i), slot(sb, 0x10000 + i));
      const kh = typeof k === 'object' && k !== null ? ((k as Reg)[SID_A] ?? i) : typeof k === 'string' ? hashString(k) : typeof k === 'number' ? k | 0 : i;
      mixValue(v, slot(sa, kh), slot(sb, kh + 1));
    }
  } else if (o instanceof Set) {
    mixWord(22);
    mixWord(o.size);
    let i = 0;
    for (const v of o) {
      i++;
      mixValue(v, slot(sa, i), slot(sb, i));
    }
  } else {
    const sh = shapeOf(o);
    mixWord(sh.name);
    const keys = sh.keys;
    for (let i = 0; i < keys.length; i++) {
      const kh = sh.hashes[i]!;
      mixWord(kh);
      mixValue((o as Record<string, unknown>)[keys[i]!], slot(sa, kh), slot(sb, kh ^ 0x5bd1e995));
    }
  }
}

/**
 * One frame's part: its function, where it is suspended and the locals live there (dead ones
 * cannot change what the thread does). Objects first reached from a local are registered at a
 * path made of the thread, the frame's depth and the local.
 */
function frameHash(f: Frame, d: number, ta: number, tb: number): void {
  const l = layoutOf(f);
  const ctx = f.ctx as unknown as Record<string, unknown>;
  la = Math.imul(f.id, 0x9e3779b1) ^ d;
  lb = f.id + Math.imul(d, 0x85ebca77);
  mixWord(f.ctx.n);
  metLocal = false;
  const idx = liveNow(f, l);
  const n = idx ? idx.length : l.keys.length;
  for (let j = 0; j < n; j++) {
    const i = idx ? idx[j]! : j;
    const kh = l.hashes[i]!;
    mixWord(kh);
    mixLocal(ctx[l.keys[i]!], slot(ta, kh + d * 0x1000193), slot(tb, kh ^ d));
  }
  f.hLocal = metLocal;
  f.hA = fmix(la);
  f.hB = fmix(lb ^ la);
  f.hVer = f.ver;
}

/**
 * The incremental fingerprint of the state reachable from `root` (a World): the registered
 * objects' sum after rehashing what changed, and the threads' frames. Only while recording.
 */
export function fingerprintIncremental(root: object, threads: readonly { readonly gen: unknown; readonly id: number; readonly op?: PendingOp }[]): { hi: number; lo: number } {
  if ((root as Reg)[SID_A] === undefined) register(root, 0x12345, 0x6789);
  for (const o of dirty) {
    (o as Reg)[DIRTY] = false;
    pending.push(o);
  }
  dirty.length = 0;
  drainPending();
  let fa = 0;
  let fb = 0;
  for (const t of threads) {
    const g = t.gen;
    const ta = (t as Reg)[SID_A] ?? t.id + 1;
    const tb = (t as Reg)[SID_B] ?? t.id + 7;
    let ha: number;
    let hb: number;
    if (g instanceof Frame) [ha, hb] = stackHash(g, ta, tb, t.op);
    else if (t.op) {
      // A finished thread: its last op is still in its record (and in the canonical dump).
      la = ta;
      lb = tb;
      mixOp(t.op, ta, tb);
      ha = fmix(la);
      hb = fmix(lb ^ la);
    } else continue;
    fa = (fa + ha) | 0;
    fb = (fb + hb) | 0;
  }
  drainPending(); // objects first reached from a frame's locals
  return { hi: fmix(sumA ^ fmix(fa)) >>> 0, lo: fmix(sumB + fb + 0x1b873593) >>> 0 };
}

function drainPending(): void {
  while (pending.length) {
    const o = pending.pop()!;
    rehash(o);
    // rehash() may register more objects (pushed on pending); a dirty one registered since is rehashed once more (harmless)
    if ((o as Reg)[DIRTY] === true) (o as Reg)[DIRTY] = false;
  }
}

/**
 * Test mode: objects reachable from `root` whose stored term no longer matches their contents
 * (a write the barrier did not see). Registers nothing.
 */
export function staleTerms(root: object): string[] {
  const out: string[] = [];
  const seen = new Set<object>();
  const parent = new Map<object, string>();
  const stack: unknown[] = [root];
  while (stack.length) {
    const o = stack.pop();
    if (o === null || typeof o !== 'object' || seen.has(o) || (o as { [NOLOG]?: boolean })[NOLOG] === true) continue;
    seen.add(o);
    if (!Array.isArray(o) && !(o instanceof Map) && !(o instanceof Set))
      for (const k of Object.keys(o)) {
        const c = (o as Record<string, unknown>)[k];
        if (c && typeof c === 'object' && !parent.has(c)) parent.set(c, `${o.constructor?.name}.${k}${'tpfn' in o ? `(tpfn ${String((o as { tpfn: number }).tpfn)})` : ''}`);
      }
    const children: readonly unknown[] = Array.isArray(o) ? (o as unknown[]) : o instanceof Map ? [...o.keys(), ...o.values()] : o instanceof Set ? [...o] : Object.keys(o).map((k) => (o as Record<string, unknown>)[k]);
    if (o instanceof Frame) {
      stack.push(o.ctx, ...(o.stack ?? []));
      continue;
    }
    stack.push(...children);
    if ((o as Reg)[SID_A] === undefined || (o as Reg)[DIRTY] === true) continue;
    const ca = (o as Reg)[CA];
    const cb = (o as Reg)[CB];
    const [sa, sb, sp] = [sumA, sumB, pending.length];
    const wasRec = recording;
    recording = false;
    probing = true;
    rehash(o);
    probing = false;
    const na = (o as Reg)[CA];
    (o as Reg)[CA] = ca;
    (o as Reg)[CB] = cb;
    recording = wasRec;
    sumA = sa;
    sumB = sb;
    pending.length = sp;
    if (na !== ca) out.push(`${o.constructor?.name ?? '?'} ${Array.isArray(o) ? `[${o.length}]` : Object.keys(o).slice(0, 6).join(',')} at ${parent.get(o) ?? '?'}${Array.isArray(o) ? ` holding ${o.filter((x) => x !== undefined).length}` : ''}`);
  }
  return out;
}
