/**
 * The release cadence (runbook "Staying Current"): Talos patches within a week, Kubernetes patches within two, minors once their .1 exists,
 * one minor at a time, always inside the support matrix, never a Kubernetes the Talos cannot run.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { currentVersions, proposeRelease, shouldNotify, specForProposal, type ReleaseInfo, type ReleaseProposal } from '../../src/plan/cadence';
import { talosRunsKubernetes } from '../../src/plan/matrix';
import { parseSpec } from '../../src/plan/spec';
import { compareVersions } from '../../src/plan/versions';
import type { ClusterFacts, NodeFacts } from '../../src/plan/types';

const DAY = 24 * 3_600_000;
const NOW = '2025-03-14T12:00:00Z';

/** `v1.9.5@03-10` → released on 2025-03-10; `!` suffix = prerelease, `~` = draft. */
function feed(...entries: string[]): ReleaseInfo[] {
  return entries.map((entry) => {
    const draft = entry.endsWith('~');
    const prerelease = entry.endsWith('!');
    const [tag = '', date = '01-01'] = entry.replace(/[~!]$/, '').split('@');
    return { tag, prerelease, draft, publishedAt: draft ? null : `2025-${date}T00:00:00.000Z` };
  });
}

interface Row {
  name: string;
  talos: string;
  kubernetes: string;
  talosFeed: ReleaseInfo[];
  kubernetesFeed?: ReleaseInfo[];
  now?: string;
  expect: { talos: string | null; kubernetes: string | null; applyBy?: string | null };
  /** Held-back versions and a word their reason must contain. */
  held?: [string, RegExp][];
  reason?: RegExp;
}

