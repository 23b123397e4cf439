/**
 * Generated tiny programs on the sim primitives alone (no kernel), for the DPOR-vs-naive
 * property (dpor-naive.spec.ts). An extension of test/check/tiny.ts's tiny():
 *   - a program is data (so fast-check can generate, shrink and print it);
 *   - each thread keeps a register (the last value it read, an RMW returned or it chose) and a
 *     log of those values, which is its result and its outcome;
 *   - `check` ops report findings (fatal ones end the execution, as an oops does);
 *   - the final-state key of an execution that ended at a fatal finding is that finding alone
 *     (as src/scenarios/build.ts's stateKey does: what other threads did before it differs between
 *     equivalent executions).
 */
import fc from 'fast-check';
import type { Program } from '../../src/check/execution.ts';
import * as atomic from '../../src/sim/atomic.ts';
import { Cell, READ_ONCE, WRITE_ONCE } from '../../src/sim/cell.ts';
import { type Step, site } from '../../src/sim/op.ts';
import { choose, spin_lock, spin_unlock, SpinLock } from '../../src/sim/sync.ts';
import { SimThread, World } from '../../src/sim/world.ts';

const S = site('prop', 'access');

export type Rmw = 'add_return' | 'add_unless' | 'cmpxchg' | 'xchg' | 'add' | 'sub_and_test';

export type Leaf =
  | { readonly k: 'read'; readonly c: number }
  | { readonly k: 'write'; readonly c: number; readonly v: number; readonly plusReg: boolean }
  | { readonly k: 'rmw'; readonly f: Rmw; readonly c: number; readonly a: number; readonly b: number }
  | { readonly k: 'choose'; readonly n: number }
  | { readonly k: 'check'; readonly c: number; readonly v: number; readonly fatal: boolean };

export type Item =
  | Leaf
  | { readonly k: 'lock'; readonly l: number; readonly body: readonly Item[] }
  | { readonly k: 'if'; readonly then: Leaf; readonly else: Leaf };

export interface TinyProgram {
  readonly cells: number;
  readonly locks: number;
  readonly threads: readonly (readonly Item[])[];
}

/** The counter ops that tell the checker they commute (src/sim/atomic.ts). */
const counters = { atomic_add: atomic.atomic_add, atomic_sub_and_test: atomic.atomic_sub_and_test };

/**
 * Fatal `check`s (an oops kills the thread that hit it; the others run on). GUPCHECK_PROP_FATAL=0
 * leaves them out. (DPOR used to stop the whole execution at an oops and missed the states where
 * a later write of another thread comes first; the regression test is in dpor-naive.spec.ts.)
 */
export const WITH_FATAL = process.env.GUPCHECK_PROP_FATAL !== '0';

// ===== running a program =====

interface State {
  readonly cells: Cell<number>[];
  readonly locks: SpinLock[];
  readonly w: World;
}

function* runLeaf(t: SimThread, s: State, x: Leaf, reg: { r: number; log: number[] }): Step<void> {
  const c = 'c' in x ? s.cells[x.c]! : undefined;
  switch (x.k) {
    case 'read':
      reg.r = yield* READ_ONCE(t, c!, S);
      break;
    case 'write':
      yield* WRITE_ONCE(t, c!, x.plusReg ? reg.r + x.v : x.v, S);
      return;
    case 'rmw':
      switch (x.f) {
        case 'add_return':
          reg.r = yield* atomic.atomic_add_return(t, c!, x.a, S);
          break;
        case 'add_unless':
          reg.r = (yield* atomic.atomic_add_unless(t, c!, x.a, x.b, S)) ? 1 : 0;
          break;
        case 'cmpxchg':
          reg.r = yield* atomic.atomic_cmpxchg(t, c!, x.a, x.b, S);
          break;
        case 'xchg':
          reg.r = yield* atomic.xchg(t, c!, x.a, S);
          break;
        case 'add':
          // Its result is not observed (that is what lets adds commute).
          yield* counters.atomic_add(t, c!, x.a, S);
          return;
        case 'sub_and_test':
          reg.r = yield* counters.atomic_sub_and_test(t, c!, x.a, S);
          break;
      }
      break;
    case 'choose':
      reg.r = yield* choose(t, x.n, S);
      break;
    case 'check': {
      const v = yield* READ_ONCE(t, c!, S);
      reg.r = v;
      if (v === x.v) s.w.report(`saw-x${x.c}=${x.v}${x.fatal ? '-fatal' : ''}`, `T${t.id} read x${x.c} == ${x.v}`, x.fatal);
      break;
    }
  }
  reg.log.push(reg.r);
}

