/**
 * Work splitting for the exhaustive search: both sides of it, the explorer's (check/strategies/
 * dfs.ts) and the coordinator's (run/pool.ts), with the node format they exchange.
 *
 * A work item is a fixed schedule prefix; the states along it are "shared nodes" whose
 * alternatives the coordinator hands out, in the order the sequential search would meet them:
 * a race that needs another thread at a shared node becomes a request instead of a local
 * backtrack entry, and when an idle worker wants work, a busy one donates its shallowest local
 * node that still has alternatives (with the nodes above it). Sleep sets along the prefix are
 * rebuilt from doneBefore (the threads handed out at each shared node before this item's), exactly
 * as the sequential search would have them, so a split search explores the same executions
 * (the same count, findings and outcomes; test/run/pool.spec.ts).
 */

import { InternalError } from '../errors.ts';

export const bit = (t: number): number => 1 << t;
export function lowest(mask: number): number {
  return 31 - Math.clz32(mask & -mask);
}

export class NondeterminismError extends InternalError {}

/** A state on the DFS stack (thread masks are bitmasks of thread ids). */
export interface DfsNode {
  enabled: number;
  sleep: number;
  backtrack: number;
  done: number;
  chosen: number;
  value: number;
  /** Values of the chosen op's local choice (0: not a choice; -1: learnt on the next replay). */
  nValues: number;
  /** Site id of the chosen op, to detect nondeterminism on replay. */
  site: number;
}

/** A schedule prefix with, per step, the choice's value, doneBefore and known backtrack set. */
export interface Path {
  readonly schedule: readonly number[];
  readonly values: readonly number[];
  /** Per prefix node: threads already handed out there before this item's choice. */
  readonly doneBefore: readonly number[];
  /** Per prefix node: its backtrack set as known when the item was made. */
  readonly backtrack: readonly number[];
}

export interface SplitItem extends Path {
  /** The last prefix step is a thread's first value: its other values are still to be handed out. */
  readonly freshChoice: boolean;
}

/** A node a worker gives away, as the coordinator needs it. */
export interface DonatedNode {
  readonly chosen: number;
  readonly value: number;
  readonly nValues: number;
  readonly enabled: number;
  readonly sleep: number;
  readonly done: number;
  readonly backtrack: number;
}

/** What the explorer side calls; a worker forwards each call to the coordinator. */
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

function popcount(m: number): number {
  let n = 0;
  for (let x = m; x; x &= x - 1) n++;
  return n;
}

/**
 * How much of the DFS tree lies behind the current path, as a fraction (Knuth's estimate taken
 * along the path, as GenMC and Nidhugg print one): at each node, the alternatives finished over
 * those known so far, each level weighted by 1 over the branching above it. DPOR adds
 * alternatives as it meets races, so the estimate can fall back; it is rough, never a bound.
 */
export function exploredFraction(stack: readonly DfsNode[], from = 0): number {
  let f = 0;
  let w = 1;
  for (let i = from; i < stack.length; i++) {
    const n = stack[i]!;
    const threads = Math.max(1, popcount((n.done | (n.backtrack & ~n.sleep)) & n.enabled));
    const values = n.nValues > 0 ? n.nValues : 1;
    const alts = threads * values;
    const finished = (popcount(n.done & n.enabled) - 1) * values + (n.nValues > 0 ? n.value : 0);
    f += (w * Math.max(0, finished)) / alts;
    w /= alts;
    if (w < 1e-12) break;
  }
  return Math.min(1, f);
}

/** Move a choice node to its next value, if it has one left (the first alternative a backtrack tries). */
export function nextChoiceValue(node: DfsNode): boolean {
  if (node.value + 1 >= node.nValues) return false;
  node.value++;
  return true;
}

export const ROOT_ITEM: SplitItem = { schedule: [], values: [], doneBefore: [], backtrack: [], freshChoice: false };
const EMPTY: Path = ROOT_ITEM;

// ===== the explorer's side =====

/**
 * Give the shallowest local node that has alternatives (and the nodes above it) to the
 * coordinator; returns the new fixed-prefix length.
 */