const ROWS: Row[] = [
  {
    name: 'acceptance: v1.9.4 gets v1.9.5; v1.10.0 is held back until v1.10.1 exists',
    talos: 'v1.9.4',
    kubernetes: '1.32.2',
    talosFeed: feed('v1.9.3@01-10', 'v1.9.4@02-10', 'v1.9.5@03-10', 'v1.10.0@03-12', 'v1.10.0-beta.1@02-20!'),
    expect: { talos: 'v1.9.5', kubernetes: null, applyBy: '2025-03-17T00:00:00.000Z' },
    held: [['v1.10.0', /\.0 release: waiting for v1\.10\.1/]],
    reason: /v1\.9\.5 is the newest 1\.9 patch .*within a week, by 2025-03-17/,
  },
  {
    name: 'on the newest patch, a lone .0 minor is still held back',
    talos: 'v1.9.5',
    kubernetes: '1.32.2',
    talosFeed: feed('v1.9.5@03-10', 'v1.10.0@03-12'),
    expect: { talos: null, kubernetes: null },
    held: [['v1.10.0', /waiting for v1\.10\.1/]],
    reason: /nothing to propose/,
  },
  {
    name: 'once v1.10.1 exists the minor is proposed (its newest patch)',
    talos: 'v1.9.5',
    kubernetes: '1.32.2',
    talosFeed: feed('v1.9.5@03-10', 'v1.10.0@03-12', 'v1.10.1@03-13'),
    expect: { talos: 'v1.10.1', kubernetes: null, applyBy: null },
    reason: /minor upgrade, read the release notes/,
  },
  {
    name: 'newest patch first, then the next minor',
    talos: 'v1.9.4',
    kubernetes: '1.32.2',
    talosFeed: feed('v1.9.5@03-10', 'v1.10.0@03-01', 'v1.10.1@03-05', 'v1.10.2@03-12'),
    expect: { talos: 'v1.9.5', kubernetes: null },
    held: [['v1.10.2', /comes next, once v1\.9\.5 is in place/]],
  },
  {
    name: 'drafts, pre-releases and suffixed tags are ignored',
    talos: 'v1.9.5',
    kubernetes: '1.32.2',
    talosFeed: feed('v1.9.6-beta.0@03-01!', 'v1.9.7@03-02~', 'v1.9.8-rc.1@03-03', 'release-1.9.9@03-04', 'v1.9.5@03-10'),
    expect: { talos: null, kubernetes: null },
  },
  {
    name: 'never a downgrade',
    talos: 'v1.9.5',
    kubernetes: '1.32.9',
    talosFeed: feed('v1.8.4@01-01', 'v1.9.3@01-10'),
    kubernetesFeed: feed('v1.31.13@01-01', 'v1.32.1@01-01'),
    expect: { talos: null, kubernetes: null },
  },
  {
    name: 'one minor at a time: v1.8 goes to 1.9 first, later minors wait',
    talos: 'v1.8.4',
    kubernetes: '1.31.13',
    talosFeed: feed('v1.9.1@01-01', 'v1.9.5@02-01', 'v1.10.1@02-15', 'v1.11.1@03-01'),
    expect: { talos: 'v1.9.5', kubernetes: null },
    held: [
      ['v1.10.1', /one minor at a time/],
      ['v1.11.1', /one minor at a time/],
    ],
  },
  {
    name: 'a Talos minor outside the support matrix is held back',
    talos: 'v1.14.0',
    kubernetes: '1.37.0',
    talosFeed: feed('v1.14.0@01-01', 'v1.15.0@02-01', 'v1.15.1@03-01'),
    expect: { talos: null, kubernetes: null },
    held: [['v1.15.1', /not in the support matrix of this version of talos-upgrade yet; a talos-upgrade release that knows it can propose it/]],
  },
  {
    name: 'a Talos that cannot run the running Kubernetes waits for Kubernetes to move',
    talos: 'v1.12.2',
    kubernetes: '1.30.14',
    talosFeed: feed('v1.12.2@01-01', 'v1.13.0@02-01', 'v1.13.1@03-01'),
    kubernetesFeed: feed('v1.30.14@01-01', 'v1.31.0@01-10', 'v1.31.1@01-20'),
    expect: { talos: null, kubernetes: '1.31.1' },
    held: [['v1.13.1', /cannot run Kubernetes 1\.30\.14.*upgrade Kubernetes first/]],
  },
  {
    name: 'acceptance: never a Kubernetes the Talos cannot run (1.33 needs Talos 1.10)',
    talos: 'v1.9.5',
    kubernetes: '1.32.9',
    talosFeed: feed('v1.9.5@03-10', 'v1.10.0@03-12'),
    kubernetesFeed: feed('v1.32.9@02-01', 'v1.33.0@03-01', 'v1.33.1@03-10'),
    expect: { talos: null, kubernetes: null },
    held: [
      ['v1.10.0', /waiting/],
      ['1.33.1', /Talos v1\.9\.5 cannot run Kubernetes 1\.33.*upgrade Talos first/],
    ],
  },
  {
    name: 'a proposed Talos minor allows the Kubernetes minor it runs',
    talos: 'v1.9.5',
    kubernetes: '1.32.9',
    talosFeed: feed('v1.10.0@03-01', 'v1.10.1@03-10'),
    kubernetesFeed: feed('v1.33.0@03-01', 'v1.33.1@03-10'),
    expect: { talos: 'v1.10.1', kubernetes: '1.33.1' },
  },
  {
    name: 'a Kubernetes .0 minor waits for its .1',
    talos: 'v1.10.1',
    kubernetes: '1.32.9',
    talosFeed: feed('v1.10.1@03-10'),
    kubernetesFeed: feed('v1.32.9@02-01', 'v1.33.0@03-01'),
    expect: { talos: null, kubernetes: null },
    held: [['1.33.0', /waiting for 1\.33\.1/]],
  },
  {
    name: 'Kubernetes patches: two weeks from the oldest unapplied patch, and it says when that is overdue',
    talos: 'v1.9.5',
    kubernetes: '1.32.2',
    talosFeed: feed('v1.9.5@01-01'),
    kubernetesFeed: feed('v1.32.2@01-15', 'v1.32.3@02-25', 'v1.32.4@03-12'),
    expect: { talos: null, kubernetes: '1.32.4', applyBy: '2025-03-11T00:00:00.000Z' },
    reason: /1\.32\.4 is the newest 1\.32 patch .*overdue: it was due by 2025-03-11; 2 patches behind since 1\.32\.3/,
  },
  {
    name: 'a Kubernetes patch published 9 days ago is not yet due (two weeks, not one)',
    talos: 'v1.9.5',
    kubernetes: '1.32.2',
    talosFeed: feed('v1.9.5@01-01'),
    kubernetesFeed: feed('v1.32.3@03-05'),
    expect: { talos: null, kubernetes: '1.32.3', applyBy: '2025-03-19T00:00:00.000Z' },
    reason: /1\.32\.3 is the newest 1\.32 patch .*apply it within two weeks, by 2025-03-19/,
  },
  {
    name: 'applyBy is the earlier of the two patch deadlines',
    talos: 'v1.9.4',
    kubernetes: '1.32.2',
    talosFeed: feed('v1.9.5@03-10'),
    kubernetesFeed: feed('v1.32.3@03-02'),
    expect: { talos: 'v1.9.5', kubernetes: '1.32.3', applyBy: '2025-03-16T00:00:00.000Z' },
  },
];

