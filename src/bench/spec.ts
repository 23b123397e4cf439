/** What the benchmark driver asks a child process to measure, and what it reports back. */
import type { StrategyName } from '../run/run.ts';

export interface ChildSpec {
  readonly files: readonly string[];
  readonly kernels?: readonly string[] | undefined;
  readonly arches?: readonly string[] | undefined;
  readonly strategy: StrategyName;
  readonly maxExecutions?: number | undefined;
  /** Stop each run after this long (workers = 1 only). */
  readonly budgetMs?: number | undefined;
  readonly workers?: number | undefined;
  /** For random/pct. */
  readonly seed?: number | undefined;
  /** C patches (absolute paths) applied to each of `kernels` (`--kernel K --patch ...`). */
  readonly patches?: readonly string[] | undefined;
  /** Stop each run once its findings decide its verdict (`--stop-at-finding`): the runs timed to their first finding. */
  readonly stopAtFinding?: boolean | undefined;
  /** Explore only schedules with at most this many preemptions (`--preemption-bound`). */
  readonly preemptionBound?: number | undefined;
  /** Time these revision-table functions of each kernel (their own cost: see FnTime). */
  readonly timeFns?: readonly string[] | undefined;
}

/**
 * What a timed revision-table function cost over a child's runs: the time spent running it, from
 * its call to its return, callees included (the model's functions it calls are the same whether it
 * is TypeScript or compiled C) but not the time other CPUs run while it waits at a scheduling
 * point. The timer's own cost per step, measured in the child, is taken off; resumes that read
 * over 0.5 ms of wall time (descheduled, or a GC) are left out and counted.
 */
export interface FnTime {
  readonly calls: number;
  /** Times it was resumed (its steps: calls + scheduling points), outliers left out. */
  readonly resumes: number;
  /** Resumes that read over 0.5 ms (the process was descheduled, or the GC ran), left out of ms. */
  readonly outliers: number;
  readonly ms: number;
  /** The timer's measured cost per resume, already subtracted from ms (ns). */
  readonly timerNsPerResume: number;
}

export interface RunMeasure {
  readonly scenario: string;
  readonly kernel: string;
  readonly arch: string;
  readonly executions: number;
  readonly transitions: number;
  readonly ms: number;
  /** CPU time of the child process during the run (all its threads): less disturbed by other load than `ms`. */
  readonly cpuMs: number;
  readonly complete: boolean;
  readonly limit: string | null;
  readonly firstFindingMs: number | null;
  /** The stateful search: states stored. */
  readonly states: number | null;
  readonly findings: readonly string[];
  /** Steps and preemptions of the shortest example of a finding (null: none). */
  readonly findingSteps: number | null;
  readonly findingPreemptions: number | null;
  /** Outcome name -> the values seen. */
  readonly outcomes: Record<string, readonly string[]>;
}

export interface ChildReport {
  /** Wall time of the whole child, start-up excluded (from its first line of code). */
  readonly wallMs: number;
  readonly maxRssMB: number;
  /** --strategy auto: the CPU of all its runs (DPOR here and the stateful search's worker; a run's own is not known). */
  readonly totalCpuMs?: number;
  readonly runs: readonly RunMeasure[];
  /** For `timeFns`: each function's cost, by revision-table name. */
  readonly fnTimes?: Readonly<Record<string, FnTime>>;
}
