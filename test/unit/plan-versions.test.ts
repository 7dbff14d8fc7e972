import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PolicyError, SUPPORT_MATRIX, compareVersions, installerAcceptsHost, minorOf, planHops, talosRunsKubernetes, type Hop, type HopRequest } from '../../src/plan';
import { BUILT_IN_RELEASE_DATA, KNOWN_LATEST_PATCH, describeReleaseData, type ReleaseData } from '../../src/plan/release-data';

/**
 * The latest patches these tests plan with, as a fetched feed would give them: fixed here so the path
 * rules are tested apart from the built-in table, which is refreshed as releases land.
 */
const FEED: ReleaseData = {
  latest: {
    talos: { '1.7': 'v1.7.7', '1.8': 'v1.8.4', '1.9': 'v1.9.5', '1.10': 'v1.10.7', '1.11': 'v1.11.5', '1.12': 'v1.12.2', '1.13': 'v1.13.0', '1.14': 'v1.14.0' },
    kubernetes: {
      '1.25': '1.25.16',
      '1.26': '1.26.15',
      '1.27': '1.27.16',
      '1.28': '1.28.15',
      '1.29': '1.29.15',
      '1.30': '1.30.14',
      '1.31': '1.31.13',
      '1.32': '1.32.9',
      '1.33': '1.33.5',
      '1.34': '1.34.1',
      '1.35': '1.35.0',
      '1.36': '1.36.0',
      '1.37': '1.37.0',
    },
  },
  talos: { source: 'feed', feed: 'https://feeds.test/talos', fetchedAt: '2026-11-30T08:00:00.000Z', asOf: null },
  kubernetes: { source: 'feed', feed: 'https://feeds.test/kubernetes', fetchedAt: '2026-11-30T08:00:01.000Z', asOf: null },
};

/** Hops as short strings: `T v1.9.5` / `K 1.31.13`, so tables read like the plan. */
function short(hops: Hop[]): string[] {
  return hops.map((hop) => (hop.kind === 'talos' ? `T ${hop.to}` : `K ${hop.to}`));
}

function request(currentTalos: string, targetTalos: string, currentKubernetes: string, targetKubernetes: string | null, extra: Partial<HopRequest> = {}): HopRequest {
  return { currentTalos, targetTalos, currentKubernetes, targetKubernetes, allowDowngrade: false, releaseData: FEED, ...extra };
}

function policyError(fn: () => unknown): PolicyError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof PolicyError, `expected a PolicyError, got ${String(err)}`);
    assert.ok(!err.message.includes('\n'), 'one line');
    return err;
  }
  assert.fail('expected a PolicyError');
}

