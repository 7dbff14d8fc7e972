import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ParseError } from '../../src/activities/parse/common';
import { parseFluxError, parseFluxGet, readFluxGet } from '../../src/activities/parse/flux';

/** flux's tablewriter (v0.0.5): every cell padded to its column and followed by a tab; the header's last cell by a space. */
function fluxTable(rows: string[][]): string {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r, n) => r.map((c, i) => `${c.padEnd(widths[i] ?? 0)}${n === 0 && i === r.length - 1 ? ' ' : '\t'}`).join('') + '\n').join('');
}

const HEADER = ['NAMESPACE', 'NAME', 'REVISION', 'SUSPENDED', 'READY', 'MESSAGE'];

test('kustomizations: ready, suspended and not ready rows', () => {
  const out = fluxTable([
    HEADER,
    ['flux-system', 'flux-system', 'main@sha1:1a2b3c4d', 'False', 'True', 'Applied revision: main@sha1:1a2b3c4d'],
    ['apps', 'media', 'main@sha1:1a2b3c4d', 'True', 'True', 'Applied revision: main@sha1:1a2b3c4d'],
    ['apps', 'monitoring', '', 'False', 'False', 'waiting to be reconciled'],
  ]);
  assert.deepEqual(parseFluxGet(out, 'Kustomization'), [
    { kind: 'Kustomization', namespace: 'flux-system', name: 'flux-system', ready: true, suspended: false, message: 'Applied revision: main@sha1:1a2b3c4d' },
    { kind: 'Kustomization', namespace: 'apps', name: 'media', ready: true, suspended: true, message: 'Applied revision: main@sha1:1a2b3c4d' },
    { kind: 'Kustomization', namespace: 'apps', name: 'monitoring', ready: false, suspended: false, message: 'waiting to be reconciled' },
  ]);
});

test('helmreleases: Unknown is not ready; columns read by name; a multi-line message is joined', () => {
  const out = fluxTable([
    ['NAME', 'READY', 'NAMESPACE', 'SUSPENDED', 'MESSAGE', 'REVISION'],
    ['sonarr', 'Unknown', 'media', 'False', 'Running upgrade action', '1.2.3'],
    ['radarr', 'False', 'media', 'False', 'Helm upgrade failed: timed out waiting', '4.5.6'],
    ['', '', '', '', 'for the condition', ''],
  ]);
  const got = parseFluxGet(out, 'HelmRelease');
  assert.equal(got.length, 2);
  assert.equal(got[0]?.ready, false);
  assert.equal(got[0]?.namespace, 'media');
  assert.equal(got[1]?.message, 'Helm upgrade failed: timed out waiting for the condition');
});

test('a header alone (status-selector matched nothing) is an empty list', () => {
  assert.deepEqual(parseFluxGet(fluxTable([HEADER]), 'HelmRelease'), []);
});

const bad: [string, string][] = [
  ['empty output', ''],
  ['garbage', '✗ something went wrong\n'],
  ['a space-padded table', 'NAMESPACE   NAME   REVISION   SUSPENDED   READY   MESSAGE\nflux-system   flux-system   x   False   True   ok\n'],
  ['a row cut short', fluxTable([HEADER, ['flux-system', 'flux-system', 'main@sha1:1a2b', 'False', 'True', 'ok']]).replace(/True\s*\tok\s*\t\n$/, 'Tr')],
  ['READY that is not a condition status', fluxTable([HEADER, ['a', 'b', 'c', 'False', 'Yes', 'm']])],
  ['SUSPENDED that is not a bool', fluxTable([HEADER, ['a', 'b', 'c', 'maybe', 'True', 'm']])],
  ['binary junk', fluxTable([HEADER, ['a', 'b', 'c', 'False', 'True', 'm']]).slice(0, 70) + '\u0000\ufffd\u001b[2K{"\u0007'],
  [
    'a header without READY',
    fluxTable([
      ['NAMESPACE', 'NAME', 'MESSAGE', 'SUSPENDED'],
      ['a', 'b', 'm', 'False'],
    ]),
  ],
];
for (const [name, text] of bad) {
  test(`flux get rejects ${name}`, () => {
    assert.throws(
      () => parseFluxGet(text, 'Kustomization'),
      (e: unknown) => e instanceof ParseError && /flux get kustomizations/.test(e.message),
    );
  });
}

test('stderr: no objects, an unserved API (either form), unreachable', () => {
  assert.deepEqual(parseFluxError('✗ no Kustomization objects found in any namespace\n'), { kind: 'no-objects', groupVersion: null, message: 'no Kustomization objects found in any namespace' });
  assert.equal(parseFluxError('✗ no matches for kind "HelmRelease" in version "helm.toolkit.fluxcd.io/v2"\n')?.groupVersion, 'helm.toolkit.fluxcd.io/v2');
  assert.equal(
    parseFluxError('✗ failed to get API group resources: unable to retrieve the complete list of server APIs: helm.toolkit.fluxcd.io/v2beta1: the server could not find the requested resource\n')
      ?.groupVersion,
    'helm.toolkit.fluxcd.io/v2beta1',
  );
  assert.equal(parseFluxError('✗ context deadline exceeded\n')?.kind, 'other');
  assert.equal(parseFluxError('✗ failed to get server groups: Get "https://10.0.0.1:6443/api?timeout=32s": dial tcp 10.0.0.1:6443: connect: connection refused\n')?.kind, 'unreachable');
  assert.equal(parseFluxError(''), null);
});

test('no objects is an empty list whether flux exits 0 (2.0-2.5) or 1 (2.6+); a bare failure is refused', () => {
  const none = '✗ no HelmRelease objects found in any namespace\n';
  assert.deepEqual(readFluxGet('', none, 0, 'HelmRelease').objects, []);
  assert.deepEqual(readFluxGet('', none, 1, 'HelmRelease').objects, []);
  assert.throws(() => readFluxGet('', 'panic: boom\n', 2, 'HelmRelease'), ParseError);
  assert.throws(() => readFluxGet('', '', 0, 'HelmRelease'), ParseError);
});
