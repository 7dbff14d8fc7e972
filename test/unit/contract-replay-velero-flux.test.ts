/**
 * The product's velero and flux calls driven by fake tools that replay the contract corpus
 * (test/contract/velero, test/contract/flux): the backup activity (in MockActivityEnvironment),
 * readFlux and probeVelero, and the preflight verdicts they lead to.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createVeleroBackup } from '../../src/activities/backup';
import { ToolError } from '../../src/activities/exec';
import { probeVelero, readFlux, toolRunner } from '../../src/activities/inspect';
import { ParseError } from '../../src/activities/parse/common';
import type { VeleroBackupResult } from '../../src/activities/types';
import { evaluatePreflight, parseSpec, type ClusterFacts, type PreflightCheck } from '../../src/plan';
import { loadCases } from '../helpers/contract';
import { fakeTools, type FakeRule, type FakeTools } from '../helpers/fake-tool';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'replay-vf-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
let n = 0;
const fakes = (rules: FakeRule[]): FakeTools => fakeTools(path.join(root, `s${++n}`), rules);

const NAME = 'pre-upgrade-homelab-20260211-3f2a9c1d';
const EXCLUDED = ['kube-system', 'kube-public', 'kube-node-lease'];
const GET = ['backup', 'get', NAME, '-o', 'json'];
const create = (fsb: boolean) => ['backup', 'create', NAME, '--exclude-namespaces', EXCLUDED.join(','), ...(fsb ? ['--default-volumes-to-fs-backup'] : []), '--wait'];
const velero = (args: string[], c: string, nth?: number): FakeRule => ({ tool: 'velero', args, case: `velero/${c}`, ...(nth ? { nth } : {}) });
/** `backup get NAME` answering each case in turn. */
const gets = (...cases: string[]): FakeRule[] => cases.map((c, i) => velero(GET, c, i + 1));

async function backup(f: FakeTools, fsb = true, env = new MockActivityEnvironment()): Promise<VeleroBackupResult> {
  return env.run(createVeleroBackup, {
    access: { talosconfig: '/nonexistent/talosconfig', kubeconfig: '/nonexistent/kubeconfig', tools: f.tools },
    name: NAME,
    excludeNamespaces: EXCLUDED,
    defaultVolumesToFsBackup: fsb,
    tuning: { pollIntervalMs: 5 },
  });
}
const veleroCalls = (f: FakeTools) =>
  f
    .calls()
    .filter((c) => c.tool === 'velero')
    .map((c) => c.args.slice(0, 2).join(' '));