function* runItems(t: SimThread, s: State, items: readonly Item[], reg: { r: number; log: number[] }): Step<void> {
  for (const x of items) {
    if (x.k === 'lock') {
      yield* spin_lock(t, s.locks[x.l]!, S);
      yield* runItems(t, s, x.body, reg);
      yield* spin_unlock(t, s.locks[x.l]!, S);
    } else if (x.k === 'if') {
      yield* runLeaf(t, s, reg.r % 2 === 0 ? x.then : x.else, reg);
    } else yield* runLeaf(t, s, x, reg);
  }
}

export function buildTiny(p: TinyProgram): Program {
  let cur: State | null = null;
  return {
    start() {
      const w = new World(8);
      const cells = Array.from({ length: p.cells }, (_, i) => new Cell(w.newObject(() => `x${i}`), 0));
      const locks = Array.from({ length: p.locks }, (_, i) => new SpinLock(w.newObject(() => `l${i}`)));
      const st: State = { cells, locks, w };
      cur = st;
      p.threads.forEach((items, i) =>
        w.addThread(
          `T${i}`,
          (id, name, ctx, sp) => new SimThread(id, name, ctx, sp, true),
          function* (t) {
            const reg = { r: 0, log: [] as number[] };
            yield* runItems(t, st, items, reg);
            w.outcomes.set(t.name, reg.log.join(','));
            return reg.log;
          },
        ),
      );
      return w;
    },
    finish() {},
    stateKey(w) {
      if (w.oopsed) return `oops: ${w.findings.filter((f) => f.fatal).map((f) => f.id).sort().join('; ')}`;
      return JSON.stringify([cur!.cells.map((c) => c.v), w.threads.map((t) => t.result ?? null), w.findings.map((f) => f.id).sort()]);
    },
  };
}

// ===== size =====

function itemsSteps(items: readonly Item[]): { steps: number; choices: number } {
  let steps = 0;
  let choices = 1;
  for (const x of items) {
    if (x.k === 'lock') {
      const b = itemsSteps(x.body);
      steps += 2 + b.steps;
      choices *= b.choices;
    } else if (x.k === 'if') {
      steps += 1; // every leaf is one transition
      choices *= Math.max(x.then.k === 'choose' ? x.then.n : 1, x.else.k === 'choose' ? x.else.n : 1);
    } else {
      steps += 1;
      if (x.k === 'choose') choices *= x.n;
    }
  }
  return { steps, choices };
}

/** Interleavings times choice values, ignoring blocking: an upper bound on naive's executions. */
export function naiveEstimate(p: TinyProgram): number {
  let total = 0;
  let est = 1;
  for (const items of p.threads) {
    const { steps, choices } = itemsSteps(items);
    for (let i = 1; i <= steps; i++) est = (est * ++total) / i; // multinomial, one factor at a time
    est *= choices;
  }
  return est;
}

// ===== printing =====

function leafText(x: Leaf): string {
  switch (x.k) {
    case 'read':
      return `r = x${x.c}`;
    case 'write':
      return `x${x.c} = ${x.plusReg ? `r + ${x.v}` : x.v}`;
    case 'rmw':
      switch (x.f) {
        case 'add_return':
          return `r = atomic_add_return(${x.a}, x${x.c})`;
        case 'add_unless':
          return `r = atomic_add_unless(x${x.c}, ${x.a}, ${x.b})`;
        case 'cmpxchg':
          return `r = atomic_cmpxchg(x${x.c}, ${x.a}, ${x.b})`;
        case 'xchg':
          return `r = xchg(x${x.c}, ${x.a})`;
        case 'add':
          return `atomic_add(${x.a}, x${x.c})`;
        case 'sub_and_test':
          return `r = atomic_sub_and_test(${x.a}, x${x.c})`;
      }
      break;
    case 'choose':
      return `r = choose(${x.n})`;
    case 'check':
      return `r = x${x.c}; if (r == ${x.v}) report(${x.fatal ? 'fatal' : 'finding'})`;
  }
}

