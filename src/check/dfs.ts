/**
 * Exhaustive stateless exploration by depth-first search over schedules, in two modes:
 *
 *   'dpor'   source-DPOR with sleep sets (Abdulla, Aronis, Jonsson, Sagonas: "Optimal dynamic
 *            partial order reduction", POPL 2014, Algorithm 1). For each new event we find
 *            the earlier events it races with (dependent, different thread, not already
 *            ordered by happens-before through other events) and make sure the backtrack set
 *            at the state before the race partner contains an initial of notdep(e, E).p. If the
 *            chosen initial cannot run there, every enabled thread is added (Flanagan–Godefroid's
 *            rule for disabled transitions). At the end of an execution the pending op of every
 *            thread that did not run (blocked, or cut off by a fatal finding) is analysed the same
 *            way, so blocking primitives (locks, IPI waits, grace periods) are covered.
 *   'naive'  every enabled thread at every state: the reference the tests compare DPOR
 *            against (same outcomes, same findings, same final states).
 *
 * A local choice (a nondeterministic value) branches over all its values at its node.
 * With a preemption bound, schedules exceeding it are not explored and, as loom does, a
 * conservative backtrack point is added at the latest earlier state where switching to the
 * thread is not a preemption. A bounded search is never reported complete.
 *
 * Each execution is replayed from scratch (generators cannot be copied); docs/perf.md says what that costs.
 */
import { LimitError } from '../sim/world.ts';
import { conclude, countPreemptions } from './conclude.ts';
import {
  accessesConflict,
  dependent,
  type Ev,
  Execution,
  footprintOf,
  forEachAccess,
  hb,
  joinDependencies,
  joinInto,
  type Program,
} from './execution.ts';
import { type Frontier, Results } from './results.ts';
import { drain, type Sliced, SliceClock } from './slices.ts';

export interface DfsOptions {
  readonly mode: 'dpor' | 'naive';
  readonly preemptionBound?: number | undefined;
  readonly maxExecutions?: number | undefined;
  readonly maxSteps?: number | undefined;
  readonly collectStates?: boolean;
  /** Checked between executions: return a reason to stop (time budget, Ctrl-C). */
  readonly shouldStop?: (r: Results) => string | undefined;
  /** Called after every execution. */
  readonly onExecution?: (r: Results) => void;
  /** Explore only the subtree below a shared prefix, for a coordinator (work splitting, run/split.ts). */
  readonly split?: SplitHooks | undefined;
  /** Yield (dfsSlices) between executions every this many ms; see slices.ts. */
  readonly sliceMs?: number | undefined;
}

/**
 * Work splitting between workers (run/split.ts). A work item is a fixed schedule prefix; the
 * states along it are "shared nodes" whose alternatives the coordinator hands out, in the order
 * the sequential search would meet them: a race that needs another thread at a shared node
 * becomes a request instead of a local backtrack entry, and when an idle worker wants work, a busy
 * one donates its shallowest local node that still has alternatives (with the nodes above it).
 * Sleep sets along the prefix are rebuilt from doneBefore (the threads handed out at each shared
 * node before this item's), exactly as the sequential search would have them.
 */
export interface SplitItem {
  readonly schedule: readonly number[];
  readonly values: readonly number[];
  /** Per prefix node: threads already handed out there before this item's choice. */
  readonly doneBefore: readonly number[];
  /** Per prefix node: its backtrack set as known when the item was made. */
  readonly backtrack: readonly number[];
  /** The last prefix step is a thread's first value: its other values are still to be handed out. */
  readonly freshChoice: boolean;
}

export interface DonatedNode {
  readonly chosen: number;
  readonly value: number;
  readonly nValues: number;
  readonly enabled: number;
  readonly sleep: number;
  readonly done: number;
  readonly backtrack: number;
}

