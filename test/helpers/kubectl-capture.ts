/**
 * Runs the real kubectl (test/helpers/kubectl-bin.ts) against the test API server
 * (kube-api-server.ts) in a given state and returns what it printed: the way the kubectl contract
 * cases are captured, and re-captured by the drift test.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import execa from 'execa';
import { clusterFixture, type ClusterOptions } from './kube-fixture';
import type { KubeFixture } from './kube-objects';
import { startKubeApiServer, unusedPort, writeKubeconfig, type ApiFailure } from './kube-api-server';

export interface CaptureSetup {
  cluster?: ClusterOptions;
  /** How the API server answers (default: normally). */
  failure?: ApiFailure;
  /** Nothing listens at the kubeconfig's server address. */
  unreachable?: boolean;
  /** Changes to the cluster before kubectl runs (empty lists, a cordoned node, failing pods). */
  tweak?: (f: KubeFixture) => void;
}

export interface Captured {
  stdout: string;
  stderr: string;
  exitCode: number;
  /** The requests kubectl made, in order. */
  requests: string[];
  /** The cluster after the call (cordon, eviction and delete change it). */
  fixture: KubeFixture;
}

/** One kubectl call with its own HOME (so no discovery cache carries over) and nothing else from this process's environment. */
export async function captureKubectl(bin: string, setup: CaptureSetup, args: string[]): Promise<Captured> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubectl-capture-'));
  const fixture = clusterFixture(setup.cluster);
  setup.tweak?.(fixture);
  const server = await startKubeApiServer(fixture, setup.failure ? { failure: setup.failure } : {});
  try {
    const url = setup.unreachable ? `http://127.0.0.1:${await unusedPort()}` : server.url;
    if (setup.unreachable) await server.close();
    const kubeconfig = writeKubeconfig(path.join(dir, 'kubeconfig'), url);
    const r = await execa(bin, args, {
      env: { KUBECONFIG: kubeconfig, HOME: dir, PATH: '/usr/bin:/bin' },
      extendEnv: false,
      reject: false,
      stripFinalNewline: false,
      maxBuffer: 64 * 1024 * 1024,
      timeout: 60_000,
    });
    return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode, requests: server.requests.map((q) => `${q.method} ${q.path}`), fixture };
  } finally {
    if (!setup.unreachable) await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * What may differ between two captures of the same case: the API server's port, klog's time and
 * process id, and the order of what drain reports from one goroutine per pod (evictions run in
 * parallel): runs of "evicting pod"/"pod/... evicted" lines, of "pod/NAME" and of "error when
 * evicting" lines, and the items of an aggregated error "[a, b, ...]".
 */
export function normalizeCapture(text: string): string {
  const lines = text
    .replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:<port>')
    .split('\n')
    .map((l) => l.replace(/^([EIW])\d{4} \d{2}:\d{2}:\d{2}\.\d{6}\s+\d+ /, '$1<time> <pid> '))
    .map((l) =>
      l.replace(
        /\[(error when evicting .*)\]/,
        (_, items: string) =>
          `[${items
            .split(/, (?=error when evicting )/)
            .sort()
            .join(', ')}]`,
      ),
    );
  const keyOf = (line: string): string =>
    /^evicting pod |^pod\/\S+ (evicted|deleted)$/.test(line) ? 'evictions' : /^pod\/\S+$/.test(line) ? 'pending' : /^error when evicting pods\//.test(line) ? 'errors' : '';
  const out: string[] = [];
  let run: string[] = [];
  let runKey = '';
  for (const line of lines) {
    const key = keyOf(line);
    if (key !== runKey) {
      out.push(...run.sort());
      run = [];
    }
    runKey = key;
    if (key) run.push(line);
    else out.push(line);
  }
  out.push(...run.sort());
  return out.join('\n');
}
