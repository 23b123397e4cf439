/** The verdict words (src/run/verdict.ts): one place for every view, and a summary that keeps "as expected" apart from "no finding". */
import { describe, expect, it } from 'vitest';
import { NO_FINDING, VERDICT_WORDS, verdictSummary } from '../../src/run/verdict.ts';

describe('verdict words', () => {
  it('say whether the expectations hold, not whether the kernel is fine', () => {
    expect(VERDICT_WORDS.holds.word).toBe('as expected');
    expect(VERDICT_WORDS.violated.word).toBe('NOT as expected');
    expect(VERDICT_WORDS.holds.meaning).toMatch(/finding shown is one the scenario expects/);
    expect(NO_FINDING).toBe('no finding');
  });

  it('summarise runs with findings apart from runs with none', () => {
    const run = (verdict: 'holds' | 'violated', n: number) => ({ verdict, findings: Array.from({ length: n }) });
    expect(verdictSummary([run('holds', 1), run('holds', 0), run('holds', 0)])).toBe('3/3 runs as expected (1 with the findings expected, 2 with no finding)');
    expect(verdictSummary([run('holds', 0), run('violated', 2)])).toBe('1/2 runs as expected (1 with no finding), 1 NOT as expected');
    expect(verdictSummary([run('violated', 0)])).toBe('0/1 run as expected, 1 NOT as expected');
    expect(verdictSummary([run('holds', 1), { verdict: 'interrupted', findings: [] }])).toBe('1/2 runs as expected (1 with the findings expected), 1 interrupted');
  });
});
