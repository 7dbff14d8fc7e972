/**
 * verifyNode on a twin whose nodes the spec names by DNS name: the node is found in Kubernetes by its
 * name / Hostname address, since InternalIP is always an IP (test/contract/kubectl/get-nodes-dns-names).
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { verifyNode } from '../../src/activities/node/verify';
import type { VerifyNodeInput, VerifyNodeResult } from '../../src/activities/types';
import { initSim, readInvocations } from '../../src/simulator';
import { tempDir } from '../helpers/temporal-env';

describe('verifyNode with DNS-named nodes', () => {
  const tmp = tempDir('verify-dns');
  after(() => tmp.cleanup());

  it('finds the node by its name and reads it Ready', async () => {
    const addresses = { controlPlane: ['cp-1.lab.example'], workers: ['worker-1.lab.example', 'worker-2.lab.example'] };
    const sim = await initSim(path.join(tmp.dir, 'dns'), { talos: 'v1.13.0', kubernetes: '1.36.0', addresses, rebootSeconds: 0 });
    const input: VerifyNodeInput = {
      access: { talosconfig: sim.talosconfig, kubeconfig: sim.kubeconfig, tools: sim.tools },
      node: 'worker-1.lab.example',
      toVersion: 'v1.13.0',
      schematic: sim.schematic,
      controlPlanes: addresses.controlPlane,
      workers: addresses.workers,
      timeoutMs: 20_000,
    };
    const ok: VerifyNodeResult = await new MockActivityEnvironment().run(verifyNode, input);
    assert.deepEqual([ok.node, ok.ready, ok.kubeletVersion], ['worker-1.lab.example', true, '1.36.0']);
    assert.ok(readInvocations(sim.dir).some((i) => i.tool === 'kubectl' && i.args.join(' ') === 'get nodes -o json'));
  });
});