describe('planHops: paths', () => {
  const table: { name: string; req: HopRequest; hops: string[] }[] = [
    { name: 'the runbook: Talos patch then Kubernetes patch', req: request('v1.9.2', 'v1.9.4', '1.32.0', '1.32.2'), hops: ['T v1.9.4', 'K 1.32.2'] },
    { name: 'Kubernetes 1.30 → 1.32 is two hops', req: request('v1.9.4', 'v1.9.4', '1.30.5', '1.32.2'), hops: ['K 1.31.13', 'K 1.32.2'] },
    { name: 'Kubernetes patch skip is one hop', req: request('v1.9.4', 'v1.9.4', '1.32.0', '1.32.9'), hops: ['K 1.32.9'] },
    // The Talos upgrade guide: the latest patch of the current minor first, then of each minor in between.
    { name: 'Talos 1.8 → 1.10 goes through the latest 1.8, then the latest 1.9', req: request('v1.8.3', 'v1.10.2', '1.31.2', null), hops: ['T v1.8.4', 'T v1.9.5', 'T v1.10.2'] },
    { name: 'already on the latest patch of the current minor: straight to the next minor', req: request('v1.8.4', 'v1.9.2', '1.31.2', null), hops: ['T v1.9.2'] },
    { name: "a target that is the current minor's latest patch is one hop", req: request('v1.8.3', 'v1.8.4', '1.31.2', null), hops: ['T v1.8.4'] },
    { name: 'a patch inside the current minor is one hop, even below its latest', req: request('v1.8.1', 'v1.8.3', '1.31.2', null), hops: ['T v1.8.3'] },
    { name: 'running a patch newer than the release data knows: no hop back to it', req: request('v1.8.6', 'v1.9.5', '1.31.2', null), hops: ['T v1.9.5'] },
    {
      name: 'target Kubernetes the current Talos cannot run: Talos goes first',
      req: request('v1.9.4', 'v1.10.7', '1.32.2', '1.33.5'),
      hops: ['T v1.9.5', 'T v1.10.7', 'K 1.33.5'],
    },
    {
      name: 'Kubernetes goes through the latest patch of each minor in between, not of its current minor',
      req: request('v1.10.7', 'v1.10.7', '1.31.2', '1.33.1'),
      hops: ['K 1.32.9', 'K 1.33.1'],
    },
    {
      name: 'target Talos that cannot run the current Kubernetes: Kubernetes goes first',
      req: request('v1.10.7', 'v1.11.5', '1.28.15', '1.29.15'),
      hops: ['K 1.29.15', 'T v1.11.5'],
    },
    {
      name: 'Kubernetes hops interleaved before each Talos hop that needs them',
      req: request('v1.9.5', 'v1.12.2', '1.28.0', '1.31.0'),
      hops: ['T v1.10.7', 'K 1.29.15', 'T v1.11.5', 'K 1.30.14', 'T v1.12.2', 'K 1.31.0'],
    },
    { name: 'nothing to do', req: request('v1.9.4', 'v1.9.4', '1.32.2', '1.32.2'), hops: [] },
    { name: 'Kubernetes left alone', req: request('v1.9.2', 'v1.9.4', '1.32.0', null), hops: ['T v1.9.4'] },
    { name: 'schematic-only change is a Talos hop on the same version', req: request('v1.9.4', 'v1.9.4', '1.32.2', null, { schematicChange: true }), hops: ['T v1.9.4'] },
    { name: 'accepts Kubernetes written with a v', req: request('v1.9.4', 'v1.9.4', 'v1.32.0', 'v1.32.2'), hops: ['K 1.32.2'] },
  ];
  for (const c of table) {
    it(c.name, () => assert.deepEqual(short(planHops(c.req).hops), c.hops));
  }

  it('fills from and minorBump on every hop', () => {
    const { hops } = planHops(request('v1.8.3', 'v1.10.2', '1.30.1', '1.31.4'));
    assert.deepEqual(hops, [
      { kind: 'talos', from: 'v1.8.3', to: 'v1.8.4', minorBump: false },
      { kind: 'talos', from: 'v1.8.4', to: 'v1.9.5', minorBump: true },
      { kind: 'talos', from: 'v1.9.5', to: 'v1.10.2', minorBump: true },
      { kind: 'kubernetes', from: '1.30.1', to: '1.31.4' },
    ]);
  });

  it('a schematic-only hop is not a minor bump', () => {
    assert.deepEqual(planHops(request('v1.9.4', 'v1.9.4', '1.32.2', null, { schematicChange: true })).hops, [{ kind: 'talos', from: 'v1.9.4', to: 'v1.9.4', minorBump: false }]);
  });
});

