/**
 * `check --stop-at-finding`, as a reviewer hunting a bug in a configuration no search finishes
 * uses it: spin-l4-anon on v7/arm64 (2 GUP-fast CPUs × 2 pins, 2 zaps, 3 reuses) under the
 * stateful search stops at the wild-deref its first passes find, says why it stopped, and the
 * example replays. The run semantics are tested in test/run/stop-at-finding.spec.ts.
 */
import { describe, expect, it } from 'vitest';
import { gupcheck } from './helpers.ts';

const L4 = ['check', 'bench/spin-l4-anon.yaml', '--kernel', 'v7', '--arch', 'arm64', '--strategy', 'stateful', '--stop-at-finding', '--no-progress'];

describe('check --stop-at-finding', () => {
  it('stops spin-l4-anon on v7/arm64 at the wild-deref, as expected, and says that the search stopped there', () => {
    const r = gupcheck(L4);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/spin-l4-anon +v7 +arm64 +as expected +wild-deref +\d+ +stopped at a finding, [\d,]+ states /);
    expect(r.stdout).toContain('1 run stopped as soon as the findings decided the verdict (--stop-at-finding); drop the option to explore every interleaving');
    expect(r.stdout).toContain('1/1 run as expected');
  }, 120_000);

  it('gives the run as incomplete in JSON, with an example that replays to the wild-deref', () => {
    const r = gupcheck([...L4, '--json']);
    expect(r.code).toBe(0);
    const [run] = (JSON.parse(r.stdout) as { results: { complete: boolean; limit: string | null; verdict: string; findings: { id: string; command: string }[] }[] }).results;
    expect(run!.complete).toBe(false);
    expect(run!.limit).toBe('finding');
    expect(run!.verdict).toBe('holds');
    const f = run!.findings.find((x) => x.id === 'wild-deref')!;
    const replay = gupcheck(f.command.split(' ').slice(1));
    expect(replay.code).toBe(0);
    expect(replay.stdout).toContain('wild-deref');
  }, 120_000);
});
