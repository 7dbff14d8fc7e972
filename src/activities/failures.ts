/**
 * Turning tool and parse errors into Temporal failures with named types, so retry policies and the
 * workflow can tell "try again" from "a human must decide".
 */
import { ApplicationFailure } from '@temporalio/common';
import { ToolError, UnsafeArgumentError } from './exec';
import { ParseError } from './parse/common';
import { ErrorTypes } from './types';

export function toFailure(err: unknown): unknown {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof ToolError) {
    if (err.kind === 'not-found') return ApplicationFailure.nonRetryable(err.message, ErrorTypes.toolMissing);
    // The SDK reports a cancelled activity only when it throws the CancelledFailure it gave the signal.
    if (err.kind === 'cancelled') return err.cause ?? err;
    return ApplicationFailure.retryable(err.message, ErrorTypes.toolFailed);
  }
  if (err instanceof ParseError) return ApplicationFailure.retryable(err.message, ErrorTypes.malformedOutput);
  if (err instanceof UnsafeArgumentError) return ApplicationFailure.nonRetryable(err.message, ErrorTypes.badInput);
  return err;
}

/** Runs an activity body, converting known errors into typed failures. */
export async function typed<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    throw toFailure(err);
  }
}

/** talosctl's refusals that no retry fixes (compatibility, unsupported path). */
export function isRefusal(message: string): boolean {
  return /too old to upgrade|too new to be used|too old to be used|unsupported upgrade path|is not compatible/i.test(message);
}
