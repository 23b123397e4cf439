/**
 * Shorter counterexamples (as CHESS and Shuttle shrink theirs): from the explored execution with the
 * fewest preemptions, keep only what the finding depends on and order it with the fewest
 * context switches.
 *
 * 1. Causal slice: for a finding reported by a transition f, keep only the transitions that
 *    happen before f (program order, spawn, and conflicting accesses; Shuttle's "causal
 *    replay"). Such a set is closed under happens-before, so executing it in any order that
 *    respects happens-before gives every kept transition the same values it saw before.
 *    End-of-run findings (leaks, exclusivity) depend on the whole state: no slice.
 * 2. Re-linearize: keep running the current CPU while its next kept transition is ready;
 *    switch only when it must (CHESS-style fewest preemptions within the same trace).
 * 3. Check by replay that the finding is still reached; otherwise keep the original.
 */
import type { Ev, Program } from './execution.ts';
import { replaySchedule } from './record.ts';

export interface Schedule {
  readonly schedule: readonly number[];
  readonly values: readonly number[];
}

export function minimize(program: Program, s: Schedule, findingId: string): Schedule {
  const first = replaySchedule(program, s.schedule, s.values, true);
  const f = first.findings.find((x) => x.id === findingId);
  if (!first.fits || !f) return s;
  const evs = first.ex.events;
  let keep: boolean[];
  if (f.step >= 0 && f.step < evs.length) {
    const target = evs[f.step]!;
    keep = evs.map((e, i) => i <= f.step && e.clock[e.tid]! <= target.clock[e.tid]!);
  } else {
    keep = evs.map(() => true);
  }
  const order = relinearize(evs, keep);
  const cand: Schedule = { schedule: order.map((i) => evs[i]!.tid), values: order.map((i) => first.ex.values[i] ?? -1) };
  const again = replaySchedule(program, cand.schedule, cand.values);
  if (again.fits && again.findings.some((x) => x.id === findingId)) {
    // Trim anything after the transition that reported it.
    const g = again.findings.find((x) => x.id === findingId)!;
    if (g.step >= 0) return { schedule: cand.schedule.slice(0, g.step + 1), values: cand.values.slice(0, g.step + 1) };
    return cand;
  }
  return s;
}

/** Order the kept events respecting happens-before, switching threads as rarely as possible. */
function relinearize(evs: readonly Ev[], keep: readonly boolean[]): number[] {
  const byThread = new Map<number, number[]>();
  evs.forEach((e, i) => {
    if (!keep[i]) return;
    let l = byThread.get(e.tid);
    if (!l) byThread.set(e.tid, (l = []));
    l.push(i);
  });
  const pos = new Map<number, number>([...byThread.keys()].map((t) => [t, 0]));
  const done = new Set<number>();
  const ready = (i: number) => {
    const e = evs[i]!;
    for (let j = 0; j < i; j++) {
      if (!keep[j] || done.has(j)) continue;
      const x = evs[j]!;
      if (x.tid !== e.tid && x.clock[x.tid]! <= e.clock[x.tid]!) return false;
    }
    return true;
  };
  const out: number[] = [];
  const total = keep.filter(Boolean).length;
  let cur = evs.findIndex((_, i) => keep[i]) >= 0 ? evs[evs.findIndex((_, i) => keep[i])]!.tid : -1;
  while (out.length < total) {
    const next = (t: number) => byThread.get(t)?.[pos.get(t)!];
    let pick = -1;
    const n = next(cur);
    if (n !== undefined && ready(n)) pick = cur;
    else {
      // The thread whose next ready event comes earliest in the original order.
      let best = Infinity;
      for (const t of byThread.keys()) {
        const x = next(t);
        if (x !== undefined && x < best && ready(x)) {
          best = x;
          pick = t;
        }
      }
    }
    if (pick < 0) break; // cannot happen for an hb-closed set; bail out safely
    const i = next(pick)!;
    out.push(i);
    done.add(i);
    pos.set(pick, pos.get(pick)! + 1);
    cur = pick;
  }
  return out.length === total ? out : evs.map((_, i) => i).filter((i) => keep[i]);
}
