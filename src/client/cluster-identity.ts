/**
 * One upgrade per cluster, checked before `start`: the cluster's identity is the uid of its
 * kube-system namespace, read here through the same kubectl and kubeconfig the spec names, and a
 * running upgrade that recorded the same identity (search attribute TalosClusterId) refuses the start,
 * by name. The workflow's own lock (src/workflows/cluster-lock.ts) covers the moment before that run
 * recorded its identity.
 */
import type { Client } from '@temporalio/client';
import { runTool } from '../activities/exec';
import { parseNamespaceUid } from '../activities/parse/kubectl';
import { toolEnv } from '../activities/tool-env';
import type { UpgradeSpec } from '../plan/types';
import { kubeSystemNamespaceArgs } from '../plan/commands';

const UID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The kube-system namespace uid, or null when it cannot be read (the workflow then reads it itself). */
export async function readClusterIdentity(spec: UpgradeSpec): Promise<string | null> {
  try {
    const r = await runTool('kubectl', spec.tools.kubectl, kubeSystemNamespaceArgs(), {
      env: toolEnv({ talosconfig: spec.talosconfig, kubeconfig: spec.kubeconfig }),
      timeoutMs: 30_000,
    });
    const uid = parseNamespaceUid(r.stdout);
    return UID.test(uid) ? uid : null;
  } catch {
    return null;
  }
}

/** The workflow id of a running upgrade of the cluster with this identity, if any. */
export async function runningUpgradeOf(client: Client, clusterId: string): Promise<string | null> {
  if (!UID.test(clusterId)) return null;
  for await (const wf of client.workflow.list({ query: `WorkflowType = 'clusterUpgrade' AND ExecutionStatus = 'Running' AND TalosClusterId = '${clusterId}'` })) {
    return wf.workflowId;
  }
  return null;
}
