/**
 * `--strategy stateful` from the command line: the same verdicts as DPOR on a bundled example,
 * the states it stored in the table and the JSON, and `--max-memory` stopping a search that
 * cannot fit with its partial results.
 */
import { describe, expect, it } from 'vitest';
import { gupcheck } from './helpers.ts';

interface JsonRun {
  verdict: string;
  complete: boolean;
  executions: number;
  states?: number | null;
  collisionProbability?: number | null;
  limit: string | null;
  stopReason: string | null;
  findings: { id: string }[];
  outcomes: Record<string, Record<string, number>>;
}
const runs = (stdout: string) => (JSON.parse(stdout) as { results: JsonRun[] }).results;

describe('check --strategy stateful', () => {
  it('finds what DPOR finds on fast-pin-vs-munmap (6.5/arm64 and its table-free-no-sync mutant), and says how many states it stored', () => {
    const args = ['check', 'examples/11-fast-pin-vs-munmap.yaml', '--kernel', '6.5', '--arch', 'arm64', '--json'];
    const withMutant = [...args, '--mutant', 'table-free-no-sync'];
    for (const a of [args, withMutant]) {
      const d = gupcheck(a);
      const s = gupcheck([...a, '--strategy', 'stateful']);
      expect(s.code, s.stderr).toBe(d.code);
      const [dr] = runs(d.stdout);
      const [sr] = runs(s.stdout);
      expect(sr!.complete).toBe(true);
      expect(sr!.verdict).toBe(dr!.verdict);
      expect(sr!.findings.map((f) => f.id).sort()).toEqual(dr!.findings.map((f) => f.id).sort());
      expect(Object.fromEntries(Object.entries(sr!.outcomes).map(([k, v]) => [k, Object.keys(v).sort()]))).toEqual(Object.fromEntries(Object.entries(dr!.outcomes).map(([k, v]) => [k, Object.keys(v).sort()])));
      expect(sr!.states).toBeGreaterThan(0);
      // n²/2⁶⁵ for the states it stored (TLC's estimate)
      expect(sr!.collisionProbability).toBeCloseTo(sr!.states! ** 2 / 2 ** 65, 20);
    }
    const text = gupcheck([...args.filter((a) => a !== '--json'), '--strategy', 'stateful']);
    expect(text.stdout).toMatch(/stateful: 64-bit state fingerprints; the chance of a collision among the [\d,]+ states of the largest run is about \d\.\de-\d+/);
  }, 120_000);

  it('--max-memory stops a run cleanly with partial results, bounded (memory)', () => {
    // spin-l2: its heap passes 40 MB within seconds (spin-l1's whole search now stays near 60 MB).
    const r = gupcheck(['check', 'bench/spin-l2.yaml', '--kernel', '6.5', '--arch', 'arm64', '--strategy', 'stateful', '--max-memory', '40']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/bounded \(memory\), [\d,]+ states/);
    expect(r.stdout).toMatch(/stopped at --max-memory 40 MB \(heap \d+ MB\); the results so far are partial/);
    const j = gupcheck(['check', 'bench/spin-l2.yaml', '--kernel', '6.5', '--arch', 'arm64', '--strategy', 'stateful', '--max-memory', '40', '--json']);
    const [run] = runs(j.stdout);
    expect(run!.complete).toBe(false);
    expect(run!.limit).toBe('memory');
  }, 120_000);

  it('--max-memory below 16 MB is refused with the range', () => {
    const r = gupcheck(['check', 'bench/spin-l1.yaml', '--max-memory', '1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--max-memory must be a whole number from 16 to/);
  });
});
