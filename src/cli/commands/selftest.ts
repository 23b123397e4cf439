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
the mutant. Exit status 0 iff every mutant is caught by some example and every example holds
unmutated.

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
      const ok = uncaught.length === 0 && dirty.length === 0;
      if (o.json) {
        out.write(JSON.stringify({ ok, cells: r.cells, unmutated: r.unmutated, uncaught, ms: r.ms }, null, 2) + '\n');
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
      }
      process.exitCode = ok ? EXIT_OK : EXIT_FAIL;
    });
}
