/** `gupcheck bench`: the speed and memory benchmark (src/bench/bench.ts); `npm run bench` runs it. */
import { Command } from '@commander-js/extra-typings';
import { type BenchOptions, type BenchReport, bundledExamples, type CPatchRow, runBench, runCPatchBench, SPIN_L4_ALL } from '../../bench/bench.ts';
import { describeStartup } from '../../bench/startup.ts';
import { defaultWorkers } from '../../run/pool.ts';
import { EXIT_OK, UserError } from '../errors.ts';
import { writeAtomic } from '../files.ts';
import { type Out, table } from '../output.ts';

function posInt(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UserError('GUPCHECK_BAD_ARGUMENT', `${name} must be a whole number of at least 1 (got '${v}')`, `e.g. ${name} 2`);
  return n;
}

const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const x = (r: number | null) => (r === null ? '-' : `${r.toFixed(1)}x`);

/** The C patch rows of the targets table: each function's own cost, then the whole runs. */
export function cPatchLines(rows: readonly CPatchRow[]): [string, string, string][] {
  const us = (ms: number, n: number) => `${((ms * 1000) / Math.max(1, n)).toFixed(2)} µs`;
  return rows.flatMap((r): [string, string, string][] => [
    [
      `C patch / TypeScript: ${r.fn}() itself`,
      `${r.fnRatio.toFixed(2)}x (${us(r.patchedFnMs, r.patchedCalls)} / ${us(r.nativeFnMs, r.nativeCalls)} per call, ${r.patchedCalls}${r.patchedCalls === r.nativeCalls ? '' : ` / ${r.nativeCalls} (DIFFERENT)`} calls over ${r.runs} runs of the examples on 6.5, ${r.sameExecutions ? 'the same executions' : 'DIFFERENT executions'}; least of ${r.rounds} rounds; callees included, time at scheduling points not; ${r.patch}; timer cost ${r.timerNs[0].toFixed(0)}/${r.timerNs[1].toFixed(0)} ns per step subtracted, ${r.outliers} steps over 0.5 ms left out)`,
      '<= 3x',
    ],
    [`C patch / TypeScript: ${r.fn}(), whole runs`, `${r.ratio.toFixed(2)}x (${s(r.patchedMs)} / ${s(r.nativeMs)})`, '-'],
  ]);
}

