/**
 * Secrets out of history for a server you do not trust: with the AES-GCM codec on the client and the
 * worker, a whole upgrade runs (signals, updates, queries, activities), every payload in its history
 * is ciphertext (no readable JSON, no spec path), a client without the key cannot read the result,
 * and the codec server the Web UI calls decodes them again, for the UI's origin only.
 */
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { AesGcmCodec, ENCRYPTED_ENCODING } from '../../src/codec/aes-gcm-codec';
import { startCodecServer, type RunningCodecServer } from '../../src/codec/codec-server';
import { keyFromEnv } from '../../src/codec/key';
import { approveStepUpdate, type ClusterUpgradeInput, type UpgradeReport } from '../../src/workflows/messages';
import { historyText } from '../helpers/history-text';
import { startTestServer, startTestWorker, tempDir, type RunningWorker } from '../helpers/temporal-env';
import { progressOf, simFixture, start, waitingOn } from '../helpers/upgrade-fixture';

interface RawPayload {
  metadata?: Record<string, Uint8Array> | null;
  data?: Uint8Array | null;
}

/** Every payload in a history, except search attributes (the server indexes those; codecs never see them). */
function payloadsOf(history: unknown): (RawPayload & { where: string })[] {
  const out: (RawPayload & { where: string })[] = [];
  const walk = (value: unknown, where: string, key: string): void => {
    if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return;
    if (key === 'searchAttributes') return;
    const v = value as Record<string, unknown>;
    if (v.metadata && typeof v.metadata === 'object' && v.data instanceof Uint8Array) {
      out.push({ ...(v as RawPayload), where });
      return;
    }
    for (const [k, child] of Object.entries(v)) walk(child, `${where}.${k}`, k);
  };
  walk(history, 'history', '');
  return out;
}

const encodingOf = (p: RawPayload): string => Buffer.from(p.metadata?.encoding ?? []).toString('utf8');
const asJson = (p: { metadata?: Record<string, string> | null; data?: string | null }) => ({ metadata: p.metadata ?? {}, data: p.data ?? '' });

