import { createVeleroBackup, takeEtcdSnapshot } from './backup';
import { checkEtcdQuorum, inspectCluster, postflight } from './checks';
import { upgradeKubernetes } from './kubernetes-upgrade';
import { nodeStepActivities } from './node';
import type { NodeStepActivities } from './node/types';
import { rollbackNode } from './node/rollback';
import { verifyNode } from './node/verify';
import type { UpgradeActivities } from './types';
import { fetchReleases } from './releases';
import { notify } from './notify';
import { applyRemediation } from './remediate';
import { assessFailure, planUpgrade } from './plan-upgrade';
import { withRedactedFailures } from './failures';
import type { ReleaseActivities } from './release-types';
import { gateActivities, type GateActivities } from './gates';
import { runRecordActivity } from './run-record';

export interface ActivityDeps {
  /** Where run records go (`worker --report-dir`); default: reportDir() in src/paths.ts, read at write time. */
  readonly reportDir?: string;
}

/** Every activity the worker registers. */
export function createActivities(
  deps: ActivityDeps = {},
): UpgradeActivities &
  NodeStepActivities &
  ReleaseActivities &
  GateActivities & { planUpgrade: typeof planUpgrade; assessFailure: typeof assessFailure; writeRunRecord: ReturnType<typeof runRecordActivity> } {
  // Whatever an activity throws is redacted before the SDK records it in history or logs it.
  return withRedactedFailures({
    planUpgrade,
    assessFailure,
    inspectCluster,
    createVeleroBackup,
    takeEtcdSnapshot,
    checkEtcdQuorum,
    verifyNode,
    rollbackNode,
    upgradeKubernetes,
    postflight,
    fetchReleases,
    notify,
    applyRemediation,
    ...nodeStepActivities,
    ...gateActivities,
    writeRunRecord: runRecordActivity(deps.reportDir),
  });
}

export type Activities = ReturnType<typeof createActivities>;
