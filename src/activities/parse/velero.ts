/**
 * Parsers for velero output, held to test/contract/velero/ (derived from vmware-tanzu/velero v1.13-v1.18).
 * `velero backup create --wait` exits 0 whatever the backup's fate (create.go returns nil after
 * printing the phase), so the phase is the only truth: read it, and never take an unknown one for success.
 */
import { ParseError, assertText, excerpt, isObject, nonBlankLines, optionalString, parseJsonDocument, type JsonObject } from './common';

/** Every BackupPhase of velero v1.13-v1.18 (pkg/apis/velero/v1/backup_types.go); Queued and ReadyToStart are new in v1.18. */
export const VELERO_PHASES = [
  'New',
  'Queued',
  'ReadyToStart',
  'FailedValidation',
  'InProgress',
  'WaitingForPluginOperations',
  'WaitingForPluginOperationsPartiallyFailed',
  'Finalizing',
  'FinalizingPartiallyFailed',
  'Completed',
  'PartiallyFailed',
  'Failed',
  'Deleting',
] as const;

export type VeleroBackupPhase = (typeof VELERO_PHASES)[number];

/** Phases a backup ends in (Deleting: it is going away, it will never complete); every other phase still moves on. */
const VELERO_TERMINAL_PHASES: readonly VeleroBackupPhase[] = ['FailedValidation', 'Completed', 'PartiallyFailed', 'Failed', 'Deleting'];

function isVeleroPhase(value: string): value is VeleroBackupPhase {
  return (VELERO_PHASES as readonly string[]).includes(value);
}

export function isTerminalPhase(phase: VeleroBackupPhase): boolean {
  return VELERO_TERMINAL_PHASES.includes(phase);
}

export interface BackupCreateOutcome {
  name: string;
  /** The phase `--wait` reported; null without --wait or when the wait was cut off. */
  finalPhase: VeleroBackupPhase | null;
}

/**
 * `velero backup create NAME ... --wait` (stdout):
 *   Backup request "NAME" submitted successfully.
 *   Waiting for backup to complete. ...
 *   ..........
 *   Backup completed with status: Completed. You may check ...
 */
export function parseBackupCreateOutput(stdout: string): BackupCreateOutcome {
  const command = 'velero backup create';
  assertText(stdout, command);
  const lines = nonBlankLines(stdout).map((l) => l.trim());
  let name: string | null = null;
  let finalPhase: VeleroBackupPhase | null = null;
  for (const line of lines) {
    const submitted = /^Backup request "([^"]+)" submitted successfully\.?$/.exec(line);
    if (submitted) {
      name = submitted[1] ?? null;
      continue;
    }
    const completed = /^Backup completed with status: ([A-Za-z]+)\b/.exec(line);
    if (completed) {
      const phase = completed[1] ?? '';
      if (!isVeleroPhase(phase)) throw new ParseError(command, `unknown backup phase ${excerpt(phase)}`);
      finalPhase = phase;
    }
  }
  if (name === null) throw new ParseError(command, 'no "Backup request ... submitted successfully." line');
  return { name, finalPhase };
}

export interface VeleroBackupFacts {
  name: string;
  phase: VeleroBackupPhase;
  errors: number;
  warnings: number;
  failureReason: string | null;
  /** Why the server refused the backup (phase FailedValidation). */
  validationErrors: string[];
  startTimestamp: string | null;
  completionTimestamp: string | null;
}

