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
}

export interface RunMeasure {
  readonly scenario: string;
  readonly kernel: string;
  readonly arch: string;
  readonly executions: number;
  readonly transitions: number;
  readonly ms: number;
  readonly complete: boolean;
  readonly limit: string | null;
  readonly firstFindingMs: number | null;
  /** The stateful search: states stored. */
  readonly states: number | null;
  readonly findings: readonly string[];
  /** Outcome name -> the values seen. */
  readonly outcomes: Record<string, readonly string[]>;
}

export interface ChildReport {
  /** Wall time of the whole child, start-up excluded (from its first line of code). */
  readonly wallMs: number;
  readonly maxRssMB: number;
  readonly runs: readonly RunMeasure[];
}
