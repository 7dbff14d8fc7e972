/**
 * One list of faults (src/simulator/types.ts FAULTS) behind the parser, `sim fault --help`,
 * `rehearse --help` and the README: every fault is reachable from `rehearse --fault` in the form the
 * README gives, and none of those places can name a fault the others do not.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import type { Command } from 'commander';
import { buildProgram } from '../../src/client/cli';
import { parseFaults } from '../../src/client/rehearse';
import { projectRoot } from '../../src/paths';
import { FAULT_KINDS, FAULTS, faultMarkdownTable, initSim, parseFaultArg, readSimState, setFault } from '../../src/simulator';
import type { FaultKind } from '../../src/simulator';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'fault-catalogue-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

/** The fullest form the catalogue allows for `kind`. */
function example(kind: FaultKind, node = '192.168.1.80'): string {
  const info = FAULTS[kind];
  return `${kind}${info.tool ? ':talosctl:etcd status' : ''}${info.node ? `@${node}` : ''}${info.times ? '*2' : ''}`;
}

function helpOf(args: string[]): string {
  const program = buildProgram();
  let out = '';
  const capture = (cmd: Command): void => {
    cmd.configureOutput({ writeOut: (s) => void (out += s), writeErr: (s) => void (out += s) });
    cmd.exitOverride();
    for (const sub of cmd.commands) capture(sub);
  };
  capture(program);
  assert.throws(() => program.parse(['node', 'talos-upgrade', ...args, '--help']), { code: 'commander.helpDisplayed' });
  return out;
}

describe('the fault catalogue', () => {
  it('rehearse --fault reads every fault in its fullest form (k8s-upgrade-fails and the tool faults too)', () => {
    for (const kind of FAULT_KINDS) {
      const info = FAULTS[kind];
      const [spec] = parseFaults([example(kind)]);
      assert.deepEqual(
        spec,
        {
          kind,
          ...(info.times ? { times: 2 } : {}),
          ...(info.node ? { node: '192.168.1.80' } : {}),
          ...(info.tool ? { tool: 'talosctl', match: 'etcd status' } : {}),
        },
        example(kind),
      );
    }
    assert.deepEqual(parseFaults(['k8s-upgrade-fails', 'fallback@node-b.lab,velero-failed*1']), [
      { kind: 'k8s-upgrade-fails' },
      { kind: 'fallback', node: 'node-b.lab' },
      { kind: 'velero-failed', times: 1 },
    ]);
  });

  it('the simulator accepts every fault the parser reads', async () => {
    const sim = await initSim(path.join(root, 'twin'), { controlPlanes: 1, workers: 2, rebootSeconds: 0, velero: true, flux: true });
    // Stuck pods elsewhere than the PodDisruptionBudget's node, which needs a running pod to hold.
    for (const kind of FAULT_KINDS) setFault(sim.dir, parseFaultArg(example(kind, kind === 'pods-stuck' ? '192.168.1.81' : '192.168.1.80')));
    assert.deepEqual(
      readSimState(sim.dir).faults.map((f) => f.kind),
      [...FAULT_KINDS],
    );
  });

  it('refuses the parts a fault does not take, naming the form to write', () => {
    assert.throws(() => parseFaultArg('k8s-upgrade-fails@192.168.1.70'), /acts on the cluster as a whole.*k8s-upgrade-fails\[\*times\]/);
    assert.throws(() => parseFaultArg('hang@192.168.1.70'), /hang needs the tool/);
    assert.throws(() => parseFaultArg('fallback:talosctl'), /takes no tool/);
    assert.throws(() => parseFaultArg('pods-stuck*2'), /takes no times/);
    assert.throws(() => parseFaultArg('hang:ssh'), /tool must be one of talosctl, kubectl, velero, flux/);
    assert.throws(() => parseFaultArg('fallback*x'), /whole number/);
    assert.throws(() => parseFaultArg('meteor'), /unknown fault "meteor"; one of fallback, never-healthy, /);
  });

  it('sim fault --help and rehearse --help list every fault with its form and summary', () => {
    for (const args of [['rehearse'], ['sim', 'fault']]) {
      const help = helpOf(args);
      for (const kind of FAULT_KINDS) {
        const line = help.split('\n').find((l) => l.trim().startsWith(`${kind}[`) || l.trim().startsWith(`${kind}:`) || l.trim().split(/\s+/)[0] === kind);
        assert.ok(line, `${args.join(' ')} --help lacks ${kind}`);
        assert.ok(line.includes(FAULTS[kind].summary), `${args.join(' ')} --help: ${kind} without its summary`);
      }
    }
  });

  it("the README's fault table is the catalogue's", () => {
    const readme = fs.readFileSync(path.join(projectRoot(), 'README.md'), 'utf8');
    const block = /<!-- fault-table[^\n]*-->\n([\s\S]*?)\n<!-- \/fault-table -->/.exec(readme);
    assert.ok(block?.[1], 'README.md has no fault-table block');
    assert.equal(block[1], faultMarkdownTable().join('\n'), 'regenerate the README block from faultMarkdownTable()');
  });
});
