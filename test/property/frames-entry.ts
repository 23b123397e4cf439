/**
 * The property test's stateful side: the checker and the tiny-program builder bundled with the
 * model compiled to frames (src/build/frames-bundle.ts), so that `--strategy stateful` can save,
 * restore and fingerprint their states. Built by dpor-naive.spec.ts before it runs.
 */
export { exploreWith } from '../../src/check/index.ts';
export { explore } from '../../src/run/run.ts';
export { buildTiny } from './tiny-programs.ts';
export { StatefulStrategy } from '../../src/check/strategies/stateful.ts';
export { exploreSlices } from '../../src/check/explore.ts';
export { drain } from '../../src/check/slices.ts';
export { Coarsening } from '../../src/check/coarsen.ts';
export { Execution } from '../../src/check/execution.ts';
