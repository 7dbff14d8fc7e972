/**
 * Input bounds of the spec: where it may be read from (regular files of at most 1 MiB; /dev/zero and
 * FIFOs refused at once), credentials in URLs refused, imageFactory advice that is true, and node
 * addresses compared in canonical form.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SpecError, parseSpec } from '../../src/plan/spec';
import { canonicalAddress, sameAddress } from '../../src/plan/address';
import { orderNodes } from '../../src/plan/node-order';
import { MAX_SPEC_BYTES, loadSpecFile } from '../../src/client/spec-file';
import { runCli } from '../helpers/cli';

const SCHEMATIC = '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'talos-upgrade-spec-bounds-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

function base(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    cluster: 'homelab',
    talosconfig: 'generated/talosconfig',
    kubeconfig: 'generated/kubeconfig',
    nodes: { controlPlane: ['192.168.1.70', '192.168.1.71', '192.168.1.72'], workers: ['192.168.1.80'] },
    talos: { version: 'v1.9.4', schematic: SCHEMATIC },
    ...extra,
  };
}

function refused(fn: () => unknown): SpecError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof SpecError, `expected a SpecError, got ${String(err)}`);
    assert.ok(!err.message.includes('\n'), 'one line');
    return err;
  }
  return assert.fail('accepted');
}

describe('spec files are read only from regular files of bounded size', () => {
  it('/dev/zero is refused at once without reading it', () => {
    const rss = process.memoryUsage().rss;
    const started = Date.now();
    const err = refused(() => loadSpecFile('/dev/zero'));
    assert.ok(Date.now() - started < 500, `took ${Date.now() - started} ms`);
    assert.ok(process.memoryUsage().rss - rss < 32 * 1024 * 1024, 'memory did not grow');
    assert.equal(err.message, '/dev/zero: cannot read the spec file: it is a device; give the path of a YAML or JSON file');
  });

  it('a FIFO without a writer is refused at once instead of hanging', () => {
    const fifo = path.join(tmp, 'spec.fifo');
    execFileSync('mkfifo', [fifo]);
    const started = Date.now();
    const err = refused(() => loadSpecFile(fifo));
    assert.ok(Date.now() - started < 500);
    assert.match(err.message, /it is a named pipe; give the path of a YAML or JSON file$/);
  });

  it('a directory, a missing file and an oversized file each get one line', () => {
    assert.match(refused(() => loadSpecFile(tmp)).message, /it is a directory/);
    assert.match(refused(() => loadSpecFile(path.join(tmp, 'missing.yaml'))).message, /no such file/);
    const big = path.join(tmp, 'big.yaml');
    fs.writeFileSync(big, `cluster: homelab\n# ${'x'.repeat(MAX_SPEC_BYTES)}\n`);
    assert.match(refused(() => loadSpecFile(big)).message, /the spec file is \d+ bytes, more than the 1048576 a spec may have/);
  });

  it('`talos-upgrade plan /dev/zero` exits 2 with one line, well under a second of work', async () => {
    const started = Date.now();
    const r = await runCli(['plan', '/dev/zero'], { timeoutMs: 20_000 });
    assert.equal(r.exitCode, 2, r.stderr);
    assert.equal(r.stderr.trim(), 'talos-upgrade: /dev/zero: cannot read the spec file: it is a device; give the path of a YAML or JSON file');
    assert.ok(Date.now() - started < 15_000);
  });
});

describe('credentials in URLs are refused', () => {
  it('a notification URL is never taken inline (credentials or not): use urlEnv or urlFile, and nothing of it is repeated', () => {
    const a = refused(() => parseSpec(base({ notifications: [{ kind: 'webhook', url: 'https://bot:hunter2hunter2@hooks.example/x' }] })));
    assert.match(a.message, /^notifications\[0\]\.url: inline URLs are refused .*urlEnv.*urlFile/);
    assert.ok(!a.message.includes('hunter2') && !a.message.includes('hooks.example'));
    const b = refused(() => parseSpec(base({ notifications: [{ kind: 'ntfy', url: 'https://ntfy.example/topic?auth=tk_abcdef123456' }] })));
    assert.match(b.message, /^notifications\[0\]\.url: inline URLs are refused/);
    assert.ok(!b.message.includes('tk_abcdef123456'));
  });

  it('release feed with credentials', () => {
    const err = refused(() => parseSpec(base({ releases: { talosFeed: 'https://api.github.com/repos/siderolabs/talos/releases?access_token=ghp_x1234567' } })));
    assert.match(err.message, /^releases\.talosFeed: .* has a access_token= query parameter, a credential; .*point the feed at a URL that needs none/);
    assert.ok(!err.message.includes('ghp_x1234567'));
    const ok = parseSpec(base({ releases: { talosFeed: 'https://api.github.com/repos/siderolabs/talos/releases?per_page=100' } }));
    assert.equal(ok.releases?.talosFeed, 'https://api.github.com/repos/siderolabs/talos/releases?per_page=100');
  });

  it('imageFactory: credentials, a non-registry scheme URL and a plain mistake each get true advice', () => {
    const file = refused(() => parseSpec(base({ talos: { version: 'v1.9.4', imageFactory: 'file:///etc/passwd' } })));
    assert.ok(!/e\.g\. \/etc\/passwd|write \/etc\/passwd/.test(file.message), file.message);
    assert.match(file.message, /has a scheme, but imageFactory is a registry host, not a URL; write a registry host, optionally with :port and \/path, and no scheme, e\.g\. factory\.talos\.dev/);
    const https = refused(() => parseSpec(base({ talos: { version: 'v1.9.4', imageFactory: 'https://registry.lan:5000/factory/' } })));
    assert.match(https.message, /drop "https:\/\/": write registry\.lan:5000\/factory$/);
    const creds = refused(() => parseSpec(base({ talos: { version: 'v1.9.4', imageFactory: 'robot:s3cretpw@registry.lan' } })));
    assert.match(creds.message, /contains credentials; .*machine\.registries\.config\.<host>\.auth/);
    assert.ok(!creds.message.includes('s3cretpw'));
  });
});

describe('node addresses compare in canonical form', () => {
  it('canonicalAddress', () => {
    const same: [string, string][] = [
      ['::1', '0:0:0:0:0:0:0:1'],
      ['FD00::A', 'fd00:0:0:0:0:0:0:a'],
      ['[fd00::1]', 'fd00::1'],
      ['::ffff:192.168.1.70', '192.168.1.70'],
      ['::FFFF:c0a8:0146', '192.168.1.70'],
      ['CP1.Example.NET.', 'cp1.example.net'],
    ];
    for (const [a, b] of same) assert.ok(sameAddress(a, b), `${a} = ${b}`);
    assert.equal(canonicalAddress('2001:DB8:0:0:1:0:0:1'), '2001:db8::1:0:0:1');
    for (const [a, b] of [
      ['192.168.1.70', '192.168.1.7'],
      ['fd00::1', 'fd00::10'],
      ['cp1.example.net', 'cp1.example.org'],
      ['::1', '::'],
    ]) {
      assert.ok(!sameAddress(a!, b!), `${a} ≠ ${b}`);
    }
  });

  it('the spec refuses two spellings of one node, naming both', () => {
    const cases: [string[], string[], RegExp][] = [
      [['::1', '0:0:0:0:0:0:0:1'], [], /nodes\.controlPlane\[1\]: 0:0:0:0:0:0:0:1 is listed twice \(also nodes\.controlPlane\[0\], written ::1\)/],
      [['192.168.1.70'], ['::ffff:192.168.1.70'], /nodes\.workers\[0\]: ::ffff:192\.168\.1\.70 is also a control plane \(nodes\.controlPlane\[0\], written 192\.168\.1\.70\)/],
      [['cp1.example.net', 'CP1.example.net.'], [], /listed twice/],
      [['fd00::1'], ['FD00:0::1'], /also a control plane/],
    ];
    for (const [controlPlane, workers, want] of cases) {
      assert.match(refused(() => parseSpec(base({ nodes: { controlPlane, workers } }))).message, want);
    }
  });

  it('primary written another way is found, and the control plane list keeps the spelling the user wrote', () => {
    const spec = parseSpec(base({ nodes: { controlPlane: ['fd00::1', 'fd00::2', 'fd00::3'], primary: 'FD00:0:0:0:0:0:0:2', workers: [] } }));
    assert.equal(spec.nodes?.primary, 'fd00::2');
    const order = orderNodes({ controlPlanes: ['fd00::1', 'fd00::2'], workers: ['cp9.lan'], primary: 'FD00::2' });
    assert.deepEqual(
      order.map((n) => [n.address, n.primary]),
      [
        ['cp9.lan', false],
        ['fd00::1', false],
        ['FD00::2', true],
      ],
    );
  });
});
