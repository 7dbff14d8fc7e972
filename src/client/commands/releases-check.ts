/** `talos-upgrade releases check <spec>`: one release check now, locally (src/client/releases.ts); with --start, the upgrade it proposes. */
import { specForProposal } from '../../plan/cadence';
import type { UpgradePlan } from '../../plan/types';
import { planSummary, proposalHeadline } from '../../workflows/release-watch';
import { UserError } from '../../contract/user-error';
import { ExitCode } from '../../contract/exit-codes';
import { checkReleases, loadSpec, renderCheck, withClient } from '../releases';
import { startUpgrade } from '../start-upgrade';
import { workflowLink } from '../web-ui';

const uiSuffix = (url: string | null): string => (url ? `: ${url}` : '');

export interface ReleasesCheckOptions {
  json?: boolean;
  notify?: boolean;
  start?: boolean;
}

export async function releasesCheckCommand(specPath: string, opts: ReleasesCheckOptions): Promise<number> {
  const { spec, warnings } = loadSpec(specPath);
  const { facts: _facts, ...result } = await checkReleases(spec, { notify: opts.notify === true, specPath });
  for (const warning of result.cacheWarnings) process.stderr.write(`warning: ${warning}; \`talos-upgrade plan\` will not see these releases\n`);
  const proposal = result.proposal;
  if (opts.start && proposal && (proposal.talos !== null || proposal.kubernetes !== null)) {
    if (!result.plan) throw new UserError(`nothing started: no plan for ${proposalHeadline(proposal)} (${result.planError ?? 'unknown reason'})`, ExitCode.badSpec);
    if (result.plan.blocked)
      throw new UserError(`nothing started: preflight found blockers for ${proposalHeadline(proposal)}; see \`talos-upgrade releases check ${specPath}\``, ExitCode.preflightBlocked);
    await withClient(async (client, namespace, address) => {
      const handle = await startUpgrade(client, specForProposal(spec, proposal), { startedBy: 'releases check --start' });
      result.upgrade = {
        workflowId: handle.workflowId,
        started: true,
        alreadyRunning: false,
        reason: `started ${handle.workflowId} (${planSummary(result.plan as UpgradePlan)})${uiSuffix(workflowLink(address, namespace, handle.workflowId))}`,
      };
    });
  }
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    for (const warning of warnings) process.stderr.write(`warning: ${warning}\n`);
  } else process.stdout.write(`${renderCheck(result, spec, specPath, warnings).join('\n')}\n`);
  return ExitCode.ok;
}
