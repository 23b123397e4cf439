/**
 * User errors: a stable code, what is wrong, where, and how to fix it (design.md §8). The CLI
 * prints `gupcheck: error[CODE]: message` and exits 2. Internal bugs are not UserErrors.
 *
 * Exit codes: 0 = ran, every expectation held; 1 = an expectation failed or a finding
 * was reported where none was expected; 2 = usage or input error; 3 = internal error;
 * 130 = interrupted (partial results were written).
 */
export class UserError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** How to fix it, one line. */
    readonly hint?: string,
  ) {
    super(message);
  }
}

export const EXIT_OK = 0;
export const EXIT_FAIL = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERNAL = 3;
export const EXIT_INTERRUPTED = 130;

export function unknownValue(what: string, got: string, valid: readonly string[], code = 'GUPCHECK_BAD_ARGUMENT'): UserError {
  return new UserError(code, `unknown ${what} '${got}' (valid: ${valid.join(', ')})`);
}
