/**
 * The one redactor: every secret shape, the key material of a real-looking talosconfig and kubeconfig
 * (read from the paths the tools get, never handed in), secrets split across output chunks, and the
 * failure path every activity error goes through.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { ApplicationFailure } from '@temporalio/common';
import { runTool, ToolError } from '../../src/activities/exec';
import { configSecrets } from '../../src/activities/config-secrets';
import { toFailure, withRedactedFailures } from '../../src/activities/failures';
import { LineRedactor, REDACTED, redact, redactCut, redactShapes } from '../../src/activities/redact';
import { toolEnv, toolSecrets } from '../../src/activities/tool-env';

const node = process.execPath;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'talos-upgrade-redact-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

function pemKey(): string {
  return crypto.generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}
function pemCert(): string {
  // Not a real certificate; the shape is what matters to the redactor.
  return `-----BEGIN CERTIFICATE-----\n${crypto
    .randomBytes(96)
    .toString('base64')
    .match(/.{1,64}/g)!
    .join('\n')}\n-----END CERTIFICATE-----\n`;
}
const b64 = (s: string): string => Buffer.from(s).toString('base64');

interface Material {
  talosconfig: string;
  kubeconfig: string;
  key: string;
  keyB64: string;
  crtB64: string;
  token: string;
  clientKeyB64: string;
  password: string;
  execSecret: string;
  providerSecret: string;
}

function writeConfigs(dir: string): Material {
  fs.mkdirSync(dir, { recursive: true });
  const key = pemKey();
  const m = {
    talosconfig: path.join(dir, 'talosconfig'),
    kubeconfig: path.join(dir, 'kubeconfig'),
    key,
    keyB64: b64(key),
    crtB64: b64(pemCert()),
    token: `kube-token-${crypto.randomBytes(16).toString('hex')}`,
    clientKeyB64: b64(pemKey()),
    password: `pw-${crypto.randomBytes(8).toString('hex')}`,
    execSecret: `exec-env-${crypto.randomBytes(8).toString('hex')}`,
    providerSecret: `oidc-${crypto.randomBytes(8).toString('hex')}`,
  };
  fs.writeFileSync(
    m.talosconfig,
    ['context: lab', 'contexts:', '  lab:', '    endpoints: [192.168.1.70]', `    ca: ${m.crtB64}`, `    crt: ${m.crtB64}`, `    key: ${m.keyB64}`, '  other:', `    key: ${b64(pemKey())}`, ''].join(
      '\n',
    ),
  );
  fs.writeFileSync(
    m.kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{name: lab, cluster: {server: "https://192.168.1.70:6443"}}]',
      'users:',
      '- name: admin',
      '  user:',
      `    client-key-data: ${m.clientKeyB64}`,
      `    token: ${m.token}`,
      `    password: ${m.password}`,
      '- name: plugin',
      '  user:',
      '    exec:',
      '      command: kubelogin',
      `      env: [{name: KUBELOGIN_SECRET, value: ${m.execSecret}}]`,
      '    auth-provider:',
      `      config: {client-secret: ${m.providerSecret}}`,
      '',
    ].join('\n'),
  );
  return m;
}

const allSecrets = (m: Material): string[] => [
  m.key,
  m.keyB64,
  m.token,
  m.clientKeyB64,
  m.password,
  m.execSecret,
  m.providerSecret,
  ...m.key.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----')),
];
function assertClean(text: string, m: Material, what: string): void {
  for (const s of allSecrets(m)) assert.ok(!text.includes(s), `${what} leaks ${s.slice(0, 12)}...: ${text.slice(0, 300)}`);
}

test('each secret shape is redacted, and redacted JSON still parses', () => {
  const key = pemKey();
  const jwt = `${b64('{"alg":"RS256"}').replace(/=+$/, '')}.${b64('{"sub":"admin"}').replace(/=+$/, '')}.c2lnbmF0dXJlLWJ5dGVz`;
  const cases: [string, string][] = [
    [`failed: ${key}`, key.split('\n')[1]!],
    [`key: ${b64(key)}`, b64(key).slice(0, 40)],
    ['Authorization: Bearer abcdEFGH1234ijkl', 'abcdEFGH1234ijkl'],
    ['curl -H "authorization: token ghp_1234567890abcdef"', 'ghp_1234567890abcdef'],
    [`id token ${jwt} rejected`, jwt.split('.')[1]!],
    ['GET https://alice:hunter2hunter2@registry.example/v2/', 'hunter2hunter2'],
    ['POST https://hooks.example/x?token=tok-123456&x=1', 'tok-123456'],
    ['https://feed.example/releases?per_page=10&key=k-abcdef123', 'k-abcdef123'],
    ['https://feed.example/releases?password=p4ssw0rd!', 'p4ssw0rd!'],
    ['error: password: correct-horse-battery', 'correct-horse-battery'],
    ['--token=s3cr3t-flag-value given', 's3cr3t-flag-value'],
    ['Basic dXNlcjpwYXNzd29yZA== rejected', 'dXNlcjpwYXNzd29yZA=='],
  ];
  for (const [text, secret] of cases) {
    const out = redactShapes(text);
    assert.ok(!out.includes(secret), `${JSON.stringify(text)} → ${JSON.stringify(out)}`);
    assert.ok(out.includes(REDACTED), out);
  }
  // Prose and ordinary output stay as they are.
  for (const plain of ['Basic authentication failed', 'node 192.168.1.70 is Ready', 'ghcr.io/siderolabs/installer:v1.9.4', 'factory.talos.dev/installer/abc@sha256:0123', 'serviceAccountToken: {}']) {
    assert.equal(redactShapes(plain), plain);
  }
  // JSON keeps its structure: a key inside a string, escaped newlines and all.
  const json = JSON.stringify({ data: { 'tls.key': key, 'tls.crt': 'public', token: 'abc' }, url: 'https://u:p4ssword@h/x?token=zzzzzz' });
  const out = redact(json, []);
  const back = JSON.parse(out) as { data: Record<string, string>; url: string };
  assert.equal(back.data['tls.key']?.trim(), REDACTED);
  assert.equal(back.data['tls.crt'], 'public');
  assert.ok(!back.url.includes('p4ssword') && !back.url.includes('zzzzzz'), back.url);
});

test('a private key cut at either end, or spread over streamed lines, leaves nothing of itself', () => {
  const key = pemKey();
  const body = key.split('\n')[1]!;
  // A tail that starts inside the key (the output bound cut its head off).
  const tail = `${key.slice(40)}next line`;
  assert.ok(!redactCut(tail, [], 'start').includes(body.slice(-20)), redactCut(tail, [], 'start'));
  // A head that ends inside it.
  assert.ok(!redactCut(`oops ${key.slice(0, 60)}`, [], 'end').includes(body.slice(0, 20)));
  const lines = new LineRedactor([]);
  const streamed = `before\n${key}after`.split('\n').map((l) => lines.line(l));
  assert.equal(streamed[0], 'before');
  assert.equal(streamed[streamed.length - 1], 'after');
  assert.ok(
    streamed.every((l) => !l.includes(body)),
    streamed.join('|'),
  );
});

test('configSecrets reads every key of the talosconfig and kubeconfig, caches per mtime, never reads a non-file', () => {
  const m = writeConfigs(path.join(tmp, 'cfg'));
  const found = [...configSecrets(m.talosconfig), ...configSecrets(m.kubeconfig)];
  for (const s of [m.keyB64, m.key.trim(), m.crtB64, m.token, m.clientKeyB64, m.password, m.execSecret, m.providerSecret]) {
    assert.ok(found.includes(s), `missing ${s.slice(0, 16)}`);
  }
  // Each body line of the decoded key: a tool printing the PEM prints it line by line.
  for (const line of m.key.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----'))) assert.ok(found.includes(line));
  assert.ok(!found.includes('kubelogin') && !found.includes('KUBELOGIN_SECRET'), 'names and commands are not secrets');

  // A new key in the same file (mtime and size change) is picked up.
  const before = configSecrets(m.talosconfig);
  const newKey = b64(pemKey());
  fs.writeFileSync(m.talosconfig, `contexts:\n  lab:\n    key: ${newKey}\n    extra: padding-so-the-size-changes\n`);
  fs.utimesSync(m.talosconfig, new Date(), new Date(Date.now() + 5_000));
  assert.notDeepEqual(configSecrets(m.talosconfig), before);
  assert.ok(configSecrets(m.talosconfig).includes(newKey));

  // A FIFO is not read (no hang), nor is a missing file.
  const fifo = path.join(tmp, 'fifo-config');
  execFileSync('mkfifo', [fifo]);
  const started = Date.now();
  assert.deepEqual(configSecrets(fifo), []);
  assert.deepEqual(configSecrets(path.join(tmp, 'nope')), []);
  assert.ok(Date.now() - started < 1_000);
  // toolSecrets follows the same paths toolEnv hands the tools, KUBECONFIG lists included.
  const again = writeConfigs(path.join(tmp, 'cfg2'));
  const list = toolSecrets({ TALOSCONFIG: again.talosconfig, KUBECONFIG: `${path.join(tmp, 'nope')}${path.delimiter}${again.kubeconfig}` });
  assert.ok(list.includes(again.keyB64) && list.includes(again.token));
});

test('runTool redacts config secrets from stdout, stderr, streamed lines and errors, also when split across chunks', async () => {
  const m = writeConfigs(path.join(tmp, 'run'));
  // A tool that quotes its config: the key base64 and decoded, the kubeconfig token, written in pieces
  // with pauses so each secret arrives split over two chunks.
  const code = `
    const fs = require('fs');
    const t = fs.readFileSync(process.env.TALOSCONFIG, 'utf8');
    const key = /key: (\\S+)/.exec(t)[1];
    const tok = /token: (\\S+)/.exec(fs.readFileSync(process.env.KUBECONFIG, 'utf8'))[1];
    const pieces = ['config: key: ' + key.slice(0, 30), key.slice(30) + '\\n', 'decoded: ' + Buffer.from(key, 'base64').toString().slice(0, 70), Buffer.from(key, 'base64').toString().slice(70), 'token ' + tok.slice(0, 9), tok.slice(9) + ' refused\\n'];
    let i = 0;
    const next = () => { if (i >= pieces.length) { process.stderr.write('error: x509: cannot use key ' + key + '\\n'); process.exit(1); } process.stdout.write(pieces[i]); process.stderr.write(pieces[i]); i++; setTimeout(next, 30); };
    next();`;
  const lines: string[] = [];
  const err = await runTool('talosctl', node, ['-e', code], { env: toolEnv(m), onLine: (l) => lines.push(l) }).catch((e: unknown) => e);
  assert.ok(err instanceof ToolError, String(err));
  assertClean(err.message, m, 'message');
  assertClean(err.stderrTail, m, 'stderr tail');
  assertClean(lines.join('\n'), m, 'streamed lines');
  assert.ok(err.stderrTail.includes(REDACTED));
  assert.match(err.message, /exited 1: error: x509: cannot use key \[redacted\]/);

  const ok = await runTool(
    'talosctl',
    node,
    ['-e', `const k=/key: (\\S+)/.exec(require('fs').readFileSync(process.env.TALOSCONFIG,'utf8'))[1]; console.log(JSON.stringify({key: Buffer.from(k,'base64').toString()}))`],
    { env: toolEnv(m) },
  );
  assertClean(ok.stdout, m, 'stdout');
  assert.equal((JSON.parse(ok.stdout) as { key: string }).key.trim(), REDACTED);
});

test('every failure an activity throws is redacted: typed failures, plain errors, details and causes', async () => {
  const m = writeConfigs(path.join(tmp, 'fail'));
  configSecrets(m.talosconfig); // the worker learns them the first time a tool runs with this config
  configSecrets(m.kubeconfig);
  const app = toFailure(ApplicationFailure.create({ message: `etcd says ${m.token}`, type: 'EtcdUnhealthy', nonRetryable: true, details: [{ raw: m.password }] }));
  assert.ok(app instanceof ApplicationFailure);
  assert.equal(app.type, 'EtcdUnhealthy');
  assert.equal(app.nonRetryable, true);
  assertClean(`${app.message} ${JSON.stringify(app.details)} ${app.stack ?? ''}`, m, 'application failure');

  const acts = withRedactedFailures({
    plain: async (): Promise<void> => {
      throw new Error(`could not parse ${m.keyB64}`, { cause: new Error(m.token) });
    },
    fine: async (x: number): Promise<number> => x + 1,
  });
  assert.equal(await acts.fine(1), 2);
  const thrown = await acts.plain().catch((e: unknown) => e);
  assert.ok(thrown instanceof ApplicationFailure);
  assert.equal(thrown.type, 'Error');
  assertClean(`${thrown.message} ${thrown.stack ?? ''} ${String(thrown.cause ?? '')}`, m, 'plain error');
});
