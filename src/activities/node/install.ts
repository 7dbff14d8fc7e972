/**
 * installOnNode: the install call of the step, fenced (fenced-step.ts), per path (path.ts):
 * legacy `upgrade --wait=false` (blocks for the installer pull, then the ACK; the node reboots by
 * itself), lifecycle `upgrade --drain=false --no-reboot`, lifecycle-reboots `upgrade --drain=false
 * --wait=false`. The boot id is read right before the call (bootIdAtIssue): the await compares
 * against it, never against a later boot.
 *
 * Idempotency: a node already on the target version (and the image's schematic) gets nothing; a retry
 * reuses the recorded outcome or waits for the call still on its way; a retry without a record judges
 * the node by its boot id. Refusals the client reports (legacy before the ACK, lifecycle installer
 * exit codes) are UpgradeRefused; legacy refusals after the ACK are found by awaitNodeBack.
 *
 * Cancellation: before its point of no return (legacy: the ACK; lifecycle: `pulled image`, after which
 * the installer writes the disk) the call is killed; after it, it is left to finish and recorded.
 */
import { stat } from 'node:fs/promises';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { typed } from '../failures';
import { parseTalosVersion } from '../parse/talosctl';
import { ErrorTypes } from '../../contract/error-types';
import { talos } from './common';
import { runFencedStep } from './fenced-step';
import { installFailure, judgeInstall } from './install-outcome';
import { describeLook, lookAt, sameBoot } from './look';
import { installArgs, installReboots } from '../../plan/commands';
import type { InstallInput, InstallResult } from './types';

const DEFAULT_INSTALL_TIMEOUT_MS = 60 * 60_000;

/** The schematic an Image Factory installer reference names (`…/installer/<64 hex>:<version>`), if any. */
export function schematicOfImage(image: string): string | null {
  return /\/([0-9a-f]{64}):v\d/.exec(image)?.[1] ?? null;
}

/**
 * The client's tag, by binary (path, size, mtime): it is asked once per worker process, not before
 * every install (it sat on the critical path between two nodes). A replaced binary is asked again.
 */
const clientTags = new Map<string, string>();

async function binaryKey(file: string): Promise<string | null> {
  try {
    const st = await stat(file);
    return `${file}\0${st.size}\0${st.mtimeMs}`;
  } catch {
    return null;
  }
}

/** `talosctl version --client --short`: the client's own tag (no node is asked). */
export async function clientVersion(input: Pick<InstallInput, 'access'>, signal?: AbortSignal): Promise<string | null> {
  const key = await binaryKey(input.access.tools.talosctl);
  const known = key === null ? undefined : clientTags.get(key);
  if (known !== undefined) return known;
  const r = await talos(input.access, ['version', '--client', '--short'], { okExitCodes: [0, 1], ...(signal ? { signal } : {}) });
  if (r.exitCode !== 0) return null;
  const tag = parseTalosVersion(r.stdout, r.stderr).client;
  if (tag !== null && key !== null) clientTags.set(key, tag);
  return tag;
}

/** The line after which the call cannot be taken back. */
export function installNoReturn(path: InstallInput['path'], node: string): (line: string, stream: 'stdout' | 'stderr') => boolean {
  if (path === 'legacy') return (line, stream) => stream === 'stdout' && line.includes('Upgrade request received');
  return (line, stream) => stream === 'stderr' && (line.startsWith(`${node}: pulled image `) || line.includes('Upgrade request received'));
}

export async function installOnNode(input: InstallInput): Promise<InstallResult> {
  return typed(async () => {
    const ctx = Context.current();
    const reboots = installReboots(input.path);
    const wantSchematic = schematicOfImage(input.image);
    return runFencedStep<InstallResult>({
      input,
      action: 'install',
      bootIdBefore: input.bootIdBefore,
      reboots,
      async prepare(judged) {
        // The step's look of this boot gives version and schematic; boot id and stage are read fresh.
        const signal = ctx.cancellationSignal;
        const look =
          judged ?? (input.bootFacts && (await sameBoot(input.access, input.node, input.bootFacts, signal, { stage: true }))) ?? (await lookAt(input.access, input.node, signal, { kube: false }));
        if (look.reachable && look.version === input.toVersion && (wantSchematic === null || look.schematic === wantSchematic)) {
          // Already there: nothing to install. A boot the step did not see is the one that got it there.
          return { skip: { rebootIssued: false, bootIdAtIssue: input.bootIdBefore ?? look.bootId, reused: false } };
        }
        if (!look.reachable || look.stage !== 'running') {
          throw ApplicationFailure.retryable(`${input.node} is ${describeLook(look)}: not sending an upgrade to a node that is not running`, ErrorTypes.toolFailed);
        }
        const client = input.path === 'legacy' ? await clientVersion(input, ctx.cancellationSignal) : null;
        return {
          call: {
            tool: 'talosctl',
            args: installArgs(input.path, input.node, input.image, client, look.version),
            timeoutMs: Math.max(10 * 60_000, Math.min(DEFAULT_INSTALL_TIMEOUT_MS, ctx.info.startToCloseTimeoutMs || DEFAULT_INSTALL_TIMEOUT_MS)),
            context: { bootIdAtIssue: look.bootId, path: input.path },
            noReturn: installNoReturn(input.path, input.node),
          },
        };
      },
      interpret({ outcome, stdout, stderr, context, reused }) {
        const v = judgeInstall(outcome, stdout, stderr, input.node, reboots);
        if (v.kind === 'accepted') return { kind: 'done', result: { rebootIssued: v.rebooting, bootIdAtIssue: context.bootIdAtIssue, reused } };
        if (v.kind === 'uncertain') return { kind: 'uncertain', why: v.why };
        return { kind: 'failed', error: installFailure(v) };
      },
      landed(context) {
        return { rebootIssued: true, bootIdAtIssue: context.bootIdAtIssue, reused: true };
      },
    });
  });
}