describe('the backup activity replaying velero cases', () => {
  it('creates, waits and reads the final phase: Completed with its warnings', async () => {
    const f = fakes([...gets('get-not-found', 'get-completed'), velero(create(true), 'create-wait-completed')]);
    const r = await backup(f);
    assert.deepEqual(r, { name: NAME, phase: 'Completed', reused: false, errors: 0, warnings: 3, failureReason: null, validationErrors: [], waitPhase: 'Completed' });
    assert.deepEqual(veleroCalls(f), ['backup get', 'backup create', 'backup get']);
    assert.deepEqual(f.calls()[1]?.args, create(true));
  });

  for (const [c, get, phase, extra] of [
    ['create-wait-partially-failed', 'get-partially-failed', 'PartiallyFailed', { errors: 2, warnings: 1 }],
    ['create-wait-failed', 'get-failed', 'Failed', { failureReason: 'backup already exists in object storage' }],
    ['create-wait-failed-validation', 'get-failed-validation', 'FailedValidation', { validationErrors: ["backup can't be created because BackupStorageLocation default is in Unavailable status."] }],
  ] as const) {
    it(`--wait exits 0 on ${phase}: the phase comes back as it is, with its reasons`, async () => {
      const f = fakes([...gets('get-not-found', get), velero(create(false), c)]);
      const r = await backup(f, false);
      assert.equal(r.phase, phase);
      assert.equal(r.waitPhase, phase);
      assert.equal(r.reused, false);
      for (const [k, v] of Object.entries(extra)) assert.deepEqual(r[k as keyof VeleroBackupResult], v, k);
    });
  }

  it('reuses an existing Completed backup without creating another', async () => {
    const f = fakes(gets('get-completed'));
    const r = await backup(f);
    assert.equal(r.reused, true);
    assert.equal(r.phase, 'Completed');
    assert.equal(r.waitPhase, null);
    assert.deepEqual(veleroCalls(f), ['backup get']);
  });

  it('a reused v1.18 backup is followed through Queued and ReadyToStart to its end', async () => {
    const f = fakes(gets('get-queued', 'get-ready-to-start', 'get-in-progress', 'get-waiting-for-plugin-operations', 'get-finalizing', 'get-completed'));
    const env = new MockActivityEnvironment();
    const beats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => beats.push(d));
    const r = await backup(f, true, env);
    assert.deepEqual([r.phase, r.reused], ['Completed', true]);
    assert.equal(veleroCalls(f).length, 6);
    assert.deepEqual(
      beats.filter((b): b is { phase: string } => typeof b === 'object' && b !== null && 'phase' in b).map((b) => b.phase),
      ['Queued', 'ReadyToStart', 'InProgress', 'WaitingForPluginOperations', 'Finalizing'],
    );
  });

  it('a reused backup being deleted ends the activity with phase Deleting (never Completed)', async () => {
    const r = await backup(fakes(gets('get-deleting')));
    assert.equal(r.phase, 'Deleting');
  });

  it('a retry whose first attempt created the backup: "already exists" is not an error', async () => {
    const f = fakes([...gets('get-not-found', 'get-completed'), velero(create(true), 'create-already-exists')]);
    const r = await backup(f);
    assert.deepEqual([r.phase, r.reused, r.waitPhase], ['Completed', false, null]);
  });

  it("Velero not installed fails the activity with velero's words", async () => {
    // `backup get NAME` maps the Backup kind exactly as the list does, so the list case's bytes hold for it.
    const f = fakes([velero(GET, 'list-crds-missing')]);
    await assert.rejects(backup(f), (err: Error) => /no matches for velero\.io\/v1/.test(err.message));
    assert.deepEqual(veleroCalls(f), ['backup get']);
  });

  it('heartbeats on a timer while --wait prints dots without a newline', async () => {
    const f = fakes(gets('get-not-found', 'get-completed'));
    const dir = path.dirname(path.dirname(f.tools.velero));
    const slow = path.join(dir, 'bin', 'velero-slow');
    const done = loadCases('velero').find((c) => c.id === 'create-wait-completed');
    assert.ok(done);
    const dots = /\n(\.+)\n/.exec(done.stdout);
    assert.ok(dots);
    const [head, tail] = [done.stdout.slice(0, dots.index + 1), done.stdout.slice(dots.index + 1 + (dots[1]?.length ?? 0))];
    fs.writeFileSync(path.join(dir, 'head.txt'), head);
    fs.writeFileSync(path.join(dir, 'tail.txt'), tail);
    // The real client: a dot a second, no newline, for a while; then the last line. Other calls go to the replay fake.
    fs.writeFileSync(
      slow,
      `#!/bin/sh\nif [ "$2" = create ]; then cat '${dir}/head.txt'; for i in 1 2 3 4 5; do printf .; sleep 0.5; done; cat '${dir}/tail.txt'; exit 0; fi\nexec '${f.tools.velero}' "$@"\n`,
      { mode: 0o755 },
    );
    const env = new MockActivityEnvironment();
    const beats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => beats.push(d));
    const r: VeleroBackupResult = await env.run(createVeleroBackup, {
      access: { talosconfig: '/nonexistent/t', kubeconfig: '/nonexistent/k', tools: { ...f.tools, velero: slow } },
      name: NAME,
      excludeNamespaces: EXCLUDED,
      defaultVolumesToFsBackup: true,
    });
    assert.equal(r.waitPhase, 'Completed');
    assert.ok(
      beats.some((b) => JSON.stringify(b) === JSON.stringify({ waiting: NAME })),
      `no timer heartbeat during --wait: ${JSON.stringify(beats)}`,
    );
  });
});

