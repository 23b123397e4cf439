/**
 * The checker's library entry: explore a Program with a named strategy, synchronously. The CLI
 * goes through run/run.ts (scenarios, slices, workers); tests and library users call this.
 */
import { DEFAULT_SAMPLES } from './defaults.ts';
import { type ExploreOptions, exploreSlices } from './explore.ts';
import type { Program } from './execution.ts';
import type { Results } from './results.ts';
import { drain } from './slices.ts';
import { makeStrategy, type StrategyName, type StrategyOptions } from './strategies/index.ts';

export type ExploreWithOptions = ExploreOptions & Partial<StrategyOptions>;

/** Explore `program` with a strategy by name; for sampling strategies --max-executions is the sample count. */
export function exploreWith(program: Program, name: StrategyName, o: ExploreWithOptions = {}): Results {
  const sampled = name === 'random' || name === 'pct';
  const samples = o.samples ?? o.maxExecutions ?? DEFAULT_SAMPLES;
  const s = makeStrategy(name, { preemptionBound: o.preemptionBound, seed: o.seed, samples, split: o.split });
  return drain(exploreSlices(program, s, { ...o, maxExecutions: sampled ? undefined : o.maxExecutions }));
}

export { type Strategy, type Observer, runOnce, exploreSlices } from './explore.ts';
export { STRATEGIES, STRATEGY_NAMES, type StrategyName } from './strategies/index.ts';
