/**
 * `--preemption-bound`: DPOR's bounded search explores only some of the schedules within the
 * bound, and says so; the stateful search explores every one. Example 08's mutant
 * no-write-protect-seq (GUP-fast without the write_protect_seq check, racing fork()) is a bug
 * one preemption reaches: DPOR under a bound of 1 misses it, the stateful search finds it with
 * an example of one preemption. The property test (test/property/dpor-naive.spec.ts) checks the
 * stateful side against bounded naive on generated programs.
 */
import { describe, expect, it } from 'vitest';
import { gupcheck } from './helpers.ts';

interface JsonRun {
  verdict: string;
  complete: boolean;
  strategy: string;
  limit: string | null;
  stopReason: string | null;
  states: number | null;
  findings: { id: string; preemptions: number; command: string }[];
}
const FORK = ['check', 'examples/08-fast-pin-vs-fork.yaml', '--kernel', '6.5', '--arch', 'x86', '--mutant', 'no-write-protect-seq', '--preemption-bound', '1'];
const only = (stdout: string): JsonRun => {
  const rs = (JSON.parse(stdout) as { results: JsonRun[] }).results;
  expect(rs).toHaveLength(1);
  return rs[0]!;
};

describe('--preemption-bound 1 on example 08 with the mutant no-write-protect-seq', () => {
  it('DPOR misses the one-preemption bug and its results say that it explored only some schedules', () => {
    const r = gupcheck([...FORK, '--strategy', 'dpor']);
    expect(r.stdout).toContain('bounded (preemption-bound)');
    expect(r.stdout).toMatch(/1 run explored schedules within a preemption bound of 1 with DPOR, which misses some of them .*--strategy stateful explores every one/);
    expect(r.stdout).toContain('NOT as expected');
    expect(r.code).not.toBe(0);
  }, 120_000);

  it('the stateful search explores every schedule within the bound and finds it, with a one-preemption example', () => {
    const r = gupcheck([...FORK, '--strategy', 'stateful', '--json']);
    expect(r.code).toBe(0);
    const run = only(r.stdout);
    expect(run.strategy).toBe('stateful');
    expect(run.verdict).toBe('holds');
    expect(run.complete).toBe(false);
    expect(run.limit).toBe('every schedule within 1 preemption');
    expect(run.states).toBeGreaterThan(0);
    const f = run.findings.find((x) => x.id === 'anon-pin-not-exclusive');
    expect(f?.preemptions).toBe(1);
    // The example replays to the same finding.
    const replay = gupcheck([...f!.command.split(' ').slice(1)]);
    expect(replay.stdout).toContain('anon-pin-not-exclusive');
  }, 120_000);

  it('a bound nothing is cut off by makes the stateful search complete', () => {
    const r = gupcheck(['check', 'examples/08-fast-pin-vs-fork.yaml', '--kernel', '6.5', '--arch', 'x86', '--preemption-bound', '50', '--strategy', 'stateful', '--json']);
    const run = (JSON.parse(r.stdout) as { results: (JsonRun & { mutant: string | null })[] }).results.find((x) => x.mutant === null)!;
    expect(run.strategy).toBe('stateful');
    expect(run.complete).toBe(true);
    expect(run.limit).toBeNull();
  }, 120_000);
});
