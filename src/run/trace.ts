/**
 * From a finding's example schedule to a trace a person reads: minimized, replayed with
 * recording, with its replay token.
 */
import { resolve } from 'node:path';
import { minimize } from '../check/minimize.ts';
import { record, replaySchedule } from '../check/record.ts';
import { notCovered } from '../answer/limits.ts';
import { buildProgram } from '../scenarios/build.ts';
import type { ParsedScenario } from '../scenarios/parse.ts';
import { TRACE_VERSION, type Trace } from '../trace/schema.ts';
import { encodeToken, sourceHash } from '../trace/token.ts';
import { sourceOptions } from '../patch/source.ts';
import type { PlannedRun, RunOptions } from './run.ts';
import { isBundled } from './load.ts';

export interface TraceRequest {
  readonly findingId: string | null;
  /** For an execution recorded to show an outcome (revision diff). */
  readonly outcome?: { readonly name: string; readonly value: string } | undefined;
  readonly schedule: readonly number[];
  readonly values: readonly number[];
}

export function buildTrace(p: ParsedScenario, run: PlannedRun, o: Pick<RunOptions, 'tableFree' | 'tlbFlush'>, req: TraceRequest, doMinimize = true): Trace {
  const cfg = { ...run, tableFree: o.tableFree ?? run.tableFree ?? p.scenario['table-free'], tlbFlush: o.tlbFlush ?? run.tlbFlush };
  const program = buildProgram(p.scenario, cfg);
  const s = req.findingId && doMinimize ? minimize(program, req, req.findingId) : req;
  const rec = record(program, s.schedule, s.values);
  const f = req.findingId ? rec.findings.find((x) => x.id === req.findingId) : undefined;
  const token = encodeToken({
    scenario: p.scenario.name,
    kernel: run.kernel,
    arch: run.arch,
    mutant: run.mutant,
    tableFree: cfg.tableFree,
    tlbFlush: cfg.tlbFlush,
    // `gupcheck replay` shows the first finding of the execution unless the token names another.
    finding: f && rec.findings[0]?.id !== f.id ? f.id : undefined,
    schedule: s.schedule,
    values: s.values,
    source: sourceHash(p.source),
  });
  return {
    version: TRACE_VERSION,
    tool: 'gupcheck',
    scenario: p.scenario.name,
    kernel: run.kernel,
    arch: run.arch,
    mutant: run.mutant,
    tableFree: program.tableFree(),
    tlbFlush: program.tlbFlush(),
    model: { interleaving: 'SC', notCovered: notCovered('checker') },
    finding: f ? { id: f.id, message: f.message, step: f.step } : null,
    ...(req.outcome ? { outcome: { name: req.outcome.name, value: req.outcome.value } } : {}),
    replay: token,
    command: replayCommand(token, p.file, run.kernelSource ? sourceOptions(run.kernelSource) : ''),
    cpus: rec.cpus,
    steps: rec.steps,
    initial: rec.initial!,
    states: rec.states,
    preemptions: rec.steps.filter((x) => x.preempted).length,
    findings: rec.findings.map((x) => ({ id: x.id, message: x.message, step: x.step })),
    ended: rec.ended,
  };
}

/**
 * The command that replays a token: a bundled example is found by its name; any other scenario
 * file is named with --scenario, by its absolute path, so the command works when copied into a
 * shell in another directory.
 */
export function replayCommand(token: string, file: string, kernelOptions = ''): string {
  const scenario = isBundled(file) ? '' : ` --scenario ${shellWord(resolve(file))}`;
  return `gupcheck replay ${token}${scenario}${kernelOptions ? ` ${kernelOptions}` : ''}`;
}

/** A word a POSIX shell reads back as `s`. */
export function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Re-run a token's schedule: does it still reach what it reached? */
export function checkReplay(p: ParsedScenario, run: PlannedRun, o: Pick<RunOptions, 'tableFree' | 'tlbFlush'>, req: TraceRequest) {
  const program = buildProgram(p.scenario, { ...run, tableFree: o.tableFree, tlbFlush: o.tlbFlush });
  return replaySchedule(program, req.schedule, req.values);
}
