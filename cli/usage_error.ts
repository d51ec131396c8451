/**
 * A command-line mistake: an unknown flag, a missing value. The CLI prints
 * its message on one line and exits with code 2.
 *
 * @module
 */

/** A bad command line; exit code 2. */
export class UsageError extends Error {
  /** Always `ERR_USAGE`. */
  readonly code = "ERR_USAGE";
  /** Creates the error with a message naming the bad flag or value. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}
