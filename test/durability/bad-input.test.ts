/**
 * Bad input never reaches the cluster. Malformed spec files go through the real CLI (`start`, run
 * in-process against a real dev server): each gets exit code 2 and one line that names what is
 * wrong; no workflow is started and no tool is run. Malformed signals and updates go to a running
 * upgrade that waits at its plan gate: signals are recorded as refused in the audit log and never
 * fail a workflow task, updates are refused by their validators and leave no trace in history.
 * Hand-written cases cover every rule of the spec; fast-check adds generated ones (fixed seed).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WorkflowNotFoundError } from '@temporalio/common';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { main } from '../../src/client/cli';
import { initSim, readInvocations, type SimInfo } from '../../src/simulator';
import { temporal } from '@temporalio/proto';
import {
  abortSignal,
  approveSignal,
  approveStepUpdate,
  decideSignal,
  decideStepUpdate,
  pauseSignal,
  rejectSignal,
  rejectStepUpdate,
  resumeSignal,
  type AuditEntry,
  type UpgradeReport,
} from '../../src/workflows/messages';
import { MAX_REFUSED_AUDIT_ENTRIES } from '../../src/workflows/message-checks';
import { workflowIdFor } from '../../src/contract/workflow-ids';
import { eventually, startTestServer, startTestWorker, tempDir, type RunningWorker } from '../helpers/temporal-env';
import { progressOf, simFixture, start, waitingOn } from '../helpers/upgrade-fixture';
import { openSuite } from './results';

const results = openSuite('bad-input');
const SEED = 20_240_607;

type Spec = Record<string, unknown>;

// ------------------------------------------------------------------ running the CLI in-process

interface CliRun {
  exitCode: number;
  stderr: string;
  stdout: string;
}

/** Runs `talos-upgrade <args>` in this process (the real command tree), capturing its output and exit code. */
async function cli(args: string[]): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  process.stdout.write = (chunk: string | Uint8Array) => ((stdout += String(chunk)), true);
  process.stderr.write = (chunk: string | Uint8Array) => ((stderr += String(chunk)), true);
  const before = process.exitCode;
  process.exitCode = undefined;
  try {
    await main(['node', 'talos-upgrade', ...args]);
    return { exitCode: Number(process.exitCode ?? 0), stdout, stderr };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
    process.exitCode = before;
  }
}

/** The CLI's verdict on a spec file: refused cleanly (exit 2, one line, no stack) or not. */
function refusal(run: CliRun, expect?: RegExp): string | null {
  const lines = run.stderr.split('\n').filter((l) => l.trim() !== '');
  if (run.exitCode !== 2) return `exit code ${run.exitCode}, expected 2 (stderr: ${run.stderr.slice(0, 200)})`;
  if (lines.length !== 1) return `expected one line on stderr, got ${lines.length}: ${run.stderr.slice(0, 300)}`;
  const line = lines[0]!;
  if (!line.startsWith('talos-upgrade: ')) return `unexpected error format: ${line}`;
  if (/\n\s+at |\bat .+:\d+:\d+/.test(run.stderr)) return `a stack trace: ${line}`;
  if (line.length > 400) return `error too long (${line.length} chars)`;
  if (expect && !expect.test(line)) return `message does not say what is wrong (${expect}): ${line}`;
  if (run.stdout.includes('started the upgrade')) return 'an upgrade was started';
  return null;
}

// ------------------------------------------------------------------ the specs

function baseSpec(sim: SimInfo, dir: string, cluster: string): Spec {
  return {
    cluster,
    talosconfig: sim.talosconfig,
    kubeconfig: sim.kubeconfig,
    nodes: { controlPlane: [...sim.nodes.controlPlane], workers: [...sim.nodes.workers] },
    talos: { version: 'v1.9.4', schematic: sim.schematic },
    kubernetes: { version: '1.32.2' },
    backup: { etcdSnapshot: { directory: path.join(dir, 'backups') } },
    tools: { ...sim.tools },
  };
}

const clone = (s: Spec): Spec => JSON.parse(JSON.stringify(s)) as Spec;