describe('payload codec: an encrypted run', () => {
  const tmp = tempDir('codec');
  const QUEUE = 'codec-queue';
  const codec = new AesGcmCodec(keyFromEnv({ TALOS_UPGRADE_CODEC_KEY: crypto.randomBytes(32).toString('base64') }) ?? assert.fail('no key'));
  let env: TestWorkflowEnvironment;
  let worker: RunningWorker;
  let server: RunningCodecServer;

  before(async () => {
    env = await startTestServer();
    worker = await startTestWorker(env, { taskQueue: QUEUE, dataConverter: { payloadCodecs: [codec] } });
    server = await startCodecServer({ codec, port: 0 });
  });
  after(async () => {
    await server?.close();
    await worker?.stop();
    await env?.teardown();
    tmp.cleanup();
  });

  it('completes, leaves only ciphertext in history, and the codec server decodes it for the Web UI', async () => {
    const client = new Client({ connection: env.connection, dataConverter: { payloadCodecs: [codec] } });
    const fx = await simFixture(
      tmp.dir,
      'codec-lab',
      { controlPlanes: 1, workers: 1, rebootSeconds: 0.2, velero: false },
      { approvals: 'plan-only', backup: { velero: { enabled: false }, etcdSnapshot: { enabled: false } }, kubernetes: undefined },
    );
    const handle = await start(client, fx, QUEUE);
    await waitingOn(handle, 'approval', 'plan');
    assert.equal((await progressOf(handle)).cluster, 'codec-lab', 'queries are decoded by the client');
    await handle.executeUpdate(approveStepUpdate, { args: [{ step: 'plan', by: 'alice' }] });
    const report = (await handle.result()) as UpgradeReport;
    assert.equal(report.outcome, 'completed', report.message);

    const history = await handle.fetchHistory();
    const payloads = payloadsOf(history);
    assert.ok(payloads.length >= 20, `found ${payloads.length} payloads`);
    for (const p of payloads) {
      if (p.where.includes('markerRecordedEventAttributes.details.patch-data')) {
        // The SDK core writes a patched() marker itself, past any codec: it holds only the patch id.
        assert.deepEqual(Object.keys(JSON.parse(Buffer.from(p.data ?? []).toString('utf8')) as object).sort(), ['deprecated', 'id']);
        continue;
      }
      assert.equal(encodingOf(p), ENCRYPTED_ENCODING, `${p.where} is not encrypted`);
      assert.throws(() => JSON.parse(Buffer.from(p.data ?? []).toString('utf8')) as unknown, 'not readable JSON');
    }
    const text = historyText(history);
    for (const secretish of [fx.sim.talosconfig, fx.sim.kubeconfig, '"outcome"', 'alice', 'approve the plan']) {
      assert.ok(!text.includes(secretish), `${secretish} is readable in history`);
    }

    // The server alone (a client without the key) cannot read the run.
    const blind = new Client({ connection: env.connection });
    await assert.rejects(blind.workflow.getHandle(handle.workflowId).result(), /binary\/encrypted|encoding/i);

    // The Web UI's codec server: CORS for the UI's origin only, then /decode gives the JSON back.
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    const body = JSON.stringify({
      payloads: [started, ...payloads.slice(0, 5)].map((p) => ({
        metadata: Object.fromEntries(Object.entries(p?.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
        data: Buffer.from(p?.data ?? []).toString('base64'),
      })),
    });
    const preflight = await fetch(`${server.url}/decode`, {
      method: 'OPTIONS',
      headers: { origin: 'http://127.0.0.1:8233', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace' },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), 'http://127.0.0.1:8233');
    assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /x-namespace/);
    const stranger = await fetch(`${server.url}/decode`, { method: 'POST', headers: { origin: 'http://evil.example', 'content-type': 'application/json' }, body });
    assert.equal(stranger.status, 403, 'another origin gets nothing');
    assert.equal(stranger.headers.get('access-control-allow-origin'), null);

    const decoded = await fetch(`${server.url}/decode`, { method: 'POST', headers: { origin: 'http://127.0.0.1:8233', 'content-type': 'application/json', 'x-namespace': 'default' }, body });
    assert.equal(decoded.status, 200);
    assert.equal(decoded.headers.get('access-control-allow-origin'), 'http://127.0.0.1:8233');
    const out = (await decoded.json()) as { payloads: { metadata: Record<string, string>; data: string }[] };
    assert.equal(out.payloads.length, 6);
    for (const p of out.payloads) assert.notEqual(Buffer.from(p.metadata.encoding ?? '', 'base64').toString(), ENCRYPTED_ENCODING);
    const input = JSON.parse(Buffer.from(out.payloads[0]?.data ?? '', 'base64').toString('utf8')) as ClusterUpgradeInput;
    assert.equal(input.spec.cluster, 'codec-lab');
    assert.equal(input.spec.talosconfig, fx.sim.talosconfig);

    // /encode then /decode is the identity, as the UI uses it for a signal's JSON.
    const plain = { metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: Buffer.from(JSON.stringify({ step: 'plan', by: 'ui' })).toString('base64') };
    const enc = (await (await fetch(`${server.url}/encode`, { method: 'POST', body: JSON.stringify({ payloads: [plain] }) })).json()) as { payloads: ReturnType<typeof asJson>[] };
    assert.equal(Buffer.from(enc.payloads[0]?.metadata?.encoding ?? '', 'base64').toString(), ENCRYPTED_ENCODING);
    const back = (await (await fetch(`${server.url}/decode`, { method: 'POST', body: JSON.stringify(enc) })).json()) as { payloads: ReturnType<typeof asJson>[] };
    assert.deepEqual(back.payloads.map(asJson), [plain]);
    const bad = await fetch(`${server.url}/decode`, { method: 'POST', body: '{"nope": 1}' });
    assert.equal(bad.status, 400);
  });
});
