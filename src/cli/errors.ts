/**
 * User errors: a stable code, what is wrong, where, and how to fix it (docs/reference/design.md §8; the base
 * class is src/errors.ts GupcheckError). The CLI prints `gupcheck: error[CODE]: message` and a
 * `fix:` line, and exits with exitCodeOf() the error.
 *
 * Exit codes:
 *   0    ran, every expectation held. A bounded search (--max-executions, --preemption-bound)
 *        or a sampled one (random, pct) counts: its `search` column and JSON `complete: false`
 *        say it is not a proof.
 *   1    an expectation failed, or a finding was reported where none was expected (this
 *        includes a `sometimes` a bounded search did not reach).
 *   2    usage or input error, and a limit hit (GUPCHECK_LIMIT_STEPS: an execution longer than
 *        --max-steps, usually a livelock; GUPCHECK_LIMIT_THREADS: more than the model's 16
 *        threads); nothing is reported as checked.
 *   3    internal error (a bug in gupcheck).
 *   4    `oracle` could not run (GUPCHECK_ORACLE_*): a missing tool or package it could not
 *        install, a full disk, a kernel that did not build, a guest that panicked or timed out.
 *        Nothing is reported as a result.
 *   130  interrupted by SIGINT (Ctrl-C), 143 terminated by SIGTERM: 128 + the signal number,
 *        as a shell reports a process the signal killed. `check` stops at the next execution
 *        boundary, prints and writes the partial results (marked interrupted), then exits so.
 */
import { GupcheckError } from '../errors.ts';
import { RunLimitError } from '../run/run-limit.ts';
import { assertNever } from '../sim/op.ts';
import { LimitError } from '../sim/world.ts';
import { BOUNDED_HINT } from '../check/defaults.ts';
export class UserError extends GupcheckError {
  constructor(code: string, message: string, hint?: string) {
    super(code, message, hint, 'input');
  }
}

export const EXIT_OK = 0;
export const EXIT_FAIL = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERNAL = 3;
export const EXIT_ENVIRONMENT = 4;
export const EXIT_INTERRUPTED = 130;
export const EXIT_TERMINATED = 143;

/** The exit code of an error (the one place the kinds map to codes). */
export function exitCodeOf(e: GupcheckError): number {
  switch (e.kind) {
    case 'input':
    case 'limit':
      return EXIT_USAGE;
    case 'internal':
      return EXIT_INTERNAL;
    case 'environment':
      return EXIT_ENVIRONMENT;
    default:
      return assertNever(e.kind);
  }
}

/**
 * Any error as what the CLI prints: a GupcheckError as it is (a limit with its run and the
 * option that raises it), a file write failure as GUPCHECK_CANNOT_WRITE; undefined for
 * anything else (an internal error).
 */
export function asGupcheckError(e: unknown): GupcheckError | undefined {
  if (e instanceof LimitError) return limitError(e, e instanceof RunLimitError ? e.job : undefined);
  if (e instanceof GupcheckError) return e;
  return writeError(e);
}

export function unknownValue(what: string, got: string, valid: readonly string[], code = 'GUPCHECK_BAD_ARGUMENT'): UserError {
  const listed = code === 'GUPCHECK_UNKNOWN_KERNEL' || code === 'GUPCHECK_UNKNOWN_ARCH' || code === 'GUPCHECK_UNKNOWN_MUTANT';
  return new UserError(code, `unknown ${what} '${got}' (valid: ${valid.join(', ')})`, `pick one of the valid values${listed ? '; `gupcheck list` says what each one is' : ''}`);
}

/**
 * A limit hit while exploring, as a user error: which run hit it (file and label, when known),
 * what the limit is, and how to get past it. Only options that exist are suggested.
 */
export function limitError(e: { readonly limit: string; readonly value: number; readonly message: string; readonly detail?: string | undefined }, run?: { readonly file: string; readonly label: string }): UserError {
  const where = run ? `${run.file}: ${run.label}: ` : '';
  if (e.limit === 'steps') {
    return new UserError(
      'GUPCHECK_LIMIT_STEPS',
      `${where}possible livelock: an execution ran more than ${e.value} transitions (--max-steps ${e.value}); a retry loop (e.g. try_get_folio's goto retry) may never end under some schedule${e.detail ? `: ${e.detail}` : ''}`,
      `if the scenario is just long, raise the limit (e.g. --max-steps ${Math.min(e.value * 10, 1e7)}); if a loop spins, bound it in the model`,
    );
  }
  if (e.limit === 'threads') {
    return new UserError(
      'GUPCHECK_LIMIT_THREADS',
      `${where}more than ${e.value} threads in one execution (CPUs plus the RCU-callback tasks the model spawns); ${e.value} is the model's limit`,
      'use fewer CPUs, or fewer operations that spawn an RCU callback (munmap on arm64 and x86 6.15+, which free page tables through RCU; truncate, which frees the inode)',
    );
  }
  if (e.limit === 'memory') {
    return new UserError(
      'GUPCHECK_LIMIT_MEMORY',
      `${where}the search ran out of memory: the JS heap reached its limit of about ${e.value} MB, and V8 stopped the worker exploring the run; its results, and those of the runs not finished, are lost`,
      `give it more memory (NODE_OPTIONS=--max-old-space-size=${e.value * 2}), or keep partial results with --max-memory below ${e.value}, or use --strategy dpor, whose memory does not grow, or ${BOUNDED_HINT}`,
    );
  }
  return new UserError(`GUPCHECK_LIMIT_${e.limit.toUpperCase()}`, `${where}${e.message}`, 'make the scenario smaller');
}

/**
 * A file gupcheck was asked to write (--out, --report, --save) that cannot be written, e.g. a
 * file where a directory should be, or no permission; undefined for anything else.
 */
export function writeError(e: unknown): UserError | undefined {
  if (!(e instanceof Error)) return undefined;
  const { code, syscall, path } = e as NodeJS.ErrnoException;
  if (typeof code !== 'string' || !['mkdir', 'open', 'write', 'rename'].includes(syscall ?? '')) return undefined;
  return new UserError(
    'GUPCHECK_CANNOT_WRITE',
    `cannot write ${path ?? 'a file'}: ${e.message}`,
    'check the --out, --report or --save path: its directory must be creatable and writable (a file of that name may be in the way)',
  );
}