export function donate(stack: DfsNode[], fixed: number, hooks: SplitHooks): number {
  let j = -1;
  for (let i = fixed; i < stack.length; i++) {
    const n = stack[i]!;
    if (n.backtrack & ~n.done & ~n.sleep & n.enabled || n.value + 1 < n.nValues) {
      j = i;
      break;
    }
  }
  if (j < 0) {
    hooks.donate([]);
    return fixed;
  }
  const nodes: DonatedNode[] = [];
  for (let i = fixed; i <= j; i++) {
    const n = stack[i]!;
    nodes.push({ chosen: n.chosen, value: n.value, nValues: n.nValues, enabled: n.enabled, sleep: n.sleep, done: n.done, backtrack: n.backtrack });
    n.nValues = n.value + 1;
  }
  hooks.donate(nodes);
  return j + 1;
}

// ===== the coordinator's side =====

/** A shared node: its alternatives are handed out as work items. */
interface SharedNode {
  readonly path: Path;
  readonly enabled: number;
  readonly sleep: number;
  done: number;
  backtrack: number;
}

function keyOf(schedule: readonly number[], values: readonly number[], depth: number): string {
  let k = '';
  for (let i = 0; i < depth; i++) k += `${schedule[i]}.${values[i]},`;
  return k;
}

function extend(p: Path, chosen: number, value: number, doneBefore: number, backtrack: number): Path {
  return { schedule: [...p.schedule, chosen], values: [...p.values, value], doneBefore: [...p.doneBefore, doneBefore], backtrack: [...p.backtrack, backtrack] };
}

function withValue(p: Path, v: number): Path {
  return { ...p, values: [...p.values.slice(0, -1), v] };
}

/**
 * One run's split search, on the coordinator: its shared nodes, and the work items they produce
 * (given to `enqueue` in the order the sequential search would meet them). Each item's current
 * prefix is its Path, which grows when its worker donates.
 */
export class SplitSearch {
  private readonly nodes = new Map<string, SharedNode>();

  constructor(private readonly enqueue: (item: SplitItem, path: Path) => void) {}

  /** The first item: the whole tree. */
  root(): { item: SplitItem; path: Path } {
    return { item: ROOT_ITEM, path: EMPTY };
  }

  /** A worker exploring `path` asks for threads `mask` at its shared node `depth`. */
  request(path: Path, depth: number, mask: number): void {
    const node = this.nodes.get(keyOf(path.schedule, path.values, depth));
    if (!node) return; // the root item's own nodes are never shared before a donation
    node.backtrack |= mask;
    this.handOut(node);
  }

  /** The last step of `path` is a choice with n values: the others become items. */
  moreValues(path: Path, n: number): void {
    for (let v = 1; v < n; v++) {
      const p = withValue(path, v);
      this.enqueue({ ...p, freshChoice: false }, p);
    }
  }

  /** A worker exploring `path` donated `nodes`; returns its new path. */
  donated(path: Path, nodes: readonly DonatedNode[]): Path {
    if (!nodes.length) return path;
    let p = path;
    let last: SharedNode | undefined;
    for (const d of nodes) {
      const node: SharedNode = { path: p, enabled: d.enabled, sleep: d.sleep, done: d.done, backtrack: d.backtrack };
      this.nodes.set(keyOf(p.schedule, p.values, p.schedule.length), node);
      last = node;
      p = extend(p, d.chosen, d.value, d.done & ~bit(d.chosen), d.backtrack);
    }
    // The donated node's other values of the chosen thread, then its other threads.
    const d = nodes.at(-1)!;
    for (let v = d.value + 1; v < d.nValues; v++) {
      const q = withValue(p, v);
      this.enqueue({ ...q, freshChoice: false }, q);
    }
    this.handOut(last!);
    return p;
  }

  private handOut(node: SharedNode): void {
    let cand = node.backtrack & ~node.done & ~node.sleep & node.enabled;
    while (cand) {
      const q = lowest(cand);
      cand &= cand - 1;
      const path = extend(node.path, q, 0, node.done, node.backtrack);
      node.done |= bit(q);
      this.enqueue({ ...path, freshChoice: true }, path);
    }
  }
}