// ------------------------------------------------------------------ inspection and verdicts

const access = (f: FakeTools) => ({ talosconfig: '/nonexistent/t', kubeconfig: '/nonexistent/k', tools: f.tools });
const fluxRules = (ks: string, hr: string): FakeRule[] => [
  { tool: 'flux', args: ['get', 'kustomizations', '-A'], case: `flux/${ks}` },
  { tool: 'flux', args: ['get', 'helmreleases', '-A'], case: `flux/${hr}` },
];
const veleroList = (c: string): FakeRule => velero(['backup', 'get', '-o', 'json'], c);

const spec = parseSpec({
  cluster: 'homelab',
  talosconfig: 'generated/talosconfig',
  kubeconfig: 'generated/kubeconfig',
  nodes: { controlPlane: ['192.168.1.70'], workers: [] },
  talos: { version: 'v1.9.4', schematic: '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba' },
  backup: { velero: { enabled: true } },
});

function verdicts(partial: Pick<ClusterFacts, 'flux' | 'velero'> & Partial<ClusterFacts>): PreflightCheck[] {
  const facts: ClusterFacts = {
    gatheredAt: '2026-02-11T10:00:00Z',
    talosClientVersion: 'v1.9.4',
    nodes: [],
    kubernetesVersion: '1.32.0',
    etcd: { members: [], status: [], error: null },
    podProblems: [],
    ...partial,
  };
  return evaluatePreflight(spec, facts, { controlPlanes: ['192.168.1.70'], workers: [], primary: '192.168.1.70' }).filter((c) => c.id === 'flux-ready' || c.id === 'velero');
}
const okVelero = { available: true, detail: 'velero answers' };

describe('readFlux replaying flux cases', () => {
  it('everything Ready: six objects, flux-ready ok', async () => {
    const got = await readFlux(toolRunner(access(fakes(fluxRules('ks-ready', 'hr-ready')))));
    assert.equal(got.objects?.length, 6);
    assert.deepEqual(got.unreadable, []);
    assert.deepEqual(
      verdicts({ flux: got.objects, velero: okVelero }).map((c) => [c.id, c.verdict]),
      [
        ['flux-ready', 'ok'],
        ['velero', 'ok'],
      ],
    );
  });

  it('not Ready, Unknown and never reconciled objects are blockers; suspended ones are not', async () => {
    const got = await readFlux(toolRunner(access(fakes(fluxRules('ks-mixed', 'hr-mixed')))));
    const blockers = verdicts({ flux: got.objects, velero: okVelero })
      .filter((c) => c.verdict === 'blocker')
      .map((c) => /Flux \w+ (\S+) is not Ready/.exec(c.message)?.[1]);
    assert.deepEqual(blockers, ['flux-system/apps', 'flux-system/monitoring', 'tenants/team-a', 'tenants/team-b', 'apps/podinfo', 'monitoring/kube-prometheus-stack']);
  });

  for (const [ks, hr] of [
    ['ks-none-2.0', 'hr-none-2.0'],
    ['ks-none', 'hr-none'],
  ] as const) {
    it(`no objects (${ks}: flux exits ${ks.endsWith('2.0') ? 0 : 1}) is Flux with nothing to wait for`, async () => {
      const got = await readFlux(toolRunner(access(fakes(fluxRules(ks, hr)))));
      assert.deepEqual(got, { objects: [], unreadable: [] });
      assert.equal(verdicts({ flux: got.objects, velero: okVelero })[0]?.verdict, 'ok');
    });
  }

  for (const [ks, hr] of [
    ['ks-not-installed-2.0', 'hr-not-installed-2.0'],
    ['ks-not-installed-2.0', 'hr-not-installed-2.2'],
    ['ks-not-installed-2.3', 'hr-not-installed-2.3'],
    ['ks-not-installed', 'hr-not-installed'],
  ] as const) {
    it(`Flux not installed (${ks}, ${hr}) is no Flux`, async () => {
      const got = await readFlux(toolRunner(access(fakes(fluxRules(ks, hr)))));
      assert.deepEqual(got, { objects: null, unreadable: [] });
      assert.match(verdicts({ flux: got.objects, velero: okVelero })[0]?.message ?? '', /not installed/);
    });
  }

  for (const hr of ['hr-version-mismatch-2.3', 'hr-version-mismatch']) {
    it(`a flux CLI newer than the cluster's Flux (${hr}) is a version mismatch, not "no Flux"`, async () => {
      const got = await readFlux(toolRunner(access(fakes(fluxRules('ks-ready', hr)))));
      assert.equal(got.objects?.length, 3);
      assert.deepEqual(
        got.unreadable.map((u) => [u.kind, u.groupVersion]),
        [['HelmRelease', 'helm.toolkit.fluxcd.io/v2']],
      );
      const flux = verdicts({ flux: got.objects, fluxUnreadable: got.unreadable, velero: okVelero }).filter((c) => c.id === 'flux-ready');
      assert.deepEqual(
        flux.map((c) => c.verdict),
        ['warning'],
      );
      assert.match(flux[0]?.message ?? '', /helm\.toolkit\.fluxcd\.io\/v2.*differ in version/);
    });
  }

  for (const ks of ['ks-unreachable-2.0', 'ks-unreachable']) {
    it(`an unreachable API server (${ks}) is a tool failure: nothing is known`, async () => {
      await assert.rejects(readFlux(toolRunner(access(fakes(fluxRules(ks, 'hr-ready'))))), (err: unknown) => err instanceof ToolError && /connection refused/.test(err.message));
    });
  }
});

