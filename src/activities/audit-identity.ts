/**
 * Who sent each human answer, as the Temporal server recorded it. Workflow code cannot see a
 * message's sender; the run's history can: every WorkflowExecutionSignaled event carries the
 * `identity` of the client that sent the signal, and an accepted update carries its request's
 * `meta.identity` and `meta.updateId`. An audit entry names its message (`ref`: the n-th signal of a
 * name, or the update id; src/workflows/messages.ts), so the two are matched here, exactly, without
 * guessing by time or name.
 *
 * What this proves, and what it does not: the identity is the string the sending client declared
 * (the TypeScript SDK's default is `<pid>@<host>`; talos-upgrade sends `<user>@<host>`), recorded by
 * the server as received. The server does not check it against the caller's credentials, so it tells
 * which client says it sent the message, next to the `by` name the sender typed; it is not an
 * authenticated user. On a server with authorization (mTLS, API keys) the credential decides whether
 * the message is accepted at all, but is not what `identity` holds.
 *
 * Pure over a history; used by the run-record activity (run-record.ts) and by `status` / `audit`.
 */
import { optionalTsToMs } from '@temporalio/common/lib/time';
import type { temporal } from '@temporalio/proto';
import type { AuditEntry, MessageRef } from '../workflows/messages';

type History = temporal.api.history.v1.IHistory;

/** What the server recorded with one message. */
interface RecordedMessage {
  /** The client identity the server stored (empty string when the client sent none). */
  identity: string;
  /** When the server received it (the event's time). */
  receivedAt: string | null;
  eventId: number;
}

export interface MessageSenders {
  /** Per signal name, in history order: the n-th entry is the n-th signal of that name. */
  signals: Map<string, RecordedMessage[]>;
  /** Per update id (accepted updates). */
  updates: Map<string, RecordedMessage>;
  /** Who started the run, as the server recorded it. */
  started: RecordedMessage | null;
}

/** An audit entry with what the server recorded about its message. */
export interface AttributedEntry extends AuditEntry {
  /**
   * The identity the sending client declared, as the server recorded it; null when the entry names no
   * message (the run's own entries, runs started before entries named theirs) or its event is not in
   * the history read; '' when the client declared none (the Web UI sends none with a signal).
   */
  identity: string | null;
  /** When the server received the message; null as for identity. */
  receivedAt: string | null;
  /** The history event that recorded it. */
  eventId: number | null;
}

function recorded(identity: string | null | undefined, time: Parameters<typeof optionalTsToMs>[0], eventId: unknown): RecordedMessage {
  const ms = optionalTsToMs(time);
  return { identity: identity ?? '', receivedAt: ms === undefined ? null : new Date(ms).toISOString(), eventId: Number(eventId ?? 0) };
}

/** Every signal, accepted update and the start, with the identity the server recorded. */
export function messageSenders(history: History | null | undefined): MessageSenders {
  const signals = new Map<string, RecordedMessage[]>();
  const updates = new Map<string, RecordedMessage>();
  let started: RecordedMessage | null = null;
  for (const event of history?.events ?? []) {
    const signaled = event.workflowExecutionSignaledEventAttributes;
    if (signaled?.signalName) {
      const list = signals.get(signaled.signalName) ?? [];
      list.push(recorded(signaled.identity, event.eventTime, event.eventId));
      signals.set(signaled.signalName, list);
      continue;
    }
    const accepted = event.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.meta;
    if (accepted?.updateId) {
      updates.set(accepted.updateId, recorded(accepted.identity, event.eventTime, event.eventId));
      continue;
    }
    // An update admitted before a workflow task saw it: accepted later, the request is on this event.
    const admitted = event.workflowExecutionUpdateAdmittedEventAttributes?.request?.meta;
    if (admitted?.updateId && !updates.has(admitted.updateId)) {
      updates.set(admitted.updateId, recorded(admitted.identity, event.eventTime, event.eventId));
      continue;
    }
    const start = event.workflowExecutionStartedEventAttributes;
    if (start && !started) started = recorded(start.identity, event.eventTime, event.eventId);
  }
  return { signals, updates, started };
}

function lookup(senders: MessageSenders, ref: MessageRef | undefined): RecordedMessage | null {
  if (!ref) return null;
  if ('update' in ref) return senders.updates.get(ref.update) ?? null;
  return senders.signals.get(ref.signal)?.[ref.n - 1] ?? null;
}

/** The audit log with, on each entry, what the server recorded about the message it names. */
export function attribute(audit: readonly AuditEntry[], senders: MessageSenders): AttributedEntry[] {
  return audit.map((entry) => {
    const found = lookup(senders, entry.ref);
    return { ...entry, identity: found ? found.identity : null, receivedAt: found?.receivedAt ?? null, eventId: found?.eventId ?? null };
  });
}

/** One line for people: what `identity` is worth (README "Audit trail"). */
export const IDENTITY_NOTE =
  "identity: the Temporal client identity the server recorded with the signal or update (declared by the sender's client, not verified by the server); by: the name the sender typed";
