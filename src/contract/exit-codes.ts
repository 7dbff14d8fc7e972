/** Exit codes of the CLI (DESIGN §6), named so no command writes a bare number. */
export const ExitCode = {
  ok: 0,
  failure: 1,
  /** A bad spec, flag or argument: nothing was done. */
  badSpec: 2,
  preflightBlocked: 3,
  /** `watch` (and `start --watch`) stopped because a human is needed. */
  waiting: 4,
  /** Interrupted by Ctrl-C (128 + SIGINT). */
  interrupted: 130,
} as const;