export interface SplitHooks {
  readonly item: SplitItem;
  /** A race asks for threads `mask` at shared node `depth` (the state before step `depth`). */
  request(depth: number, mask: number): void;
  /** The last prefix step's op has n values: values 1..n-1 are for the coordinator to hand out. */
  moreValues(n: number): void;
  /** Polled between executions: an idle worker wants work. */
  wanted(): boolean;
  /** The nodes from the current shared depth down to the donated one (empty: nothing to give). */
  donate(nodes: readonly DonatedNode[]): void;
}

interface Shared {
  fixed: number;
  readonly hooks: SplitHooks | undefined;
}

interface Node {
  enabled: number;
  sleep: number;
  backtrack: number;
  done: number;
  chosen: number;
  value: number;
  nValues: number;
  /** Site id of the chosen op, to detect nondeterminism on replay. */
  site: number;
}

export class NondeterminismError extends Error {}

const bit = (t: number) => 1 << t;
function lowest(mask: number): number {
  return 31 - Math.clz32(mask & -mask);
}

export function exploreDfs(program: Program, o: DfsOptions): Results {
  return drain(dfsSlices(program, o));
}

/** exploreDfs() as a generator that yields between executions when o.sliceMs has run out. */
export function* dfsSlices(program: Program, o: DfsOptions): Sliced<Results> {
  const slice = new SliceClock(o.sliceMs);
  const dpor = o.mode === 'dpor';
  const bound = o.preemptionBound;
  const r = new Results(o.collectStates ?? false);
  const stack: Node[] = [];
  const split = o.split;
  const sh: Shared = { fixed: split?.item.schedule.length ?? 0, hooks: split };
  if (split && bound !== undefined) throw new Error('[gupcheck internal bug] work splitting with a preemption bound');
  let branch = 0; // events from this index on are new in the current execution

  for (;;) {
    const ex = new Execution(program, dpor, o.maxSteps);
    const enabledAt: number[] = [];
    let prev = -1;
    let preempts = 0;
    let nextSleep = 0;
    let blocked = false;
    for (let i = 0; ; i++) {
      if (ex.w.stopped) break;
      const en = ex.enabledMask();
      if (en === 0) break;
      let node: Node;
      if (i < stack.length) {
        node = stack[i]!;
        if (node.nValues < 0) {
          // A new alternative was chosen here: learn its op now.
          const op = ex.pending(node.chosen);
          node.nValues = op.choices;
          node.site = op.site.id;
        }
        if (node.enabled !== en || ex.pending(node.chosen).site.id !== node.site) {
          throw new NondeterminismError(
            `[gupcheck internal bug] possible nondeterminism in the model: replaying step ${i} found a different state (enabled ${en.toString(2)} vs ${node.enabled.toString(2)})`,
          );
        }
      } else {
        if (i < sh.fixed) {
          const it = split!.item;
          const p = it.schedule[i]!;
          if (!(en & bit(p))) throw new NondeterminismError(`[gupcheck internal bug] work prefix names a disabled thread at step ${i}`);
          node = mkNode(ex, en, dpor ? nextSleep : 0, p);
          const nValues = node.nValues;
          node.value = it.values[i]!;
          node.nValues = node.value + 1; // other values belong to other items
          node.done = it.doneBefore[i]! | bit(p);
          node.backtrack = it.backtrack[i]! | node.done;
          if (i === sh.fixed - 1 && it.freshChoice && nValues > 1) split!.moreValues(nValues);
        } else {
          const sleep = dpor ? nextSleep : 0;
          let cand = en & ~sleep;
          if (bound !== undefined && prev >= 0 && en & bit(prev) && preempts >= bound) cand &= bit(prev);
          if (cand === 0) {
            blocked = true;
            break;
          }
          const p = prev >= 0 && cand & bit(prev) ? prev : lowest(cand);
          node = mkNode(ex, en, sleep, p);
          node.backtrack = dpor ? bit(p) : en;
        }
        stack.push(node);
      }
      const p = node.chosen;
      if (dpor) nextSleep = childSleep(ex, node);
      if (dpor && i >= branch) analyze(ex, stack, i, p, sh);
      if (prev >= 0 && p !== prev && en & bit(prev)) preempts++;
      enabledAt.push(en);
      ex.step(p, node.value);
      prev = p;
    }
    if (dpor) {
      // Threads that never ran their pending op (blocked, or cut off by a fatal finding). Also
      // when the execution ended sleep-set blocked: a thread waiting there (e.g. on a lock an
      // oopsed CPU still holds) races with what blocks it, and that reversal may be reachable
      // from no other execution (test/property/dpor-naive.spec.ts, seed 301303059).
      for (const t of ex.threads) if (!t.done) analyze(ex, stack, ex.events.length, t.id, sh);
    }
    if (blocked) r.sleepBlocked++;
    else {
      conclude(ex);
      r.add(ex.w.findings, ex.w.outcomes, ex.schedule, ex.values, countPreemptions(ex.schedule, enabledAt), o.collectStates ? program.stateKey?.(ex.w) : undefined);
      if (o.onExecution) {
        r.frontier = frontier(stack, sh.fixed);
        o.onExecution(r);
      }
    }
    if (split?.wanted()) donate(stack, sh);
    // Backtrack to the deepest node with an unexplored alternative.
    branch = -1;
    while (stack.length > sh.fixed) {
      const i = stack.length - 1;
      const node = stack[i]!;
      if (node.value + 1 < node.nValues) {
        node.value++;
        branch = i;
        break;
      }
      const prevAt = i > 0 ? stack[i - 1]!.chosen : -1;
      let cand = node.backtrack & ~node.done & ~node.sleep & node.enabled;
      if (bound !== undefined) {
        let allowed = 0;
        for (let m = cand; m; m &= m - 1) {
          const q = lowest(m);
          const pre = preemptionsBefore(stack, i) + (prevAt >= 0 && q !== prevAt && node.enabled & bit(prevAt) ? 1 : 0);
          if (pre <= bound) allowed |= bit(q);
          else {
            r.complete = false;
            r.limit ??= 'preemption-bound';
            addConservative(stack, i, q);
          }
        }
        node.done |= cand & ~allowed;
        cand = allowed;
      }
      if (cand) {
        const q = lowest(cand);
        node.done |= bit(q);
        node.chosen = q;
        node.value = 0;
        node.nValues = -1; // set on replay
        branch = i;
        break;
      }
      stack.pop();
    }
    if (branch < 0) break;
    if (o.maxExecutions !== undefined && r.executions >= o.maxExecutions) {
      r.complete = false;
      r.limit = 'executions';
      r.stopReason = `stopped after --max-executions ${o.maxExecutions} executions; raise it to explore further`;
      break;
    }
    if (slice.over()) yield;
    const why = o.shouldStop?.(r);
    if (why) {
      r.complete = false;
      r.limit ??= 'interrupted';
      r.stopReason = why;
      break;
    }
  }
  return r;
}

