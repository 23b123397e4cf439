/**
 * `--strategy auto`, the default: DPOR first; a run DPOR has not finished after
 * AUTO_DPOR_EXECUTIONS executions is explored again by the stateful search, which must give the
 * same verdict, findings and outcome values as DPOR run to its end. Runs the stateful search
 * cannot take (C patches), preemption-bounded runs and runs under a smaller --max-executions
 * stay with DPOR, and are not cut at the switch.
 */
import { describe, expect, it } from 'vitest';
import { AUTO_DPOR_EXECUTIONS } from '../../src/check/defaults.ts';
import { gupcheck } from './helpers.ts';

interface JsonRun {
  arch: string;
  verdict: string;
  complete: boolean;
  executions: number;
  strategy: string;
  states: number | null;
  dporFirst: number | null;
  limit: string | null;
  stopReason: string | null;
  findings: { id: string }[];
  outcomes: Record<string, Record<string, number>>;
}
const runs = (stdout: string) => (JSON.parse(stdout) as { results: JsonRun[] }).results;
const valuesOf = (r: JsonRun) => Object.fromEntries(Object.entries(r.outcomes).map(([k, v]) => [k, Object.keys(v).sort()]));

// THP split on 6.5: DPOR needs 9,833 (plain-get) and 23,239 executions on arm64, 1,254 on x86.
const THP = ['check', 'examples/10-fast-pin-vs-thp-split.yaml', '--kernel', '6.5', '--json'];

describe('check --strategy auto (the default)', () => {
  it('moves a run DPOR has not finished to the stateful search, with the verdict, findings and outcome values of DPOR run to its end', () => {
    for (const extra of [[], ['--mutant', 'plain-get'], ['--workers', '2']]) {
      const a = gupcheck([...THP, ...extra]);
      const d = gupcheck([...THP, ...extra, '--strategy', 'dpor']);
      expect(a.code, a.stderr).toBe(d.code);
      const ar = runs(a.stdout);
      const dr = runs(d.stdout);
      expect(ar.map((r) => r.arch)).toEqual(dr.map((r) => r.arch));
      for (const [i, r] of ar.entries()) {
        const ref = dr[i]!;
        expect(ref.strategy).toBe('dpor');
        expect(ref.complete).toBe(true);
        if (ref.executions > AUTO_DPOR_EXECUTIONS) {
          expect(r.strategy).toBe('stateful');
          // With two workers, the other may finish one more execution before it sees the count.
          expect(r.dporFirst).toBeGreaterThanOrEqual(AUTO_DPOR_EXECUTIONS);
          expect(r.dporFirst).toBeLessThanOrEqual(AUTO_DPOR_EXECUTIONS + 1);
          expect(r.states).toBeGreaterThan(0);
        } else {
          // DPOR finished it: nothing moved, the very same search.
          expect(r.strategy).toBe('dpor');
          expect(r.dporFirst).toBeNull();
          expect(r.executions).toBe(ref.executions);
        }
        expect(r.complete).toBe(true);
        expect(r.verdict).toBe(ref.verdict);
        expect(r.findings.map((f) => f.id)).toEqual(ref.findings.map((f) => f.id));
        expect(valuesOf(r)).toEqual(valuesOf(ref));
      }
      expect(ar.some((r) => r.strategy === 'stateful')).toBe(true);
    }
    const text = gupcheck(THP.filter((x) => x !== '--json'));
    expect(text.code, text.stderr).toBe(0);
    const moved = runs(gupcheck(THP).stdout).filter((r) => r.strategy === 'stateful').length;
    expect(moved).toBeGreaterThan(1);
    expect(text.stdout).toContain(`${moved} runs moved to the stateful search after ${AUTO_DPOR_EXECUTIONS.toLocaleString('en-US')} DPOR executions had not finished them (--strategy auto, the default)`);
    expect(text.stdout).toMatch(/complete, [\d,]+ states/);
  }, 300_000);

  it('keeps DPOR, bounded as asked, under a --max-executions at or below the switch', () => {
    const r = gupcheck([...THP, '--arch', 'arm64', '--max-executions', String(AUTO_DPOR_EXECUTIONS - 500)]);
    const [run] = runs(r.stdout);
    expect(run!.strategy).toBe('dpor');
    expect(run!.complete).toBe(false);
    expect(run!.limit).toBe('executions');
    expect(run!.executions).toBe(AUTO_DPOR_EXECUTIONS - 500);
    expect(run!.stopReason).toContain(`--max-executions ${AUTO_DPOR_EXECUTIONS - 500}`);
    expect(run!.dporFirst).toBeNull();
  }, 120_000);

  it('keeps DPOR, unbounded by the switch, for a C patch (the stateful search cannot take it) and a preemption bound (its quick partial search)', () => {
    // The patch is 6.5's own folio_fast_pin_allowed(): the run needs DPOR's 23,239 executions.
    const patched = gupcheck([...THP, '--arch', 'arm64', '--patch', 'examples/patches/fast-pin-allowed-6.5.c']);
    const [p] = runs(patched.stdout);
    expect(p!.strategy).toBe('dpor');
    expect(p!.complete).toBe(true);
    expect(p!.executions).toBeGreaterThan(AUTO_DPOR_EXECUTIONS);
    const bounded = gupcheck([...THP, '--arch', 'arm64', '--preemption-bound', '5']);
    const [b] = runs(bounded.stdout);
    expect(b!.strategy).toBe('dpor');
    expect(b!.limit).toBe('preemption-bound');
    expect(b!.stopReason).toContain('with DPOR, which misses some of them');
    expect(b!.executions).toBeGreaterThan(AUTO_DPOR_EXECUTIONS); // 3,683 with at most 5 preemptions
  }, 300_000);
});
