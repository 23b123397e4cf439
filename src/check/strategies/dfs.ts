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
 * thread is not a preemption. A bounded search is never reported complete, and it does not
 * explore every schedule within the bound either: partial-order reduction that prunes by a bound
 * misses states reachable within it (Coons, Musuvathi, McKinley, "Bounded partial-order
 * reduction", OOPSLA 2013). Measured on 357 generated tiny programs, DPOR under bounds 0, 1 and 2
 * missed a final state that bounded naive reaches in 93, 74 and 49 of them; without sleep sets
 * and with BPOR's extra backtrack point at the start of the racing step's block, in 0, 2 and 1,
 * at 40 times the executions on spin-l2. The stateful search covers every schedule within a
 * bound (strategies/stateful.ts); this one stays the quick, partial way to look for bugs that
 * need few preemptions, and says so in its results.
 *
 * Each execution is replayed from scratch (generators cannot be copied); docs/perf.md says what
 * that costs. Work splitting between workers (a fixed schedule prefix, backtrack requests at
 * shared nodes, donations) is in check/split.ts.
 */
import type { Strategy } from '../explore.ts';
import { dependent, type Execution, footprintOf } from '../execution.ts';
import { analyze } from '../race.ts';
import type { Frontier, Results } from '../results.ts';
import { bit, type DfsNode, donate, exploredFraction, lowest, nextChoiceValue, NondeterminismError, type SplitHooks } from '../split.ts';

export interface DfsOptions {
  readonly mode: 'dpor' | 'naive';
  readonly preemptionBound?: number | undefined;
  /** Explore only the subtree below a shared prefix, for a coordinator (check/split.ts). */
  readonly split?: SplitHooks | undefined;
}

export class DfsStrategy implements Strategy {
  readonly track: boolean;
  private readonly dpor: boolean;
  private readonly bound: number | undefined;
  private readonly stack: DfsNode[] = [];
  private readonly split: SplitHooks | undefined;
  /** Steps below this depth are a work item's fixed prefix (its nodes belong to the coordinator). */
  private fixed: number;
  /** Events from this index on are new in the current execution (analysed once). */
  private branch = 0;
  private started = false;
  private pruned = false;
  // per execution
  private prev = -1;
  private preempts = 0;
  private nextSleep = 0;

  constructor(o: DfsOptions) {
    this.dpor = o.mode === 'dpor';
    this.track = this.dpor;
    this.bound = o.preemptionBound;
    this.split = o.split;
    this.fixed = o.split?.item.schedule.length ?? 0;
    if (o.split && o.preemptionBound !== undefined) throw new Error('[gupcheck internal bug] work splitting with a preemption bound');
  }

  beginExecution(): boolean {
    if (this.started) {
      if (this.split?.wanted()) this.fixed = donate(this.stack, this.fixed, this.split);
      if (!this.backtrack()) return false;
    }
    this.started = true;
    this.prev = -1;
    this.preempts = 0;
    this.nextSleep = 0;
    return true;
  }

  nextThread(ex: Execution, en: number): number {
    const i = ex.steps;
    const stack = this.stack;
    let node: DfsNode;
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
    } else if (i < this.fixed) {
      const split = this.split!;
      const it = split.item;
      const p = it.schedule[i]!;
      if (!(en & bit(p))) throw new NondeterminismError(`[gupcheck internal bug] work prefix names a disabled thread at step ${i}`);
      node = mkNode(ex, en, this.dpor ? this.nextSleep : 0, p);
      const nValues = node.nValues;
      node.value = it.values[i]!;
      node.nValues = node.value + 1; // other values belong to other items
      node.done = it.doneBefore[i]! | bit(p);
      node.backtrack = it.backtrack[i]! | node.done;
      if (i === this.fixed - 1 && it.freshChoice && nValues > 1) split.moreValues(nValues);
      stack.push(node);
    } else {
      const sleep = this.dpor ? this.nextSleep : 0;
      let cand = en & ~sleep;
      const prev = this.prev;
      if (this.bound !== undefined && prev >= 0 && en & bit(prev) && this.preempts >= this.bound) cand &= bit(prev);
      if (cand === 0) return -1; // sleep-set blocked: every continuation is redundant
      const p = prev >= 0 && cand & bit(prev) ? prev : lowest(cand);
      node = mkNode(ex, en, sleep, p);
      node.backtrack = this.dpor ? bit(p) : en;
      stack.push(node);
    }
    const p = node.chosen;
    if (this.dpor) {
      this.nextSleep = childSleep(ex, node);
      if (i >= this.branch) analyze(ex, this.stack, i, p, this.fixed, this.split);
    }
    if (this.prev >= 0 && p !== this.prev && en & bit(this.prev)) this.preempts++;
    this.prev = p;
    return p;
  }

  nextValue(ex: Execution): number {
    return this.stack[ex.steps]!.value;
  }

  /**
   * For a caller that can put the execution back at the state before the next execution's
   * branch node (a checkpoint, strategies/stateful.ts): that node's index, with what the replay
   * of the steps before it would have counted (the last thread, the preemptions) set as if it had
   * run. Call after beginExecution(); the execution then resumes at that step.
   */
  resumeAt(): number {
    const b = this.branch;
    this.prev = b > 0 ? this.stack[b - 1]!.chosen : -1;
    this.preempts = preemptionsBefore(this.stack, b);
    return b;
  }

  endExecution(ex: Execution): void {
    if (!this.dpor) return;
    // Threads that never ran their pending op (blocked, or cut off by a fatal finding). Also
    // when the execution ended sleep-set blocked: a thread waiting there (e.g. on a lock an
    // oopsed CPU still holds) races with what blocks it, and that reversal may be reachable
    // from no other execution (test/property/dpor-naive.spec.ts, seed 301303059).
    for (const t of ex.threads) if (!t.done) analyze(ex, this.stack, ex.events.length, t.id, this.fixed, this.split);
  }

  frontier(): Frontier {
    let pending = 0;
    let shallowest = -1;
    for (let i = this.fixed; i < this.stack.length; i++) {
      const n = this.stack[i]!;
      let k = n.nValues > 0 ? n.nValues - n.value - 1 : 0;
      for (let m = n.backtrack & ~n.done & ~n.sleep & n.enabled; m; m &= m - 1) k++;
      if (k > 0 && shallowest < 0) shallowest = i;
      pending += k;
    }
    return { pending, shallowest, explored: this.fixed !== 0 ? undefined : pending === 0 ? 1 : exploredFraction(this.stack) };
  }

  finish(r: Results): void {
    if (this.pruned) {
      r.complete = false;
      r.limit ??= 'preemption-bound';
      if (this.dpor) r.stopReason ??= dporBoundNote(this.bound!); // naive runs every schedule within the bound
    }
  }

  /** Move to the deepest node with an unexplored alternative; false when there is none. */
  private backtrack(): boolean {
    const stack = this.stack;
    const bound = this.bound;
    while (stack.length > this.fixed) {
      const i = stack.length - 1;
      const node = stack[i]!;
      if (nextChoiceValue(node)) {
        this.branch = i;
        return true;
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
            this.pruned = true;
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
        this.branch = i;
        return true;
      }
      stack.pop();
    }
    return false;
  }
}

export function mkNode(ex: Execution, en: number, sleep: number, p: number): DfsNode {
  const op = ex.pending(p);
  return { enabled: en, sleep, backtrack: 0, done: bit(p), chosen: p, value: 0, nValues: op.choices, site: op.site.id };
}

/** Sleep set of the child: earlier-explored siblings (and inherited sleepers) independent of the chosen op. */
export function childSleep(ex: Execution, node: DfsNode): number {
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

function preemptionsBefore(stack: readonly DfsNode[], i: number): number {
  let n = 0;
  for (let j = 1; j < i; j++) {
    const prev = stack[j - 1]!.chosen;
    if (stack[j]!.chosen !== prev && stack[j]!.enabled & bit(prev)) n++;
  }
  return n;
}

/** Loom's conservative backtrack point: the latest earlier state where switching to q is free. */
function addConservative(stack: readonly DfsNode[], i: number, q: number): void {
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

/** Why a preemption-bounded DPOR run is only a partial answer, and what gives a full one (shown under the results). */
export function dporBoundNote(k: number): string {
  return `explored schedules within a preemption bound of ${k} with DPOR, which misses some of them (partial-order reduction that prunes by a bound does; Coons et al., OOPSLA 2013); --strategy stateful explores every one`;
}
