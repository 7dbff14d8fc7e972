/**
 * Turning tool and parse errors into Temporal failures with named types, so retry policies and the
 * workflow can tell "try again" from "a human must decide" — and the one place every failure an
 * activity throws is redacted (redact.ts) before it reaches history, the worker log, the Web UI or a
 * notification.
 */
import { ApplicationFailure, TemporalFailure } from '@temporalio/common';
import { ToolError } from './exec';
import { UnsafeArgumentError } from './argument-safety';
import { ParseError } from './parse/common';
import { redactDeep, redactKnown, knownSecrets } from './redact';
import { ErrorTypes } from '../contract/error-types';

/**
 * `failure` with its message, details and cause redacted. A new ApplicationFailure: the old one's stack
 * trace repeats its message, and history keeps stack traces.
 */
function redactedApplicationFailure(failure: ApplicationFailure): ApplicationFailure {
  const message = redactKnown(failure.message);
  const details = failure.details ? redactDeep([...failure.details], knownSecrets()) : undefined;
  const cause = failure.cause === undefined ? undefined : redactError(failure.cause);
  if (message === failure.message && details === undefined && cause === failure.cause) return failure;
  return ApplicationFailure.create({
    message,
    ...(failure.type ? { type: failure.type } : {}),
    nonRetryable: failure.nonRetryable === true,
    ...(details ? { details } : {}),
    ...(failure.nextRetryDelay != null ? { nextRetryDelay: failure.nextRetryDelay } : {}),
    ...(failure.category != null ? { category: failure.category } : {}),
    ...(cause instanceof Error ? { cause } : {}),
  });
}

/**
 * Any thrown value, redacted. Temporal's own failures (cancellation, timeouts) pass unchanged: they
 * carry no tool text. A plain Error becomes an ApplicationFailure of the same type name, which is what
 * the SDK would have made of it, minus the secret.
 */
function redactError(err: unknown): unknown {
  if (err instanceof ApplicationFailure) return redactedApplicationFailure(err);
  if (err instanceof TemporalFailure) return err;
  if (err instanceof Error) {
    const message = redactKnown(err.message);
    if (message === err.message && err.cause === undefined) return err;
    return ApplicationFailure.create({ message, type: err.name, nonRetryable: false });
  }
  if (typeof err === 'string') return redactKnown(err);
  return err;
}

export function toFailure(err: unknown): unknown {
  if (err instanceof ApplicationFailure) return redactError(err);
  if (err instanceof ToolError) {
    // The runner already redacted; redacting again also removes secrets learned since.
    if (err.kind === 'not-found') return ApplicationFailure.nonRetryable(redactKnown(err.message), ErrorTypes.toolMissing);
    // The SDK reports a cancelled activity only when it throws the CancelledFailure it gave the signal.
    if (err.kind === 'cancelled') return err.cause ?? err;
    return ApplicationFailure.retryable(redactKnown(err.message), ErrorTypes.toolFailed);
  }
  if (err instanceof ParseError) return ApplicationFailure.retryable(redactKnown(err.message), ErrorTypes.malformedOutput);
  if (err instanceof UnsafeArgumentError) return ApplicationFailure.nonRetryable(redactKnown(err.message), ErrorTypes.badInput);
  return redactError(err);
}

/** Runs an activity body, converting known errors into typed, redacted failures. */
export async function typed<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    throw toFailure(err);
  }
}

type AnyActivity = (...args: never[]) => Promise<unknown>;

/**
 * Every activity of `activities`, with whatever it throws redacted: the registration-time guarantee
 * that covers activities whose bodies do not go through `typed` (notify, fetchReleases, postflight).
 */
export function withRedactedFailures<T extends Record<string, AnyActivity>>(activities: T): T {
  const out: Record<string, AnyActivity> = {};
  for (const [name, fn] of Object.entries(activities)) {
    const wrapped = async (...args: never[]): Promise<unknown> => {
      try {
        return await fn(...args);
      } catch (err) {
        throw redactError(err);
      }
    };
    // The worker registers activities by property name; keep the function's own name for stack traces.
    Object.defineProperty(wrapped, 'name', { value: fn.name || name });
    out[name] = wrapped;
  }
  return out as T;
}

/**
 * talosctl's refusals that no retry fixes (compatibility, unsupported path). `compatibility with
 * version X is not supported`: upgrade-k8s from a client that knows no Talos minor as new as a node's
 * (pkg/machinery/compatibility KubernetesVersion.SupportedWith, default branch).
 */
export function isRefusal(message: string): boolean {
  return /too old to upgrade|too new to be used|too old to be used|unsupported upgrade path|is not compatible|compatibility with version \S+ is not supported/i.test(message);
}
