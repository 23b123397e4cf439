/**
 * The gupcheck command line. The only module that touches argv, the console and exit codes
 * (docs/reference/design.md §1). Exit codes are documented in cli/errors.ts and docs/cli.md.
 *
 * Start-up: a command's module (and the model, the scenario parser, ... it imports) is loaded only
 * when that command runs. `gupcheck --help` lists every command from COMMANDS below;
 * test/cli/startup.spec.ts checks that each entry says what its command's own help says.
 */
import { Command, CommanderError, Help } from '@commander-js/extra-typings';
import { asGupcheckError, EXIT_INTERNAL, EXIT_OK, EXIT_USAGE, exitCodeOf } from './errors.ts';
import { type Out, stdoutOut } from './output.ts';

type AnyCommand = Command<unknown[], Record<string, unknown>, Record<string, unknown>>;

export interface LazyCommand {
  readonly name: string;
  /** How `gupcheck --help` lists it: the name, `[options]` if it has any, its arguments. */
  readonly term: string;
  readonly description: string;
  readonly load: (out: Out) => Promise<AnyCommand>;
}

const as = (c: unknown) => c as AnyCommand;

/** Every command, in the order `gupcheck --help` lists them. */
export const COMMANDS: readonly LazyCommand[] = [
  {
    name: 'check',
    term: 'check [options] <paths...>',
    description: 'explore every run of the scenarios and check their expectations',
    load: async (out) => as((await import('./commands/check.ts')).checkCommand(out)),
  },
  {
    name: 'replay',
    term: 'replay [options] <token>',
    description: 're-run one execution from its replay token and print its trace',
    load: async (out) => as((await import('./commands/misc.ts')).replayCommand(out)),
  },
  {
    name: 'pin',
    term: 'pin [options]',
    description: 'what one pin returns on a kernel revision, and which check decided it',
    load: async (out) => as((await import('./commands/pin.ts')).pinCommand(out)),
  },
  {
    name: 'probe',
    term: 'probe [options]',
    description: 'every mechanism x backing x map x prot x touch on one revision (io_uring and the gup_test ioctl)',
    load: async (out) => as((await import('./commands/pin.ts')).probeCommand(out)),
  },
  {
    name: 'matrix',
    term: 'matrix [options]',
    description: "the gup_longterm selftest (6.5-era shape) run against the model: 10 test cases x backings, with the selftest's own verdicts",
    load: async (out) => as((await import('./commands/pin.ts')).matrixCommand(out)),
  },
  {
    name: 'selftest',
    term: 'selftest [options]',
    description: 'run every mutant against the bundled examples and print the kill matrix (mutant x example -> caught or not)',
    load: async (out) => as((await import('./commands/selftest.ts')).selftestCommand(out)),
  },
  {
    name: 'list',
    term: 'list [options]',
    description: 'bundled scenarios, kernel revisions, architectures, mutants and finding ids',
    load: async (out) => as((await import('./commands/misc.ts')).listCommand(out)),
  },
  {
    name: 'explain',
    term: 'explain <id>',
    description: "what a finding means and which kernel bug it is (or 'limits': what the model leaves out)",
    load: async (out) => as((await import('./commands/misc.ts')).explainCommand(out)),
  },
  {
    name: 'schema',
    term: 'schema [options]',
    description: 'print the JSON Schema (draft 2020-12) of scenario files, for editors and other tools',
    load: async (out) => as((await import('./commands/schema.ts')).schemaCommand(out)),
  },
  {
    name: 'bench',
    term: 'bench [options]',
    description: 'measure speed and memory on the bundled examples and the scaled benchmark (a benchmark, not a test)',
    load: async (out) => as((await import('./commands/bench.ts')).benchCommand(out)),
  },
  {
    name: 'oracle',
    term: 'oracle [options]',
    description: "boot real kernels under QEMU, run the probe's cases there and compare every row with the model",
    load: async (out) => as((await import('./commands/oracle.ts')).oracleCommand(out)),
  },
];

const HELP_FLAGS = new Set(['-h', '--help']);

/** The command argv asks for: its first word that is not an option (`help X` asks for X). */
export function commandWord(argv: readonly string[]): string | undefined {
  const words = argv.filter((a) => !a.startsWith('-'));
  return words[0] === 'help' ? (words[1] ?? 'help') : words[0];
}

function configure<C extends AnyCommand>(cmd: C, out: Out, prefix: string, fix: string): C {
  cmd
    .exitOverride()
    .showHelpAfterError(fix)
    .configureOutput({
      writeOut: (s) => out.write(s),
      writeErr: (s) => void process.stderr.write(s),
      outputError: (s, write) => write(`${prefix}: ${s.replace(/^error: /, 'error[GUPCHECK_USAGE]: ')}`),
    });
  return cmd;
}

/**
 * The program with the commands in `load` (every command when 'all') loaded; the others are
 * listed by name, arguments and description only.
 */
export async function buildProgram(out = stdoutOut(), load: readonly string[] | 'all' = 'all'): Promise<AnyCommand> {
  const program = configure(
    as(new Command('gupcheck').description('An executable model of Linux GUP (pin_user_pages*) and a model checker for GUP-fast races').version('0.1.0')),
    out,
    'gupcheck',
    '  fix: run `gupcheck --help` for the commands and their options',
  );
  const terms = new Map(COMMANDS.map((c) => [c.name, c.term]));
  const help = new Help();
  program.configureHelp({ subcommandTerm: (cmd) => terms.get(cmd.name()) ?? help.subcommandTerm(cmd) });
  for (const c of COMMANDS) {
    const cmd = load === 'all' || load.includes(c.name) ? await c.load(out) : as(new Command(c.name).description(c.description));
    program.addCommand(configure(cmd, out, `gupcheck ${c.name}`, `  fix: run \`gupcheck ${c.name} --help\` for its arguments and options`));
  }
  return program;
}

export async function main(argv: string[]): Promise<number> {
  process.exitCode = undefined;
  const word = commandWord(argv);
  const known = word === undefined || word === 'help' || COMMANDS.some((c) => c.name === word);
  // An unknown command stays one with --help, or after `help`: commander would print the main
  // help and exit 0.
  const args = known ? argv : argv.filter((a) => !HELP_FLAGS.has(a) && a !== 'help');
  try {
    const program = await buildProgram(stdoutOut(), word !== undefined && known ? [word] : []);
    await program.parseAsync(args, { from: 'user' });
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
