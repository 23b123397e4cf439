/** The progress line's estimate of how much of an exhaustive search is done, when it is given, and how it is worded. */
import { describe, expect, it } from 'vitest';
import { type DfsNode, exploredFraction } from '../../src/check/split.ts';
import { describeEstimate, SizeEstimates } from '../../src/cli/progress.ts';

const node = (o: Partial<DfsNode>): DfsNode => ({ enabled: 0b11, sleep: 0, backtrack: 0, done: 0b1, chosen: 0, value: 0, nValues: 0, site: 0, ...o });

describe('exploredFraction', () => {
  it('is 0 on the first path, and the finished share of each level weighted by the branching above it', () => {
    expect(exploredFraction([node({ backtrack: 0b11 })])).toBe(0);
    expect(exploredFraction([node({ backtrack: 0b11, done: 0b11, chosen: 1 })])).toBe(0.5);
    expect(exploredFraction([node({ backtrack: 0b11, done: 0b11, chosen: 1 }), node({ backtrack: 0b11, done: 0b11, chosen: 1 })])).toBe(0.75);
  });
  it('counts the values of a local choice as alternatives, and ignores sleeping and disabled threads', () => {
    expect(exploredFraction([node({ enabled: 0b1, nValues: 3, value: 1 })])).toBeCloseTo(1 / 3);
    expect(exploredFraction([node({ enabled: 0b111, sleep: 0b100, backtrack: 0b111, done: 0b11, chosen: 1 })])).toBe(0.5);
  });
  it('falls back when the search learns of more alternatives at a level (DPOR meets a race)', () => {
    const before = exploredFraction([node({ enabled: 0b111, backtrack: 0b11, done: 0b11, chosen: 1 })]);
    const after = exploredFraction([node({ enabled: 0b111, backtrack: 0b111, done: 0b11, chosen: 1 })]);
    expect(after).toBeLessThan(before);
  });
});

/**
 * (ms, executions, explored share) as the progress line saw them in `gupcheck check
 * bench/spin-l1.yaml --kernel 6.5 --arch arm64` on a terminal (issue 16): the share stays near 7%
 * while the executions triple, so the size it implies keeps growing. The line used to say
 * "about 4 s left" at 1.1 s and "about 14 min left" at 64 s, of a run that had not finished
 * after 13 minutes.
 */
const SPIN_L1: readonly (readonly [number, number, number])[] = [
  [1100, 47, 0.18], [3500, 2406, 0.036], [6000, 6462, 0.06], [8400, 10931, 0.061], [10900, 17088, 0.062], [13300, 28072, 0.066],
  [15700, 35755, 0.12], [18400, 40375, 0.14], [21100, 42711, 0.15], [24300, 45067, 0.24], [26700, 50879, 0.068], [29200, 56987, 0.068],
  [31700, 62526, 0.068], [34500, 68726, 0.069], [36900, 74779, 0.069], [39400, 79106, 0.073], [42100, 85323, 0.073], [44500, 90485, 0.073],
  [46900, 94851, 0.073], [49400, 101626, 0.073], [52000, 107473, 0.073], [54500, 114857, 0.069], [57500, 122222, 0.071], [59900, 131054, 0.071],
  [62300, 138549, 0.071], [64700, 145662, 0.073], [67800, 151747, 0.073], [70300, 160293, 0.078], [72800, 167541, 0.076], [75500, 173348, 0.079],
];

describe('describeEstimate', () => {
  it('gives no time while there is no history of estimates, or less than 5 s of it', () => {
    expect(describeEstimate(0.25, 60_000)).toBe(', size not known yet');
    const sizes = new SizeEstimates();
    for (let ms = 0; ms <= 8000; ms += 500) sizes.add(ms, ms, ms / 40_000); // a perfectly steady estimate
    expect(describeEstimate(0.2, 8000, sizes)).toBe(', size not known yet');
    expect(describeEstimate(undefined, 10_000, sizes)).toBe('');
  });

  it('on a real search whose estimate keeps growing (spin-l1): never a time, and says how much it grew', () => {
    const sizes = new SizeEstimates();
    const said: string[] = [];
    for (const [ms, n, f] of SPIN_L1) {
      sizes.add(ms, n, f);
      said.push(describeEstimate(f, ms, sizes));
    }
    expect(said.filter((x) => /left/.test(x))).toEqual([]);
    expect(said.at(-1)).toMatch(/^, size not known yet \(its estimate grew \d\.\dx in the last 38 s\)$/);
  });

  it('once the estimate has held within 25% over the last half of the run: the share and the time left, as rough', () => {
    const sizes = new SizeEstimates();
    for (let ms = 0; ms <= 60_000; ms += 1000) sizes.add(ms, ms * 10, (ms * 10) / 2_400_000); // 2.4 M executions at 10/ms
    expect(describeEstimate(0.25, 60_000, sizes)).toBe(', ~25% explored, about 3 min left (rough)');
    const wobbly = new SizeEstimates();
    for (let ms = 0; ms <= 20_000; ms += 1000) wobbly.add(ms, ms * 10, ((ms * 10) / 2_400_000) * (ms % 2000 ? 1 : 1.4));
    expect(describeEstimate(0.25, 20_000, wobbly)).toMatch(/^, size not known yet \(its estimate moved 1\.4x in the last 10 s\)$/);
  });
});
