/**
 * Exhaustive stateful search: depth-first over states, with source-DPOR and sleep sets as in the
 * stateless search (strategies/dfs.ts), plus a table of the states already explored. A state met
 * again is not explored again, so the search is bounded by the number of states, not the number
 * of interleavings (docs/perf.md, "The stateful search").
 *
 * Restoring a state. A stateless search replays each execution from the start; this one comes
 * back to a node by undoing the heap's writes (sim/frames.ts undo trail) and restoring each
 * thread's frames, which needs the program compiled to frames (build/frames.ts).
 *
 * State matching under partial-order reduction (Yang, Chen, Gopalakrishnan, Kirby, "Efficient
 * stateful dynamic partial order reduction", SPIN 2008). Plain state caching under DPOR misses
 * the races between the current path and what lies beyond a matched state, which DPOR would
 * have found by running on. So each explored state keeps a summary of the events below it
 * (check/summary.ts): per event, what the stateless search's race analysis would need of the
 * explored path to it, its happens-before order kept (the threads and accesses before it). On a
 * match each is analysed against the current path with the clock it would have there, and the
 * race's initials come from the path's events after the race partner when there are some, else
 * every thread before the event below the state (one of them is an initial); where one of those
 * cannot run or is asleep at the partner, every thread that can run there and is awake. Sleep
 * sets (Godefroid): a state is matched only if it was explored with a sleep set no larger than
 * now; otherwise it is explored again with the smaller one. A sleep-set-blocked state is stored
 * with its pending ops as its summary. A state that is still on the stack (a cycle: a thread's
 * retry loop that changed nothing) is not matched: exploration goes on, and --max-steps stops a
 * real livelock.
 *
 * The table (check/table.ts) keys states by 64-bit fingerprints of the heap, each thread's live
 * frame locals and its pending op (sim/frames.ts); summaries are kept as the steps taken from a
 * state and turned into descriptor sets only for states met again.
 *
 * With a preemption bound (`preemptionBound`), the search explores every schedule with at most
 * that many preemptions, without partial-order reduction: DPOR that prunes by the bound misses
 * states reachable within it (Coons, Musuvathi, McKinley, "Bounded partial-order reduction",
 * OOPSLA 2013; strategies/dfs.ts). A state met again is matched only if the exploration kept for
 * it covers every continuation within the bound from the current path: it had spent fewer
 * preemptions, or as many with the same thread last or one that cannot run there (covers());
 * else it is explored again and that exploration is kept. Switching away from a thread that can
 * still run is a preemption, as in dfs.ts.
 *
 * Executions: each path runs until it really ends (concluded, as in the stateless search) or
 * meets an explored state or is sleep-set blocked (abandoned). Findings and outcomes are part of
 * the state, so every terminal state is concluded at least once: `never`, `sometimes` and
 * `always` judge the same set of final states as the stateless search, and the counts are over
 * the paths this search ran to their end.
 */
import { fingerprint, fingerprintIncremental, staleTerms, startRecording, stopRecording } from '../../sim/frames.ts';
import { heapMB, type RunOnceOptions, type Strategy } from '../explore.ts';
import { type Checkpoint, Execution, footprintOf, type Program } from '../execution.ts';
import { Coarsening } from '../coarsen.ts';
import { analyze, analyzeFootprint, prefixInitials } from '../race.ts';
import { Summaries } from '../summary.ts';
import { type Lift, SummaryGraph } from '../graph.ts';
import { StateTable } from '../table.ts';
import type { Frontier, Results } from '../results.ts';
import { bit, type DfsNode, exploredFraction, lowest, nextChoiceValue, NondeterminismError } from '../split.ts';
import { childSleep, DfsStrategy } from './dfs.ts';
import { RandomStrategy } from './random.ts';
import { GupcheckError } from '../../errors.ts';
import { withinBound } from '../../run/search-words.ts';

/**
 * The passes run first (see StatefulStrategy.firstPass()): stateless DPOR under these preemption
 * bounds, then PCT samples ('pct') where the bounded passes did not cover their whole space.
 */
