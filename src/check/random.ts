/**
 * Sampling strategies for scenarios too large to explore exhaustively (Shuttle's schedulers):
 *   random  at each step a uniformly random enabled thread (and a random value for a choice);
 *   pct     Probabilistic Concurrency Testing (Burckhardt et al., ASPLOS 2010): random distinct
 *           thread priorities, d-1 random priority-change points; the highest-priority enabled
 *           thread runs. Finds a bug of depth d with probability >= 1/(n * k^(d-1)).
 * Seeded and deterministic: the same seed gives the same executions. Never complete.
 */
import { conclude, countPreemptions } from './conclude.ts';
import { Execution, type Program } from './execution.ts';
import { Results } from './results.ts';
import { drain, type Sliced, SliceClock } from './slices.ts';

export interface RandomOptions {
  readonly strategy: 'random' | 'pct';
  readonly seed: number;
  readonly executions: number;
  readonly maxSteps?: number | undefined;
  /** PCT bug depth (default 3). */
  readonly depth?: number;
  readonly collectStates?: boolean | undefined;
  readonly shouldStop?: ((r: Results) => string | undefined) | undefined;
  readonly onExecution?: ((r: Results) => void) | undefined;
  /** Yield (randomSlices) between executions every this many ms; see slices.ts. */
  readonly sliceMs?: number | undefined;
}

/** mulberry32: a small, fast, seedable PRNG. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function exploreRandom(program: Program, o: RandomOptions): Results {
  return drain(randomSlices(program, o));
}

/** exploreRandom() as a generator that yields between executions when o.sliceMs has run out. */
export function* randomSlices(program: Program, o: RandomOptions): Sliced<Results> {
  const slice = new SliceClock(o.sliceMs);
  const r = new Results(o.collectStates ?? false);
  r.complete = false;
  r.limit = 'sampled';
  const rand = rng(o.seed);
  const d = o.depth ?? 3;
  let k = 64; // PCT's estimate of the execution length, refined as we go
  for (let e = 0; e < o.executions; e++) {
    const ex = new Execution(program, false, o.maxSteps);
    const enabledAt: number[] = [];
    // PCT: priorities and change points for this execution.
    const prio: number[] = [];
    const changes = new Set<number>();
    if (o.strategy === 'pct') {
      for (let i = 0; i < 32; i++) prio.push(d + rand());
      for (let i = 0; i < d - 1; i++) changes.add(1 + Math.floor(rand() * k));
    }
    let step = 0;
    for (;;) {
      const en = ex.enabledMask();
      if (en === 0) break;
      let p: number;
      if (o.strategy === 'random') {
        const ids: number[] = [];
        for (let m = en; m; m &= m - 1) ids.push(31 - Math.clz32(m & -m));
        p = ids[Math.floor(rand() * ids.length)]!;
      } else {
        p = -1;
        for (let m = en; m; m &= m - 1) {
          const t = 31 - Math.clz32(m & -m);
          if (p < 0 || prio[t]! > prio[p]!) p = t;
        }
        if (changes.has(step)) prio[p] = d - 1 - [...changes].indexOf(step) * 0.001;
      }
      const op = ex.pending(p);
      const v = op.choices ? Math.floor(rand() * op.choices) : 0;
      enabledAt.push(en);
      ex.step(p, v);
      step++;
    }
    k = Math.max(k, step);
    conclude(ex);
    r.add(ex.w.findings, ex.w.outcomes, ex.schedule, ex.values, countPreemptions(ex.schedule, enabledAt), o.collectStates ? program.stateKey?.(ex.w) : undefined);
    o.onExecution?.(r);
    if (slice.over()) yield;
    const why = o.shouldStop?.(r);
    if (why) {
      r.stopReason = why;
      r.limit = 'interrupted';
      break;
    }
  }
  return r;
}