export function renderBench(out: Out, b: BenchReport): string {
  let text = table(
    out,
    ['scenario', 'kernel', 'arch', 'executions', 'transitions', 'time', 'transitions/s', 'search', 'peak RSS', 'naive execs', 'naive/DPOR'],
    b.rows.map((r) => [
      r.scenario,
      r.kernel,
      r.arch,
      r.executions,
      r.transitions,
      s(r.ms),
      r.transitionsPerSec.toLocaleString('en-US'),
      r.complete ? 'complete' : `bounded (${r.limit ?? '?'})`,
      `${r.rssMB} MB`,
      r.naiveExecutions === null ? '-' : `${r.naiveExecutions}${r.naiveComplete ? '' : '+'}`,
      r.naiveExecutions === null || !r.complete ? '-' : `${r.naiveComplete ? '' : '>='}${(r.naiveExecutions / r.executions).toFixed(1)}x${r.agree === false ? ' DISAGREE' : ''}`,
    ]),
  );
  text += '\nscaled-reuse (2 CPUs x 2 GUP-fast pins, 2 zaps, 3 reuses; arm64):\n';
  text += table(
    out,
    ['file', 'kernel', 'strategy', 'executions', 'search', 'time', 'first finding', 'peak RSS'],
    b.scaled.map((r) => [r.file, r.kernel, r.strategy, r.executions, r.complete ? 'complete' : r.strategy === 'pct' ? 'sampled' : 'not finished', s(r.ms), r.firstFindingMs === null ? '-' : `${r.firstFindingMs} ms`, `${r.rssMB} MB`]),
  );
  text += `\nagainst Spin (bench/spin-*.yaml on 6.5/arm64, one PTE; Spin 6.5.2's search time on this machine, compilation excluded):\n`;
  text += table(
    out,
    ['config', 'strategy', 'search', 'executions', 'states', 'time', 'Spin', 'time / Spin', 'states / Spin', 'findings', 'peak RSS'],
    b.againstSpin.map((r) => [
      r.config,
      r.strategy,
      r.complete ? 'complete' : 'not finished',
      r.executions,
      r.states ?? '-',
      s(r.ms),
      r.spinMs === null ? '-' : s(r.spinMs),
      r.spinMs === null ? '-' : `${r.complete ? '' : '>= '}${(r.ms / r.spinMs).toFixed(1)}x`,
      r.spinStates === null || r.states === null ? '-' : `${r.complete ? '' : '>= '}${(r.states / r.spinStates).toFixed(2)}x`,
      r.findings.length ? r.findings.join(', ') : 'none',
      `${r.rssMB} MB`,
    ]),
  );
  const l4 = b.againstSpin.filter((r) => r.strategy === 'stateful' && r.config.startsWith('L4'));
  if (l4.length === 3) {
    const ms = l4.reduce((a, r) => a + r.ms, 0);
    const done = l4.every((r) => r.complete);
    text += `L4, three page types together (stateful): ${done ? '' : 'not finished, >= '}${s(ms)} against Spin's ${s(SPIN_L4_ALL.spinMs)} (${done ? '' : '>= '}${(ms / SPIN_L4_ALL.spinMs).toFixed(1)}x)\n`;
  }
  const n = b.ratios.naiveOverDpor;
  const w = b.ratios.workers;
  const scaled65 = b.scaled.filter((r) => r.kernel === '6.5' && r.strategy === 'dpor');
  const scaledDone = scaled65.every((r) => r.complete);
  const scaledMs = scaled65.reduce((a, r) => a + r.ms, 0);
  const v7first = (strategy: string) => b.scaled.filter((r) => r.kernel === 'v7' && r.strategy === strategy).map((r) => (r.firstFindingMs === null ? 'none' : `${r.firstFindingMs} ms`)).join(', ');
  const lines: [string, string, string][] = [
    ['explorer inner loop', `${b.bestTransitionsPerSec.value.toLocaleString('en-US')} transitions/s (${b.bestTransitionsPerSec.run})`, '>= 1,000,000/s on one core'],
    ['scaled-reuse 6.5/arm64 exhaustive', scaledDone ? s(scaledMs) : `not finished: ${scaled65.map((r) => `${r.executions} executions in ${s(r.ms)}`).join(', ')}`, '< 15 s'],
    ['first v7/arm64 finding (fast-pin-vs-unmap-reuse)', b.v7FirstFindingMs === null ? 'none' : `${b.v7FirstFindingMs} ms`, '< 100 ms'],
    ['first v7/arm64 finding (scaled-reuse)', `dpor: ${v7first('dpor')}; pct --seed 1: ${v7first('pct')}`, '-'],
    ['naive/DPOR executions', `median ${x(n.median)} (min ${x(n.min)}, max ${x(n.max)}) over ${n.runs} runs naive finished; on the ${n.largestRuns} runs with the most DPOR executions, median ${n.largestAtLeast ? '>= ' : ''}${x(n.largestExamples)}${n.naiveUnfinished ? `; naive did not finish on ${n.naiveUnfinished} more, where the ratio is at least ${x(n.unfinishedAtLeast)}` : ''}${n.disagreements.length ? `; DISAGREE: ${n.disagreements.join(', ')}` : '; findings and outcomes agree'}`, '>= 10x on the larger examples'],
    [
      `workers: 1 / ${w.n}`,
      `${w.speedup.toFixed(2)}x (${s(w.wall1Ms)} / ${s(w.wallNMs)}, ${w.executionsPerRun} executions per run); this machine runs ${w.n} CPU-bound processes ${b.machine.parallelCapacity.toFixed(2)}x as fast as one`,
      '>= 1.8x with 2',
    ],
    ['start-up', describeStartup(b.startup), '--version and pin <= 3x node -e 0'],
    ...cPatchLines(b.cPatch),
    ['peak RSS', `${b.maxRssMB} MB (table ${Math.max(...b.rows.map((r) => r.rssMB))} MB, scaled ${Math.max(...b.scaled.map((r) => r.rssMB))} MB, 1 worker ${w.rss1MB} MB, ${w.n} workers ${w.rssNMB} MB)`, '< 300 MB'],
  ];
  text += `\nratios and targets (measured in this run; ${b.machine.cpus} CPUs, Node ${b.machine.node}):\n`;
  text += table(out, ['measure', 'measured', 'target'], lines);
  return text;
}