export type FirstPass = number | 'pct';
export const FIRST_PASSES: readonly FirstPass[] = [0, 1, 2, 'pct'];

/** GUPCHECK_STATEFUL_FIRST_PASSES: `none`, or passes such as `0,1,2,pct` (tests turn them off to test the stateful search alone). */
export function firstPassesFromEnv(v: string | undefined): readonly FirstPass[] | undefined {
  if (v === undefined || v === '') return undefined;
  if (v === 'none') return [];
  const ks = v.split(',').map((x): FirstPass => (x.trim() === 'pct' ? 'pct' : Number(x.trim())));
  if (ks.some((k) => k !== 'pct' && (!Number.isInteger(k) || k < 0 || k > 20)))
    throw new GupcheckError('GUPCHECK_BAD_ARGUMENT', `GUPCHECK_STATEFUL_FIRST_PASSES must be 'none', or preemption bounds 0..20 and 'pct', comma-separated (got '${v}')`, 'e.g. GUPCHECK_STATEFUL_FIRST_PASSES=0,1,2,pct');
  return ks;
}
/** Executions of the bounded passes in all (ended or abandoned). */
export const FIRST_PASS_EXECUTIONS = 3000;
/** The PCT pass: executions, seed and bug depth (Burckhardt et al.: d - 1 priority change points). */
export const FIRST_PASS_PCT = { executions: 1000, seed: 1, depth: 3 } as const;

/** GUPCHECK_CHECK_FINGERPRINTS=1: compare every fingerprint match with the canonical dump (tests). */
const CHECK_FINGERPRINTS = !!process.env.GUPCHECK_CHECK_FINGERPRINTS;

/**
 * What the table keeps of an explored state (StateTable fields): the sleep set it was explored
 * with (explore again if met with fewer threads asleep); whether it is still being explored (on
 * the stack); its summary (check/graph.ts; -1 until explored).
 *
 * A summary is what lies below a state (check/summary.ts), kept as the steps taken from it and the
 * summaries of the states they led to; turned into a set of descriptors only when a path meets
 * the state again (most states are never met again), and then kept. A summary only grows while
 * its state is on the stack; a state explored again starts a new one over the old (its base), so
 * summaries form a graph without cycles.
 */
const SLEEP = 0;
const ON_STACK = 1;
const SUMMARY = 2;
/** With a preemption bound: the preemptions spent on the path it was last explored from, and the thread that ran last there. */
const PREEMPTS = 3;
const PREV = 4;

interface SNode extends DfsNode {
  /** The state before this node's step. */
  readonly cp: Checkpoint;
  /** The table's state this node explores (-1: a revisited on-stack state, not recorded). */
  readonly state: number;
  /** Descriptors of the events at or below this node's state so far (check/graph.ts). */
  readonly sum: number;
  /** Threads at this node's state (a thread spawned by its step has a higher id). */
  readonly nThreads: number;
  /** Preemptions spent by the steps before this node's (counted with a preemption bound only). */
  readonly preempts: number;
}

export interface StatefulStats {
  /** Distinct states stored. */
  readonly states: number;
  /** States met again and not explored again. */
  readonly matched: number;
  /** Depth of the deepest node. */
  readonly maxDepth: number;
  /** Ops run without a scheduling point (check/coarsen.ts), and searches started again because a guess was wrong. */
  readonly merged: number;
  readonly restarts: number;
  /** Distinct descriptors in the summaries (check/summary.ts). */
  readonly descriptors: number;
}

export class StatefulStrategy implements Strategy {
  readonly track = true;
  private ex: Execution | null = null;
  private readonly stack: SNode[] = [];
  private readonly visited: StateTable;
  private sums = new Summaries();
  private graph = new SummaryGraph();
  /** The current path ended by meeting an explored state (endExecution: nothing more to add). */
  private metState = false;
  private started = false;
  private branch = 0;
  private nextSleep = 0;
  private matched = 0;
  private maxDepth = 0;
  private coarse: Coarsening | null = null;
  private merged = 0;
  private restarts = 0;

