/**
 * What the rehearsal asks on a terminal: a blocked preflight offers the fixes the workflow has on
 * offer (progress.remediations) as numbered answers, a failed step too, and an approval asks the
 * workflow's own question without doubling "approve".
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { approvalPrompt, decisionPrompt, resumePrompt } from '../../src/client/rehearse-answers';
import { approvalQuestion } from '../../src/workflows/run/human';
import type { RemediationOffer } from '../../src/workflows/messages';

const STALE: RemediationOffer = {
  id: 'etcd-remove-member:0a1b2c3d4e5f6a7b',
  title: 'remove the stale etcd member cp-old',
  command: 'talosctl etcd remove-member 0a1b2c3d4e5f6a7b --nodes 192.168.1.70',
};
const UNCORDON: RemediationOffer = { id: 'uncordon:192.168.1.80', title: 'uncordon 192.168.1.80', command: 'kubectl uncordon worker-1' };

describe('rehearse prompts', () => {
  it('a blocked preflight with a fix on offer shows its command and takes 1 to apply it', () => {
    const p = resumePrompt({ phase: 'blocked', remediations: [STALE] }, '/tmp/twin');
    assert.match(p.question, /^Preflight is blocked\. A fix is on offer:\n {2}\[1\] remove the stale etcd member cp-old: talosctl etcd remove-member 0a1b2c3d4e5f6a7b --nodes 192\.168\.1\.70\n/);
    assert.match(p.question, /\[1\] apply it \(preflight runs again\), \[r\]esume .*, or \[a\]bort\? $/);
    assert.deepEqual(p.choices['1'], { kind: 'fix', id: STALE.id, command: STALE.command });
    assert.deepEqual(p.choices.r, { kind: 'resume' });
    assert.deepEqual(p.choices.a, { kind: 'abort' });
  });

  it('several fixes are numbered; without one the prompt stays resume or abort', () => {
    const two = resumePrompt({ phase: 'blocked', remediations: [STALE, UNCORDON] }, '/tmp/twin');
    assert.match(two.question, /\[2\] uncordon 192\.168\.1\.80: kubectl uncordon worker-1/);
    assert.match(two.question, /\[1-2\] apply one/);
    assert.equal((two.choices['2'] as { id?: string }).id, UNCORDON.id);
    const none = resumePrompt({ phase: 'blocked', remediations: [] }, '/tmp/twin');
    assert.equal(none.question, 'Preflight is blocked (fix the twin from another terminal: talos-upgrade sim clear /tmp/twin). [r]esume or [a]bort? ');
    assert.equal(none.choices['1'], undefined);
    const paused = resumePrompt({ phase: 'paused', remediations: [STALE] }, '/tmp/twin');
    assert.equal(paused.question, 'The upgrade is paused. [r]esume or [a]bort? ');
  });

  it('a failed step offers its fixes beside retry, skip, rollback-all and abort', () => {
    const p = decisionPrompt({ question: 'upgrade 192.168.1.80 failed. Retry?' }, [UNCORDON]);
    assert.match(p.question, /\n {2}\[1\] uncordon 192\.168\.1\.80: kubectl uncordon worker-1\n\[1\] apply it first, \[r\]etry, \[s\]kip, roll\[b\]ack-all or \[a\]bort\? $/);
    assert.deepEqual(p.choices['1'], { kind: 'fix', id: UNCORDON.id, command: UNCORDON.command });
    assert.deepEqual(p.choices.b, { kind: 'decide', action: 'rollback-all' });
    assert.equal(decisionPrompt({ question: 'x failed.' }, []).question, 'x failed.\n[r]etry, [s]kip, roll[b]ack-all or [a]bort? ');
  });

  it('the plan approval reads "Approve the plan: …", not "Approve: approve the plan: …"', () => {
    const question = approvalQuestion('approve the plan: Talos v1.9.2 → v1.9.4 on 5 nodes');
    assert.equal(question, 'Approve the plan: Talos v1.9.2 → v1.9.4 on 5 nodes?');
    assert.equal(approvalPrompt({ question, step: 'plan' }).question, 'Approve the plan: Talos v1.9.2 → v1.9.4 on 5 nodes [plan]? [y/n] ');
    assert.equal(approvalQuestion('upgrade 192.168.1.71 (control plane) to v1.9.4'), 'Approve: upgrade 192.168.1.71 (control plane) to v1.9.4?');
  });
});
