/** `gupcheck selftest`: every mutant against every bundled example, as a kill matrix. */
import { Command } from '@commander-js/extra-typings';
import { bundledScenarios } from '../../run/load.ts';
import { runSelftest } from '../../run/selftest.ts';
import { EXIT_FAIL, EXIT_OK } from '../errors.ts';
import { colors, type Out, table } from '../output.ts';
import { progress } from '../progress.ts';

export function selftestCommand(out: Out) {
  return new Command('selftest')
    .description('run every mutant against the bundled examples and print the kill matrix (mutant x example -> caught or not)')
    .option('--json', 'print the matrix as JSON', false)
    .addHelpText(
      'after',
      `
A mutant is caught by an example when an expectation that holds on the unmutated kernel fails with
the mutant. A mutant runs only on the kernels whose code it changes (it is refused elsewhere).
Exit status 0 iff every mutant is caught by some example, every example holds unmutated, and every
(mutant, kernel) run changes the kernel's code.

Example:
  gupcheck selftest`,
    )
    .action((o) => {
      const examples = bundledScenarios();
      const prog = progress(!o.json);
      let n = 0;
      const t0 = Date.now();
      const r = runSelftest(examples, {}, () => prog.update('selftest', ++n, Date.now() - t0));
      prog.done();
      const mutants = r.mutants.map((m) => m.name);
      const uncaught = mutants.filter((m) => !r.cells.some((c) => c.mutant === m && c.caughtBy));
      const dirty = r.unmutated.filter((u) => u.violated.length);
      // Every (mutant, revision) run must change the program (a mutant that changes nothing would
      // be checking the unmutated kernel): the gate in plannedRuns() ensures it, this says so.
      const noop = r.pairs.filter((x) => x.changes.length === 0);
      const unobserved = r.pairs.filter((x) => !x.observed);
      const ok = uncaught.length === 0 && dirty.length === 0 && noop.length === 0;
      if (o.json) {
        out.write(JSON.stringify({ ok, cells: r.cells, unmutated: r.unmutated, uncaught, pairs: r.pairs, ms: r.ms }, null, 2) + '\n');
      } else {
        const c = colors(out);
        const names = examples.map((p) => p.scenario.name);
        out.write(
          table(
            out,
            ['mutant', ...names.map((_, i) => String(i + 1).padStart(2, '0')), 'caught by'],
            mutants.map((m) => {
              const cs = r.cells.filter((x) => x.mutant === m);
              return [m, ...names.map((n) => (cs.find((x) => x.scenario === n)?.caughtBy ? c.green('X') : '.')), cs.filter((x) => x.caughtBy).length];
            }),
          ),
        );
        out.write(names.map((n, i) => `  ${String(i + 1).padStart(2, '0')} ${n}`).join('\n') + '\n\n');
        out.write(`${mutants.length - uncaught.length}/${mutants.length} mutants caught; unmutated examples: ${dirty.length ? c.red(`${dirty.length} violated`) : 'all hold'} (${(r.ms / 1000).toFixed(1)} s)\n`);
        for (const m of uncaught) out.write(c.red(`  not caught: ${m}\n`));
        for (const d of dirty) out.write(c.red(`  ${d.scenario} violated unmutated: ${d.violated.join('; ')}\n`));
        for (const x of noop) out.write(c.red(`  ${x.mutant} ran on ${x.kernel} but changes nothing there\n`));
        out.write(`${r.pairs.length} (mutant, kernel) pairs ran, each changing that kernel's code (${r.pairs.length - unobserved.length} also explored something else than the unmutated runs)\n`);
        if (unobserved.length) {
          const by = new Map<string, string[]>();
          for (const x of unobserved) by.set(x.mutant, [...(by.get(x.mutant) ?? []), x.kernel]);
          out.write(`  the runs made did not reach the change of: ${[...by].map(([m, ks]) => `${m} on ${ks.join(', ')}`).join('; ')}\n`);
        }
      }
      process.exitCode = ok ? EXIT_OK : EXIT_FAIL;
    });
}