function backupFacts(item: JsonObject, command: string): VeleroBackupFacts {
  // Typed clients may leave kind out; anything else named is the wrong object.
  if (item['kind'] !== 'Backup' && item['kind'] !== undefined) throw new ParseError(command, `expected a Backup, got ${JSON.stringify(item['kind'] ?? null)}`);
  const meta = isObject(item['metadata']) ? item['metadata'] : {};
  const name = optionalString(meta['name']);
  if (name === null) throw new ParseError(command, 'backup has no metadata.name');
  const status = isObject(item['status']) ? item['status'] : {};
  // A backup the server has not picked up yet has an empty status: that is New.
  const rawPhase = optionalString(status['phase']) ?? 'New';
  if (!isVeleroPhase(rawPhase)) throw new ParseError(command, `backup ${name} has unknown phase ${excerpt(rawPhase)}`);
  const count = (key: string): number => {
    const v = status[key];
    if (v === undefined || v === null) return 0;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new ParseError(command, `backup ${name}: status.${key} is not a count`);
    return v;
  };
  const rawValidation: unknown = status['validationErrors'] ?? [];
  if (!Array.isArray(rawValidation) || !rawValidation.every((v): v is string => typeof v === 'string')) {
    throw new ParseError(command, `backup ${name}: status.validationErrors is not a list of strings`);
  }
  return {
    name,
    phase: rawPhase,
    errors: count('errors'),
    warnings: count('warnings'),
    failureReason: optionalString(status['failureReason']),
    validationErrors: rawValidation,
    startTimestamp: optionalString(status['startTimestamp']),
    completionTimestamp: optionalString(status['completionTimestamp']),
  };
}

/** `velero backup get NAME -o json`: one Backup object. */
export function parseBackupGet(json: string): VeleroBackupFacts {
  const command = 'velero backup get -o json';
  const doc = parseJsonDocument(json, command);
  if (!isObject(doc)) throw new ParseError(command, 'expected a JSON object');
  return backupFacts(doc, command);
}

/**
 * `velero backup get -o json` without a name: a BackupList (`"items": []` when empty), except that velero
 * prints a list of exactly one backup as that Backup alone (output.go printEncoded).
 */
export function parseBackupList(json: string): VeleroBackupFacts[] {
  const command = 'velero backup get -o json';
  const doc = parseJsonDocument(json, command);
  if (!isObject(doc)) throw new ParseError(command, 'expected a JSON object');
  if (doc['kind'] === 'Backup' || (doc['kind'] === undefined && !('items' in doc))) return [backupFacts(doc, command)];
  if (doc['kind'] !== 'BackupList' && doc['kind'] !== 'List' && doc['kind'] !== undefined) {
    throw new ParseError(command, `expected a BackupList, got ${JSON.stringify(doc['kind'] ?? null)}`);
  }
  const items = doc['items'];
  if (items === undefined || items === null) return [];
  if (!Array.isArray(items)) throw new ParseError(command, '"items" is not a list');
  return items.map((item: unknown) => {
    if (!isObject(item)) throw new ParseError(command, 'a list item is not an object');
    return backupFacts({ kind: 'Backup', ...item }, command);
  });
}

type VeleroErrorKind = 'not-found' | 'already-exists' | 'not-installed' | 'unreachable' | 'other';

export interface VeleroError {
  kind: VeleroErrorKind;
  /** The error as velero printed it, without "An error occurred: ". */
  message: string;
}

/** The Backup API (velero.io/v1) is not served: the CRDs are missing (every controller-runtime form). */
const NOT_INSTALLED = /no matches for kind "Backup" in version "velero\.io\/v1"|no matches for velero\.io\/v1\b|velero\.io\/v1: the server could not find the requested resource/;
/** The Kubernetes API did not answer (discovery or the request itself). */
const UNREACHABLE = /failed to get server groups|dial tcp|connection refused|i\/o timeout|no route to host|TLS handshake timeout|Client\.Timeout exceeded|connection reset/;

/**
 * What a failed velero call said (cmd.CheckError prints "An error occurred: <err>" on stderr, exit 1).
 * The API server's own messages tell a missing object or an existing name apart.
 */
export function parseVeleroError(stderr: string): VeleroError {
  const lines = nonBlankLines(stderr).map((l) => l.trim());
  const line = [...lines].reverse().find((l) => l.startsWith('An error occurred: ')) ?? lines[lines.length - 1] ?? '';
  const message = line.replace(/^An error occurred: /, '');
  if (/^backups\.velero\.io "[^"]+" not found$/.test(message)) return { kind: 'not-found', message };
  if (/^backups\.velero\.io "[^"]+" already exists$/.test(message)) return { kind: 'already-exists', message };
  if (NOT_INSTALLED.test(message)) return { kind: 'not-installed', message };
  if (UNREACHABLE.test(message)) return { kind: 'unreachable', message };
  return { kind: 'other', message };
}