function setAt(obj: Spec, dotted: string, value: unknown): Spec {
  const keys = dotted.split('.');
  let at: Record<string, unknown> = obj;
  for (const k of keys.slice(0, -1)) {
    at[k] ??= {};
    at = at[k] as Record<string, unknown>;
  }
  const last = keys[keys.length - 1]!;
  if (value === undefined) delete at[last];
  else at[last] = value;
  return obj;
}

interface SpecCase {
  name: string;
  /** The file's text, built from a valid spec. */
  text: (base: Spec) => string;
  /** What the one-line error must mention. */
  expect: RegExp;
}

const yamlWith =
  (dotted: string, value: unknown) =>
  (base: Spec): string =>
    stringify(setAt(clone(base), dotted, value));
const yamlEdit =
  (edit: (s: Spec) => void) =>
  (base: Spec): string => {
    const s = clone(base);
    edit(s);
    return stringify(s);
  };
const nodesOf = (s: Spec): { controlPlane: string[]; workers: string[]; primary?: string } => s.nodes as { controlPlane: string[]; workers: string[]; primary?: string };

const SPEC_CASES: SpecCase[] = [
  { name: 'empty file', text: () => '', expect: /empty/ },
  { name: 'a list instead of a mapping', text: () => '- cluster: homelab\n', expect: /mapping/ },
  { name: 'YAML syntax error', text: () => 'cluster: [homelab\ntalos: {version: v1.9.4\n', expect: /YAML|yaml|line/i },
  // The key the operator actually wrote must be named, not only the one that is now missing.
  { name: 'misspelled top-level key', text: yamlEdit((s) => ((s.clsuter = s.cluster), delete s.cluster)), expect: /clsuter/ },
  { name: 'unknown nested key', text: yamlWith('talos.verison', 'v1.9.4'), expect: /talos\.verison/ },
  { name: 'missing cluster', text: yamlWith('cluster', undefined), expect: /cluster: missing/ },
  { name: 'cluster name with uppercase', text: yamlWith('cluster', 'HomeLab'), expect: /cluster.*lowercase/ },
  { name: 'cluster name with shell characters', text: yamlWith('cluster', 'prod;rm -rf /'), expect: /cluster/ },
  { name: 'Talos version without the v', text: yamlWith('talos.version', '1.9.4'), expect: /talos\.version.*v1\.9\.4/ },
  { name: 'Talos pre-release', text: yamlWith('talos.version', 'v1.9.4-beta.0'), expect: /talos\.version.*pre-release/ },
  { name: 'Talos version without patch', text: yamlWith('talos.version', 'v1.9'), expect: /talos\.version.*patch/ },
  { name: 'Talos version as a YAML number', text: (b) => yamlWith('talos.version', 'PLACEHOLDER')(b).replace('PLACEHOLDER', '1.9'), expect: /talos\.version.*number|talos\.version/ },
  { name: 'Kubernetes version "latest"', text: yamlWith('kubernetes.version', 'latest'), expect: /kubernetes\.version/ },
  { name: 'schematic of 63 hex digits', text: yamlWith('talos.schematic', 'a'.repeat(63)), expect: /talos\.schematic.*64/ },
  { name: 'schematic in uppercase hex', text: yamlWith('talos.schematic', 'A'.repeat(64)), expect: /talos\.schematic.*lowercase/ },
  { name: 'schematic that is not hex', text: yamlWith('talos.schematic', 'z'.repeat(64)), expect: /talos\.schematic/ },
  { name: 'no control planes', text: yamlEdit((s) => (nodesOf(s).controlPlane = [])), expect: /nodes\.controlPlane.*empty/ },
  { name: 'duplicate control plane', text: yamlEdit((s) => nodesOf(s).controlPlane.push(nodesOf(s).controlPlane[0]!)), expect: /listed twice/ },
  { name: 'worker that is also a control plane', text: yamlEdit((s) => nodesOf(s).workers.push(nodesOf(s).controlPlane[0]!)), expect: /also a control plane/ },
  { name: 'primary that is a worker', text: yamlEdit((s) => (nodesOf(s).primary = nodesOf(s).workers[0]!)), expect: /nodes\.primary.*not a control plane/ },
  { name: 'address with a command separator', text: yamlEdit((s) => (nodesOf(s).workers[0] = '192.168.1.80;reboot')), expect: /nodes\.workers\[0\].*shell/ },
  { name: 'address that reads as a flag', text: yamlEdit((s) => (nodesOf(s).workers[0] = '-rf')), expect: /nodes\.workers\[0\].*flag/ },
  { name: 'IPv4 address out of range', text: yamlEdit((s) => (nodesOf(s).workers[0] = '192.168.1.300')), expect: /nodes\.workers\[0\].*IPv4/ },
  { name: 'address with a space', text: yamlEdit((s) => (nodesOf(s).controlPlane[0] = '192.168.1.70 192.168.1.71')), expect: /nodes\.controlPlane\[0\]/ },
  { name: 'address with $(...)', text: yamlEdit((s) => (nodesOf(s).workers[0] = '$(curl evil)')), expect: /nodes\.workers\[0\]/ },
  { name: 'nodes and discover together', text: yamlWith('discover', true), expect: /discover/ },
  { name: 'neither nodes nor discover', text: yamlWith('nodes', undefined), expect: /nodes: missing/ },
  { name: 'unknown approvals policy', text: yamlWith('approvals', 'sometimes'), expect: /approvals.*sometimes/ },
  { name: 'unknown onFailure policy', text: yamlWith('onFailure', 'explode'), expect: /onFailure.*explode/ },
  { name: 'timeout without a unit', text: yamlWith('timeouts.worker', '5'), expect: /timeouts\.worker.*unit/ },
  { name: 'timeout shorter than a second', text: yamlWith('timeouts.worker', '500ms'), expect: /timeouts\.worker/ },
  { name: 'timeout longer than a day', text: yamlWith('timeouts.controlPlane', '48h'), expect: /timeouts\.controlPlane.*24h/ },
  { name: 'talosconfig that does not exist', text: yamlWith('talosconfig', '/nonexistent/talosconfig'), expect: /talosconfig.*does not exist/ },
  { name: 'empty kubeconfig path', text: yamlWith('kubeconfig', ''), expect: /kubeconfig.*empty/ },
  { name: 'invalid namespace to exclude', text: yamlWith('backup.velero.excludeNamespaces', ['Kube_System']), expect: /excludeNamespaces\[0\]/ },
  { name: 'image factory with a scheme', text: yamlWith('talos.imageFactory', 'https://factory.talos.dev'), expect: /imageFactory.*scheme/ },
  { name: 'tool path with a newline', text: yamlWith('tools.talosctl', '/usr/bin/talosctl\nrm -rf /'), expect: /tools\.talosctl.*control character/ },
  { name: 'velero.enabled as a string', text: yamlWith('backup.velero.enabled', 'definitely'), expect: /backup\.velero\.enabled/ },
  { name: 'talos section missing', text: yamlWith('talos', undefined), expect: /talos: missing/ },
];