  /**
   * `por` false: no partial-order reduction (plain state caching over every interleaving; a
   * reference for tests). `coarsen` false: a scheduling point before every op (check/coarsen.ts).
   */
  constructor(
    private readonly o: {
      readonly por?: boolean;
      readonly coarsen?: boolean;
      /**
       * false: never match a state, so the search is the stateless source-DPOR over the same
       * steps, with rewinds instead of replays, and the table counts the distinct states it
       * visits (a measurement of the analysis beyond matches: docs/perf.md, tests).
       */
      readonly matchStates?: boolean;
      /** Tests: the first guess of the object classes (instead of Coarsening.learn()). */
      readonly guess?: (program: Program) => Coarsening;
      readonly maxSteps?: number;
      /**
       * The passes run first, to find bugs early: preemption bounds of stateless DPOR passes
       * (iterative context bounding, CHESS) and 'pct'; [] for none. Default:
       * GUPCHECK_STATEFUL_FIRST_PASSES, else FIRST_PASSES.
       */
      readonly firstPasses?: readonly FirstPass[];
      /** The bounded passes' executions in all (default FIRST_PASS_EXECUTIONS; tests). */
      readonly firstPassExecutions?: number;
      /**
       * Explore every schedule with at most this many preemptions (and nothing more), without
       * partial-order reduction or first passes (see the header).
       */
      readonly preemptionBound?: number | undefined;
    } = {},
  ) {
    this.bound = o.preemptionBound;
    if (this.bound !== undefined && (!Number.isInteger(this.bound) || this.bound < 0)) throw new Error(`[gupcheck internal bug] stateful: preemption bound ${this.bound}`);
    this.por = this.bound === undefined && (o.por ?? true);
    this.visited = new StateTable(this.bound === undefined ? 3 : 5);
    this.matchStates = o.matchStates ?? true;
    this.passBudget = o.firstPassExecutions ?? FIRST_PASS_EXECUTIONS;
    this.passes = this.bound !== undefined ? [] : [...(o.firstPasses ?? firstPassesFromEnv(process.env.GUPCHECK_STATEFUL_FIRST_PASSES) ?? FIRST_PASSES)];
  }

  private readonly bound: number | undefined;
  /** A bounded search left out a schedule that spends more preemptions than the bound. */
  private pruned = false;

  /**
   * Finding bugs early: before the stateful search, stateless DPOR passes with small preemption
   * bounds (Musuvathi and Qadeer, "Iterative context bounding for systematic testing of
   * multithreaded programs", PLDI 2007: most bugs need one or two preemptions), up to
   * FIRST_PASS_EXECUTIONS executions in all; then, only if they ran out of that budget before
   * covering their bounds (so not on small scenarios, where the stateful search is quick
   * anyway), FIRST_PASS_PCT's samples (Burckhardt, Kothari, Musuvathi, Nagarakatte,
   * "A randomized scheduler with probabilistic guarantees of finding bugs", ASPLOS 2010), which
   * reach bugs of more preemptions. Everything stops at the first finding. Their executions are
   * real ones and count (so a finding's best example is one with few preemptions); the search
   * is complete only once the stateful search after them is.
   */
  private passes: FirstPass[];
  private readonly passBudget: number;
  private pass: DfsStrategy | RandomStrategy | null = null;
  private passExecutions = 0;
  private passFound = false;
  /** A bounded pass ran; one stopped at the budget (perhaps with alternatives left) or could not start. */
  private boundedRan = false;
  private boundedCutShort = false;

  /**
   * The passes' execution, which comes back to a pass's branch node by a rewind instead of a
   * replay from the start (as the stateful search does), and a checkpoint per step of the
   * current path (a PCT execution goes back to the first). Not coarsened: the stateless search's
   * nodes are steps.
   */
  private passEx: Execution | null = null;
  private readonly passCps: Checkpoint[] = [];

