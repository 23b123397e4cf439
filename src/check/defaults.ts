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
