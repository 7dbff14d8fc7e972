/**
 * drainNode: the product's own drain, `kubectl drain <node> --ignore-daemonsets --delete-emptydir-data
 * --timeout=<s>s` (`--disable-eviction` for mode delete), held to test/contract/kubectl/drain-*.
 *
 * Whose cordon is it? Whether the node was unschedulable is read BEFORE anything cordons it and kept
 * (heartbeat details and a small local note), so a retry knows a cordon it finds is this step's own. The
 * step's look, when it ran right before, has read it already (unschedulableAtLook).
 * A node cordoned by someone else is not this step's to drain and later uncordon: non-retryable
 * failure (preflight is where it should have been caught).
 *
 * A drain that runs out of time is DrainStalled (non-retryable) with the pods that would not leave and,
 * when `kubectl get pdb -A -o json` shows exactly one budget in their namespace that allows no
 * disruption, that budget (kubectl does not print the PDB's name: the 429 carries only the message).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { lastMeaningfulLine } from '../tool-messages';
import { typed } from '../failures';
import { parseDrain, parsePdbs, type DrainFacts, type PdbFacts } from '../parse/kubectl';
import { ErrorTypes } from '../../contract/error-types';
import { kubectl, readKubeNode } from './common';
import { fenceDir, fenceKey, writeJsonAtomic } from './fence/store';
import type { DrainInput, DrainResult, DrainStall } from './types';
import { drainArgs, kubectlGetPdbsArgs } from '../../plan/commands';

/** A node cordoned by someone else: the step does not drain (or later uncordon) it. */
export const NODE_CORDONED_ELSEWHERE = 'NodeCordonedElsewhere';

interface CordonNote {
  phase: 'draining';
  kubeName: string;
  /** The activity scheduling (run id / activity id) the note belongs to: retries share it. */
  scheduling: string;
  /** Whether the node was unschedulable before this step touched it. */
  wasUnschedulable: boolean;
}

function scheduling(): string {
  const info = Context.current().info;
  return `${info.workflowExecution?.runId ?? ''}/${info.activityId}`;
}

function priorNote(details: unknown, kubeName: string): CordonNote | null {
  const d = details as Partial<CordonNote> | undefined;
  const ok = d && d.phase === 'draining' && d.kubeName === kubeName && d.scheduling === scheduling() && typeof d.wasUnschedulable === 'boolean';
  return ok ? (d as CordonNote) : null;
}

function notePath(input: DrainInput): string {
  const info = Context.current().info;
  const key = fenceKey(info.workflowExecution?.workflowId ?? 'no-workflow', input.stepId, 'install').replace(/\.install$/, '.cordon');
  return path.join(fenceDir(), `${key}.note.json`);
}

function readNote(file: string, kubeName: string): CordonNote | null {
  try {
    return priorNote(JSON.parse(fs.readFileSync(file, 'utf8')), kubeName);
  } catch {
    return null;
  }
}

/** The pods that would not leave, each with the budget that holds it when that is unambiguous. */
function stallOf(facts: DrainFacts, pdbs: PdbFacts[] | null, cordonedByUs: boolean): DrainStall {
  const refused = new Map(facts.refused.map((r) => [`${r.namespace}/${r.pod}`, r]));
  const keys = new Set(refused.keys());
  for (const name of facts.pending) {
    // kubectl prints pending pods by name only; their namespace is in the "evicting pod NS/NAME" lines.
    const full = facts.evicting.find((e) => e.endsWith(`/${name}`)) ?? `?/${name}`;
    keys.add(full);
  }
  const blocking = [...keys].sort().map((key) => {
    const [namespace = '', pod = ''] = key.split('/');
    const r = refused.get(key);
    const holding = (pdbs ?? []).filter((b) => b.namespace === namespace && b.disruptionsAllowed === 0);
    const pdb = r && holding.length === 1 ? (holding[0]?.name ?? null) : null;
    const message = r?.message ?? facts.error ?? 'still on the node when the drain timed out';
    return { namespace, pod, pdb, message: holding.length > 1 && r ? `${message} (budgets allowing no disruption here: ${holding.map((b) => b.name).join(', ')})` : message };
  });
  return { cordonedByUs, blocking };
}