// ------------------------------------------------------------------ generated specs

const STRING_LEAVES = ['cluster', 'talosconfig', 'kubeconfig', 'talos.version', 'talos.schematic', 'kubernetes.version', 'approvals', 'onFailure', 'tools.talosctl', 'timeouts.worker'];
const OBJECT_PATHS = ['', 'nodes', 'talos', 'kubernetes', 'backup', 'backup.velero', 'backup.etcdSnapshot', 'timeouts', 'tools'];
const SHELL_CHARS = [';', '&', '|', '$', '`', "'", '"', '\\', '<', '>', '(', ')', '{', '}', '*', '?', '!', '#', '~', '%', '^', ',', '@', '+', ' '];

type Mutation = { describe: string; apply: (s: Spec) => void };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ at: fc.constantFrom(...OBJECT_PATHS), key: fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,11}$/), value: fc.jsonValue({ maxDepth: 1 }) }).map(({ at, key, value }) => ({
    describe: `unknown key zz${key} at ${at || 'top level'}`,
    apply: (s: Spec) => setAt(s, at ? `${at}.zz${key}` : `zz${key}`, value ?? 0),
  })),
  fc
    .record({
      leaf: fc.constantFrom(...STRING_LEAVES),
      value: fc.oneof(fc.integer(), fc.boolean(), fc.array(fc.integer(), { maxLength: 3 }), fc.dictionary(fc.stringMatching(/^[a-z]{1,5}$/), fc.integer(), { maxKeys: 2 })),
    })
    .map(({ leaf, value }) => ({ describe: `${leaf} = ${JSON.stringify(value)} (not a string)`, apply: (s: Spec) => setAt(s, leaf, value) })),
  fc.record({ which: fc.constantFrom('controlPlane', 'workers'), meta: fc.constantFrom(...SHELL_CHARS), tail: fc.stringMatching(/^[a-z0-9./-]{0,8}$/) }).map(({ which, meta, tail }) => ({
    describe: `a ${which} address containing ${JSON.stringify(meta)}`,
    apply: (s: Spec) => {
      const list = nodesOf(s)[which];
      list[0] = `${list[0] ?? '192.168.1.90'}${meta}${tail}`;
    },
  })),
  fc
    .string({ maxLength: 16 })
    .filter((v) => !/^v\d+\.\d+\.\d+$/.test(v))
    .map((v) => ({ describe: `talos.version ${JSON.stringify(v)}`, apply: (s: Spec) => setAt(s, 'talos.version', v) })),
  fc
    .stringMatching(/^[0-9a-f]{1,80}$/)
    .filter((v) => v.length !== 64)
    .map((v) => ({ describe: `a ${v.length}-digit schematic`, apply: (s: Spec) => setAt(s, 'talos.schematic', v) })),
);

