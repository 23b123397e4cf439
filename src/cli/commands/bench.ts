/** `gupcheck bench`: the speed and memory benchmark (src/bench/bench.ts); `npm run bench` runs it. */
import { Command } from '@commander-js/extra-typings';
import { type BenchOptions, type BenchReport, type BoundsMiss, type CPatchRow, runBench, SECTIONS, type Section, SPIN_L4_ALL, SPIN_QUOTED } from '../../bench/bench.ts';
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

function onlySections(v: string): Section[] {
  const out: Section[] = [];
  for (const p of v.split(',').map((x) => x.trim())) {
    if (!(SECTIONS as readonly string[]).includes(p)) throw new UserError('GUPCHECK_BAD_ARGUMENT', `--only: unknown section '${p}'`, `valid sections: ${SECTIONS.join(', ')}`);
    out.push(p as Section);
  }
  return out;
}
const x = (r: number | null) => (r === null ? '-' : `${r.toFixed(1)}x`);

/** "fast-pin-vs-thp-split x6: CPU0 = fell-back": the runs of each scenario and what they missed. */
export function byScenario(ms: readonly BoundsMiss[]): string {
  const by = new Map<string, { n: number; seen: Set<string> }>();
  for (const m of ms) {
    const g = by.get(m.scenario) ?? { n: 0, seen: new Set<string>() };
    g.n++;
    for (const x of m.seen) g.seen.add(x);
    by.set(m.scenario, g);
  }
  return [...by].map(([sc, g]) => `${sc} x${g.n}: ${[...g.seen].join(', ')}`).join('; ');
}

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
  let text = '';
  if (b.rows.length) {
    text += table(
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
  }
  if (b.strategies.length) {
    const d = b.strategies.reduce((a, r) => a + r.dpor.cpuMs, 0);
    const f = b.strategies.reduce((a, r) => a + r.stateful.cpuMs, 0);
    const au = b.strategies.reduce((a, r) => a + r.auto.cpuMs, 0);
    text += '\nthe stateful search and auto (the default) against DPOR on the bundled examples (all runs of each file; CPU time of the child, which other load disturbs less than wall time; target: auto / DPOR <= 1x on each file):\n';
    text += table(
      out,
      ['file', 'runs', 'DPOR executions', 'DPOR CPU', 'stateful states', 'stateful CPU', 'stateful / DPOR', 'auto moved', 'auto CPU', 'auto / DPOR', 'same results'],
      [
        ...b.strategies.map((r) => [r.file, r.runs, r.dpor.executions, s(r.dpor.cpuMs), r.stateful.states, s(r.stateful.cpuMs), x(r.stateful.cpuMs / Math.max(1, r.dpor.cpuMs)), r.auto.moved, s(r.auto.cpuMs), x(r.auto.cpuMs / Math.max(1, r.dpor.cpuMs)), r.same ? 'yes' : 'NO']),
        ['all', b.strategies.reduce((a, r) => a + r.runs, 0), '', s(d), '', s(f), x(f / Math.max(1, d)), b.strategies.reduce((a, r) => a + r.auto.moved, 0), s(au), x(au / Math.max(1, d)), b.strategies.every((r) => r.same) ? 'yes' : 'NO'],
      ],
    );
  }
  if (b.scaled.length) {
    text += '\nscaled-reuse (2 CPUs x 2 pins with the slow path, 2 PTEs, 2 zaps, 3 reuses; arm64):\n';
    text += table(
      out,
      ['file', 'kernel', 'strategy', 'executions', 'states', 'search', 'time', 'CPU', 'first finding', 'peak RSS'],
      b.scaled.map((r) => [r.file, r.kernel, r.strategy, r.executions, r.states ?? '-', benchSearch(r), s(r.ms), s(r.cpuMs), r.firstFindingMs === null ? '-' : `${r.firstFindingMs} ms`, `${r.rssMB} MB`]),
    );
  }
  if (b.spin) text += renderSpin(out, b.spin);
  if (b.bounds) {
    const bd = b.bounds;
    text += `\nunder a preemption bound of ${bd.bound}: DPOR (explores some of the schedules within it) and the stateful search (every one), 6.5/arm64:\n`;
    text += table(
      out,
      ['file', 'DPOR executions', 'DPOR time', 'DPOR peak RSS', 'stateful states', 'stateful search', 'stateful time', 'stateful peak RSS'],
      bd.spin.map((r) => [r.file, r.dpor.executions, s(r.dpor.ms), `${r.dpor.rssMB} MB`, r.stateful.states ?? '-', r.stateful.finished ? 'every schedule' : 'not finished', s(r.stateful.ms), `${r.stateful.rssMB} MB`]),
    );
  }
  const lines: [string, string, string][] = [];
  if (b.bestTransitionsPerSec) lines.push(['explorer inner loop', `${b.bestTransitionsPerSec.value.toLocaleString('en-US')} transitions/s (${b.bestTransitionsPerSec.run})`, '>= 1,000,000/s on one core']);
  const scaled65 = b.scaled.filter((r) => r.kernel === '6.5' && r.strategy === 'dpor');
  if (scaled65.length) {
    const done = scaled65.every((r) => r.complete);
    lines.push(['scaled-reuse 6.5/arm64 exhaustive (DPOR)', done ? s(scaled65.reduce((a, r) => a + r.ms, 0)) : `not finished: ${scaled65.map((r) => `${r.executions} executions in ${s(r.ms)}`).join(', ')}`, '< 15 s']);
  }
  const scaledSf = b.scaled.filter((r) => r.strategy === 'stateful');
  if (scaledSf.length) lines.push(['scaled-reuse 6.5/arm64 exhaustive (stateful)', scaledSf.map((r) => `${r.file.replace(/.*scaled-reuse-|\.yaml/g, '')}: ${r.complete ? 'complete' : 'not finished'}, ${r.states ?? '?'} states, ${s(r.ms)}`).join('; '), 'complete']);
  if (b.rows.length) lines.push(['first v7/arm64 finding (fast-pin-vs-unmap-reuse)', b.v7FirstFindingMs === null ? 'none' : `${b.v7FirstFindingMs} ms`, '< 100 ms']);
  const v7first = (strategy: string) => b.scaled.filter((r) => r.kernel === 'v7' && r.strategy === strategy).map((r) => (r.firstFindingMs === null ? 'none' : `${r.firstFindingMs} ms`)).join(', ');
  if (b.scaled.length) lines.push(['first v7/arm64 finding (scaled-reuse)', `dpor: ${v7first('dpor')}; pct --seed 1: ${v7first('pct')}`, '-']);
  const n = b.ratios.naiveOverDpor;
  if (n)
    lines.push([
      'naive/DPOR executions',
      `median ${x(n.median)} (min ${x(n.min)}, max ${x(n.max)}) over ${n.runs} runs naive finished; on the ${n.largestRuns} runs with the most DPOR executions, median ${n.largestAtLeast ? '>= ' : ''}${x(n.largestExamples)}${n.naiveUnfinished ? `; naive did not finish on ${n.naiveUnfinished} more, where the ratio is at least ${x(n.unfinishedAtLeast)}` : ''}${n.disagreements.length ? `; DISAGREE: ${n.disagreements.join(', ')}` : '; findings and outcomes agree'}`,
      '>= 10x on the larger examples',
    ]);
  const w = b.ratios.workers;
  if (w)
    lines.push([
      `workers: 1 / ${w.n}`,
      `${w.speedup.toFixed(2)}x (${s(w.wall1Ms)} / ${s(w.wallNMs)}, ${w.executionsPerRun} executions per run); this machine runs ${w.n} CPU-bound processes ${(b.machine.parallelCapacity ?? 0).toFixed(2)}x as fast as one`,
      '>= 1.8x with 2',
    ]);
  if (b.bounds) {
    const e = b.bounds.examples;
    lines.push([
      `preemption bound ${b.bounds.bound}, the examples: stateful / DPOR`,
      `${x(e.stateful.cpuMs / Math.max(1, e.dpor.cpuMs))} CPU (${s(e.stateful.cpuMs)} / ${s(e.dpor.cpuMs)}, ${e.runs} runs); DPOR missed a finding or outcome on ${e.missed.length}${e.missed.length ? ` (${byScenario(e.missed)})` : ''}${e.extra.length ? `; STATEFUL MISSED: ${e.extra.map((m) => `${m.run} (${m.seen.join(', ')})`).join('; ')}` : ''}`,
      'the stateful search misses nothing DPOR meets',
    ]);
  }
  if (b.startup) lines.push(['start-up', describeStartup(b.startup), '--version and pin <= 3x node -e 0']);
  lines.push(...cPatchLines(b.cPatch));
  if (b.maxRssMB > 0) lines.push(['peak RSS', `${b.maxRssMB} MB (the largest child)`, '< 300 MB (stateful spin-l4: < 2 GB)']);
  text += `\nratios and targets (measured in this run; ${b.machine.cpus} CPUs, Node ${b.machine.node}; sections: ${b.sections.join(', ')}):\n`;
  text += table(out, ['measure', 'measured', 'target'], lines);
  return text;
}