  /** The pass to run now, or null once they are over. */
  private firstPass(): DfsStrategy | RandomStrategy | null {
    for (;;) {
      const pass = this.pass;
      if (pass && !this.passFound) {
        // PCT counts its own samples; the bounded passes share one budget.
        if (pass instanceof DfsStrategy && this.passExecutions >= this.passBudget) this.boundedCutShort = true;
        else if (pass.beginExecution()) return pass;
      }
      this.pass = null;
      const k = this.passes.shift();
      if (k === undefined || this.passFound) {
        this.passes.length = 0;
        if (this.passEx) {
          stopRecording();
          this.passEx = null;
          this.passCps.length = 0;
        }
        return null;
      }
      if (k === 'pct') {
        if (!this.boundedRan || this.boundedCutShort) this.pass = new RandomStrategy({ strategy: 'pct', ...FIRST_PASS_PCT });
      } else if (this.passExecutions < this.passBudget) {
        this.boundedRan = true;
        this.pass = new DfsStrategy({ mode: 'dpor', preemptionBound: k });
      } else this.boundedCutShort = true; // a bound the budget left no room for
    }
  }

  /** A first pass's next execution: the pass's branch node's state (a PCT sample's: the first), restored. */
  private resumePass(pass: DfsStrategy | RandomStrategy, program: Program, o: RunOnceOptions): Execution {
    if (!this.passEx) {
      startRecording();
      this.passEx = new Execution(program, true, o.maxSteps ?? this.o.maxSteps);
      return this.passEx;
    }
    const b = pass instanceof DfsStrategy ? pass.resumeAt() : 0;
    const cp = this.passCps[b];
    if (!cp) throw new Error(`[gupcheck internal bug] stateful: no checkpoint for the first pass's step ${b}`);
    this.passEx.rewind(cp);
    this.passCps.length = b + 1;
    return this.passEx;
  }

  private readonly por: boolean;
  private readonly matchStates: boolean;

  get stats(): StatefulStats {
    return { states: this.visited.size, matched: this.matched, maxDepth: this.maxDepth, merged: this.merged + (this.ex?.merged ?? 0), restarts: this.restarts, descriptors: this.sums.size };
  }

  resume(program: Program, o: RunOnceOptions): Execution | undefined {
    if (this.pass) return this.resumePass(this.pass, program, o);
    if (!this.ex) {
      const maxSteps = o.maxSteps ?? this.o.maxSteps;
      if (this.o.coarsen !== false) {
        this.coarse ??= this.o.guess?.(program) ?? Coarsening.learn(program, 32, maxSteps);
        if (this.bound !== undefined) this.coarse = this.coarse.withoutLockMovers();
      }
      startRecording();
      this.ex = new Execution(program, true, maxSteps);
      this.ex.coarse = this.coarse;
      return this.ex;
    }
    this.ex.rewind(this.stack[this.branch]!.cp);
    return this.ex;
  }

  beginExecution(): boolean {
    if (this.passes.length || this.pass) {
      if (this.firstPass()) return true;
    }
    if (!this.started) {
      this.started = true;
      return true;
    }
    const v = this.ex?.violation ?? 0;
    if (v !== 0 && this.coarse) {
      // A merged object turned out shared: what was explored may have skipped its races. Start
      // again with it shared (the findings and outcomes so far were real executions and stay).
      this.coarse = this.coarse.without(v);
      this.merged += this.ex!.merged;
      this.restarts++;
      stopRecording();
      this.ex = null;
      this.stack.length = 0;
      this.visited.clear();
      this.sums = new Summaries();
      this.graph = new SummaryGraph();
      this.nextSleep = 0;
      this.branch = 0;
      return true;
    }
    return this.backtrack();
  }