// ------------------------------------------------------------------ malformed signals and updates

const MALFORMED_SIGNALS: { signal: 'approve' | 'reject' | 'decide' | 'pause' | 'resume' | 'abort'; payload: unknown; why: string }[] = [
  { signal: 'approve', payload: 42, why: 'a number' },
  { signal: 'approve', payload: 'plan', why: 'a bare string' },
  { signal: 'approve', payload: null, why: 'null' },
  { signal: 'approve', payload: [], why: 'a list' },
  { signal: 'approve', payload: {}, why: 'no step' },
  { signal: 'approve', payload: { step: 1 }, why: 'step not a string' },
  { signal: 'approve', payload: { step: '' }, why: 'empty step' },
  { signal: 'approve', payload: { step: 'plan', by: 5 }, why: 'by not a string' },
  { signal: 'approve', payload: { step: 'plan', force: true }, why: 'an unknown field' },
  { signal: 'approve', payload: { step: 'x'.repeat(300) }, why: 'a 300-character step' },
  { signal: 'approve', payload: { step: 'plan', comment: { html: '<b>' } }, why: 'comment not a string' },
  { signal: 'approve', payload: { step: 'talos:v9.9.9:10.0.0.1', by: 'mallory' }, why: 'a step that does not exist' },
  { signal: 'reject', payload: { step: 'plan', reason: 42 }, why: 'reason not a string' },
  { signal: 'reject', payload: 'no', why: 'a bare string' },
  { signal: 'reject', payload: { stepp: 'plan' }, why: 'misspelled field' },
  { signal: 'decide', payload: { step: 'plan', action: 'yolo' }, why: 'an unknown action' },
  { signal: 'decide', payload: { step: 'plan' }, why: 'no action' },
  { signal: 'decide', payload: { action: 'retry' }, why: 'no step' },
  { signal: 'decide', payload: { step: 'plan', action: 'retry' }, why: 'a step that is not awaiting a decision' },
  { signal: 'pause', payload: 'now', why: 'a bare string' },
  { signal: 'pause', payload: { by: 1 }, why: 'by not a string' },
  { signal: 'pause', payload: { by: 'x', force: true }, why: 'an unknown field' },
  { signal: 'resume', payload: [1, 2], why: 'a list' },
  { signal: 'abort', payload: { reason: {} }, why: 'reason not a string' },
  { signal: 'abort', payload: { by: 'x'.repeat(600) }, why: 'a 600-character name' },
  { signal: 'abort', payload: 'abort!', why: 'a bare string' },
  { signal: 'abort', payload: true, why: 'a boolean' },
];

