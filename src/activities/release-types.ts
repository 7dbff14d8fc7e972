/**
 * Inputs and outputs of the "staying current" activities: release feeds, notifications and guided
 * remediation. The workflows import this file as types only.
 */
import type { ReleaseInfo } from '../plan/cadence';
import type { Remediation } from '../plan/remediation';
import type { NotificationEventKind, NotificationKind, NotificationTarget } from '../plan/types';
import type { FetchReleasesInput } from './releases';
import type { ClusterAccess, Tuning } from './types';

/** What happened, in words a phone notification can show, plus what to send to act on it. */
export interface NotificationEvent {
  kind: NotificationEventKind;
  cluster: string;
  /** One short line, e.g. "lab: approve talos:v1.9.5:192.168.1.70". */
  title: string;
  /** A few sentences. */
  message: string;
  /** The step concerned, e.g. talos:v1.9.5:192.168.1.70. */
  step?: string;
  /** The signal that answers it, exactly as the Web UI's "Send a Signal" dialog takes it. */
  signal?: { name: string; payload: Record<string, unknown> };
  /** The same as a CLI command, e.g. `talos-upgrade approve lab --step ...`. */
  cli?: string;
  workflowId?: string;
}

export interface NotifyInput {
  targets: NotificationTarget[];
  event: NotificationEvent;
  /** Per target; default 5 s. */
  timeoutMs?: number;
}

export interface NotifyFailure {
  kind: NotificationKind;
  /** The target without its URL when the URL came from an environment variable (`slack via $NAME`). */
  target: string;
  error: string;
}

export interface NotifyResult {
  /** Targets that accepted the message (2xx). */
  delivered: number;
  /** Targets not subscribed to this event kind. */
  skipped: number;
  failed: NotifyFailure[];
}

export interface ApplyRemediationInput {
  access: ClusterAccess;
  remediation: Remediation;
  /** Bound on waiting for the cluster to recover (a re-upgraded node to come back); default 10 min. */
  timeoutMs?: number;
  tuning?: Tuning;
}

export interface ApplyRemediationResult {
  id: string;
  /** One line: what was done, or why nothing needed doing. */
  detail: string;
  /** False when the cluster was already fixed (idempotent re-run). */
  changed: boolean;
}

export interface ReleaseActivities {
  fetchReleases(input: FetchReleasesInput): Promise<ReleaseInfo[]>;
  /** Best effort: never throws; failures come back in `failed`. */
  notify(input: NotifyInput): Promise<NotifyResult>;
  applyRemediation(input: ApplyRemediationInput): Promise<ApplyRemediationResult>;
}