export function benchCommand(out: Out) {
  return new Command('bench')
    .description('measure speed and memory on the bundled examples and the scaled benchmark (a benchmark, not a test)')
    .option('--quick', 'small budgets (about two minutes in all): numbers are indicative only', false)
    .option('--workers <n>', 'workers for the worker ratio (default: one per CPU, at least 2)')
    .option('--examples <files>', 'only these example files, comma-separated')
    .option('--only <part>', "measure one part only: 'c-patch' (C patches against the TypeScript functions they restate, about a minute)")
    .option('--json-out <file>', 'where to write the JSON results', 'gupcheck-out/bench.json')
    .option('--json', 'print the JSON results on stdout instead of tables', false)
    .addHelpText(
      'after',
      `
Each measurement runs alone in a child process (peak RSS is per child). The naive/DPOR ratio is
taken only where naive finishes, and the tool reports any run where naive and DPOR disagree on
the findings or outcome values. The scaled benchmark runs within a time budget; if it does not
finish, the table says so with the executions reached.

Examples:
  npm run bench
  gupcheck bench --quick
  gupcheck bench --only c-patch
  gupcheck bench --examples examples/09-fast-pin-vs-unmap-reuse.yaml --quick`,
    )
    .action(async (o) => {
      const log = (l: string) => void process.stderr.write(`${l}\n`);
      const examples = o.examples?.split(',').map((f) => f.trim());
      if (o.only !== undefined) {
        if (o.only !== 'c-patch') throw new UserError('GUPCHECK_BAD_ARGUMENT', `--only ${o.only}: no such part of the benchmark (valid: c-patch)`, 'use --only c-patch, or leave --only out for the whole benchmark');
        const cPatch = await runCPatchBench(examples ?? bundledExamples(), log);
        const b = { machine: { node: process.version, cpus: (await import('node:os')).availableParallelism(), date: new Date().toISOString() }, cPatch };
        writeAtomic(o.jsonOut, JSON.stringify(b, null, 2) + '\n');
        if (o.json) out.write(JSON.stringify(b, null, 2) + '\n');
        else out.write(`C patches against the TypeScript functions they restate (measured in this run; ${b.machine.cpus} CPUs, Node ${b.machine.node}):\n${table(out, ['measure', 'measured', 'target'], cPatchLines(cPatch))}\nJSON: ${o.jsonOut}\n`);
        process.exitCode = EXIT_OK;
        return;
      }
      const quick = o.quick;
      const opts: BenchOptions = {
        tableBudgetMs: quick ? 10_000 : 60_000,
        naiveMaxExecutions: quick ? 20_000 : 50_000,
        naiveBudgetMs: quick ? 2_000 : 5_000,
        scaledBudgetMs: quick ? 10_000 : 60_000,
        workersMaxExecutions: quick ? 5_000 : 20_000,
        spinBudgetMs: quick ? 10_000 : 60_000,
        workers: o.workers === undefined ? Math.max(2, defaultWorkers()) : posInt('--workers', o.workers),
        startupRuns: quick ? 7 : 15,
        examples,
        log,
      };
      const b = await runBench(opts);
      writeAtomic(o.jsonOut, JSON.stringify(b, null, 2) + '\n');
      if (o.json) out.write(JSON.stringify(b, null, 2) + '\n');
      else out.write(renderBench(out, b) + `\nJSON: ${o.jsonOut}\n`);
      process.exitCode = EXIT_OK;
    });
}