function itemsText(items: readonly Item[], indent: string): string[] {
  const out: string[] = [];
  for (const x of items) {
    if (x.k === 'lock') {
      out.push(`${indent}spin_lock(l${x.l})`, ...itemsText(x.body, indent + '  '), `${indent}spin_unlock(l${x.l})`);
    } else if (x.k === 'if') out.push(`${indent}if (r % 2 == 0) ${leafText(x.then)} else ${leafText(x.else)}`);
    else out.push(`${indent}${leafText(x)}`);
  }
  return out;
}

/** The program as a small litmus-style text: cells and locks start at 0 / free. */
export function tinyText(p: TinyProgram): string {
  const head = `cells: ${Array.from({ length: p.cells }, (_, i) => `x${i}=0`).join(' ')}${p.locks ? `  locks: ${Array.from({ length: p.locks }, (_, i) => `l${i}`).join(' ')}` : ''}`;
  return [head, ...p.threads.map((items, i) => [`T${i}:`, ...itemsText(items, '  ')].join('\n'))].join('\n');
}

// ===== generating =====

function leafArb(cells: number): fc.Arbitrary<Leaf> {
  const c = fc.nat({ max: cells - 1 });
  const rmws: Rmw[] = ['add_return', 'add_unless', 'cmpxchg', 'xchg', 'add', 'add', 'sub_and_test'];
  return fc.oneof(
    { weight: 3, arbitrary: fc.record({ k: fc.constant('read' as const), c }) },
    { weight: 3, arbitrary: fc.record({ k: fc.constant('write' as const), c, v: fc.integer({ min: 0, max: 3 }), plusReg: fc.boolean() }) },
    {
      weight: 4,
      arbitrary: fc.record({ k: fc.constant('rmw' as const), f: fc.constantFrom(...rmws), c, a: fc.integer({ min: -1, max: 2 }), b: fc.integer({ min: 0, max: 2 }) }),
    },
    { weight: 1, arbitrary: fc.record({ k: fc.constant('choose' as const), n: fc.integer({ min: 2, max: 3 }) }) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant('check' as const), c, v: fc.integer({ min: 0, max: 2 }), fatal: WITH_FATAL ? fc.boolean() : fc.constant(false) }) },
  );
}

function itemArb(cells: number, locks: number, held: readonly number[], depth: number): fc.Arbitrary<Item> {
  const leaf = leafArb(cells);
  const free = Array.from({ length: locks }, (_, i) => i).filter((l) => !held.includes(l));
  const options: fc.WeightedArbitrary<Item>[] = [
    { weight: 6, arbitrary: leaf },
    { weight: 1, arbitrary: fc.record({ k: fc.constant('if' as const), then: leaf, else: leaf }) },
  ];
  if (free.length && depth < 2) {
    // Properly nested sections: a lock is released before any lock taken outside it.
    options.push({
      weight: 2,
      arbitrary: fc
        .constantFrom(...free)
        .chain((l) => fc.record({ k: fc.constant('lock' as const), l: fc.constant(l), body: fc.array(itemArb(cells, locks, [...held, l], depth + 1), { minLength: 1, maxLength: 2 }) })),
    });
  }
  return fc.oneof(...options);
}

/** 2-3 threads of 1-4 items over 1-3 cells and 0-2 spinlocks. */
export const tinyProgramArb: fc.Arbitrary<TinyProgram> = fc
  .record({ cells: fc.integer({ min: 1, max: 3 }), locks: fc.integer({ min: 0, max: 2 }), n: fc.integer({ min: 2, max: 3 }) })
  .chain(({ cells, locks, n }) =>
    fc.record({
      cells: fc.constant(cells),
      locks: fc.constant(locks),
      threads: fc.array(fc.array(itemArb(cells, locks, [], 0), { minLength: 1, maxLength: 4 }), { minLength: n, maxLength: n }),
    }),
  );
