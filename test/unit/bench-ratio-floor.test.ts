/**
 * The benchmark's floor: the ratio a run would reach if every node cost what the loop's does. It is
 * what tells a reader whether the 1.10 goal is reachable at a size at all, so its arithmetic is held
 * here on the figures of a recorded run (bench/results/2026-12-03-same-boot.json).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ratioFloor } from '../../bench/table';
import type { OverheadResult } from '../../bench/overhead';

function overheadCase(nodes: number, shellMs: number, workflowMs: number, fixedMs: OverheadResult['fixedMs']): OverheadResult {
  return { nodes, shellMs, workflowMs, fixedMs } as OverheadResult;
}

describe('bench ratio floor', () => {
  it('counts preflight, postflight and only the extra Kubernetes time against the loop', () => {
    const f = ratioFloor(overheadCase(10, 61_459, 77_149, { preflight: 1_835, kubernetes: 9_957, postflight: 2_217, shellKubernetes: 9_564 }));
    assert.ok(f);
    // 1835 + 2217 + (9957 − 9564) = 4445 ms over the loop's 61459.
    assert.equal(f.floor.toFixed(3), '1.072');
    assert.equal(Math.round(f.allowedPerNodeMs), 170);
    assert.equal(Math.round(f.spentPerNodeMs), 1_125);
  });

  it('leaves nothing per node when the fixed parts alone pass 1.10 (3 nodes, 5 s reboots)', () => {
    const f = ratioFloor(overheadCase(3, 18_653, 26_326, { preflight: 1_311, kubernetes: 3_499, postflight: 1_623, shellKubernetes: 3_049 }));
    assert.ok(f);
    assert.ok(f.floor > 1.1, `floor ${f.floor}`);
    assert.ok(f.allowedPerNodeMs < 0);
  });

  it('does not credit a faster Kubernetes step against the other parts', () => {
    const f = ratioFloor(overheadCase(3, 20_000, 22_000, { preflight: 500, kubernetes: 2_000, postflight: 500, shellKubernetes: 3_000 }));
    assert.equal(f?.floor, 1.05);
  });

  it('has no floor for a result file without the fixed parts', () => {
    assert.equal(ratioFloor(overheadCase(3, 1, 1, undefined)), null);
  });
});
