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
 * have found by running on. So each explored state keeps a summary: the footprints of every op
 * executed, and of every op pending, anywhere below it. On a match the summary's ops are
 * analysed against the current path as if they ran next, with the conservative rule (the op's
 * thread is added to the backtrack set of the state before each race partner if it can run there
 * and is not asleep, else every thread that can run there and is awake), since the happens-before order between the path and an op beyond
 * the match is not known. Sleep sets (Godefroid): a state is matched only if it was explored with
 * a sleep set no larger than now; otherwise it is explored again with the smaller one. A state
 * that is still on the stack (a cycle: a thread's retry loop that changed nothing) is not
 * matched: exploration goes on, and --max-steps stops a real livelock.
 *
 * Executions: each path runs until it really ends (concluded, as in the stateless search) or
 * meets an explored state or is sleep-set blocked (abandoned). Findings and outcomes are part of
 * the state, so every terminal state is concluded at least once: `never`, `sometimes` and
 * `always` judge the same set of final states as the stateless search, and the counts are over
 * the paths this search ran to their end.
 */
import { fingerprint, fingerprintIncremental, staleTerms, startRecording, stopRecording } from '../../sim/frames.ts';
import { heapMB, type RunOnceOptions, type Strategy } from '../explore.ts';
import { type Checkpoint, Execution, type Footprint, footprintOf, type Program } from '../execution.ts';
import { Coarsening } from '../coarsen.ts';
import { analyze, analyzeFootprint } from '../race.ts';
import type { Frontier, Results } from '../results.ts';
import { bit, type DfsNode, exploredFraction, lowest, nextChoiceValue, NondeterminismError } from '../split.ts';
import { childSleep, mkNode } from './dfs.ts';

/** GUPCHECK_CHECK_FINGERPRINTS=1: compare every fingerprint match with the canonical dump (tests). */
const CHECK_FINGERPRINTS = !!process.env.GUPCHECK_CHECK_FINGERPRINTS;

/** What the table keeps of an explored state. */
interface Visited {
  /** The sleep set it was explored with (explore again if met with fewer threads asleep). */
  sleep: number;
  /** Still being explored (on the stack). */
  onStack: boolean;
  /** Footprint ids of the ops executed or pending below it (when explored). */
  summary: Set<number> | null;
}

interface SNode extends DfsNode {
  /** The state before this node's step. */
  readonly cp: Checkpoint;
  /** The table entry this node explores (null: a revisited on-stack state, not recorded). */
  readonly info: Visited | null;
  /** Footprints of the ops executed or pending at or below this node so far. */
  readonly sum: Set<number>;
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
}

export class StatefulStrategy implements Strategy {
  readonly track = true;
  private ex: Execution | null = null;
  private readonly stack: SNode[] = [];
  private readonly visited = new Map<string, Visited>();
  private readonly fps: Footprint[] = [];
  private readonly fpIds = new Map<number | string, number>();
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
      /** Tests: the first guess of the object classes (instead of Coarsening.learn()). */
      readonly guess?: (program: Program) => Coarsening;
      readonly maxSteps?: number;
    } = {},
  ) {
    this.por = o.por ?? true;
  }

  private readonly por: boolean;

  get stats(): StatefulStats {
    return { states: this.visited.size, matched: this.matched, maxDepth: this.maxDepth, merged: this.merged + (this.ex?.merged ?? 0), restarts: this.restarts };
  }

  resume(program: Program, o: RunOnceOptions): Execution {
    if (!this.ex) {
      const maxSteps = o.maxSteps ?? this.o.maxSteps;
      if (this.o.coarsen !== false) this.coarse ??= this.o.guess?.(program) ?? Coarsening.learn(program, 32, maxSteps);
      startRecording();
      this.ex = new Execution(program, true, maxSteps);
      this.ex.coarse = this.coarse;
      return this.ex;
    }
    this.ex.rewind(this.stack[this.branch]!.cp);
    return this.ex;
  }

  beginExecution(): boolean {
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
      this.nextSleep = 0;
      this.branch = 0;
      return true;
    }
    return this.backtrack();
  }

  nextThread(ex: Execution, en: number): number {
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
      const key = this.key(ex);
      let info = this.visited.get(key) ?? null;
      if (info && !info.onStack && (info.sleep & ~sleep) === 0) {
        this.match(ex, i, info);
        return -1;
      }
      if (info && info.onStack) info = null; // a cycle: explore on, do not record
      else if (info) {
        info.sleep &= sleep; // met with fewer threads asleep: explore the difference
        info.onStack = true;
      } else {
        info = { sleep, onStack: true, summary: null };
        this.visited.set(key, info);
      }
      const cand = en & ~sleep;
      if (cand === 0) return -1; // sleep-set blocked: every continuation is redundant
      const p = lowest(cand);
      const base = mkNode(ex, en, sleep, p);
      node = { ...base, backtrack: this.por ? bit(p) : en, cp: ex.checkpoint(), info, sum: new Set() };
      this.stack.push(node);
      if (this.stack.length > this.maxDepth) this.maxDepth = this.stack.length;
      // The pending ops of every live thread are below this state (conservative for sleepers).
      for (const t of ex.threads) if (!t.done) node.sum.add(this.fpId(footprintOf(ex, t.id)));
    }
    const p = node.chosen;
    node.sum.add(this.fpId(footprintOf(ex, p)));
    this.nextSleep = this.por ? childSleep(ex, node) : 0;
    if (this.por && i >= this.branch) analyze(ex, this.stack, i, p);
    return p;
  }

  nextValue(ex: Execution): number {
    return this.stack[ex.decisions]!.value;
  }

  endExecution(ex: Execution): void {
    if (!this.por) return;
    // As in the stateless search: the ops still pending race with what made them wait.
    const top = this.stack[this.stack.length - 1];
    for (const t of ex.threads) {
      if (t.done) continue;
      analyze(ex, this.stack, ex.events.length, t.id);
      top?.sum.add(this.fpId(footprintOf(ex, t.id)));
    }
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
    if (this.ex?.violation) r.complete = false; // stopped by a limit after a wrong guess: not a complete search
  }

  /** The state's key: its fingerprint, with the threads' pending ops (part of their state). */
  private key(ex: Execution): string {
    const f = fingerprintIncremental(ex.w, ex.threads);
    const key = `${f.hi.toString(36)}.${f.lo.toString(36)}`;
    if (CHECK_FINGERPRINTS) {
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
    return key;
  }

  private readonly dumps = new Map<string, string>();

  private fpId(f: Footprint): number {
    // Packed exactly into a double (52 bits) while object ids stay below 2^20; a string beyond.
    const small = f.tid | (f.acc << 5) | (f.counter << 7) | (f.group << 9) | (f.choice ? 1 << 10 : 0) | (f.ctxWrite ? 1 << 11 : 0);
    const k = f.obj < 0x100000 && f.obj2 < 0x100000 ? (f.obj * 0x100000 + f.obj2) * 4096 + small : `${f.obj},${f.obj2},${small}`;
    let id = this.fpIds.get(k);
    if (id === undefined) {
      id = this.fps.length;
      this.fps.push({ ...f });
      this.fpIds.set(k, id);
    }
    return id;
  }

  /**
   * A state explored before: what lies below it races with the current path like any later op
   * would. Conservative rule (see the header), then its summary counts as below the parent.
   */
  private match(ex: Execution, i: number, info: Visited): void {
    this.matched++;
    const summary = info.summary!;
    if (!this.por) return;
    for (const id of summary) {
      const f = this.fps[id]!;
      if (f.choice) continue;
      const cp = f.tid < ex.threads.length ? ex.threadClock(f.tid) : new Int32Array(ex.width);
      analyzeFootprint(ex, this.stack, i, f, cp, (j) => {
        // A thread asleep at j would add nothing: what covers a race with it in the stateless
        // search (its sibling exploration running into the race) may lie beyond another match.
        // So then every thread that can run and is awake there (found by the property test).
        const node = this.stack[j]!;
        const awake = node.enabled & ~node.sleep;
        node.backtrack |= f.tid < ex.threads.length && awake & bit(f.tid) ? bit(f.tid) : awake;
      });
    }
    const parent = this.stack[i - 1];
    if (parent) for (const id of summary) parent.sum.add(id);
  }

  /** Leave the deepest node: its summary is complete. */
  private pop(): void {
    const node = this.stack.pop()!;
    if (node.info) {
      node.info.onStack = false;
      if (node.info.summary) for (const id of node.sum) node.info.summary.add(id);
      else node.info.summary = node.sum;
    }
    const parent = this.stack[this.stack.length - 1];
    if (parent) for (const id of node.sum) parent.sum.add(id);
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