const SIGNALS = { approve: approveSignal, reject: rejectSignal, decide: decideSignal, pause: pauseSignal, resume: resumeSignal, abort: abortSignal } as const;

/** Surely malformed for approve/reject/decide: not an object, or an object with a field none of them has. */
const malformedStepPayload: fc.Arbitrary<unknown> = fc.oneof(
  fc.oneof(fc.integer(), fc.double({ noNaN: true }), fc.string(), fc.boolean(), fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 })),
  fc
    .record({ extra: fc.stringMatching(/^[a-z]{1,8}$/), value: fc.jsonValue({ maxDepth: 1 }), step: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }) })
    .map(({ extra, value, step }) => ({ ...(step === undefined ? {} : { step }), [`zz${extra}`]: value ?? 0 })),
);

const MALFORMED_UPDATES: { update: 'approveStep' | 'rejectStep' | 'decideStep'; payload: unknown; expect: RegExp }[] = [
  { update: 'approveStep', payload: 'plan', expect: /one JSON object/ },
  { update: 'approveStep', payload: { step: 7 }, expect: /"step" must be the step id/ },
  { update: 'approveStep', payload: { step: 'plan', sneaky: 1 }, expect: /unknown field sneaky/ },
  { update: 'approveStep', payload: { step: 'talos:v1.9.4:10.9.9.9' }, expect: /not waiting for approval/ },
  { update: 'approveStep', payload: { step: 'plan', by: ['a'] }, expect: /"by" must be a string/ },
  { update: 'rejectStep', payload: null, expect: /one JSON object/ },
  { update: 'rejectStep', payload: { step: 'kubernetes:1.32.2' }, expect: /not waiting for approval/ },
  { update: 'decideStep', payload: { step: 'plan', action: 'maybe' }, expect: /"action" must be one of/ },
  { update: 'decideStep', payload: { step: 'plan', action: 'retry' }, expect: /not awaiting a decision/ },
  { update: 'decideStep', payload: [], expect: /one JSON object/ },
];
const UPDATES = { approveStep: approveStepUpdate, rejectStep: rejectStepUpdate, decideStep: decideStepUpdate } as const;

// ------------------------------------------------------------------ the tests

