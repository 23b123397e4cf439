/**
 * Sampling strategies for scenarios too large to explore exhaustively (Shuttle's schedulers):
 *   random  at each step a uniformly random enabled thread (and a random value for a choice);
 *   pct     Probabilistic Concurrency Testing (Burckhardt et al., ASPLOS 2010): random distinct
 *           thread priorities, d-1 random priority-change points; the highest-priority enabled
 *           thread runs. Finds a bug of depth d with probability >= 1/(n * k^(d-1)).
 * Seeded and deterministic: the same seed gives the same executions. Never complete.
 */
import type { Strategy } from '../explore.ts';
import type { Execution } from '../execution.ts';
import type { Results } from '../results.ts';

export interface RandomOptions {
  readonly strategy: 'random' | 'pct';
  readonly seed: number;
  /** Executions to sample. */
  readonly executions: number;
  /** PCT bug depth (default 3). */
  readonly depth?: number | undefined;
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

export class RandomStrategy implements Strategy {
  readonly track = false;
  private readonly rand: () => number;
  private readonly pct: boolean;
  private readonly d: number;
  private started = 0;
  /** PCT's estimate of the execution length, refined as we go. */
  private k = 64;
  private prio: number[] = [];
  private changes = new Set<number>();

  constructor(private readonly o: RandomOptions) {
    this.rand = rng(o.seed);
    this.pct = o.strategy === 'pct';
    this.d = o.depth ?? 3;
  }

  beginExecution(): boolean {
    if (this.started >= this.o.executions) return false;
    this.started++;
    if (this.pct) {
      // Priorities and change points for this execution.
      this.prio = [];
      this.changes = new Set();
      for (let i = 0; i < 32; i++) this.prio.push(this.d + this.rand());
      for (let i = 0; i < this.d - 1; i++) this.changes.add(1 + Math.floor(this.rand() * this.k));
    }
    return true;
  }

  nextThread(ex: Execution, en: number): number {
    if (!this.pct) {
      const ids: number[] = [];
      for (let m = en; m; m &= m - 1) ids.push(31 - Math.clz32(m & -m));
      return ids[Math.floor(this.rand() * ids.length)]!;
    }
    const prio = this.prio;
    let p = -1;
    for (let m = en; m; m &= m - 1) {
      const t = 31 - Math.clz32(m & -m);
      if (p < 0 || prio[t]! > prio[p]!) p = t;
    }
    const step = ex.steps;
    if (this.changes.has(step)) prio[p] = this.d - 1 - [...this.changes].indexOf(step) * 0.001;
    return p;
  }

  nextValue(_ex: Execution, _tid: number, n: number): number {
    return Math.floor(this.rand() * n);
  }

  endExecution(ex: Execution): void {
    this.k = Math.max(this.k, ex.steps);
  }

  finish(r: Results): void {
    r.complete = false;
    r.limit ??= 'sampled';
  }
}
