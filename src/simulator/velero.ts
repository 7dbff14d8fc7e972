/**
 * The velero twin: backup create|get|describe, restore create|get, version (test/contract/velero/).
 * `backup create --wait` exits 0 whatever the final phase, like the real client.
 * Without Velero installed (`sim init` without --velero) it answers like a cluster without its CRDs,
 * in the words of the state's velero version (velero-backup.ts).
 */
import { FlagError, flagBool, flagList, flagString, parseArgs } from './args';
import type { FlagDefs, ParsedArgs } from './args';
import { tabwrite, toYaml } from './format';
import { apiReachable, hex16, loadState, transact } from './state';
import { apiServer, findKubeconfig, MAX_WAIT_MS, sleep, ToolExit } from './runtime';
import type { TwinContext } from './runtime';
import type { SimBackup, SimState } from './types';
import { backupObject, DEFAULT_VELERO_VERSION, goJsonLine, notInstalledError, unreachableError, WAIT_ENDS } from './velero-backup';
import { takeFault } from './faults';

const FLAGS: FlagDefs = {
  kubeconfig: { kind: 'string' },
  kubecontext: { kind: 'string' },
  namespace: { kind: 'string', short: 'n' },
  output: { kind: 'string', short: 'o' },
  'exclude-namespaces': { kind: 'string' },
  'include-namespaces': { kind: 'string' },
  'default-volumes-to-fs-backup': { kind: 'bool' },
  'snapshot-volumes': { kind: 'bool' },
  'include-cluster-resources': { kind: 'bool' },
  'storage-location': { kind: 'string' },
  selector: { kind: 'string', short: 'l' },
  ttl: { kind: 'string' },
  wait: { kind: 'bool', short: 'w' },
  'from-backup': { kind: 'string' },
  details: { kind: 'bool' },
  features: { kind: 'string' },
  colorized: { kind: 'bool' },
};

const TTL_MS = 720 * 3600 * 1000;

function fail(message: string): never {
  throw new ToolExit(1, `An error occurred: ${message}`);
}

export async function velero(ctx: TwinContext): Promise<number> {
  let p: ParsedArgs;
  try {
    p = parseArgs(ctx.args, FLAGS);
  } catch (err) {
    if (err instanceof FlagError) throw new ToolExit(1, `Error: ${err.message}`);
    throw err;
  }
  const [group, verb, ...rest] = p.positionals;
  if (group === 'version') return version(ctx, p);
  if (group === 'backup' && verb === 'create') return backupCreate(ctx, p, rest);
  if (group === 'backup' && verb === 'get') return backupGet(ctx, p, rest);
  if (group === 'backup' && verb === 'describe') return backupDescribe(ctx, p, rest);
  if (group === 'restore' && verb === 'create') return restoreCreate(ctx, p, rest);
  if (group === 'restore' && verb === 'get') return restoreGet(ctx, p);
  if (group === undefined) {
    ctx.io.out('Velero is a tool for managing disaster recovery, specifically for Kubernetes cluster resources.\n');
    return 0;
  }
  throw new ToolExit(1, `Error: unknown command "${verb ?? group}" for "velero${verb !== undefined ? ` ${group}` : ''}"`);
}

/** Kubeconfig, API server and the Velero CRDs, in that order. */
function connect(ctx: TwinContext, p: ParsedArgs, kind = 'Backup'): SimState {
  const lookup = findKubeconfig(ctx, flagString(p, 'kubeconfig'));
  if (lookup.kind === 'explicit-missing') fail(`stat ${lookup.path}: no such file or directory`);
  if (lookup.kind === 'none') fail('invalid configuration: no configuration has been provided, try setting KUBERNETES_MASTER environment variable');
  const state = loadState(ctx.dir);
  if (!apiReachable(state)) fail(unreachableError(state, apiServer(state)));
  if (!state.velero.installed) fail(notInstalledError(state, kind));
  return state;
}

