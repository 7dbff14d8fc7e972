/**
 * One upgrade per cluster, whatever name a spec gives it: a run holds this child workflow, whose id
 * is derived from the cluster's own identity (the kube-system namespace uid), for its whole life.
 * A second run of the same cluster cannot start the same child (the server refuses a second open
 * workflow with that id) and stops before changing anything. The lock ends with its parent (the
 * default parent close policy terminates it), or on `release`.
 */
import { condition, defineSignal, setHandler } from '@temporalio/workflow';

const releaseLockSignal = defineSignal('release');

export interface LockOwner {
  /** The upgrade's workflow id, e.g. talos-upgrade-homelab. */
  workflowId: string;
  cluster: string;
}

export async function clusterLock(_owner: LockOwner): Promise<void> {
  let released = false;
  setHandler(releaseLockSignal, () => {
    released = true;
  });
  await condition(() => released);
}