/** The alternatives still to explore below the shared prefix, for progress lines. */
function frontier(stack: readonly Node[], from: number): Frontier {
  let pending = 0;
  let shallowest = -1;
  for (let i = from; i < stack.length; i++) {
    const n = stack[i]!;
    let k = n.nValues > 0 ? n.nValues - n.value - 1 : 0;
    for (let m = n.backtrack & ~n.done & ~n.sleep & n.enabled; m; m &= m - 1) k++;
    if (k > 0 && shallowest < 0) shallowest = i;
    pending += k;
  }
  return { pending, shallowest };
}

/** Give the shallowest local node that has alternatives (and the nodes above it) to the coordinator. */
function donate(stack: Node[], sh: Shared): void {
  let j = -1;
  for (let i = sh.fixed; i < stack.length; i++) {
    const n = stack[i]!;
    if (n.backtrack & ~n.done & ~n.sleep & n.enabled || n.value + 1 < n.nValues) {
      j = i;
      break;
    }
  }
  if (j < 0) {
    sh.hooks!.donate([]);
    return;
  }
  const nodes: DonatedNode[] = [];
  for (let i = sh.fixed; i <= j; i++) {
    const n = stack[i]!;
    nodes.push({ chosen: n.chosen, value: n.value, nValues: n.nValues, enabled: n.enabled, sleep: n.sleep, done: n.done, backtrack: n.backtrack });
    n.nValues = n.value + 1;
  }
  sh.fixed = j + 1;
  sh.hooks!.donate(nodes);
}

