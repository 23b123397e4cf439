/**
 * The stateful search's compact stores (check/graph.ts, check/table.ts) against plain objects:
 * random summary graphs without cycles give the same descriptor sets as a Set-based computation
 * of the definition, and the state table keeps its fields across growth.
 */
import { describe, expect, it } from 'vitest';
import { SummaryGraph } from '../../src/check/graph.ts';
import { StateTable } from '../../src/check/table.ts';
import { rng } from '../../src/check/strategies/random.ts';

interface RefNode {
  base: number;
  end: number[];
  steps: { x: number; self: number; child: number; spawned: number }[];
}

describe('SummaryGraph', () => {
  it('gives every summary the descriptors of the definition (200 random graphs)', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const r = rng(seed);
      const int = (n: number): number => Math.floor(r() * n);
      // A lift that is not the identity and depends on all three arguments.
      const lift = (d: number, x: number, spawned: number): number => ((d * 31 + x * 7 + spawned) % 97) + (d % 3 === 0 ? 0 : 100);
      const g = new SummaryGraph();
      const ref: RefNode[] = [];
      const n = 1 + int(300);
      for (let i = 0; i < n; i++) {
        // Children and base are earlier nodes: no cycles, as in the search.
        const base = i > 0 && r() < 0.2 ? int(i) : -1;
        const end = Array.from({ length: int(3) }, () => int(50));
        const id = g.add(base, end);
        expect(id).toBe(i);
        const node: RefNode = { base, end, steps: [] };
        for (let k = i > 0 ? int(4) : 0; k > 0; k--) {
          const st = { x: int(20), self: int(60), child: int(i), spawned: r() < 0.2 ? 1 << int(5) : 0 };
          g.addStep(i, st.x, st.self, st.child, st.spawned);
          node.steps.push(st);
        }
        ref.push(node);
      }
      const memo = new Map<number, Set<number>>();
      const want = (s: number): Set<number> => {
        const got = memo.get(s);
        if (got) return got;
        const node = ref[s]!;
        const out = new Set<number>(node.end);
        if (node.base >= 0) for (const d of want(node.base)) out.add(d);
        for (const st of node.steps) {
          out.add(st.self);
          for (const d of want(st.child)) out.add(lift(d, st.x, st.spawned));
        }
        memo.set(s, out);
        return out;
      };
      // Ask in a random order: sets computed for one query are reused by the next.
      for (let q = 0; q < 20; q++) {
        const s = int(n);
        const got = [...g.descriptors(s, lift)];
        expect(got, `seed ${seed}, summary ${s}`).toEqual([...want(s)].sort((a, b) => a - b));
      }
    }
  });
});

describe('SummaryGraph sets', () => {
  it('stores an equal set once, and keeps every set right across the index growing', () => {
    const r = rng(11);
    const int = (n: number): number => Math.floor(r() * n);
    const lift = (d: number): number => d;
    // 20,000 leaves whose sets are one of 40 (sorted, unique, 50-100 entries), then 20,000 more
    // sets that are all different: the index grows past its first size several times.
    const shapes = Array.from({ length: 40 }, () => [...new Set(Array.from({ length: 50 + int(51) }, () => int(100_000)))].sort((a, b) => a - b));
    const g = new SummaryGraph();
    const want: number[][] = [];
    for (let i = 0; i < 20_000; i++) {
      const set = shapes[int(shapes.length)]!;
      g.add(-1, set);
      want.push(set);
    }
    for (let i = 0; i < 20_000; i++) {
      const set = [5000 + i, 100_000 + int(1000) * 20_000 + i];
      g.add(-1, set);
      want.push(set);
    }
    const before = g.bytes;
    for (let s = 0; s < 20_000; s++) expect([...g.descriptors(s, lift)]).toEqual(want[s]);
    const shared = g.bytes - before;
    for (let s = 20_000; s < 40_000; s++) expect([...g.descriptors(s, lift)]).toEqual(want[s]);
    // The first 20,000 sets are 40 distinct ones: one 4 MB chunk and the index's first size,
    // nothing more; stored one by one they would need about 20,000 x 75 ints (6 MB).
    expect(shared).toBeLessThanOrEqual(4 * (1 << 20) + 4 * (1 << 12));
    for (let q = 0; q < 2000; q++) {
      const s = int(40_000);
      expect([...g.descriptors(s, lift)]).toEqual(want[s]);
    }
  });
});

describe('StateTable', () => {
  it('finds every state with its fields after growing, and nothing else', () => {
    const r = rng(7);
    const t = new StateTable(3);
    const keys: [number, number][] = [];
    for (let i = 0; i < 50_000; i++) {
      const hi = (r() * 2 ** 32) | 0;
      const lo = (r() * 2 ** 32) | 0;
      if (t.get(hi, lo) >= 0) continue;
      const s = t.add(hi, lo);
      expect(s).toBe(keys.length);
      t.setField(s, 0, i);
      t.setField(s, 2, -i - 1);
      keys.push([hi, lo]);
    }
    expect(t.size).toBe(keys.length);
    keys.forEach(([hi, lo], s) => {
      expect(t.get(hi, lo)).toBe(s);
      expect(t.field(s, 1)).toBe(0);
      expect(t.field(s, 2)).toBe(-t.field(s, 0) - 1);
    });
    expect(t.get(keys[0]![0], keys[0]![1] ^ 1)).toBe(-1);
    t.clear();
    expect(t.size).toBe(0);
    expect(t.get(keys[0]![0], keys[0]![1])).toBe(-1);
  });
});
