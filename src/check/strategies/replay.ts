/**
 * Replay one schedule (a token's, a finding's example): the thread and value at each step are
 * given. The execution is concluded only if it ends with the schedule (no thread can run);
 * a schedule that stops earlier (a minimized trace cut at its finding) is abandoned there, so
 * end-of-run checks never judge a prefix. A schedule that names a thread that cannot run, or a
 * bad value, does not fit the program: `misfit` says where.
 */
import type { Strategy } from '../explore.ts';
import type { Execution } from '../execution.ts';
import type { Results } from '../results.ts';

export class ReplayStrategy implements Strategy {
  private begun = false;
  /** Why the schedule does not fit the program, if it does not. */
  misfit: string | undefined = undefined;

  constructor(
    private readonly schedule: readonly number[],
    private readonly values: readonly number[],
    readonly track = false,
  ) {}

  beginExecution(): boolean {
    if (this.begun) return false;
    this.begun = true;
    return true;
  }

  nextThread(ex: Execution, en: number): number {
    const i = ex.steps;
    if (i >= this.schedule.length) return -1;
    const t = this.schedule[i]!;
    if (!(en & (1 << t))) {
      this.misfit = `step ${i}: ${ex.threads[t]?.name ?? `thread ${t}`} cannot run there`;
      return -1;
    }
    const n = ex.pending(t).choices;
    const v = this.values[i] ?? -1;
    if (n && (v < 0 || v >= n)) {
      this.misfit = `step ${i}: bad choice value`;
      return -1;
    }
    return t;
  }

  nextValue(ex: Execution): number {
    return Math.max(0, this.values[ex.steps] ?? 0);
  }

  endExecution(): void {}

  finish(r: Results): void {
    r.complete = false;
  }
}
