/**
 * The one error base class (docs/reference/design.md §8). Every error gupcheck reports to a user is a
 * GupcheckError: a stable code (GUPCHECK_*, listed in docs/cli.md), what is wrong (with
 * file:line:col when it is about an input file), how to fix it, and its kind. The CLI maps the
 * kind to an exit code in one place (cli/errors.ts exitCodeOf()):
 *
 *   input     bad input: arguments, scenario files, tokens                       exit 2
 *   limit     a configured limit was hit (check/ and sim/ name the limit; the CLI  exit 2
 *             says which flag raises it)
 *   internal  a bug in gupcheck: the model did what it must not                   exit 3
 *   environment  `gupcheck oracle` could not run: a tool or package missing and     exit 4
 *             not installable, a full disk, a kernel that would not build or boot
 *
 * Findings are not errors: they are values (check/results.ts).
 */
export type ErrorKind = 'input' | 'limit' | 'internal' | 'environment';

export class GupcheckError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** How to fix it, one line. */
    readonly hint: string | undefined,
    readonly kind: ErrorKind = 'input',
  ) {
    super(message);
  }
}

/** A bug in gupcheck, not in the input: "[gupcheck internal bug] ..." (loom's prefix). */
export class InternalError extends GupcheckError {
  constructor(message: string) {
    super('GUPCHECK_INTERNAL', message.startsWith('[gupcheck internal bug]') ? message : `[gupcheck internal bug] ${message}`, 'this is a bug in gupcheck; please report it with the command line', 'internal');
  }
}

/**
 * The model reached a state no kernel can be in (kernel/invariants.ts, checked with
 * `--check-model`): a bug in gupcheck's model, never a finding about the kernel. Exit 3.
 */
export class ModelInvariantError extends GupcheckError {
  constructor(message: string) {
    super('GUPCHECK_MODEL_INVARIANT', `[gupcheck internal bug] ${message}`, 'this is a bug in gupcheck\'s model; please report it with the command line (the replay token of the run shows the steps before it)', 'internal');
  }
}
