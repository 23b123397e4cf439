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
  private readonly res: { done: boolean; value: unknown } = { done: false, value: undefined };

  constructor(
    readonly fn: StateMachine,
    readonly ctx: FrameCtx,
    /** The compiled function's id (stable for a build). */
    readonly id: number,
  ) {}

  next(v?: unknown): IteratorResult<unknown, unknown> {
    const st = (this.stack ??= [this]);
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

/** A thread's saved state: its stack and a copy of each frame's context. */
export interface StackSnap {
  readonly frames: readonly Frame[];
  readonly ctxs: readonly FrameCtx[];
}

export function snapshot(root: Frame): StackSnap {
  const st = root.stack ?? [root];
  const frames: Frame[] = [];
  const ctxs: FrameCtx[] = [];
  for (const f of st) {
    if (!(f instanceof Frame)) throw new Error('[gupcheck internal bug] a thread runs native generator code: it cannot be saved (compile it with the frame compiler)');
    frames.push(f);
    ctxs.push({ ...f.ctx });
  }
  return { frames, ctxs };
}

export function restore(root: Frame, s: StackSnap): void {
  root.stack = s.frames.slice();
  for (let i = 0; i < s.frames.length; i++) Object.assign(s.frames[i]!.ctx, s.ctxs[i]);
}

// ===== the write barrier and the undo trail =====

/** Objects whose writes are not logged. */
export const NOLOG: unique symbol = Symbol('gupcheck.nolog');

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
  tags.push(tag);
  objs.push(o);
  keys.push(k);
  olds.push(old);
}

const skip = (o: object): boolean => !recording || (o as { [NOLOG]?: boolean })[NOLOG] === true;

/** Undo every write logged since `to`. */
export function undo(to: number): void {
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
  else if (r[k] === undefined && !(k in r)) {
    log(Tag.PropAbsent, o, k, undefined);
    dropShape(o);
  }
  else log(Tag.Prop, o, k, r[k]);
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
          if (out) out.push('nolog');
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
notState(Frame.prototype, 'res');
