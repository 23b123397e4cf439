/**
 * The revision diff's outcome traces (issue 7: "with a trace for each difference"): a report
 * written by `check --report` carries, for every outcome one revision of a scenario reaches and
 * another does not, a trace from each run that reaches it, and replaying that trace's token
 * reaches the outcome again.
 */
import { describe, expect, it } from 'vitest';
import { runCheck } from '../../src/cli/commands/check.ts';
import { loadScenario } from '../../src/run/load.ts';
import { plannedRuns } from '../../src/run/run.ts';
import { checkReplay } from '../../src/run/trace.ts';
import { decodeToken } from '../../src/trace/token.ts';

const FILE = 'examples/03-fast-pin-null-mapping-order0.yaml';

describe('outcome traces for the revision diff', () => {
  it('has one replayable trace per run for each outcome that not every revision reaches', async () => {
    const res = await runCheck([FILE], { strategy: 'dpor', json: true, traces: false, out: 'gupcheck-out/test-outcome-traces', progress: false, workers: '1', report: 'unused.html' });
    const byArch = new Map<string, typeof res.results>();
    for (const r of res.results.filter((x) => x.mutant === null)) byArch.set(r.arch, [...(byArch.get(r.arch) ?? []), r]);
    const expected: string[] = [];
    for (const runs of byArch.values()) {
      const reached = runs.map((r) => new Set(Object.entries(r.outcomes).flatMap(([n, vs]) => Object.keys(vs).map((v) => `${n}=${v}`))));
      runs.forEach((r, i) => {
        for (const o of reached[i]!) if (!reached.every((s) => s.has(o))) expected.push(`${r.kernel}/${r.arch} ${o}`);
      });
    }
    // The example exists to show a difference (6.10/6.12 fall back on a NULL-mapping page; 6.5 and next pin fast).
    expect(expected.length).toBeGreaterThan(0);
    const got = res.outcomeTraces.map((t) => `${t.kernel}/${t.arch} ${t.outcome!.name}=${t.outcome!.value}`);
    expect(got.sort()).toEqual(expected.sort());

    const p = loadScenario(FILE);
    for (const t of res.outcomeTraces) {
      expect(t.finding).toBeNull();
      const tok = decodeToken(t.replay);
      const run = plannedRuns(p.scenario, {}).find((r) => r.kernel === t.kernel && r.arch === t.arch && r.mutant === t.mutant)!;
      const rep = checkReplay(p, run, {}, { findingId: null, schedule: tok.schedule, values: tok.values });
      expect(rep.fits).toBe(true);
      expect(rep.ex.w.outcomes.get(t.outcome!.name)).toBe(t.outcome!.value);
    }
  });

  it('records none without --report (they are for the report only)', async () => {
    const res = await runCheck([FILE], { strategy: 'dpor', json: true, traces: false, out: 'gupcheck-out/test-outcome-traces', progress: false, workers: '1', kernel: '6.5,6.12', arch: 'x86' });
    expect(res.outcomeTraces).toEqual([]);
  });
});
