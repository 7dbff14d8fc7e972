/**
 * One Kubernetes hop: `talosctl upgrade-k8s --to X --nodes <primary>`, its output streamed into
 * heartbeats, then every kubelet checked. Idempotent: a cluster already at X is left alone.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { upgradeK8sArgs, kubectlGetNodesArgs, kubectlVersionArgs } from '../plan/commands';
import { runTool, ToolError } from './exec';
import { isRefusal, typed } from './failures';
import { KUBECTL_LIST_MAX_BYTES } from './inspect';
import { parseKubectlVersion, parseNodes } from './parse/kubectl';
import { toolEnv } from './tool-env';
import { ErrorTypes } from '../contract/error-types';
import { type ClusterAccess, type UpgradeKubernetesInput, type UpgradeKubernetesResult } from './types';

const plain = (v: string | null | undefined): string | null => (v ? v.replace(/^v/, '') : null);

export async function kubernetesVersions(access: ClusterAccess, signal?: AbortSignal) {
  const env = toolEnv(access);
  const opts = { env, timeoutMs: 60_000, ...(signal ? { signal } : {}) };
  const nodes = parseNodes((await runTool('kubectl', access.tools.kubectl, kubectlGetNodesArgs(), { ...opts, maxOutputBytes: KUBECTL_LIST_MAX_BYTES })).stdout);
  const version = parseKubectlVersion((await runTool('kubectl', access.tools.kubectl, kubectlVersionArgs(), opts)).stdout);
  return {
    server: plain(version.server),
    kubelets: nodes.map((n) => ({ node: n.internalIP ?? n.name, version: plain(n.kubeletVersion) })),
  };
}

export async function upgradeKubernetes(input: UpgradeKubernetesInput): Promise<UpgradeKubernetesResult> {
  return typed(async () => {
    const ctx = Context.current();
    const to = plain(input.to) ?? input.to;
    const before = await kubernetesVersions(input.access, ctx.cancellationSignal);
    const atTarget = (v: typeof before) => v.server === to && v.kubelets.every((k) => k.version === to);
    if (atTarget(before)) return { before: before.server, after: to, skipped: true, kubelets: before.kubelets };
    let lines = 0;
    let last = '';
    // upgrade-k8s can be quiet for minutes while a kubelet restarts: heartbeat on a timer as well.
    const timer = setInterval(() => ctx.heartbeat({ lines, last }), 2_000);
    try {
      await runTool('talosctl', input.access.tools.talosctl, upgradeK8sArgs(input.node, to), {
        env: toolEnv(input.access),
        signal: ctx.cancellationSignal,
        timeoutMs: input.timeoutMs,
        onLine: (line) => {
          lines += 1;
          last = line.trim();
          ctx.heartbeat({ lines, last });
        },
      });
    } catch (err) {
      if (err instanceof ToolError && err.kind === 'exit') {
        const type = isRefusal(err.message) ? ErrorTypes.upgradeRefused : ErrorTypes.kubernetesUpgradeFailed;
        throw ApplicationFailure.create({ message: `upgrade-k8s to ${to} failed: ${err.message}`, type, nonRetryable: type === ErrorTypes.upgradeRefused });
      }
      throw err;
    } finally {
      clearInterval(timer);
    }
    const after = await kubernetesVersions(input.access, ctx.cancellationSignal);
    if (!atTarget(after)) {
      const behind = after.kubelets.filter((k) => k.version !== to).map((k) => `${k.node}=${k.version ?? '?'}`);
      throw ApplicationFailure.retryable(
        `after upgrade-k8s the API server runs ${after.server ?? '?'} and ${behind.length} kubelet(s) are not on ${to}: ${behind.join(', ')}`,
        ErrorTypes.kubernetesUpgradeFailed,
      );
    }
    return { before: before.server, after: to, skipped: false, kubelets: after.kubelets };
  });
}
