/**
 * The CLI's commands are plain functions (src/client/commands/): called here without commander or a
 * child process, each returns its exit code, or throws the UserError whose exit code the CLI uses.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decideCommand } from '../../src/client/commands/decide';
import { listCommand } from '../../src/client/commands/list';
import { planCommand } from '../../src/client/commands/plan';
import { ExitCode } from '../../src/contract/exit-codes';
import { UserError } from '../../src/contract/user-error';
import { initSim, type SimInfo } from '../../src/simulator';
import { tempDir } from '../helpers/temporal-env';

/** Runs fn with the text it writes to stdout captured (the test runner's own binary frames pass through). */
async function captureStdout<T>(fn: () => Promise<T>): Promise<{ result: T; out: string }> {
  const write = process.stdout.write.bind(process.stdout);
  let out = '';
  process.stdout.write = (chunk: string | Uint8Array, ...rest: never[]): boolean => {
    if (typeof chunk !== 'string') return write(chunk, ...rest);
    out += chunk;
    return true;
  };
  try {
    return { result: await fn(), out };
  } finally {
    process.stdout.write = write;
  }
}

function usageError(code: number, pattern: RegExp): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof UserError, `expected a UserError, got ${String(err)}`);
    assert.equal(err.exitCode, code);
    assert.match(err.message, pattern);
    return true;
  };
}

describe('commands as functions', () => {
  const tmp = tempDir('cli-commands');
  const savedStateDir = process.env.TALOS_UPGRADE_STATE_DIR;
  let sim: SimInfo;
  let goodSpec: string;

  before(async () => {
    process.env.TALOS_UPGRADE_STATE_DIR = path.join(tmp.dir, 'state');
    sim = await initSim(path.join(tmp.dir, 'twin'), { controlPlanes: 1, workers: 1, talos: 'v1.9.2', kubernetes: '1.32.0', rebootSeconds: 0 });
    goodSpec = path.join(tmp.dir, 'lab.yaml');
    fs.writeFileSync(
      goodSpec,
      [
        'cluster: lab',
        `talosconfig: ${sim.talosconfig}`,
        `kubeconfig: ${sim.kubeconfig}`,
        `nodes: { controlPlane: [${sim.nodes.controlPlane.join(', ')}], workers: [${sim.nodes.workers.join(', ')}] }`,
        'talos: { version: v1.9.4, schematic: detect }',
        'backup: { velero: { enabled: false }, etcdSnapshot: { enabled: false } }',
        `tools: { talosctl: ${sim.tools.talosctl}, kubectl: ${sim.tools.kubectl}, velero: ${sim.tools.velero}, flux: ${sim.tools.flux} }`,
        '',
      ].join('\n'),
    );
  });
  after(() => {
    if (savedStateDir === undefined) delete process.env.TALOS_UPGRADE_STATE_DIR;
    else process.env.TALOS_UPGRADE_STATE_DIR = savedStateDir;
    tmp.cleanup();
  });

  it('planCommand returns 0 for a plan that can proceed, and prints it', async () => {
    const { result, out } = await captureStdout(() => planCommand(goodSpec, { json: true }));
    assert.equal(result, ExitCode.ok);
    const plan = JSON.parse(out) as { blocked: boolean; steps: unknown[] };
    assert.equal(plan.blocked, false);
    assert.ok(plan.steps.length > 0);
  });

  it('planCommand on a bad spec throws the bad-spec exit code (2) before any tool runs', async () => {
    const bad = path.join(tmp.dir, 'bad.yaml');
    fs.writeFileSync(bad, 'cluster: Not A Name!\n');
    await assert.rejects(() => planCommand(bad, {}), usageError(ExitCode.badSpec, /bad\.yaml/));
    await assert.rejects(() => planCommand(path.join(tmp.dir, 'missing.yaml'), {}), usageError(ExitCode.badSpec, /cannot read the spec file/));
  });

  it('flags are checked before any connection is made', async () => {
    await assert.rejects(() => decideCommand('lab', { action: 'nope', by: 'tester' }), usageError(2, /--action must be one of/));
    await assert.rejects(() => decideCommand('lab', { action: 'override', by: 'tester' }), usageError(2, /needs --reason/));
    await assert.rejects(() => listCommand(undefined, { limit: '0' }), usageError(2, /--limit must be a whole number/));
  });
});