describe('planHops: refusals', () => {
  const table: { name: string; req: HopRequest; reason: RegExp }[] = [
    { name: 'Talos downgrade', req: request('v1.9.4', 'v1.9.2', '1.32.0', null), reason: /v1\.9\.2 is older than the cluster's v1\.9\.4.*--allow-downgrade/ },
    { name: 'Kubernetes downgrade', req: request('v1.9.4', 'v1.9.4', '1.32.2', '1.32.0'), reason: /kubernetes\.version 1\.32\.0 is older.*--allow-downgrade/ },
    {
      name: 'Talos target cannot run Kubernetes left alone',
      req: request('v1.9.4', 'v1.11.5', '1.28.0', null),
      reason: /Talos v1\.11\.5 cannot run Kubernetes 1\.28\.0 \(it runs 1\.29-1\.34\); set kubernetes\.version to 1\.29\.x or later/,
    },
    {
      name: 'Kubernetes target too new for the Talos target',
      req: request('v1.9.4', 'v1.9.5', '1.32.0', '1.33.0'),
      reason: /Kubernetes 1\.33\.0 does not run on Talos v1\.9\.5 \(it runs 1\.27-1\.32\); raise talos\.version to v1\.10 or later/,
    },
    {
      name: 'Kubernetes target below what the Talos target runs',
      req: request('v1.9.4', 'v1.12.2', '1.28.0', '1.29.0'),
      reason: /Talos v1\.12\.2 cannot run Kubernetes 1\.29\.0 \(it runs 1\.30-1\.35\); choose a kubernetes\.version in 1\.30-1\.35/,
    },
    {
      name: 'Talos minor without support data: says which minors are known and what to do, not to edit a source file',
      req: request('v1.9.4', 'v1.20.0', '1.32.0', null),
      reason:
        /^Talos 1\.20 is not in the support matrix of this version of talos-upgrade \(it knows Talos 1\.7 to 1\.14\); target Talos v1\.14 or older, or use a talos-upgrade release that knows Talos 1\.20$/,
    },
    {
      name: 'Kubernetes minor without release data on the path: says which minors are known and what to do',
      req: request('v1.14.0', 'v1.14.0', '1.37.0', '1.39.0'),
      reason:
        /^the path passes through Kubernetes 1\.38, a minor there is no release data for \(known: Kubernetes 1\.25 to 1\.37\); choose a target below Kubernetes 1\.38, or refresh the release data with talos-upgrade releases check$/,
    },
    { name: 'major version change', req: request('v1.9.4', 'v2.0.1', '1.32.0', null), reason: /major version/ },
  ];
  for (const c of table) {
    it(c.name, () => assert.match(policyError(() => planHops(c.req)).message, c.reason));
  }
});

describe('planHops: downgrades with allowDowngrade', () => {
  it('allows a Talos patch downgrade', () => {
    assert.deepEqual(short(planHops(request('v1.9.4', 'v1.9.2', '1.32.0', null, { allowDowngrade: true })).hops), ['T v1.9.2']);
  });
  it('allows a Kubernetes patch downgrade', () => {
    assert.deepEqual(short(planHops(request('v1.9.4', 'v1.9.4', '1.32.2', '1.32.0', { allowDowngrade: true })).hops), ['K 1.32.0']);
  });
  it('moves Kubernetes down first when the older Talos cannot run it', () => {
    assert.deepEqual(short(planHops(request('v1.10.7', 'v1.9.5', '1.33.0', '1.32.9', { allowDowngrade: true })).hops), ['K 1.32.9', 'T v1.9.5']);
  });
  it('a downgrade across minors passes the latest patch of the minors in between, not of the current one', () => {
    assert.deepEqual(short(planHops(request('v1.10.2', 'v1.8.1', '1.31.2', null, { allowDowngrade: true })).hops), ['T v1.9.5', 'T v1.8.1']);
  });
});

describe('planHops: advice', () => {
  it('flags a Talos minor bump for its release notes', () => {
    const { advice } = planHops(request('v1.9.5', 'v1.10.7', '1.32.2', null));
    const notes = advice.filter((a) => a.kind === 'release-notes');
    assert.equal(notes.length, 1);
    assert.match(notes[0]?.message ?? '', /releases\/tag\/v1\.10\.7/);
  });
  it('advises against a .0 release', () => {
    const { advice } = planHops(request('v1.13.0', 'v1.14.0', '1.33.0', null));
    assert.ok(advice.some((a) => a.kind === 'dot-zero' && a.message.includes('v1.14.0')));
  });
  it('advises a newer known patch', () => {
    const { advice } = planHops(request('v1.9.2', 'v1.9.4', '1.32.0', '1.32.2'));
    assert.deepEqual(
      advice.map((a) => a.kind),
      ['stale-patch', 'stale-patch'],
    );
    assert.match(advice[0]?.message ?? '', /v1\.9\.5/);
    assert.match(advice[1]?.message ?? '', /1\.32\.9/);
  });
  it('has nothing to say about the newest known patch', () => {
    assert.deepEqual(planHops(request('v1.9.2', 'v1.9.5', '1.32.0', null)).advice, []);
  });
  it('gives no advice when there is nothing to do', () => {
    assert.deepEqual(planHops(request('v1.9.4', 'v1.9.4', '1.32.2', null)).advice, []);
  });
});

describe('planHops: release data', () => {
  it('without release data it plans with the built-in table (the offline fallback)', () => {
    const { hops } = planHops(request('v1.8.3', 'v1.10.2', '1.31.2', null, { releaseData: undefined }));
    assert.deepEqual(short(hops), [`T ${KNOWN_LATEST_PATCH.talos['1.8']}`, `T ${KNOWN_LATEST_PATCH.talos['1.9']}`, 'T v1.10.2']);
  });

  it("a feed's newer patches replace the built-in ones, and nothing is said about them", () => {
    const newer: ReleaseData = { ...FEED, latest: { ...FEED.latest, talos: { ...FEED.latest.talos, '1.8': 'v1.8.9', '1.9': 'v1.9.11' } } };
    const { hops, advice } = planHops(request('v1.8.3', 'v1.10.2', '1.31.2', null, { releaseData: newer }));
    assert.deepEqual(short(hops), ['T v1.8.9', 'T v1.9.11', 'T v1.10.2']);
    assert.ok(!advice.some((a) => /built-in/.test(a.message)), JSON.stringify(advice));
  });

  it('a minor the feed does not list comes from the built-in table, and the advice says so', () => {
    const partial: ReleaseData = { ...FEED, latest: { ...FEED.latest, talos: { '1.10': 'v1.10.7' } } };
    const { hops, advice } = planHops(request('v1.8.3', 'v1.10.2', '1.31.2', null, { releaseData: partial }));
    const [latest18, latest19] = [KNOWN_LATEST_PATCH.talos['1.8'] ?? '?', KNOWN_LATEST_PATCH.talos['1.9'] ?? '?'];
    assert.deepEqual(short(hops), [`T ${latest18}`, `T ${latest19}`, 'T v1.10.2']);
    const notes = advice.filter((a) => a.kind === 'info').map((a) => a.message);
    assert.equal(notes.length, 2, JSON.stringify(notes));
    assert.match(
      notes[0] ?? '',
      new RegExp(`^Talos 1\\.8 is not in the release feed; the path uses ${latest18.replace(/\./g, '\\.')} from the built-in release data \\(as of \\d{4}-\\d\\d-\\d\\d\\)$`),
    );
    assert.match(notes[1] ?? '', /^Talos 1\.9 is not in the release feed/);
  });

  it('says where the data came from, in one line', () => {
    assert.equal(describeReleaseData(FEED).summary, 'release data from https://feeds.test/talos fetched 2026-11-30T08:00:00.000Z and https://feeds.test/kubernetes fetched 2026-11-30T08:00:01.000Z');
    assert.match(describeReleaseData(BUILT_IN_RELEASE_DATA).summary, /^built-in release data \(offline fallback, as of \d{4}-\d\d-\d\d\)$/);
    const mixed = describeReleaseData({ ...FEED, kubernetes: BUILT_IN_RELEASE_DATA.kubernetes });
    assert.match(mixed.summary, /^Talos: release data from https:\/\/feeds\.test\/talos fetched 2026-11-30T08:00:00\.000Z; Kubernetes: built-in release data \(offline fallback, as of /);
  });
});

describe('planHops: invariants over the whole matrix', () => {
  const talosMinors = SUPPORT_MATRIX.map((row) => row.talos);
  const version = (minor: string, patch: number, v: boolean): string => `${v ? 'v' : ''}${minor}.${patch}`;
  const arbitraryRequest = fc
    .record({
      t0: fc.constantFrom(...talosMinors),
      t1: fc.constantFrom(...talosMinors),
      k0: fc.integer({ min: 25, max: 37 }),
      k1: fc.option(fc.integer({ min: 25, max: 37 }), { nil: null }),
      p: fc.integer({ min: 0, max: 3 }),
    })
    .map(({ t0, t1, k0, k1, p }) => request(version(t0, p, true), version(t1, p, true), `1.${k0}.${p}`, k1 === null ? null : `1.${k1}.${p}`));

  it('every plan it returns is a valid walk; every refusal is one line', () => {
    fc.assert(
      fc.property(arbitraryRequest, fc.boolean(), (base, builtIn) => {
        // With the fixed feed data and with the built-in table.
        const req = builtIn ? { ...base, releaseData: undefined } : base;
        let result;
        try {
          result = planHops(req);
        } catch (err) {
          return err instanceof PolicyError && !err.message.includes('\n');
        }
        let talos = req.currentTalos;
        let kubernetes = req.currentKubernetes;
        result.hops.forEach((hop, i) => {
          if (hop.kind === 'talos') {
            assert.ok(Math.abs(Number(minorOf(hop.to).split('.')[1]) - Number(minorOf(talos).split('.')[1])) <= 1, 'one Talos minor at a time');
            if (minorOf(hop.to) !== minorOf(talos) && compareVersions(hop.to, talos) > 0) {
              // Up a minor only from the newest patch of the running one (when the data knows it).
              const data = req.releaseData ?? BUILT_IN_RELEASE_DATA;
              const latest = data.latest.talos[minorOf(talos)] ?? KNOWN_LATEST_PATCH.talos[minorOf(talos)];
              if (latest !== undefined) assert.ok(compareVersions(talos, latest) >= 0, `left ${talos} for ${hop.to} before ${latest}`);
            }
            assert.ok(installerAcceptsHost(hop.to, talos), 'installer accepts the host');
            assert.ok(talosRunsKubernetes(hop.to, kubernetes), 'new Talos runs the Kubernetes in place');
            assert.ok(talosRunsKubernetes(talos, kubernetes) || i === 0, 'old Talos ran it too');
            talos = hop.to;
          } else {
            assert.ok(Math.abs(Number(minorOf(hop.to).split('.')[1]) - Number(minorOf(kubernetes).split('.')[1])) <= 1, 'one Kubernetes minor at a time');
            assert.ok(talosRunsKubernetes(talos, hop.to), 'Talos in place runs the new Kubernetes');
            // Talos first: a Kubernetes hop comes before a Talos hop only when that Talos could not run it.
            const nextTalos = result.hops.slice(i + 1).find((h) => h.kind === 'talos');
            if (nextTalos) assert.ok(!talosRunsKubernetes(nextTalos.to, kubernetes), 'Kubernetes moved first only when needed');
            kubernetes = hop.to;
          }
        });
        assert.equal(compareVersions(talos, req.targetTalos), 0, 'ends on the Talos target');
        assert.equal(compareVersions(kubernetes, req.targetKubernetes ?? req.currentKubernetes), 0, 'ends on the Kubernetes target');
        return true;
      }),
      { numRuns: 500, seed: 42 },
    );
  });
});
