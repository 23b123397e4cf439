/**
 * The gupcheck command line. The only module that touches argv, the console and exit codes
 * (docs/reference/design.md §1). Exit codes are documented in cli/errors.ts and docs/cli.md.
 */
import { Command, CommanderError } from '@commander-js/extra-typings';
import { asGupcheckError, EXIT_INTERNAL, EXIT_OK, EXIT_USAGE, exitCodeOf } from './errors.ts';
import { stdoutOut } from './output.ts';
import { matrixCommand, pinCommand, probeCommand } from './commands/pin.ts';
import { checkCommand } from './commands/check.ts';
import { explainCommand, listCommand, replayCommand } from './commands/misc.ts';
import { selftestCommand } from './commands/selftest.ts';
import { schemaCommand } from './commands/schema.ts';
import { benchCommand } from './commands/bench.ts';

export function buildProgram(out = stdoutOut()) {
  const program = new Command('gupcheck')
    .description('An executable model of Linux GUP (pin_user_pages*) and a model checker for GUP-fast races')
    .version('0.1.0')
    .showHelpAfterError('  fix: run `gupcheck --help` for the commands and their options')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => out.write(s),
      writeErr: (s) => void process.stderr.write(s),
      outputError: (s, write) => write(`gupcheck: ${s.replace(/^error: /, 'error[GUPCHECK_USAGE]: ')}`),
    });
  for (const cmd of [checkCommand(out), replayCommand(out), pinCommand(out), probeCommand(out), matrixCommand(out), selftestCommand(out), listCommand(out), explainCommand(out), schemaCommand(out), benchCommand(out)]) {
    cmd.exitOverride().showHelpAfterError(`  fix: run \`gupcheck ${cmd.name()} --help\` for its arguments and options`).configureOutput({
      writeOut: (s) => out.write(s),
      writeErr: (s) => void process.stderr.write(s),
      outputError: (s, write) => write(`gupcheck ${cmd.name()}: ${s.replace(/^error: /, 'error[GUPCHECK_USAGE]: ')}`),
    });
    program.addCommand(cmd);
  }
  return program;
}

export async function main(argv: string[]): Promise<number> {
  process.exitCode = undefined;
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT_OK;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT_OK;
      if (e.code === 'commander.executeSubCommandAsync') return EXIT_OK;
      return EXIT_USAGE;
    }
    const u = asGupcheckError(e);
    if (u && u.kind !== 'internal') {
      process.stderr.write(`gupcheck: error[${u.code}]: ${u.message}\n${u.hint ? `  fix: ${u.hint}\n` : ''}`);
      return exitCodeOf(u);
    }
    const err = e instanceof Error ? e : new Error(String(e));
    if (u && u.code !== 'GUPCHECK_INTERNAL') {
      // A distinct internal error (GUPCHECK_MODEL_INVARIANT: the model reached a state no kernel can be in).
      process.stderr.write(`gupcheck: internal error[${u.code}]: ${u.message}\n${u.hint ? `  ${u.hint}\n` : ''}`);
      if (process.env.GUPCHECK_DEBUG) process.stderr.write(`${err.stack ?? ''}\n`);
      return EXIT_INTERNAL;
    }
    process.stderr.write(`gupcheck: internal error: ${err.message}\n  This is a bug in gupcheck; please report it with the command line.\n`);
    if (process.env.GUPCHECK_DEBUG) process.stderr.write(`${err.stack ?? ''}\n`);
    return EXIT_INTERNAL;
  }
}