/** The Spin section: Spin live on gup-fast.pml, gupcheck on bench/spin-*.yaml, and the ratios. */
function renderSpin(out: Out, sp: NonNullable<BenchReport['spin']>): string {
  let text = `\nagainst Spin (bench/spin-*.yaml; ${sp.available ? `${sp.version} run live on bench/spin/gup-fast.pml, search time without compiling` : `Spin not run: ${sp.why}`}):\n`;
  if (sp.live.length) {
    text += table(
      out,
      ['Spin config', 'model', 'states', 'transitions', 'time', 'CPU', 'memory', 'result', 'quoted (stateful-search.md)'],
      sp.live.map((m) => [
        m.config,
        m.v7 ? 'v7' : 'merged',
        m.states,
        m.transitions,
        s(m.ms),
        s(m.cpuMs),
        `${m.memoryMB} MB`,
        m.errors ? 'assertion violated (wild-deref)' : m.truncated ? 'truncated' : 'no errors',
        !m.v7 && SPIN_QUOTED[m.config] ? `${SPIN_QUOTED[m.config]!.states} states, ${s(SPIN_QUOTED[m.config]!.ms)}` : '-',
      ]),
    );
  }
  const liveOf = (config: string, v7: boolean) => sp.live.find((m) => m.config === config && m.v7 === v7);
  const ratio = (a: number, b: number | undefined, complete: boolean) => (b === undefined || b <= 0 ? '-' : `${complete ? '' : '>= '}${(a / b).toFixed(1)}x`);
  text += table(
    out,
    ['config', 'kernel', 'arch', 'strategy', 'search', 'states', 'transitions', 'time', 'CPU', 'peak RSS', 'findings', 'first finding', 'CPU / Spin CPU', 'time / Spin quoted'],
    sp.rows.map((r) => {
      const v7 = r.kernel === 'v7';
      const m = liveOf(r.config, v7);
      const q = v7 ? undefined : SPIN_QUOTED[r.config]?.ms;
      const first = r.firstFindingMs === null ? '-' : `${r.firstFindingMs} ms (${r.findingSteps} steps, ${r.findingPreemptions} preemptions)`;
      return [
        r.config,
        r.kernel,
        r.arch,
        r.strategy,
        benchSearch(r),
        r.states ?? '-',
        r.transitions,
        s(r.ms),
        s(r.cpuMs),
        `${r.rssMB} MB`,
        r.findings.length ? r.findings.join(', ') : 'none',
        first,
        v7 ? '-' : ratio(r.cpuMs, m?.cpuMs, r.complete),
        ratio(r.ms, q, r.complete),
      ];
    }),
  );
  const l4 = sp.rows.filter((r) => r.strategy === 'stateful' && r.kernel === '6.5' && r.config.startsWith('L4'));
  if (l4.length === 3) {
    const ms = l4.reduce((a, r) => a + r.ms, 0);
    const cpu = l4.reduce((a, r) => a + r.cpuMs, 0);
    const done = l4.every((r) => r.complete);
    const spinCpu = ['L4 anon', 'L4 file', 'L4 shmem'].map((c) => liveOf(c, false)?.cpuMs ?? NaN).reduce((a, b) => a + b, 0);
    text += `L4, three page types together (stateful, 6.5/arm64): ${done ? '' : 'not finished, >= '}${s(ms)} (CPU ${s(cpu)}) against Spin's quoted ${s(SPIN_L4_ALL.spinMs)} (${done ? '' : '>= '}${(ms / SPIN_L4_ALL.spinMs).toFixed(1)}x)${Number.isFinite(spinCpu) ? ` and live ${s(spinCpu)} CPU on gup-fast.pml (${done ? '' : '>= '}${(cpu / spinCpu).toFixed(1)}x)` : ''}\n`;
  }
  return text;
}