  nextThread(ex: Execution, en: number): number {
    if (this.pass) {
      // A PCT sample always starts again from the first step: it needs no other checkpoint.
      if (ex.steps === this.passCps.length && (ex.steps === 0 || this.pass instanceof DfsStrategy)) this.passCps.push(ex.checkpoint());
      return this.pass.nextThread(ex, en);
    }
    if (ex.violation !== 0) return -1; // beginExecution() starts again
    const i = ex.decisions;
    let node: SNode;
    if (i < this.stack.length) {
      // The branch node: its new alternative was chosen by backtrack().
      node = this.stack[i]!;
      if (node.enabled !== en) throw new NondeterminismError(`[gupcheck internal bug] rewinding to step ${i} found a different state (enabled ${en.toString(2)} vs ${node.enabled.toString(2)})`);
      if (node.nValues < 0) {
        const op = ex.pending(node.chosen);
        node.nValues = op.choices;
        node.site = op.site.id;
      }
    } else {
      const sleep = this.nextSleep;
      // With a preemption bound: the thread that ran last, and the preemptions spent so far.
      const parent = i > 0 ? this.stack[i - 1]! : null;
      const prev = parent ? parent.chosen : -1;
      const used = parent && this.bound !== undefined ? parent.preempts + (preempted(parent, i > 1 ? this.stack[i - 2]!.chosen : -1) ? 1 : 0) : 0;
      const key = this.key(ex);
      const t = this.visited;
      let state = t.get(key.hi, key.lo);
      if (state >= 0 && this.matchStates && !t.field(state, ON_STACK) && (t.field(state, SLEEP) & ~sleep) === 0 && (this.bound === undefined || covers(t.field(state, PREEMPTS), t.field(state, PREV), used, prev, en))) {
        this.match(ex, i, t.field(state, SUMMARY));
        return -1;
      }
      let cand = en & ~sleep;
      if (this.bound !== undefined && prev >= 0 && en & bit(prev) && used >= this.bound) {
        // Any other thread would be one preemption too many.
        if (cand & ~bit(prev)) this.pruned = true;
        cand &= bit(prev);
      }
      if (cand === 0) {
        // Sleep-set blocked: every continuation is redundant. Stored as explored, with the
        // pending ops as its summary (what endExecution() analyses now).
        if (state < 0) {
          state = t.add(key.hi, key.lo);
          t.setField(state, SLEEP, sleep);
          t.setField(state, SUMMARY, this.pendingSummary(ex));
        }
        return -1;
      }
      let base = -1;
      if (state >= 0 && t.field(state, ON_STACK)) state = -1; // a cycle: explore on, do not record
      else if (state >= 0) {
        t.setField(state, SLEEP, t.field(state, SLEEP) & sleep); // met with fewer threads asleep: explore the difference
        t.setField(state, ON_STACK, 1);
        base = t.field(state, SUMMARY);
      } else {
        state = t.add(key.hi, key.lo);
        t.setField(state, SLEEP, sleep);
        t.setField(state, ON_STACK, 1);
        t.setField(state, SUMMARY, -1);
      }
      if (state >= 0 && this.bound !== undefined) {
        // New, or met where the exploration kept for it does not cover this path's continuations.
        t.setField(state, PREEMPTS, used);
        t.setField(state, PREV, prev);
      }
      // With a bound, the thread that ran last goes on first (the schedules with fewer preemptions first).
      const p = this.bound !== undefined && prev >= 0 && cand & bit(prev) ? prev : lowest(cand);
      const op = ex.pending(p);
      // As dfs.ts mkNode(), in one literal (one object shape for every node).
      node = {
        enabled: en,
        sleep,
        backtrack: this.por ? bit(p) : cand,
        done: bit(p),
        chosen: p,
        value: 0,
        nValues: op.choices,
        site: op.site.id,
        cp: ex.checkpoint(),
        state,
        sum: this.graph.add(base),
        nThreads: ex.threads.length,
        preempts: used,
      };
      this.stack.push(node);
      if (this.stack.length > this.maxDepth) this.maxDepth = this.stack.length;
    }
    const p = node.chosen;
    this.nextSleep = this.por ? childSleep(ex, node) : 0;
    if (this.por && i >= this.branch) analyze(ex, this.stack, i, p);
    return p;
  }

  nextValue(ex: Execution, tid: number, n: number): number {
    if (this.pass) return this.pass.nextValue(ex, tid, n);
    return this.stack[ex.decisions]!.value;
  }

