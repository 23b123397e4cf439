/**
 * The explorer's defaults, in one place: the CLI's help texts, the bench and the docs read them
 * from here.
 */

/** Transitions per execution before it is reported as a possible livelock (--max-steps). */
export const DEFAULT_MAX_STEPS = 10_000;
/** Executions a sampling strategy (random, pct) runs (--max-executions sets it). */
export const DEFAULT_SAMPLES = 1000;
/** How long a long search runs before it returns to the event loop (signals, timers, progress). */
export const DEFAULT_SLICE_MS = 50;
/**
 * --strategy auto: the DPOR executions a run gets before it moves to the stateful search
 * (run/pool.ts runAuto()). On the bundled examples only THP split's arm64 runs (9,833-23,239
 * DPOR executions, 1.3-3.1 s) pass it; the largest of the others takes 829.
 */
export const AUTO_DPOR_EXECUTIONS = 2000;
/**
 * What to try when an exhaustive search runs out of memory: the bounded stateful search keeps no
 * summaries (docs/perf.md, "Preemption bounds": about 150 bytes a state, every spin-l4 file in
 * 18-41 s) and still gives a complete answer within its bound.
 */
export const BOUNDED_HINT = '--strategy stateful --preemption-bound 1 for every schedule within one preemption in about 150 bytes a state';
/**
 * Why a run stopped at --stop-at-finding (as Spin and TLC stop at their first error): its findings
 * decided its verdict. Its results hold what was explored up to the execution that decided it.
 */
export const STOPPED_AT_FINDING = 'stopped as soon as the findings decided the verdict (--stop-at-finding); drop the option to explore every interleaving';
