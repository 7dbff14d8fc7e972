/**
 * An error meant for the operator: one or two lines saying what is wrong and what to do.
 * The CLI prints only `message` (no stack) unless --debug, and exits with `exitCode`.
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

/** Exit codes of the CLI (DESIGN §6). */
export const ExitCode = {
  ok: 0,
  failure: 1,
  badSpec: 2,
  preflightBlocked: 3,
} as const;
