/**
 * What every tool twin gets: the invocation context, a way to fail like the real tool,
 * bounded sleeping, and kubeconfig lookup shared by kubectl/velero/flux. Node built-ins only.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { FaultKind, SimFault, SimNode, SimState, ToolName } from './types';

/** Names the simulated cluster directory for the twins; the bin scripts set it. */
export const SIM_DIR_ENV = 'TALOS_SIM_DIR';

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export interface TwinContext {
  dir: string;
  tool: ToolName;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  io: Io;
  /** Invocation-wide faults consumed when the call started (view faults such as not-ready). */
  faults: SimFault[];
  /** Filled by commands for the invocation log. */
  accepted: string[];
  firedFaults: FaultKind[];
}

/** Ends the invocation with `code`, printing `message` (if any) on stderr. */
export class ToolExit extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Poll interval of the twins' waiting loops. */
export const POLL_MS = 50;
/** No twin waits longer than this, whatever its flags say. */
export const MAX_WAIT_MS = 60 * 60 * 1000;

export function hasFault(ctx: TwinContext, kind: FaultKind, node?: SimNode): boolean {
  return ctx.faults.some((f) => f.kind === kind && (f.node === undefined || node === undefined || f.node === node.address));
}

/** Kubernetes Ready as seen by this invocation (state plus a not-ready view fault). */
export function kubeReady(ctx: TwinContext, node: SimNode): boolean {
  return node.stage !== 'rebooting' && node.kubernetesReady && !hasFault(ctx, 'not-ready', node);
}

export function home(env: NodeJS.ProcessEnv): string {
  return env.HOME && env.HOME !== '' ? env.HOME : os.homedir();
}

export function resolvePath(ctx: TwinContext, p: string): string {
  return path.isAbsolute(p) ? p : path.resolve(ctx.cwd, p);
}

export type KubeconfigLookup =
  | { kind: 'ok'; path: string }
  /** `--kubeconfig` names a file that does not exist. */
  | { kind: 'explicit-missing'; path: string }
  /** KUBECONFIG / ~/.kube/config give nothing: client-go falls back to localhost:8080. */
  | { kind: 'none' };

/** client-go's loading rules: the flag must exist; KUBECONFIG entries that do not exist are skipped. */
export function findKubeconfig(ctx: TwinContext, flag: string | undefined): KubeconfigLookup {
  if (flag !== undefined && flag !== '') {
    const p = resolvePath(ctx, flag);
    return fs.existsSync(p) ? { kind: 'ok', path: p } : { kind: 'explicit-missing', path: flag };
  }
  const env = ctx.env.KUBECONFIG;
  const candidates = env && env !== '' ? env.split(path.delimiter).filter((p) => p !== '') : [path.join(home(ctx.env), '.kube', 'config')];
  for (const c of candidates) {
    const p = resolvePath(ctx, c);
    if (fs.existsSync(p)) return { kind: 'ok', path: p };
  }
  return { kind: 'none' };
}

/** Where the simulated API server listens (first control plane); only a label. */
export function apiServer(state: SimState): string {
  const cp = state.nodes.find((n) => n.role === 'controlplane');
  return `${cp?.address ?? '127.0.0.1'}:6443`;
}