describe('proposeRelease', () => {
  for (const row of ROWS) {
    it(row.name, () => {
      const p = proposeRelease({
        currentTalos: row.talos,
        currentKubernetes: row.kubernetes,
        talosReleases: row.talosFeed,
        kubernetesReleases: row.kubernetesFeed ?? [],
        now: row.now ?? NOW,
      });
      assert.equal(p.talos, row.expect.talos, `talos; reasons: ${p.reasons.join(' | ')}; held: ${JSON.stringify(p.heldBack)}`);
      assert.equal(p.kubernetes, row.expect.kubernetes, `kubernetes; held: ${JSON.stringify(p.heldBack)}`);
      if (row.expect.applyBy !== undefined) assert.equal(p.applyBy, row.expect.applyBy);
      for (const [version, why] of row.held ?? []) {
        const entry = p.heldBack.find((h) => h.version === version);
        assert.ok(entry, `${version} should be held back; held: ${JSON.stringify(p.heldBack)}`);
        assert.match(entry.why, why);
      }
      if (row.reason)
        assert.ok(
          p.reasons.some((r) => row.reason?.test(r)),
          `no reason matches ${String(row.reason)}: ${p.reasons.join(' | ')}`,
        );
      for (const line of [...p.reasons, ...p.heldBack.map((h) => h.why)]) assert.doesNotMatch(line, /\n/);
    });
  }

  it('accepts releases in any order, with duplicates and a leading v on Kubernetes', () => {
    const p = proposeRelease({
      currentTalos: '1.9.4',
      currentKubernetes: 'v1.32.2',
      talosReleases: [...feed('v1.9.5@03-10'), ...feed('v1.9.5@03-11'), ...feed('v1.9.3@01-01')].reverse(),
      kubernetesReleases: feed('v1.32.3@03-01'),
      now: Date.parse(NOW),
    });
    assert.deepEqual([p.talos, p.kubernetes, p.current], ['v1.9.5', '1.32.3', { talos: 'v1.9.4', kubernetes: '1.32.2' }]);
    assert.equal(p.publishedAt.talos, '2025-03-10T00:00:00.000Z', 'the first publication of a duplicated tag counts');
  });

  it('refuses a cluster version that is not X.Y.Z, in one line', () => {
    assert.throws(() => proposeRelease({ currentTalos: 'unknown', currentKubernetes: '1.32.2', talosReleases: [], kubernetesReleases: [], now: NOW }), /Talos version "unknown" is not X\.Y\.Z/);
  });

  it('never proposes a downgrade, a pre-release, or a Kubernetes the resulting Talos cannot run (random feeds)', () => {
    const version = (minors: [number, number]) => fc.tuple(fc.integer({ min: minors[0], max: minors[1] }), fc.integer({ min: 0, max: 6 }), fc.boolean(), fc.integer({ min: 1, max: 70 }));
    const toFeed = (entries: [number, number, boolean, number][]): ReleaseInfo[] =>
      entries.map(([minor, patch, pre, day]) => ({
        tag: `v1.${minor}.${patch}${pre && patch === 0 ? '-rc.1' : ''}`,
        prerelease: pre,
        draft: false,
        publishedAt: new Date(Date.parse('2025-01-01T00:00:00Z') + day * DAY).toISOString(),
      }));
    fc.assert(
      fc.property(
        version([7, 14]),
        version([27, 37]),
        fc.array(version([7, 15]), { maxLength: 12 }),
        fc.array(version([25, 38]), { maxLength: 12 }),
        ([tMinor, tPatch], [kMinor, kPatch], talosEntries, kubernetesEntries) => {
          const currentTalos = `v1.${tMinor}.${tPatch}`;
          const currentKubernetes = `1.${kMinor}.${kPatch}`;
          const talosReleases = toFeed(talosEntries);
          const kubernetesReleases = toFeed(kubernetesEntries);
          const p = proposeRelease({ currentTalos, currentKubernetes, talosReleases, kubernetesReleases, now: '2025-03-20T00:00:00Z' });
          const finalTalos = p.talos ?? currentTalos;
          if (p.talos !== null) {
            assert.ok(compareVersions(p.talos, currentTalos) > 0, 'no downgrade or same version');
            assert.ok(
              talosReleases.some((r) => r.tag === p.talos && !r.prerelease),
              'a released tag',
            );
            assert.ok(talosRunsKubernetes(p.talos, currentKubernetes), 'the new Talos runs the Kubernetes it meets (Talos goes first)');
          }
          if (p.kubernetes !== null) {
            assert.ok(compareVersions(p.kubernetes, currentKubernetes) > 0, 'no Kubernetes downgrade');
            assert.ok(
              kubernetesReleases.some((r) => r.tag === `v${p.kubernetes}` && !r.prerelease),
              'a released Kubernetes tag',
            );
            assert.ok(talosRunsKubernetes(finalTalos, p.kubernetes), `Talos ${finalTalos} runs Kubernetes ${p.kubernetes}`);
          }
        },
      ),
      { numRuns: 400, seed: 1914 },
    );
  });
});

