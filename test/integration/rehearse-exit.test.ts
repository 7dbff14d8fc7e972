/**
 * A rehearsal reaches every fault the README lists (here k8s-upgrade-fails, whose name the old
 * --fault pattern refused) and ends promptly once it has printed its report: nothing may keep the
 * process alive after the worker and the private server are gone (an uncleared 15 s timer did).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import execa from 'execa';
import { projectRoot } from '../../src/paths';
import { readInvocations } from '../../src/simulator';
import { cliEntry } from '../helpers/cli';
import { tempDir } from '../helpers/temporal-env';

/** After the last line, the process has this long to exit (server shutdown included). */
const EXIT_WITHIN_MS = 6_000;

const SPEC = `cluster: tiny
talosconfig: talosconfig
kubeconfig: kubeconfig
nodes: { controlPlane: [192.168.1.70] }
talos: { version: v1.9.4, schematic: detect }
kubernetes: { version: 1.32.2 }
backup: { velero: { enabled: false }, etcdSnapshot: { enabled: false } }
approvals: none
`;

describe('rehearse ends when it is done', () => {
  const tmp = tempDir('rehearse-exit');
  after(() => tmp.cleanup());

  it('--fault k8s-upgrade-fails fails the Kubernetes step, and the process exits right after the report', async () => {
    const spec = path.join(tmp.dir, 'tiny.yaml');
    fs.writeFileSync(spec, SPEC);
    const simDir = path.join(tmp.dir, 'twin');
    const child = execa(process.execPath, [cliEntry(), 'rehearse', spec, '--yes', '--reboot-seconds', '0', '--embedded', '--sim-dir', simDir, '--fault', 'k8s-upgrade-fails'], {
      cwd: projectRoot(),
      reject: false,
      stdin: 'ignore',
      timeout: 240_000,
    });
    let lastOutput = Date.now();
    child.stdout?.on('data', () => (lastOutput = Date.now()));
    child.stderr?.on('data', () => (lastOutput = Date.now()));
    const r = await child;
    const quiet = Date.now() - lastOutput;
    assert.equal(r.exitCode, 1, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /faults: {3}k8s-upgrade-fails$/m);
    assert.match(r.stdout, /kubernetes:1\.32\.2 {2}failed .*KubernetesUpgradeFailed/);
    assert.match(r.stdout, /^Upgrade of tiny aborted: /m);
    assert.ok(readInvocations(simDir).some((c) => c.tool === 'talosctl' && c.args[0] === 'upgrade-k8s' && c.faults?.includes('k8s-upgrade-fails')));
    assert.ok(quiet < EXIT_WITHIN_MS, `the process sat silent for ${quiet} ms after its last line`);
  });
});
