/**
 * Source-DPOR's race analysis (Abdulla, Aronis, Jonsson, Sagonas, POPL 2014, Algorithm 1), shared
 * by the stateless DFS (strategies/dfs.ts) and the stateful search (strategies/stateful.ts): for
 * the op a thread is about to execute, find the earlier events it races with (dependent,
 * another thread, not ordered by happens-before through other events) and make sure the backtrack
 * set at the state before each race partner holds an initial of notdep(e, E).p; if that initial
 * cannot run there, every enabled thread (Flanagan-Godefroid's rule for disabled transitions).
 */
import { dependent, type Ev, type Execution, type Footprint, footprintOf, forEachAccess, accessesConflict, hb, joinDependencies, joinInto } from './execution.ts';
import { bit, type DfsNode, lowest, type SplitHooks } from './split.ts';

/**
 * Race analysis for the op thread p is about to execute as event n (n = ex.events.length).
 * Nodes below `fixed` belong to a work item's shared prefix: their alternatives are requested
 * from the coordinator (`split`).
 */
/** e touches obj only through a release merged into it (Execution.releaseMerged): not a race partner there. */
function releasedOnly(e: Ev, obj: number): boolean {
  return e.released !== undefined && e.obj !== obj && e.obj2 !== obj && e.released.includes(obj);
}

export function analyze(ex: Execution, stack: DfsNode[], n: number, p: number, fixed = 0, split?: SplitHooks): void {
  analyzeFootprint(ex, stack, n, footprintOf(ex, p), ex.threadClock(p), (i, nClock) => addBacktrack(ex.events, stack, i, n, p, nClock, fixed, split));
}

/**
 * The race analysis of an op with footprint `fp` whose thread's last event has clock `cp`: calls
 * `race(i, clock)` for each direct race partner i (latest first), with the op's would-be clock.
 */
export function analyzeFootprint(ex: Execution, stack: readonly DfsNode[], n: number, fp: Footprint, cp: Int32Array, race: (i: number, nClock: Int32Array) => void): void {
  if (fp.choice) return;
  const evs = ex.events;
  const p = fp.tid;
  // Candidate race partners: conflicting events on the same objects not already ordered before
  // p's last event. Most events have none; then nothing is allocated.
  let cand: number[] | null = null;
  forEachAccess(ex, fp, (obj, kind) => {
    const l = ex.accesses.get(obj);
    if (!l) return;
    for (let j = l.length - 1; j >= 0; j--) {
      const a = l[j]!;
      if (!accessesConflict(kind, a & 3)) continue;
      const e = evs[a >> 2]!;
      if (e.tid === p || e.release || e.clock[e.tid]! <= cp[e.tid]! || releasedOnly(e, obj)) continue;
      (cand ??= []).push(a >> 2);
    }
  });
  if (cand === null) return;
  const list: number[] = cand;
  list.sort((a, b) => b - a);
  // The new event's clock: p's clock joined with the earlier events it depends on.
  const nClock = Int32Array.from(cp);
  joinDependencies(ex, nClock, fp);
  const acc = Int32Array.from(cp);
  let last = -1;
  for (const i of list) {
    if (i === last || i >= n || i >= stack.length) continue;
    last = i;
    const e = evs[i]!;
    if (!dependent(e, fp)) continue;
    if (e.clock[e.tid]! <= acc[e.tid]!) continue; // ordered through other events: not a direct race
    race(i, nClock);
    joinInto(acc, e.clock);
  }
}

/**
 * The initials of notdep(e_i, E) over the events i+1..n-1 (the threads whose first event there is
 * not after e_i and follows no other such event), with the threads seen there and those events.
 */
export function prefixInitials(evs: readonly Ev[], i: number, n: number): { initials: number; seen: number; v: Ev[] } {
  const e = evs[i]!;
  let initials = 0;
  let seen = 0;
  const v: Ev[] = [];
  for (let j = i + 1; j < n; j++) {
    const x = evs[j]!;
    if (hb(e, x)) continue;
    if (!(seen & bit(x.tid)) && !v.some((y) => hb(y, x))) initials |= bit(x.tid);
    seen |= bit(x.tid);
    v.push(x);
  }
  return { initials, seen, v };
}

function addBacktrack(evs: readonly Ev[], stack: DfsNode[], i: number, n: number, p: number, nClock: Int32Array, fixed: number, split: SplitHooks | undefined): void {
  const node = stack[i];
  if (!node) return;
  // Initials of v = notdep(e, E).p
  const pre = prefixInitials(evs, i, n);
  let initials = pre.initials;
  const { seen, v } = pre;
  if (!(seen & bit(p)) && !v.some((y) => y.clock[y.tid]! <= nClock[y.tid]!)) initials |= bit(p);
  if (initials === 0 || initials & node.backtrack) return;
  const q = initials & bit(p) ? p : lowest(initials);
  const mask = node.enabled & bit(q) ? bit(q) : node.enabled;
  // A shared node: its alternatives are handed out by the coordinator.
  if (i < fixed && mask & ~node.backtrack) split!.request(i, mask);
  node.backtrack |= mask;
}