describe('bad input: a clear error, nothing started, no tool run', () => {
  let env: TestWorkflowEnvironment;
  let worker: RunningWorker;
  const tmp = tempDir('bad-input');
  const queue = 'durability-bad-input';
  let sim: SimInfo;
  let savedAddress: string | undefined;

  before(async () => {
    env = await startTestServer();
    worker = await startTestWorker(env, { taskQueue: queue });
    sim = await initSim(path.join(tmp.dir, 'spec-cluster'), { controlPlanes: 1, workers: 1, talos: 'v1.9.2', kubernetes: '1.32.0' });
    savedAddress = process.env.TEMPORAL_ADDRESS;
    process.env.TEMPORAL_ADDRESS = env.address;
  });
  after(async () => {
    if (savedAddress === undefined) delete process.env.TEMPORAL_ADDRESS;
    else process.env.TEMPORAL_ADDRESS = savedAddress;
    await worker?.stop();
    await env?.teardown();
    tmp.cleanup();
  });

  const specFile = (name: string, text: string): string => {
    const file = path.join(tmp.dir, 'specs', `${name}.yaml`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
    return file;
  };

  /** Twin calls the valid control start made (its cluster-identity read); malformed specs add none. */
  let controlCalls = 0;

  async function workflowsStarted(): Promise<string[]> {
    const ids: string[] = [];
    for await (const wf of env.client.workflow.list({ query: `WorkflowType = 'clusterUpgrade'` })) ids.push(wf.workflowId);
    return ids;
  }

  it('the harness sees a start: a valid spec through the same path starts a workflow', async () => {
    const file = specFile('control', stringify(baseSpec(sim, tmp.dir, 'bad-input-control')));
    const run = await cli(['start', file, '--by', 'bad-input']);
    assert.equal(run.exitCode, 0, run.stderr);
    assert.match(run.stdout, /started the upgrade of bad-input-control/);
    const handle = env.client.workflow.getHandle(workflowIdFor('bad-input-control'));
    assert.equal((await handle.describe()).status.name, 'RUNNING');
    await handle.terminate('control case: the start path works');
    // A valid start reads the cluster's identity (kube-system uid, src/client/cluster-identity.ts) before it starts.
    const calls = readInvocations(sim.dir);
    assert.deepEqual(
      calls.map((i) => `${i.tool} ${i.args.join(' ')}`),
      ['kubectl get namespace kube-system -o json'],
      'the control start read only the cluster identity',
    );
    controlCalls = calls.length;
  });

  it(`${SPEC_CASES.length} hand-written malformed specs: exit 2, one line naming the problem`, async () => {
    assert.ok(SPEC_CASES.length >= 30);
    const failures: string[] = [];
    for (const [i, c] of SPEC_CASES.entries()) {
      const cluster = `bad-spec-${i}`;
      const file = specFile(cluster, c.text(baseSpec(sim, tmp.dir, cluster)));
      const run = await cli(['start', file]);
      const problem = refusal(run, c.expect);
      results.record({ kind: 'bad-input', name: `spec: ${c.name}`, channel: 'spec', rejected: problem === null, note: problem ?? run.stderr.trim().replace(file, '<spec>').slice(0, 200) });
      if (problem) failures.push(`${c.name}: ${problem}`);
    }
    assert.deepEqual(failures, []);
  });

  it('generated malformed specs (fast-check): exit 2, one line', async () => {
    let total = 0;
    let refused = 0;
    const failures: string[] = [];
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        total += 1;
        const spec = baseSpec(sim, tmp.dir, `generated-${total}`);
        m.apply(spec);
        const problem = refusal(await cli(['start', specFile(`generated-${total}`, stringify(spec))]));
        if (problem === null) refused += 1;
        else failures.push(`${m.describe}: ${problem}`);
        return problem === null;
      }),
      { numRuns: 60, seed: SEED, endOnFailure: true },
    );
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 200 }), async (text) => {
        total += 1;
        const problem = refusal(await cli(['start', specFile(`random-text-${total}`, text)]));
        if (problem === null) refused += 1;
        else failures.push(`random text ${JSON.stringify(text.slice(0, 40))}: ${problem}`);
        return problem === null;
      }),
      { numRuns: 20, seed: SEED, endOnFailure: true },
    );
    results.record({
      kind: 'bad-input',
      name: `spec: ${total} generated (fast-check seed ${SEED})`,
      channel: 'spec',
      rejected: refused === total,
      inputs: total,
      rejectedInputs: refused,
      ...(failures.length ? { note: failures[0] } : {}),
    });
    assert.deepEqual(failures, []);
  });

  it('no malformed spec started a workflow or ran a tool', async () => {
    const started = await workflowsStarted();
    assert.deepEqual(started, [workflowIdFor('bad-input-control')], 'only the control case started a workflow');
    await assert.rejects(env.client.workflow.getHandle(workflowIdFor('bad-spec-0')).describe(), WorkflowNotFoundError);
    assert.deepEqual(readInvocations(sim.dir).slice(controlCalls), [], 'no twin was invoked after the control case');
  });

  it('malformed signals are refused in the audit log and never fail a workflow task; malformed updates are refused at once', async () => {
    const fx = await simFixture(tmp.dir, 'bad-signals', { controlPlanes: 1, workers: 1 });
    const handle = await start(env.client, fx, queue);
    await waitingOn(handle, 'approval', 'plan');
    const toolCallsAtGate = readInvocations(fx.sim.dir).length;

    let sent = 0;
    for (const s of MALFORMED_SIGNALS) {
      await handle.signal(SIGNALS[s.signal] as typeof approveSignal, s.payload as never);
      sent += 1;
    }
    let generated = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom<'approve' | 'reject' | 'decide'>('approve', 'reject', 'decide'), malformedStepPayload, async (name, payload) => {
        await handle.signal(SIGNALS[name], payload as never);
        generated += 1;
        return true;
      }),
      { numRuns: 30, seed: SEED },
    );
    sent += generated;
    // Refused signals past MAX_REFUSED_AUDIT_ENTRIES are counted on one entry instead of stored each.
    const recorded = (entries: AuditEntry[]): number => entries.reduce((n, a) => n + (a.ignored ?? 1), 0);
    const audit = await eventually(async () => {
      const p = await progressOf(handle);
      return recorded(p.audit) >= sent ? p.audit : undefined;
    }, 60_000);
    const accepted = audit.filter((a) => a.accepted);
    assert.deepEqual(accepted, [], 'no malformed signal was accepted');
    assert.equal(recorded(audit), sent, 'each signal is recorded exactly once');
    assert.equal(audit.filter((a) => a.ignored === undefined).length, Math.min(sent, MAX_REFUSED_AUDIT_ENTRIES), 'the first ones one entry each');
    assert.ok(audit.length <= MAX_REFUSED_AUDIT_ENTRIES + 1, 'the rest share one counting entry');
    for (const [i, s] of MALFORMED_SIGNALS.entries()) {
      const entry = audit[i]!;
      const ok = !entry.accepted && entry.signal === s.signal && entry.note.length > 0;
      results.record({ kind: 'bad-input', name: `signal ${s.signal}: ${s.why}`, channel: 'signal', rejected: ok, note: entry.note.slice(0, 160) });
    }
    const generatedEntries = audit.slice(MALFORMED_SIGNALS.length);
    results.record({
      kind: 'bad-input',
      name: `signal: ${generated} generated payloads (fast-check seed ${SEED})`,
      channel: 'signal',
      rejected: generatedEntries.every((a) => !a.accepted),
      inputs: generated,
      rejectedInputs: recorded(generatedEntries.filter((a) => !a.accepted)),
    });

    const failures: string[] = [];
    for (const u of MALFORMED_UPDATES) {
      let message = '';
      try {
        await handle.executeUpdate(UPDATES[u.update] as typeof approveStepUpdate, { args: [u.payload as never] });
        message = 'accepted';
      } catch (err) {
        message = err instanceof WorkflowUpdateFailedError && err.cause instanceof Error ? err.cause.message : `unexpected ${String(err)}`;
      }
      const ok = u.expect.test(message);
      results.record({ kind: 'bad-input', name: `update ${u.update}: ${JSON.stringify(u.payload).slice(0, 60)}`, channel: 'update', rejected: ok, note: message.slice(0, 160) });
      if (!ok) failures.push(`${u.update} ${JSON.stringify(u.payload)}: ${message}`);
    }
    assert.deepEqual(failures, []);

    const p = await progressOf(handle);
    assert.equal(p.phase, 'plan-approval', 'still at the plan gate');
    assert.equal(p.waiting?.step, 'plan');
    assert.equal(recorded(p.audit), sent, 'refused updates left no audit entry');
    assert.equal(readInvocations(fx.sim.dir).length, toolCallsAtGate, 'no tool was run because of a malformed message');

    // Still answers a well-formed message, and finishes cleanly.
    await handle.executeUpdate(rejectStepUpdate, { args: [{ step: 'plan', by: 'bad-input', reason: 'test over' }] });
    const report = (await handle.result()) as UpgradeReport;
    assert.equal(report.outcome, 'rejected');
    const history = await handle.fetchHistory();
    const types = (history.events ?? []).map((e) => e.eventType);
    const EventType = temporal.api.enums.v1.EventType;
    assert.equal(types.filter((t) => t === EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED).length, 0, 'no workflow task failed');
    assert.equal(types.filter((t) => t === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED).length, sent, 'every signal is in history');
    assert.equal(types.filter((t) => t === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED).length, 1, 'only the well-formed update was accepted');
  });
});
