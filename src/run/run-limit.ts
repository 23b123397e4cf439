/**
 * A limit one run hit, with the run (the CLI names it in the error). Its own module, so the CLI's
 * error handling (cli/errors.ts) does not load the worker pool and the scenario parser with it.
 */
import { LimitError } from '../sim/world.ts';

export class RunLimitError extends LimitError {
  constructor(
    e: LimitError,
    readonly job: { readonly file: string; readonly label: string },
  ) {
    super(e.limit, e.value, '', e.detail);
    this.message = e.message;
  }
}
