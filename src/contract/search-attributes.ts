import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Visibility keys (DESIGN §5): `list` filters on TalosCluster, dashboards on UpgradePhase. */
export const TalosCluster = defineSearchAttributeKey('TalosCluster', SearchAttributeType.KEYWORD);
export const UpgradePhase = defineSearchAttributeKey('UpgradePhase', SearchAttributeType.KEYWORD);
/** The cluster's own identity (kube-system namespace uid): one upgrade per cluster whatever a spec calls it. */
export const TalosClusterId = defineSearchAttributeKey('TalosClusterId', SearchAttributeType.KEYWORD);
export const SEARCH_ATTRIBUTES = [TalosCluster, UpgradePhase, TalosClusterId];