  endExecution(ex: Execution, ended: boolean): void {
    if (this.pass) {
      this.pass.endExecution(ex);
      if (this.pass instanceof DfsStrategy) this.passExecutions++;
      if (ended && ex.w.findings.length > 0) this.passFound = true;
      return;
    }
    const met = this.metState;
    this.metState = false;
    if (!this.por || met) return;
    // As in the stateless search: the ops still pending race with what made them wait.
    for (const t of ex.threads) if (!t.done) analyze(ex, this.stack, ex.events.length, t.id);
    this.addBelowTop(ex, this.pendingSummary(ex), ex.threads.length);
  }

  /** The summary of a state where a path ends: the ops pending there (check/summary.ts). */
  private pendingSummary(ex: Execution): number {
    const end: number[] = [];
    if (this.por) for (const t of ex.threads) if (!t.done) end.push(this.sums.pending(footprintOf(ex, t.id)));
    return this.graph.add(-1, end);
  }

  private readonly lift: Lift = (d, x, spawned) => this.sums.lift(d, x, spawned);

  /** The top node's step led to a state with summary `below` (check/summary.ts). */
  private addBelowTop(ex: Execution, below: number, childThreads: number): void {
    const d = this.stack.length - 1;
    const node = this.stack[d];
    if (!node || !this.por) return;
    const e = ex.events[d];
    if (!e) throw new Error(`[gupcheck internal bug] stateful: no event for step ${d}`);
    const x = this.sums.eventSig(e);
    let spawned = 0;
    for (let t = node.nThreads; t < childThreads; t++) spawned |= bit(t);
    this.graph.addStep(node.sum, x, this.sums.pending(e), below, spawned);
  }

  frontier(): Frontier {
    let pending = 0;
    let shallowest = -1;
    for (let i = 0; i < this.stack.length; i++) {
      const n = this.stack[i]!;
      let k = n.nValues > 0 ? n.nValues - n.value - 1 : 0;
      for (let m = n.backtrack & ~n.done & ~n.sleep & n.enabled; m; m &= m - 1) k++;
      if (k > 0 && shallowest < 0) shallowest = i;
      pending += k;
    }
    return { pending, shallowest, explored: pending === 0 ? 1 : exploredFraction(this.stack), states: this.visited.size, depth: this.stack.length, heapMB: Math.round(heapMB()) };
  }

  finish(r: Results): void {
    while (this.stack.length) this.pop();
    stopRecording();
    r.statesStored = this.visited.size;
    r.statesMatched = this.matched;
    r.restarts = this.restarts;
    if (this.pruned) {
      r.complete = false;
      r.limit ??= withinBound(this.bound!);
    }
    if (this.ex?.violation) r.complete = false; // stopped by a limit after a wrong guess: not a complete search
  }

  /** The state's key: its fingerprint, with the threads' pending ops (part of their state). */
  private key(ex: Execution): { hi: number; lo: number } {
    const f = fingerprintIncremental(ex.w, ex.threads);
    if (CHECK_FINGERPRINTS) {
      const key = `${f.hi.toString(36)}.${f.lo.toString(36)}`;
      const st = staleTerms(ex.w);
      if (st.length) throw new Error(`[gupcheck internal bug] stale fingerprint terms after step ${ex.steps - 1} (${ex.schedule.at(-1)}: ${ex.threads[ex.schedule.at(-1) ?? 0]?.op.site.fn}): ${st.join('; ')}`);
      // Test mode: a fingerprint seen before must be the same state (the canonical dump).
      const dump = fingerprint(ex.w, true).text;
      const was = this.dumps.get(key);
      if (was === undefined) this.dumps.set(key, dump);
      else if (was !== dump) {
        const x = was.split('\n');
        const y = dump.split('\n');
        const i = x.findIndex((l, j) => l !== y[j]);
        throw new Error(`[gupcheck internal bug] fingerprint collision or incomplete fingerprint at step ${ex.steps}:\n  was: ${x[i]?.slice(0, 300)}\n  now: ${y[i]?.slice(0, 300)}\n  stale: ${staleTerms(ex.w).join('; ')}`);
      }
    }
    return f;
  }

