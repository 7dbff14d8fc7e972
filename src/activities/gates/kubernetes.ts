/**
 * A `kubernetes` gate: `kubectl get <kind>.<version>.<group> [name | -l selector] [-n ns] -o json`
 * (the fully qualified form kubectl's resource builder takes, so a CRD's short names cannot collide),
 * then the spec's condition (gate-condition.ts) over what it printed. A refused or failed read is a
 * check that did not pass, with kubectl's words as the evidence.
 */
import { evaluateCondition, parseCondition } from '../../plan/gate-condition';
import type { KubernetesGateObject } from '../../plan/gates';
import { runTool, ToolError } from '../exec';
import { redactKnown } from '../redact';
import { toolEnv } from '../tool-env';
import { activitySignal } from './command';
import { MAX_EVIDENCE_CHARS, type GateCheckResult, type KubernetesGateInput } from './types';

/** `cephcluster.v1.ceph.rook.io`; core objects (`v1`) by their lowercase kind alone. */
function resourceArg(o: KubernetesGateObject): string {
  const slash = o.apiVersion.indexOf('/');
  const kind = o.kind.toLowerCase();
  if (slash < 0) return kind;
  return `${kind}.${o.apiVersion.slice(slash + 1)}.${o.apiVersion.slice(0, slash)}`;
}

function kubectlGetArgs(o: KubernetesGateObject, timeoutMs: number): string[] {
  const args = ['get', resourceArg(o)];
  if (o.name) args.push(o.name);
  if (o.selector) args.push('-l', o.selector);
  if (o.namespace) args.push('-n', o.namespace);
  args.push('-o', 'json', `--request-timeout=${Math.max(1, Math.round(timeoutMs / 1000))}s`);
  return args;
}

export async function readKubernetesGate(input: KubernetesGateInput): Promise<GateCheckResult> {
  const cond = parseCondition(input.condition);
  const args = kubectlGetArgs(input.object, Math.max(1_000, input.timeoutMs - 5_000));
  let stdout: string;
  try {
    stdout = (await runTool('kubectl', input.access.tools.kubectl, args, { env: toolEnv(input.access), timeoutMs: input.timeoutMs, signal: activitySignal(), maxOutputBytes: 4 * 1024 * 1024 })).stdout;
  } catch (err) {
    if (err instanceof ToolError && err.kind !== 'cancelled') {
      return {
        passed: false,
        summary: `kubectl could not read ${input.object.kind}${input.object.name ? ` ${input.object.name}` : 's'}`,
        evidence: redactKnown(err.message).slice(0, MAX_EVIDENCE_CHARS),
      };
    }
    throw err;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(stdout);
  } catch {
    return { passed: false, summary: 'kubectl printed no JSON', evidence: redactKnown(stdout.slice(0, 300)) };
  }
  const result = evaluateCondition(cond, doc);
  return {
    passed: result.passed,
    summary: `${input.condition}: ${result.passed ? 'holds' : 'does not hold'}`,
    evidence: redactKnown(result.evidence).slice(0, MAX_EVIDENCE_CHARS),
  };
}
