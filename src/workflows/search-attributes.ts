import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Visibility keys (DESIGN §5): `list` filters on TalosCluster, dashboards on UpgradePhase. */
export const TalosCluster = defineSearchAttributeKey('TalosCluster', SearchAttributeType.KEYWORD);
export const UpgradePhase = defineSearchAttributeKey('UpgradePhase', SearchAttributeType.KEYWORD);
export const SEARCH_ATTRIBUTES = [TalosCluster, UpgradePhase];

export const TASK_QUEUE = 'talos-upgrade';
export const workflowIdFor = (cluster: string): string => `talos-upgrade-${cluster}`;
