/** The per-node step activities (node/types.ts NodeStepActivities), one module each. */
import { awaitNodeBack } from './await-back';
import { drainNode } from './drain';
import { forfeitLeadership } from './forfeit';
import { installOnNode } from './install';
import { lookAtNode } from './look';
import { prePullInstaller } from './pre-pull';
import { rebootNode } from './reboot';
import { settleNode } from './settle';
import type { NodeStepActivities } from './types';
import { uncordonNode } from './uncordon';

export const nodeStepActivities: NodeStepActivities = {
  lookAtNode,
  prePullInstaller,
  drainNode,
  forfeitLeadership,
  installOnNode,
  rebootNode,
  awaitNodeBack,
  uncordonNode,
  settleNode,
};

export { awaitNodeBack, drainNode, forfeitLeadership, installOnNode, lookAtNode, prePullInstaller, rebootNode, settleNode, uncordonNode };
