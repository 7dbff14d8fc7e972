/**
 * Inputs and results of the gate and silence activities. The workflow imports this file as types
 * only. Inputs carry config PATHS (never contents); results carry redacted, bounded evidence.
 */
import type { GateCheck, KubernetesGateObject, Matcher } from '../../plan/gates';
import type { ClusterAccess } from '../types';

/** What every check returns: whether it passed, one line, and what it saw (bounded, redacted). */
export interface GateCheckResult {
  passed: boolean;
  /** One line, e.g. "2 alerts firing" or "exit 1". */
  summary: string;
  /** The command's output tail, the object's fields, the series or alerts: at most MAX_EVIDENCE_CHARS. */
  evidence: string;
}

export const MAX_EVIDENCE_CHARS = 1_500;

/** The step a gate runs for: exported to a command gate as TALOS_UPGRADE_* environment variables. */
interface GateContext {
  gate: string;
  stepId: string;
  node: string | null;
  nodeName: string | null;
}

export interface CommandGateInput {
  access: ClusterAccess;
  argv: string[];
  context: GateContext;
  timeoutMs: number;
}

export interface KubernetesGateInput {
  access: ClusterAccess;
  object: KubernetesGateObject;
  condition: string;
  timeoutMs: number;
}

export interface PrometheusGateInput {
  check: Extract<GateCheck, { kind: 'prometheus' | 'alerts' }>;
  timeoutMs: number;
}

export interface CreateSilenceInput {
  url: string;
  matchers: Matcher[];
  durationMs: number;
  comment: string;
  createdBy: string;
  /** Unique per run and silence: a retried create finds the silence its first attempt made. */
  marker: string;
}

export interface ExtendSilenceInput {
  url: string;
  id: string;
  durationMs: number;
}

export interface ExpireSilenceInput {
  url: string;
  id: string;
}

export interface SilenceResult {
  /** The silence's id now (Alertmanager gives a replaced silence a new one). */
  id: string;
  state: 'active' | 'pending' | 'expired';
  endsAt: string | null;
  /** A create that found the silence an earlier attempt made. */
  reused?: boolean;
}
