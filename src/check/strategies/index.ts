/**
 * The strategies a user can pick (`--strategy`), in one list, and how each is built. A new
 * strategy is one file in this folder implementing check/explore.ts `Strategy`, plus its entry
 * here.
 */
import type { Strategy } from '../explore.ts';
import type { SplitHooks } from '../split.ts';
import { DfsStrategy } from './dfs.ts';
import { RandomStrategy } from './random.ts';
import { StatefulStrategy } from './stateful.ts';
import { AUTO_DPOR_EXECUTIONS } from '../defaults.ts';

export const STRATEGIES = [
  { name: 'auto', exhaustive: true, splittable: true, needsFrames: false, summary: `exhaustive: dpor, then stateful for a run dpor has not finished in ${AUTO_DPOR_EXECUTIONS.toLocaleString('en-US')} executions (the default)` },
  { name: 'dpor', exhaustive: true, splittable: true, needsFrames: false, summary: 'exhaustive, with partial-order reduction' },
  { name: 'naive', exhaustive: true, splittable: true, needsFrames: false, summary: 'exhaustive, every interleaving (the reference DPOR is tested against)' },
  { name: 'random', exhaustive: false, splittable: false, needsFrames: false, summary: 'sampling: a random enabled CPU at each step' },
  { name: 'pct', exhaustive: false, splittable: false, needsFrames: false, summary: 'sampling: probabilistic concurrency testing (random priorities, d-1 change points)' },
  { name: 'stateful', exhaustive: true, splittable: false, needsFrames: true, summary: 'exhaustive, with partial-order reduction and a table of explored states (the model compiled to frames)' },
] as const;

export type StrategyName = (typeof STRATEGIES)[number]['name'];
export const STRATEGY_NAMES: readonly StrategyName[] = STRATEGIES.map((s) => s.name);

export function isStrategyName(s: string): s is StrategyName {
  return (STRATEGY_NAMES as readonly string[]).includes(s);
}

export function strategyInfo(name: StrategyName): (typeof STRATEGIES)[number] {
  return STRATEGIES.find((s) => s.name === name)!;
}

export interface StrategyOptions {
  readonly preemptionBound?: number | undefined;
  readonly seed?: number | undefined;
  /** Sampling strategies: executions to sample. */
  readonly samples: number;
  readonly split?: SplitHooks | undefined;
}

export function makeStrategy(name: StrategyName, o: StrategyOptions): Strategy {
  switch (name) {
    case 'auto':
      throw new Error('[gupcheck internal bug] --strategy auto is resolved into dpor and stateful runs by run/pool.ts runJobs(), not run as one strategy');
    case 'dpor':
    case 'naive':
      return new DfsStrategy({ mode: name, preemptionBound: o.preemptionBound, split: o.split });
    case 'random':
    case 'pct':
      return new RandomStrategy({ strategy: name, seed: o.seed ?? 1, executions: o.samples });
    case 'stateful':
      return new StatefulStrategy({ preemptionBound: o.preemptionBound });
  }
}
