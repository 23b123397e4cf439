/**
 * `--strategy auto`'s result for a run that moved (run/pool.ts movedResult()): the stateful
 * search's, with DPOR's example of a finding where it is shorter; and DPOR's, said so, when the
 * stateful search stopped early before it met a finding DPOR had found: a finding seen is never
 * dropped. (The end-to-end behaviour on the examples is in test/cli/auto.spec.ts.) And the frames
 * worker's build, which the move may start, stopped by Ctrl-C.
 */
import { describe, expect, it } from 'vitest';
import { framesEntry, movedResult } from '../../src/run/pool.ts';
import type { FindingReport, RunResult } from '../../src/run/run.ts';

const finding = (id: string, preemptions: number, steps: number, schedule: number[]): FindingReport => ({ id, executions: 1, message: `${id} (${steps} steps)`, schedule, values: [], preemptions, steps, expected: true });

function result(o: Partial<RunResult>): RunResult {
  return {
    scenario: 's',
    kernel: '6.5',
    arch: 'arm64',
    mutant: null,
    verdict: 'holds',
    findings: [],
    outcomes: {},
    executions: 0,
    transitions: 0,
    complete: true,
    limit: undefined,
    stopReason: undefined,
    expectations: [],
    ms: 0,
    firstFindingMs: undefined,
    strategy: 'dpor',
    preemptionBound: undefined,
    tableFree: undefined,
    states: undefined,
    outcomeExamples: [],
    statesStored: undefined,
    ...o,
  };
}

const dpor = (findings: FindingReport[]) => result({ findings, executions: 2000, complete: false, limit: 'executions', stopReason: 'stopped after --max-executions 2000 executions', ms: 300 });

describe('movedResult', () => {
  it("is the stateful search's result, with the time of both and DPOR's shorter example", () => {
    const d = dpor([finding('warn', 1, 40, [0, 1]), finding('refcount', 3, 90, [1, 0])]);
    const r = result({ strategy: 'stateful', executions: 150, statesStored: 900, ms: 500, findings: [finding('warn', 2, 30, [1, 1]), finding('refcount', 3, 80, [0, 0])] });
    const m = movedResult(d, r);
    expect(m.strategy).toBe('stateful');
    expect(m.complete).toBe(true);
    expect(m.executions).toBe(150);
    expect(m.ms).toBe(800);
    expect(m.dporFirst).toBe(2000);
    // warn: DPOR's has fewer preemptions; refcount: the stateful search's has fewer steps.
    expect(m.findings.map((f) => [f.id, f.preemptions, f.steps, f.executions])).toEqual([
      ['warn', 1, 40, 1],
      ['refcount', 3, 80, 1],
    ]);
    expect(m.findings[0]!.schedule).toEqual([0, 1]);
  });

  it("counts the first finding's time from the run's start: DPOR's when it found one, else the stateful search's after DPOR's phase", () => {
    expect(movedResult({ ...dpor([finding('warn', 1, 40, [0])]), firstFindingMs: 120 }, result({ strategy: 'stateful', firstFindingMs: 20, findings: [finding('warn', 1, 40, [0])] })).firstFindingMs).toBe(120);
    expect(movedResult(dpor([]), result({ strategy: 'stateful', firstFindingMs: 20, findings: [finding('warn', 1, 40, [0])] })).firstFindingMs).toBe(320);
    expect(movedResult(dpor([]), result({ strategy: 'stateful' })).firstFindingMs).toBeUndefined();
  });

  it('keeps a finding DPOR found when the stateful search stopped early without it', () => {
    const d = dpor([finding('wild-deref', 1, 70, [0, 1])]);
    const r = result({ strategy: 'stateful', complete: false, limit: 'memory', stopReason: 'stopped at --max-memory 64 MB', executions: 3, ms: 100 });
    const m = movedResult(d, r);
    expect(m.findings.map((f) => f.id)).toEqual(['wild-deref']);
    expect(m.strategy).toBe('dpor');
    expect(m.complete).toBe(false);
    expect(m.limit).toBe('memory');
    expect(m.stopReason).toBe("stopped at --max-memory 64 MB; the stateful search after DPOR's first 2000 executions stopped before it met wild-deref again, so the results are DPOR's");
    expect(m.ms).toBe(400);
    expect(m.dporFirst).toBeUndefined();
  });

  it("takes a stateful search stopped by --stop-at-finding, with DPOR's other findings beside its own", () => {
    // A non-strict scenario: DPOR met a finding no expectation names; the stateful search stopped at the wild-deref that decided the verdict.
    const d = dpor([finding('warn', 1, 30, [0])]);
    const r = result({ strategy: 'stateful', complete: false, limit: 'finding', stopReason: 'stopped as soon as the findings decided the verdict', findings: [finding('wild-deref', 1, 60, [1])], executions: 30 });
    const m = movedResult(d, r);
    expect(m.strategy).toBe('stateful');
    expect(m.verdict).toBe('holds');
    expect(m.limit).toBe('finding');
    expect(m.findings.map((f) => f.id)).toEqual(['wild-deref', 'warn']);
  });

  it('takes the stopped stateful search when it met every finding DPOR had', () => {
    const d = dpor([finding('wild-deref', 1, 70, [0, 1])]);
    const r = result({ strategy: 'stateful', complete: false, limit: 'interrupted', stopReason: 'interrupted', findings: [finding('wild-deref', 1, 60, [1])], executions: 30 });
    const m = movedResult(d, r);
    expect(m.strategy).toBe('stateful');
    expect(m.limit).toBe('interrupted');
    expect(m.findings[0]!.steps).toBe(60);
  });
});

describe("the frames worker's build", () => {
  // Ctrl-C reaches esbuild's service too (the whole foreground process group), so a build under
  // way fails; with the stop asked for, that is the interrupt, not an internal error.
  const killed = () => Promise.reject(new Error('The service was stopped: write EPIPE'));
  it('stopped by an interrupt: no entry, and no error', async () => {
    expect(await framesEntry({ shouldStop: () => 'interrupted' }, killed)).toBeNull();
  });
  it('failing with no interrupt: the error stands', async () => {
    await expect(framesEntry({ shouldStop: () => undefined }, killed)).rejects.toThrow('The service was stopped');
  });
});