function proposal(over: Partial<ReleaseProposal>): ReleaseProposal {
  return {
    talos: 'v1.9.5',
    kubernetes: null,
    reasons: [],
    heldBack: [],
    applyBy: '2025-03-17T00:00:00.000Z',
    publishedAt: { talos: '2025-03-10T00:00:00.000Z', kubernetes: null },
    current: { talos: 'v1.9.4', kubernetes: '1.32.2' },
    ...over,
  };
}

describe('shouldNotify', () => {
  const at = (text: string): number => Date.parse(text);
  const rows: [string, ReleaseProposal, number, number | undefined, boolean][] = [
    ['nothing proposed: never', proposal({ talos: null }), at('2025-03-10T12:00:00Z'), DAY, false],
    ['a one-off check: always', proposal({}), at('2025-03-12T12:00:00Z'), undefined, true],
    ['new since the previous daily check', proposal({}), at('2025-03-10T20:00:00Z'), DAY, true],
    ['seen yesterday, not yet due: quiet', proposal({}), at('2025-03-12T12:00:00Z'), DAY, false],
    ['the day it falls due: reminded', proposal({}), at('2025-03-17T06:00:00Z'), DAY, true],
    ['two days overdue: quiet', proposal({}), at('2025-03-19T06:00:00Z'), DAY, false],
    ['a week after the deadline: reminded again', proposal({}), at('2025-03-24T06:00:00Z'), DAY, true],
    ['a minor (no deadline) is mentioned weekly from publication', proposal({ applyBy: null }), at('2025-03-17T06:00:00Z'), DAY, true],
    ['... and quiet in between', proposal({ applyBy: null }), at('2025-03-15T06:00:00Z'), DAY, false],
  ];
  for (const [name, p, now, every, expected] of rows) {
    it(name, () => assert.equal(shouldNotify(p, now, every), expected));
  }
});

function node(address: string, role: 'controlplane' | 'worker', talos: string | null, kubelet: string | null, reachable = true): NodeFacts {
  return {
    address,
    role,
    talosVersion: talos,
    schematic: null,
    extensions: [],
    reachable,
    stage: 'running',
    kubernetesReady: true,
    kubeletVersion: kubelet,
    hostname: address,
    unschedulable: false,
  };
}

describe('currentVersions and specForProposal', () => {
  const facts: ClusterFacts = {
    gatheredAt: NOW,
    talosClientVersion: 'v1.9.5',
    nodes: [node('10.0.0.1', 'controlplane', 'v1.9.5', '1.32.3'), node('10.0.0.2', 'worker', 'v1.9.4', '1.32.2'), node('10.0.0.3', 'worker', 'v1.8.0', null, false)],
    kubernetesVersion: '1.32.3',
    etcd: { members: [], status: [], error: null },
    podProblems: [],
    flux: null,
    velero: { available: false, detail: '' },
  };

  it('starts from the lowest Talos on a reachable node and the lowest Kubernetes running', () => {
    assert.deepEqual(currentVersions(facts), { talos: 'v1.9.4', kubernetes: '1.32.2' });
  });

  it('is null when nothing could be read', () => {
    assert.deepEqual(currentVersions({ ...facts, nodes: [node('10.0.0.1', 'controlplane', null, null)], kubernetesVersion: null }), { talos: null, kubernetes: null });
  });

  it('puts the proposed versions into the spec, leaving Kubernetes alone when none is proposed', () => {
    const spec = parseSpec({ cluster: 'lab', talosconfig: 't', kubeconfig: 'k', nodes: { controlPlane: ['10.0.0.1'] }, talos: { version: 'v1.9.4' }, kubernetes: { version: '1.32.2' } });
    const both = specForProposal(spec, proposal({ kubernetes: '1.32.3' }));
    assert.equal(both.talos.version, 'v1.9.5');
    assert.deepEqual(both.kubernetes, { version: '1.32.3' });
    const talosOnly = specForProposal(spec, proposal({}));
    assert.equal(talosOnly.kubernetes, undefined);
    const kubernetesOnly = specForProposal(spec, proposal({ talos: null, kubernetes: '1.32.3' }));
    assert.equal(kubernetesOnly.talos.version, 'v1.9.4', 'Talos stays where the cluster is');
    assert.equal(spec.talos.version, 'v1.9.4', 'the spec itself is not changed');
  });
});