describe('probeVelero replaying velero cases', () => {
  for (const [c, count] of [
    ['list-empty', 0],
    ['list-one', 1],
    ['list-two', 2],
  ] as const) {
    it(`${c}: available, ${count} backups (a queued v1.18 backup included)`, async () => {
      const got = await probeVelero(toolRunner(access(fakes([veleroList(c)]))));
      assert.deepEqual(got, { available: true, detail: `velero answers; ${count} backup${count === 1 ? '' : 's'} found` });
    });
  }
  for (const [c, words] of [
    ['list-crds-missing-1.13', /^Velero is not installed in the cluster/],
    ['list-crds-missing', /^Velero is not installed in the cluster/],
    ['list-unreachable-1.13', /^velero cannot reach the Kubernetes API/],
    ['list-unreachable-1.14', /^velero cannot reach the Kubernetes API/],
    ['list-unreachable', /^velero cannot reach the Kubernetes API/],
  ] as const) {
    it(`${c}: unavailable, said in words, and a blocker when the spec wants a backup`, async () => {
      const got = await probeVelero(toolRunner(access(fakes([veleroList(c)]))));
      assert.equal(got.available, false);
      assert.match(got.detail, words);
      const v = verdicts({ flux: null, velero: got }).find((x) => x.id === 'velero');
      assert.equal(v?.verdict, 'blocker');
    });
  }
});

describe('no contract case is a parse error for the product', () => {
  it('every velero case through probeVelero, every flux case through readFlux', async () => {
    for (const c of loadCases('velero').filter((x) => x.command[1] === 'get')) {
      try {
        const got = await probeVelero(toolRunner(access(fakes([{ tool: 'velero', args: ['backup', 'get', '-o', 'json'], case: `velero/${c.id}` }]))));
        assert.equal(got.available, c.exitCode === 0, c.id);
      } catch (err) {
        assert.ok(!(err instanceof ParseError), `${c.id}: ${(err as Error).message}`);
        throw err;
      }
    }
    for (const c of loadCases('flux')) {
      const other = c.command[1] === 'kustomizations' ? 'hr-ready' : 'ks-ready';
      const rules = c.command[1] === 'kustomizations' ? fluxRules(c.id, other) : fluxRules(other, c.id);
      try {
        await readFlux(toolRunner(access(fakes(rules))));
      } catch (err) {
        assert.ok(err instanceof ToolError, `${c.id}: ${(err as Error).message}`);
        assert.match(c.id, /unreachable/);
      }
    }
  });
});