function mkNode(ex: Execution, en: number, sleep: number, p: number): Node {
  const op = ex.pending(p);
  return { enabled: en, sleep, backtrack: 0, done: bit(p), chosen: p, value: 0, nValues: op.choices, site: op.site.id };
}

/** Sleep set of the child: earlier-explored siblings (and inherited sleepers) independent of the chosen op. */
function childSleep(ex: Execution, node: Node): number {
  const p = node.chosen;
  const s = (node.sleep | (node.done & ~bit(p))) & ~bit(p);
  if (!s) return 0;
  const fp = footprintOf(ex, p);
  let out = 0;
  for (let m = s; m; m &= m - 1) {
    const t = lowest(m);
    if (t >= ex.threads.length || ex.threads[t]!.done) continue;
    if (!dependent(footprintOf(ex, t), fp)) out |= bit(t);
  }
  return out;
}

/**
 * Race analysis for the op thread p is about to execute as event n (n = ex.events.length).
 * Finds the direct races and updates backtrack sets (source sets).
 */
function analyze(ex: Execution, stack: Node[], n: number, p: number, sh: Shared): void {
  const fp = footprintOf(ex, p);
  if (fp.choice) return;
  const evs = ex.events;
  const cp = ex.threadClock(p);
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
      if (e.tid === p || e.release || e.clock[e.tid]! <= cp[e.tid]!) continue;
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
    if (i === last || i >= n) continue;
    last = i;
    const e = evs[i]!;
    if (!dependent(e, fp)) continue;
    if (e.clock[e.tid]! <= acc[e.tid]!) continue; // ordered through other events: not a direct race
    addBacktrack(evs, stack, i, n, p, nClock, sh);
    joinInto(acc, e.clock);
  }
}

function addBacktrack(evs: Ev[], stack: Node[], i: number, n: number, p: number, nClock: Int32Array, sh: Shared): void {
  const node = stack[i];
  if (!node) return;
  const e = evs[i]!;
  // Initials of v = notdep(e, E).p
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
  if (!(seen & bit(p)) && !v.some((y) => y.clock[y.tid]! <= nClock[y.tid]!)) initials |= bit(p);
  if (initials === 0 || initials & node.backtrack) return;
  const q = initials & bit(p) ? p : lowest(initials);
  const mask = node.enabled & bit(q) ? bit(q) : node.enabled;
  if (i < sh.fixed) {
    // A shared node: its alternatives are handed out by the coordinator.
    if (mask & ~node.backtrack) sh.hooks!.request(i, mask);
  }
  node.backtrack |= mask;
}

function preemptionsBefore(stack: Node[], i: number): number {
  let n = 0;
  for (let j = 1; j < i; j++) {
    const prev = stack[j - 1]!.chosen;
    if (stack[j]!.chosen !== prev && stack[j]!.enabled & bit(prev)) n++;
  }
  return n;
}

/** Loom's conservative backtrack point: the latest earlier state where switching to q is free. */
function addConservative(stack: Node[], i: number, q: number): void {
  for (let j = i - 1; j >= 0; j--) {
    const node = stack[j]!;
    if (!(node.enabled & bit(q))) continue;
    const prevAt = j > 0 ? stack[j - 1]!.chosen : -1;
    if (prevAt < 0 || prevAt === q || !(node.enabled & bit(prevAt))) {
      node.backtrack |= bit(q);
      return;
    }
  }
}

export { LimitError };
