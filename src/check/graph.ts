/**
 * The stateful search's summaries (check/summary.ts) kept compactly: the graph of the steps taken
 * from each explored state, and, for the states a path meets again, the set of descriptors of
 * everything below them, all in growable Int32Arrays instead of one JS object per state, step and
 * set entry. On spin-l2 the object version spent about 1.6 KB of heap per stored state, more than
 * half of it in the materialised sets (Set<number>, about 30 bytes an entry); here an entry is 4
 * bytes, a state's node 20 and a step 20 (docs/perf.md, "Memory").
 *
 * A summary node: its base (the summary of an earlier exploration of the same state, or -1), its
 * steps (a linked list), the descriptors of the ops pending where a path ended there, and, once
 * computed, its materialised descriptor set (sorted, unique) in the `mats` pool, where equal sets
 * are stored once (at 400 k spin-l2 states, 153 MB of sets instead of 204). A summary only
 * grows while its state is on the search's stack, and a set is computed only for a complete one,
 * so the graph has no cycles and a computed set never goes stale.
 */

/** A growable Int32Array. */
export class IntPool {
  a: Int32Array;
  n = 0;
  constructor(capacity: number) {
    this.a = new Int32Array(capacity);
  }
  /** Room for k more ints; returns where they start. */
  reserve(k: number): number {
    if (this.n + k > this.a.length) {
      let size = this.a.length * 2;
      while (size < this.n + k) size *= 2;
      const b = new Int32Array(size);
      b.set(this.a.subarray(0, this.n));
      this.a = b;
    }
    const at = this.n;
    this.n += k;
    return at;
  }
}

// Node fields (stride 5) and step fields (stride 5).
const N_BASE = 0;
const N_STEP = 1;
const N_END = 2; // start in `ends`; its length is in N_ENDLEN
const N_ENDLEN = 3;
const N_MAT = 4; // where in `mats` (-1: not computed; see SetPool)
const NODE = 5;
const S_X = 0;
const S_SELF = 1;
const S_CHILD = 2;
const S_SPAWNED = 3;
const S_NEXT = 4;
const STEP = 5;

/**
 * The computed sets, in chunks of CHUNK ints that are never copied (a doubling array would keep
 * up to half its capacity unused, and need the old and new copies at once while growing: on
 * spin-l2 the sets are most of the memory, about 70 entries a state). A set is its length, then
 * its entries, within one chunk; a set longer than a chunk gets one of its own. Its place is
 * chunk * CHUNK + offset of the first entry.
 */
const CHUNK = 1 << 20;
class SetPool {
  private readonly chunks: Int32Array[] = [];
  private fill = CHUNK;
  private chunkBytes = 0;
  /** Bytes allocated: the chunks and the index. */
  get bytes(): number {
    return this.chunkBytes + 4 * this.index.length;
  }

  /**
   * Open addressing over the sets by contents (their places; -1: empty), at most half full: an
   * equal set is shared, not stored again. On spin-l2 about a quarter of the entries are sets
   * already made (small sets repeat; most large ones are new).
   */
  private index = new Int32Array(1 << 12).fill(-1);
  private count = 0;

  private static hash(src: Int32Array, n: number): number {
    let h = Math.imul(n, 0x9e3779b1);
    for (let i = 0; i < n; i++) h = Math.imul(h ^ src[i]!, 0x01000193) + 0x7ed55d16;
    return (h ^ (h >>> 15)) >>> 0;
  }

  add(src: Int32Array, n: number): number {
    const mask = this.index.length - 1;
    const h = SetPool.hash(src, n);
    let i = h & mask;
    for (;;) {
      const at = this.index[i]!;
      if (at < 0) break;
      if (this.equal(at, src, n)) return at;
      i = (i + 1) & mask;
    }
    const at = this.store(src, n);
    this.index[i] = at;
    if (2 * ++this.count > this.index.length) this.grow();
    return at;
  }

  private equal(at: number, src: Int32Array, n: number): boolean {
    if (this.size(at) !== n) return false;
    const a = this.chunks[Math.floor(at / CHUNK)]!;
    const o = at % CHUNK;
    for (let i = 0; i < n; i++) if (a[o + i] !== src[i]) return false;
    return true;
  }

  private grow(): void {
    const old = this.index;
    const idx = new Int32Array(old.length * 2).fill(-1);
    const mask = idx.length - 1;
    for (const at of old) {
      if (at < 0) continue;
      const set = this.get(at);
      let i = SetPool.hash(set, set.length) & mask;
      while (idx[i]! >= 0) i = (i + 1) & mask;
      idx[i] = at;
    }
    this.index = idx;
  }

  private store(src: Int32Array, n: number): number {
    if (n + 1 > CHUNK) {
      const own = new Int32Array(n + 1);
      this.chunkBytes += 4 * (n + 1);
      own[0] = n;
      own.set(src.subarray(0, n), 1);
      this.chunks.push(own);
      this.fill = CHUNK; // the next set starts a new chunk
      return (this.chunks.length - 1) * CHUNK + 1;
    }
    if (this.fill + n + 1 > CHUNK) {
      this.chunks.push(new Int32Array(CHUNK));
      this.chunkBytes += 4 * CHUNK;
      this.fill = 0;
    }
    const c = this.chunks.length - 1;
    const a = this.chunks[c]!;
    a[this.fill] = n;
    a.set(src.subarray(0, n), this.fill + 1);
    const at = c * CHUNK + this.fill + 1;
    this.fill += n + 1;
    return at;
  }