/** Whether the Node is unschedulable now, before anything of this step cordons it. */
async function readCordon(input: DrainInput, signal: AbortSignal): Promise<boolean> {
  const seen = await readKubeNode(input.access, input.kubeName, signal);
  if (!seen.answered) throw ApplicationFailure.retryable(`the Kubernetes API did not answer; ${input.kubeName} was not cordoned`, ErrorTypes.toolFailed);
  if (!seen.node) throw ApplicationFailure.nonRetryable(`no Kubernetes node named ${input.kubeName}`, ErrorTypes.badInput);
  return seen.node.unschedulable;
}

export async function drainNode(input: DrainInput): Promise<DrainResult> {
  return typed(async () => {
    const ctx = Context.current();
    const signal = ctx.cancellationSignal;
    const file = notePath(input);
    const known = priorNote(ctx.info.heartbeatDetails, input.kubeName) ?? readNote(file, input.kubeName);
    let note: CordonNote;
    if (known) note = known;
    else {
      const wasUnschedulable = input.unschedulableAtLook ?? (await readCordon(input, signal));
      // An earlier attempt of this step cordoned it (the workflow knows from history): that cordon is the run's own.
      note = { phase: 'draining', kubeName: input.kubeName, scheduling: scheduling(), wasUnschedulable: input.ownCordon === true ? false : wasUnschedulable };
      // Kept before cordoning: a retry must know the cordon it will find is this step's own.
      writeJsonAtomic(file, note);
    }
    if (note.wasUnschedulable) {
      throw ApplicationFailure.nonRetryable(
        `${input.kubeName} was already cordoned before this step (by someone else): not draining it, and not uncordoning it later. ` +
          `Find out why it is cordoned; uncordon it (kubectl uncordon ${input.kubeName}) and run again if it may be upgraded`,
        NODE_CORDONED_ELSEWHERE,
      );
    }
    ctx.heartbeat(note);

    const seconds = Math.max(1, Math.ceil(input.timeoutMs / 1000));
    const args = drainArgs(input.kubeName, seconds, input.mode);
    const leaving = new Set<string>();
    const gone = new Set<string>();
    const remaining = (): string[] => [...leaving].filter((p) => !gone.has(p.split('/')[1] ?? p)).sort();
    const beat = setInterval(() => ctx.heartbeat({ ...note, podsRemaining: remaining() }), Math.min(2_000, Math.max(200, input.tuning?.pollIntervalMs ?? 2_000)));
    let r;
    try {
      r = await kubectl(input.access, args, {
        signal,
        timeoutMs: input.timeoutMs + 60_000,
        okExitCodes: [0, 1],
        onLine: (line) => {
          let m: RegExpExecArray | null;
          if ((m = /^evicting pod (\S+\/\S+?)(?: \(.*\))?$/.exec(line))) leaving.add(m[1] ?? '');
          else if ((m = /^pod\/(\S+) (?:evicted|deleted)$/.exec(line))) gone.add(m[1] ?? '');
        },
      });
    } finally {
      clearInterval(beat);
    }
    const facts = parseDrain(r.stdout, r.stderr);
    if (r.exitCode === 0 && facts.drained) return { cordonedByUs: true, removed: [...facts.evicted, ...facts.deleted].sort() };
    if (facts.timedOut || facts.pending.length > 0 || facts.refused.length > 0) {
      const pdbRead = await kubectl(input.access, kubectlGetPdbsArgs(), { signal, okExitCodes: [0, 1] });
      const pdbs = pdbRead.exitCode === 0 ? parsePdbs(pdbRead.stdout) : null;
      const stall = stallOf(facts, pdbs, true);
      const names = stall.blocking.map((b) => `${b.namespace}/${b.pod}${b.pdb ? ` (held by PodDisruptionBudget ${b.pdb})` : ''}`).join(', ');
      throw ApplicationFailure.create({
        message: `draining ${input.kubeName} did not finish within ${seconds}s: ${names || 'pods still on the node'}; the node stays cordoned`,
        type: ErrorTypes.drainStalled,
        nonRetryable: true,
        details: [stall],
      });
    }
    throw ApplicationFailure.retryable(`kubectl drain ${input.kubeName} failed: ${facts.error ?? lastMeaningfulLine(r.stderr, r.stdout)}`, ErrorTypes.toolFailed);
  });
}