async function version(ctx: TwinContext, p: ParsedArgs): Promise<number> {
  const v = loadState(ctx.dir).veleroVersion ?? DEFAULT_VELERO_VERSION;
  ctx.io.out(`Client:\n\tVersion: ${v}\n\tGit commit: ${hex16('velero') + hex16('velero#')}\n`);
  try {
    connect(ctx, p, 'ServerStatusRequest');
    ctx.io.out(`Server:\n\tVersion: ${v}\n`);
  } catch (err) {
    if (!(err instanceof ToolExit)) throw err;
    ctx.io.out(`<error getting server version: ${err.message.replace(/^An error occurred: /, '')}>\n`);
  }
  return 0;
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

async function backupCreate(ctx: TwinContext, p: ParsedArgs, rest: string[]): Promise<number> {
  const name = rest[0];
  if (name === undefined || rest.length > 1) throw new ToolExit(1, 'Error: accepts 1 arg(s), received ' + String(rest.length));
  if (!DNS_SUBDOMAIN.test(name) || name.length > 253) {
    fail(
      `Backup.velero.io "${name}" is invalid: metadata.name: Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
    );
  }
  connect(ctx, p);
  transact(ctx.dir, (state, now) => {
    if (state.velero.backups.some((b) => b.name === name)) fail(`backups.velero.io "${name}" already exists`);
    let finalPhase: SimBackup['finalPhase'] = 'Completed';
    let errors = 0;
    let warnings = 0;
    let failureReason: string | null = null;
    let validationErrors: string[] | undefined;
    const next = state.velero.nextBackup;
    if (next) {
      delete state.velero.nextBackup;
      ({ finalPhase, validationErrors } = next);
      errors = next.errors ?? 0;
      warnings = next.warnings ?? 0;
      failureReason = next.failureReason ?? null;
    } else if (takeFault(state, 'velero-failed')) {
      ctx.firedFaults.push('velero-failed');
      finalPhase = 'Failed';
      failureReason =
        'error checking if backup already exists in object storage: rpc error: code = Unavailable desc = connection error: desc = "transport: error while dialing: dial tcp 10.96.112.4:9000: connect: connection refused"';
      errors = 1;
    } else if (takeFault(state, 'velero-partially-failed')) {
      ctx.firedFaults.push('velero-partially-failed');
      finalPhase = 'PartiallyFailed';
      errors = 2;
      warnings = 1;
    }
    const included = flagList(p, 'include-namespaces');
    state.velero.backups.push({
      name,
      phase: 'InProgress',
      finalPhase,
      errors,
      warnings,
      failureReason,
      ...(validationErrors ? { validationErrors } : {}),
      includedNamespaces: included.length > 0 ? included : ['*'],
      excludedNamespaces: flagList(p, 'exclude-namespaces'),
      defaultVolumesToFsBackup: flagBool(p, 'default-volumes-to-fs-backup'),
      createdAt: new Date(now).toISOString(),
      startedAt: new Date(now).toISOString(),
      completeAt: now + state.backupSeconds * 1000,
      completedAt: null,
      totalItems: 120 + state.pods.length * 7,
    });
  });
  ctx.io.out(`Backup request "${name}" submitted successfully.\n`);
  if (!flagBool(p, 'wait')) {
    ctx.io.out(`Run \`velero backup describe ${name}\` or \`velero backup logs ${name}\` for more details.\n`);
    return 0;
  }
  ctx.io.out('Waiting for backup to complete. You may safely press ctrl-c to stop waiting - your backup will continue in the background.\n');
  const phase = await waitUntilDone(ctx, () => loadState(ctx.dir).velero.backups.find((b) => b.name === name)?.phase ?? 'Failed');
  ctx.io.out(`\nBackup completed with status: ${phase}. You may check for more information using the commands \`velero backup describe ${name}\` and \`velero backup logs ${name}\`.\n`);
  return 0;
}

/**
 * Prints a dot per poll (the real client prints one a second, without a newline) until the phase is
 * one `--wait` stops at (create.go: FailedValidation, Completed, PartiallyFailed, Failed).
 */
async function waitUntilDone(ctx: TwinContext, phaseOf: () => string): Promise<string> {
  const deadline = Date.now() + MAX_WAIT_MS;
  const interval = 200;
  for (;;) {
    const phase = phaseOf();
    if (WAIT_ENDS.includes(phase)) return phase;
    ctx.io.out('.');
    if (Date.now() >= deadline) return phase;
    await sleep(interval);
  }
}

function uidOf(name: string): string {
  const h = hex16(name);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${hex16(`${name}#`).slice(1, 4)}-${hex16(`${name}##`).slice(0, 12)}`;
}

async function backupGet(ctx: TwinContext, p: ParsedArgs, names: string[]): Promise<number> {
  const state = connect(ctx, p);
  const backups = names.length > 0 ? names.map((n) => state.velero.backups.find((b) => b.name === n) ?? fail(`backups.velero.io "${n}" not found`)) : state.velero.backups;
  const output = flagString(p, 'output') ?? 'table';
  if (output === 'json' || output === 'yaml') {
    // Velero prints a one-item list as the item itself (output.go printEncoded); the API server lists by name.
    const objects = [...backups].sort((a, b) => (a.name < b.name ? -1 : 1)).map((b) => backupObject(state, b, uidOf(b.name), state.revision));
    const doc = objects.length === 1 ? objects[0] : { kind: 'BackupList', apiVersion: 'velero.io/v1', metadata: { resourceVersion: String(200_000 + state.revision) }, items: objects };
    ctx.io.out(output === 'json' ? goJsonLine(doc) : toYaml(doc, 2, false));
    return 0;
  }
  if (output !== 'table') fail(`invalid output format "${output}" - valid values are 'table', 'json', and 'yaml'`);
  const lines = ['NAME\tSTATUS\tERRORS\tWARNINGS\tCREATED\tEXPIRES\tSTORAGE LOCATION\tSELECTOR'];
  for (const b of backups) {
    const created = Date.parse(b.createdAt);
    const expiresDays = Math.max(0, Math.round((created + TTL_MS - Date.now()) / 86400_000));
    lines.push(
      [
        b.name,
        b.phase,
        String(b.errors),
        String(b.warnings),
        new Date(created)
          .toISOString()
          .replace('T', ' ')
          .replace(/\.\d+Z$/, ' +0000 UTC'),
        `${expiresDays}d`,
        'default',
        '<none>',
      ].join('\t'),
    );
  }
  ctx.io.out(tabwrite(lines, 3, 6));
  return 0;
}

async function backupDescribe(ctx: TwinContext, p: ParsedArgs, names: string[]): Promise<number> {
  const name = names[0];
  if (name === undefined) fail('a backup name is required');
  const state = connect(ctx, p);
  const b = state.velero.backups.find((x) => x.name === name) ?? fail(`backups.velero.io "${name}" not found`);
  const utc = (iso: string): string =>
    new Date(iso)
      .toISOString()
      .replace('T', ' ')
      .replace(/\.\d+Z$/, ' +0000 UTC');
  const lines = [
    `Name:         ${b.name}`,
    'Namespace:    velero',
    'Labels:       velero.io/storage-location=default',
    `Annotations:  velero.io/resource-timeout=10m0s`,
    `              velero.io/source-cluster-k8s-gitversion=v${state.apiServerVersion}`,
    '',
    `Phase:  ${b.phase}`,
    '',
  ];
  if (b.errors > 0 || b.warnings > 0) {
    lines.push(`Errors:    ${b.errors}`, `Warnings:  ${b.warnings}`, '');
  }
  if (b.phase === 'Failed' && b.failureReason) lines.push(`Failure reason:  ${b.failureReason}`, '');
  lines.push(
    'Namespaces:',
    `  Included:  ${b.includedNamespaces.join(', ')}`,
    `  Excluded:  ${b.excludedNamespaces.length > 0 ? b.excludedNamespaces.join(', ') : '<none>'}`,
    '',
    'Resources:',
    '  Included:        *',
    '  Excluded:        <none>',
    '  Cluster-scoped:  auto',
    '',
    'Label selector:  <none>',
    '',
    'Storage Location:  default',
    '',
    `Velero-Native Snapshot PVs:  auto`,
    `File System Backup (Default):  ${b.defaultVolumesToFsBackup}`,
    '',
    'TTL:  720h0m0s',
    '',
    'Backup Format Version:  1.1.0',
    '',
    `Started:    ${utc(b.startedAt)}`,
    `Completed:  ${b.completedAt !== null ? utc(b.completedAt) : '<n/a>'}`,
    '',
    `Expiration:  ${utc(new Date(Date.parse(b.createdAt) + TTL_MS).toISOString())}`,
    '',
    `Total items to be backed up:  ${b.totalItems}`,
    `Items backed up:              ${b.completedAt !== null ? b.totalItems - (b.phase === 'Completed' ? 0 : b.errors) : Math.floor(b.totalItems / 2)}`,
    '',
  );
  ctx.io.out(`${lines.join('\n')}\n`);
  return 0;
}

function stamp(now: number): string {
  return new Date(now).toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

async function restoreCreate(ctx: TwinContext, p: ParsedArgs, rest: string[]): Promise<number> {
  const from = flagString(p, 'from-backup');
  if (from === undefined || from === '') fail('either a backup or schedule must be specified, but not both');
  connect(ctx, p, 'Restore');
  const name = transact(ctx.dir, (state, now) => {
    if (!state.velero.backups.some((b) => b.name === from)) fail(`backups.velero.io "${from}" not found`);
    const restoreName = rest[0] ?? `${from}-${stamp(now)}`;
    if (state.velero.restores.some((r) => r.name === restoreName)) fail(`restores.velero.io "${restoreName}" already exists`);
    state.velero.restores.push({ name: restoreName, backupName: from, phase: 'InProgress', createdAt: new Date(now).toISOString(), completeAt: now + state.backupSeconds * 1000 });
    return restoreName;
  });
  ctx.io.out(`Restore request "${name}" submitted successfully.\n`);
  if (!flagBool(p, 'wait')) {
    ctx.io.out(`Run \`velero restore describe ${name}\` or \`velero restore logs ${name}\` for more details.\n`);
    return 0;
  }
  ctx.io.out('Waiting for restore to complete. You may safely press ctrl-c to stop waiting - your restore will continue in the background.\n');
  const phase = await waitUntilDone(ctx, () => loadState(ctx.dir).velero.restores.find((r) => r.name === name)?.phase ?? 'Failed');
  ctx.io.out(`\nRestore completed with status: ${phase}. You may check for more information using the commands \`velero restore describe ${name}\` and \`velero restore logs ${name}\`.\n`);
  return 0;
}

async function restoreGet(ctx: TwinContext, p: ParsedArgs): Promise<number> {
  const state = connect(ctx, p, 'Restore');
  const lines = ['NAME\tBACKUP\tSTATUS\tSTARTED\tCOMPLETED\tERRORS\tWARNINGS\tCREATED\tSELECTOR'];
  for (const r of state.velero.restores) {
    lines.push([r.name, r.backupName, r.phase, r.createdAt, r.phase === 'Completed' ? new Date(r.completeAt).toISOString() : '<nil>', '0', '0', r.createdAt, '<none>'].join('\t'));
  }
  ctx.io.out(tabwrite(lines, 3, 6));
  return 0;
}