  /** The size of the set at `at`. */
  size(at: number): number {
    return this.chunks[Math.floor(at / CHUNK)]![(at % CHUNK) - 1]!;
  }

  /** The set at `at` (a view into its chunk). */
  get(at: number): Int32Array {
    const a = this.chunks[Math.floor(at / CHUNK)]!;
    const o = at % CHUNK;
    return a.subarray(o, o + a[o - 1]!);
  }
}

/** Lifts descriptor d (relative to the state after event x) to the state before x (Summaries.lift). */
export type Lift = (d: number, x: number, spawned: number) => number;

export class SummaryGraph {
  private readonly nodes = new IntPool(NODE << 12);
  private readonly steps = new IntPool(STEP << 12);
  private readonly ends = new IntPool(1 << 10);
  private readonly mats = new SetPool();
  /** Scratch for one set being computed (sets are computed children first, so one suffices). */
  private scratch = new Int32Array(1 << 12);

  /** Summaries made. */
  get size(): number {
    return this.nodes.n / NODE;
  }

  /** Bytes of the graph's arrays (nodes, steps and pending-op lists in use, the sets' chunks allocated). */
  get bytes(): number {
    return 4 * (this.nodes.n + this.steps.n + this.ends.n) + this.mats.bytes;
  }

  /** A new summary over `base` (-1: none), with the descriptors of the ops pending where a path ended at it. */
  add(base = -1, end: readonly number[] = []): number {
    const at = this.nodes.reserve(NODE);
    const e = end.length ? this.ends.reserve(end.length) : 0;
    for (let i = 0; i < end.length; i++) this.ends.a[e + i] = end[i]!;
    const a = this.nodes.a;
    a[at + N_BASE] = base;
    a[at + N_STEP] = -1;
    a[at + N_END] = e;
    a[at + N_ENDLEN] = end.length;
    a[at + N_MAT] = -1;
    return at / NODE;
  }

  /** A step from summary s's state: event x (its accesses, a sig id), its own descriptor, the summary it led to and the threads it spawned. */
  addStep(s: number, x: number, self: number, child: number, spawned: number): void {
    const at = this.steps.reserve(STEP);
    const st = this.steps.a;
    const n = this.nodes.a;
    st[at + S_X] = x;
    st[at + S_SELF] = self;
    st[at + S_CHILD] = child;
    st[at + S_SPAWNED] = spawned;
    st[at + S_NEXT] = n[s * NODE + N_STEP]!;
    n[s * NODE + N_STEP] = at;
  }

  /**
   * The descriptors of everything below summary s's state (sorted, unique), computed once and
   * kept. The view is valid until the next call.
   */
  descriptors(s: number, lift: Lift): Int32Array {
    return this.mats.get(this.materialize(s, lift));
  }

  private materialize(s: number, lift: Lift): number {
    const n = this.nodes.a;
    const done = n[s * NODE + N_MAT]!;
    if (done >= 0) return done;
    // Children and base first: the scratch buffer is then free for this one.
    const base = n[s * NODE + N_BASE]!;
    if (base >= 0) this.materialize(base, lift);
    for (let i = n[s * NODE + N_STEP]!; i >= 0; i = this.steps.a[i + S_NEXT]!) this.materialize(this.steps.a[i + S_CHILD]!, lift);
    // Room for every entry before deduplication: the pending ops, the base's set, and per step
    // its own descriptor and its child's set.
    const sets = this.mats;
    const st = this.steps.a;
    const e = n[s * NODE + N_END]!;
    const nEnd = n[s * NODE + N_ENDLEN]!;
    let room = nEnd + (base >= 0 ? sets.size(n[base * NODE + N_MAT]!) : 0);
    for (let i = n[s * NODE + N_STEP]!; i >= 0; i = st[i + S_NEXT]!) room += 1 + sets.size(n[st[i + S_CHILD]! * NODE + N_MAT]!);
    if (room > this.scratch.length) this.scratch = new Int32Array(Math.max(room, 2 * this.scratch.length));
    const out = this.scratch;
    let k = 0;
    for (let i = 0; i < nEnd; i++) out[k++] = this.ends.a[e + i]!;
    if (base >= 0) for (const d of sets.get(n[base * NODE + N_MAT]!)) out[k++] = d;
    for (let i = n[s * NODE + N_STEP]!; i >= 0; i = st[i + S_NEXT]!) {
      const x = st[i + S_X]!;
      const spawned = st[i + S_SPAWNED]!;
      out[k++] = st[i + S_SELF]!;
      for (const d of sets.get(n[st[i + S_CHILD]! * NODE + N_MAT]!)) out[k++] = lift(d, x, spawned);
    }
    const sorted = out.subarray(0, k).sort();
    let m = 0;
    for (let i = 0; i < k; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) sorted[m++] = sorted[i]!;
    const at = sets.add(out, m);
    n[s * NODE + N_MAT] = at;
    return at;
  }
}