  private readonly dumps = new Map<string, string>();

  /**
   * A state explored before: what lies below it races with the current path as it would in the
   * stateless search (see the header); then its summary counts as below the parent's step.
   */
  private match(ex: Execution, i: number, summary: number): void {
    this.matched++;
    this.metState = true;
    if (!this.por) return;
    this.sums.beginMatch();
    for (const d of this.graph.descriptors(summary, this.lift)) {
      const f = this.sums.footprint(d);
      if (f.choice) continue;
      analyzeFootprint(ex, this.stack, i, f, this.sums.clockBefore(ex, d), (j) => {
        const node = this.stack[j]!;
        const runnable = node.enabled & ~node.sleep;
        // The initials of notdep(partner, E·π).e', as source-DPOR picks one: the path's events
        // after the partner give some exactly, if any of them is not after it; else they lie
        // below the matched state, and the descriptor knows one where it can
        // (Summaries.initials()).
        const initials = prefixInitials(ex.events, j, i).initials || this.sums.initials(d);
        if (initials) {
          if (initials & node.backtrack) return;
          const q = lowest(initials & runnable || initials);
          // An initial asleep here: what covers the race in the stateless search (the
          // exploration that put it to sleep running into it) may lie beyond another match, so
          // every thread that can run here and is awake (found by the property test).
          node.backtrack |= runnable & bit(q) ? bit(q) : node.sleep & bit(q) ? runnable : node.enabled;
          return;
        }
        // Else among the threads of the events before e' (and e''s own): all of those, or every
        // runnable thread if one of them cannot run here (Flanagan-Godefroid) or is asleep (as
        // above).
        const cand = this.sums.fullThreads(d) & ~node.backtrack;
        if (cand === 0) return;
        node.backtrack |= (cand & ~runnable) === 0 ? cand : runnable;
      });
    }
    this.addBelowTop(ex, summary, ex.threads.length);
  }

  /** Leave the deepest node: its summary is complete. */
  private pop(): void {
    const node = this.stack.pop()!;
    if (node.state >= 0) {
      this.visited.setField(node.state, ON_STACK, 0);
      this.visited.setField(node.state, SUMMARY, node.sum); // over the earlier one, if the state was explored before
    }
    if (this.ex) this.addBelowTop(this.ex, node.sum, node.nThreads);
  }

  /** Move to the deepest node with an unexplored alternative; false when there is none. */
  private backtrack(): boolean {
    const stack = this.stack;
    while (stack.length > 0) {
      const i = stack.length - 1;
      const node = stack[i]!;
      if (nextChoiceValue(node)) {
        this.branch = i;
        return true;
      }
      const cand = node.backtrack & ~node.done & ~node.sleep & node.enabled;
      if (cand) {
        const q = lowest(cand);
        node.done |= bit(q);
        node.chosen = q;
        node.value = 0;
        node.nValues = -1; // learnt when the step is taken
        this.branch = i;
        return true;
      }
      this.pop();
    }
    return false;
  }
}

/**
 * With a preemption bound: does an exploration of a state from a path that had spent `spent`
 * preemptions with thread `last` running last cover every continuation within the bound of a
 * path that has spent `used` with `prev` last (en: the threads that can run at the state)? A
 * continuation's cost differs between the two only in its first step, by at most one: switching
 * away from a thread that can run is a preemption. So yes if spent < used; or if spent == used
 * and the first step costs no more there: the same last thread, or one that cannot run here.
 */
function covers(spent: number, last: number, used: number, prev: number, en: number): boolean {
  return spent < used || (spent === used && (last === prev || last < 0 || (en & bit(last)) === 0));
}

/** Did node's step preempt `prev`, the thread of the step before it (it switched away while prev could run)? */
function preempted(node: SNode, prev: number): boolean {
  return prev >= 0 && node.chosen !== prev && (node.enabled & bit(prev)) !== 0;
}
