/**
 * What the frames bundle (build/frames-bundle.ts) exports: the same run and check API as the
 * native sources, over the model compiled to frames, and the runtime's save/restore/undo. The
 * stateful explorer's workers start from it; tests load it to compare the compiled model with the
 * native one.
 */
export { exploreWith } from '../check/index.ts';
export { explore, runOne } from './run.ts';
export { loadScenario, bundledScenarios } from './load.ts';
export { runSelftest } from './selftest.ts';
export { buildProgram } from '../scenarios/build.ts';
export * as frames from '../sim/frames.ts';
export { StatefulStrategy } from '../check/strategies/stateful.ts';
export { DfsStrategy } from '../check/strategies/dfs.ts';
export { RandomStrategy } from '../check/strategies/random.ts';
export { exploreSlices } from '../check/explore.ts';
export { drain } from '../check/slices.ts';
export { replaySchedule } from '../check/record.ts';
export { Execution } from '../check/execution.ts';
