/**
 * The end of one execution: a deadlock if live threads remain and none can run; otherwise the
 * program's end-of-run checks and outcomes (skipped after a fatal finding: the kernel oopsed, and a task died holding whatever it held).
 */
import type { Execution } from './execution.ts';

export function conclude(ex: Execution): void {
  const w = ex.w;
  if (w.stopped || w.oopsed) return;
  const live = ex.liveMask();
  if (live !== 0 && ex.enabledMask() === 0) {
    const stuck = w.threads
      .filter((t) => !t.done)
      .map((t) => `${t.name} in ${t.op.site.fn}() (${t.op.site.action})`)
      .join('; ');
    w.report('deadlock', `no CPU can make progress: ${stuck}`, false, -1);
    return;
  }
  ex.program.finish(w);
}

/** Preemptions in a schedule: switches away from a thread that could still have run. */
export function countPreemptions(schedule: readonly number[], enabledAt: readonly number[]): number {
  let n = 0;
  for (let i = 1; i < schedule.length; i++) {
    const prev = schedule[i - 1]!;
    if (schedule[i] !== prev && (enabledAt[i]! & (1 << prev)) !== 0) n++;
  }
  return n;
}