export function benchCommand(out: Out) {
  return new Command('bench')
    .description('measure speed and memory on the bundled examples and the scaled benchmark (a benchmark, not a test)')
    .option('--quick', 'small budgets: numbers are indicative only', false)
    .option('--workers <n>', 'workers for the worker ratio (default: one per CPU, at least 2)')
    .option('--examples <files>', 'only these example files, comma-separated')
    .option('--only <sections>', `only these sections, comma-separated (${SECTIONS.join(', ')}; c-patch alone takes about a minute)`)
    .option('--spin-budget <seconds>', 'time budget for each stateful run of L1 and L2 in the spin section (default: 60; 10 with --quick); L2 needs several minutes to finish (docs/perf.md). L4 runs get 60 s (10 with --quick)')
    .option('--json-out <file>', 'where to write the JSON results', 'gupcheck-out/bench.json')
    .option('--json', 'print the JSON results on stdout instead of tables', false)
    .addHelpText(
      'after',
      `
Each measurement runs alone in a child process (peak RSS is per child). The naive/DPOR ratio is
taken only where naive finishes, and the tool reports any run where naive and DPOR disagree on
the findings or outcome values. The scaled benchmark runs within a time budget; if it does not
finish, the table says so with the executions reached. The spin section runs Spin (installed
with apt-get when missing and the bench runs as root) on bench/spin/gup-fast.pml in the same run.

Examples:
  npm run bench
  gupcheck bench --quick
  gupcheck bench --examples examples/09-fast-pin-vs-unmap-reuse.yaml --quick
  gupcheck bench --only spin,strategies
  gupcheck bench --only spin --spin-budget 900
  gupcheck bench --only c-patch`,
    )
    .action(async (o) => {
      const log = (l: string) => void process.stderr.write(`${l}\n`);
      const examples = o.examples?.split(',').map((f) => f.trim());
      const quick = o.quick;
      const opts: BenchOptions = {
        tableBudgetMs: quick ? 10_000 : 60_000,
        naiveMaxExecutions: quick ? 20_000 : 50_000,
        naiveBudgetMs: quick ? 2_000 : 5_000,
        scaledBudgetMs: quick ? 10_000 : 60_000,
        workersMaxExecutions: quick ? 5_000 : 20_000,
        spinBudgetMs: o.spinBudget === undefined ? (quick ? 10_000 : 60_000) : 1000 * posInt('--spin-budget', o.spinBudget),
        spinL4BudgetMs: quick ? 10_000 : 60_000,
        v7BudgetMs: quick ? 5_000 : 15_000,
        scaledStatefulBudgetMs: quick ? 10_000 : 120_000,
        sections: o.only === undefined ? undefined : onlySections(o.only),
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

/** A bench row's search: complete, stopped at its finding (the v7 rows), sampled, or not finished (its time budget). */
function benchSearch(r: { readonly complete: boolean; readonly limit: string | null; readonly strategy: string }): string {
  return r.complete ? 'complete' : r.limit === 'finding' ? 'stopped at the finding' : r.strategy === 'pct' ? 'sampled' : 'not finished';
}
