import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ParseError } from '../../src/activities/parse/common';
import { VELERO_PHASES, isTerminalPhase, parseBackupCreateOutput, parseBackupGet, parseBackupList } from '../../src/activities/parse/velero';

const created = (phase: string | null) =>
  'Backup request "pre-upgrade-20260211" submitted successfully.\n' +
  'Waiting for backup to complete. You may safely press ctrl-c to stop waiting - your backup will continue in the background.\n' +
  '..........\n' +
  (phase === null
    ? ''
    : `Backup completed with status: ${phase}. You may check for more information using the commands \`velero backup describe pre-upgrade-20260211\` and \`velero backup logs pre-upgrade-20260211\`.\n`);

test('backup create --wait: name and final phase, whatever the phase', () => {
  assert.deepEqual(parseBackupCreateOutput(created('Completed')), { name: 'pre-upgrade-20260211', finalPhase: 'Completed' });
  assert.deepEqual(parseBackupCreateOutput(created('PartiallyFailed')), { name: 'pre-upgrade-20260211', finalPhase: 'PartiallyFailed' });
  assert.deepEqual(parseBackupCreateOutput(created('Failed')), { name: 'pre-upgrade-20260211', finalPhase: 'Failed' });
  assert.deepEqual(parseBackupCreateOutput(created(null)), { name: 'pre-upgrade-20260211', finalPhase: null });
  assert.deepEqual(parseBackupCreateOutput('Backup request "b1" submitted successfully.\nRun `velero backup describe b1` or `velero backup logs b1` for more details.\n'), {
    name: 'b1',
    finalPhase: null,
  });
});

test('backup create: garbage or an unknown phase is refused', () => {
  assert.throws(() => parseBackupCreateOutput(''), ParseError);
  assert.throws(() => parseBackupCreateOutput('An error occurred: backups.velero.io "b1" already exists\n'), ParseError);
  assert.throws(
    () => parseBackupCreateOutput(created('Splendid')),
    (e: unknown) => e instanceof ParseError && /velero backup create/.test(e.message),
  );
});

function backup(name: string, status: Record<string, unknown>, kind: string | undefined = 'Backup') {
  return { ...(kind ? { kind } : {}), apiVersion: 'velero.io/v1', metadata: { name, namespace: 'velero' }, spec: { excludedNamespaces: ['kube-system'] }, status };
}

test('backup get NAME -o json: phase, counts, reason and times', () => {
  const b = parseBackupGet(
    JSON.stringify(
      backup('pre-upgrade', {
        phase: 'PartiallyFailed',
        errors: 2,
        warnings: 5,
        startTimestamp: '2026-02-11T10:00:00Z',
        completionTimestamp: '2026-02-11T10:03:00Z',
        version: 1,
      }),
      null,
      4,
    ),
  );
  assert.deepEqual(b, {
    name: 'pre-upgrade',
    phase: 'PartiallyFailed',
    errors: 2,
    warnings: 5,
    failureReason: null,
    validationErrors: [],
    startTimestamp: '2026-02-11T10:00:00Z',
    completionTimestamp: '2026-02-11T10:03:00Z',
  });
  const failed = parseBackupGet(JSON.stringify(backup('b', { phase: 'Failed', failureReason: 'unable to reach object store' })));
  assert.equal(failed.failureReason, 'unable to reach object store');
  assert.equal(failed.errors, 0);
  assert.equal(parseBackupGet(JSON.stringify(backup('new', {}))).phase, 'New');
});

test('backup get: garbage, truncation, wrong kinds and unknown phases are refused', () => {
  const good = JSON.stringify(backup('b', { phase: 'Completed' }));
  const cases = [
    '',
    good.slice(0, -5),
    'An error occurred: backups.velero.io "b" not found',
    JSON.stringify({ ...backup('b', { phase: 'Completed' }), kind: 'Restore' }),
    JSON.stringify(backup('b', { phase: 'Exploded' })),
    JSON.stringify(backup('b', { phase: 'Completed', errors: 'many' })),
    JSON.stringify({ kind: 'Backup', metadata: {}, status: { phase: 'Completed' } }),
  ];
  for (const text of cases) assert.throws(() => parseBackupGet(text), ParseError, text);
});

test('backup get -o json without a name: list, single-item shortcut, empty list', () => {
  const two = JSON.stringify({
    apiVersion: 'velero.io/v1',
    kind: 'BackupList',
    metadata: {},
    items: [backup('a', { phase: 'Completed' }, undefined), backup('b', { phase: 'InProgress' }, undefined)],
  });
  assert.deepEqual(
    parseBackupList(two).map((b) => [b.name, b.phase]),
    [
      ['a', 'Completed'],
      ['b', 'InProgress'],
    ],
  );
  assert.deepEqual(
    parseBackupList(JSON.stringify(backup('only', { phase: 'Completed' }))).map((b) => b.name),
    ['only'],
  );
  assert.deepEqual(parseBackupList(JSON.stringify({ apiVersion: 'velero.io/v1', kind: 'BackupList', metadata: {}, items: [] })), []);
  assert.deepEqual(parseBackupList(JSON.stringify({ apiVersion: 'velero.io/v1', kind: 'BackupList', metadata: {}, items: null })), []);
  assert.throws(() => parseBackupList(JSON.stringify({ kind: 'RestoreList', items: [] })), ParseError);
});

test('a backup ends in exactly the terminal phases; every other phase is waited on', () => {
  assert.deepEqual(VELERO_PHASES.filter(isTerminalPhase), ['FailedValidation', 'Completed', 'PartiallyFailed', 'Failed', 'Deleting']);
  assert.equal(isTerminalPhase('FinalizingPartiallyFailed'), false);
  assert.equal(isTerminalPhase('WaitingForPluginOperations'), false);
});
