import { ExitCode } from './exit-codes';

/**
 * An error meant for the operator: one or two lines saying what is wrong and what to do.
 * The CLI prints only `message` (no stack) unless --debug, and exits with `exitCode`.
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = ExitCode.failure,
  ) {
    super(message);
    this.name = 'UserError';
  }
}
