/** The progress line's estimate of how much of an exhaustive search is done, and how it is worded. */
import { describe, expect, it } from 'vitest';
import { type DfsNode, exploredFraction } from '../../src/check/split.ts';
import { describeEstimate } from '../../src/cli/progress.ts';

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

describe('describeEstimate', () => {
  it('says the share and the time left at the rate so far, as rough', () => {
    expect(describeEstimate(0.25, 60_000)).toBe(', ~25% explored, about 3 min left (rough)');
    expect(describeEstimate(0.5, 10_000)).toBe(', ~50% explored, about 10 s left (rough)');
    expect(describeEstimate(0.0005, 10_000)).toBe(', ~<0.1% explored');
    expect(describeEstimate(undefined, 10_000)).toBe('');
  });
});
