import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  PolicyError,
  SUPPORT_MATRIX,
  compareVersions,
  installerAcceptsHost,
  minorOf,
  planHops,
  talosRunsKubernetes,
  type Hop,
  type HopRequest,
} from '../../src/plan';

/** Hops as short strings: `T v1.9.5` / `K 1.31.13`, so tables read like the plan. */
function short(hops: Hop[]): string[] {
  return hops.map((hop) => (hop.kind === 'talos' ? `T ${hop.to}` : `K ${hop.to}`));
}

function request(currentTalos: string, targetTalos: string, currentKubernetes: string, targetKubernetes: string | null, extra: Partial<HopRequest> = {}): HopRequest {
  return { currentTalos, targetTalos, currentKubernetes, targetKubernetes, allowDowngrade: false, ...extra };
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
    { name: 'Talos 1.8 → 1.10 goes through 1.9', req: request('v1.8.3', 'v1.10.2', '1.31.2', null), hops: ['T v1.9.5', 'T v1.10.2'] },
    {
      name: 'target Kubernetes the current Talos cannot run: Talos goes first',
      req: request('v1.9.4', 'v1.10.7', '1.32.2', '1.33.5'),
      hops: ['T v1.10.7', 'K 1.33.5'],
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
      { kind: 'talos', from: 'v1.8.3', to: 'v1.9.5', minorBump: true },
      { kind: 'talos', from: 'v1.9.5', to: 'v1.10.2', minorBump: true },
      { kind: 'kubernetes', from: '1.30.1', to: '1.31.4' },
    ]);
  });

  it('a schematic-only hop is not a minor bump', () => {
    assert.deepEqual(planHops(request('v1.9.4', 'v1.9.4', '1.32.2', null, { schematicChange: true })).hops, [
      { kind: 'talos', from: 'v1.9.4', to: 'v1.9.4', minorBump: false },
    ]);
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
      reason: /^Talos 1\.20 is not in the support matrix of this version of talos-upgrade \(it knows Talos 1\.7 to 1\.14\); target Talos v1\.14 or older, or use a talos-upgrade release that knows Talos 1\.20$/,
    },
    {
      name: 'Kubernetes minor without release data on the path: says which minors are known and what to do',
      req: request('v1.14.0', 'v1.14.0', '1.37.0', '1.39.0'),
      reason: /^the path passes through Kubernetes 1\.38, a minor this version of talos-upgrade has no release data for \(it knows Kubernetes 1\.25 to 1\.37\); choose a target below Kubernetes 1\.38, or use a talos-upgrade release that knows 1\.38$/,
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
      fc.property(arbitraryRequest, (req) => {
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
