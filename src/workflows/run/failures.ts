/** Reading an activity failure: its type (for retry and remediation choices) and one-line message. */
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';

function root(err: unknown): unknown {
  return err instanceof ActivityFailure && err.cause ? err.cause : err;
}

export function failureType(err: unknown): string | undefined {
  const e = root(err);
  return e instanceof ApplicationFailure ? (e.type ?? undefined) : undefined;
}

export function failureMessage(err: unknown): string {
  const e = root(err);
  if (e instanceof ApplicationFailure) return `${e.type ? `${e.type}: ` : ''}${e.message}`;
  return e instanceof Error ? e.message : String(e);
}
