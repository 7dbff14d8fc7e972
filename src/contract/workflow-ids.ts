/** The task queue the worker polls and every client starts on. */
export const TASK_QUEUE = 'talos-upgrade';
export const workflowIdFor = (cluster: string): string => `talos-upgrade-${cluster}`;
/** The lock a run holds for its cluster's life (a child workflow; see src/workflows/cluster-lock.ts). */
export const lockIdFor = (clusterId: string): string => `talos-upgrade-lock-${clusterId}`;
