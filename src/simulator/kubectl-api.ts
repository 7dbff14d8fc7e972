/**
 * How the kubectl twin reaches its API server and fails the way kubectl does (test/contract/kubectl/):
 * the kubeconfig lookup, the klog lines client-go's discovery logs for every failed attempt, the
 * refused connection, 401, and the 403/500 the API server answers resource requests with.
 * Node built-ins and this package's small modules only (hot path).
 */
import { flagString, type ParsedArgs } from './args';
import { apiServer, findKubeconfig, ToolExit, type TwinContext } from './runtime';
import { apiReachable, loadState } from './state';
import type { SimState } from './types';

/** The RBAC identity a 403 names (the twin's kubeconfig token stands for it). */
const TWIN_USER = 'system:serviceaccount:kube-system:talos-upgrade';

/**
 * How many times kubectl tries discovery before it gives up, each logging a klog line: five for
 * get and delete, four for cordon, uncordon and drain (captured from kubectl 1.36 and 1.37).
 */
const DISCOVERY_ATTEMPTS: Record<string, number> = { get: 5, delete: 5, cordon: 4, uncordon: 4, drain: 4 };

function minor(version: string): number {
  return Number(version.split('.')[1] ?? 0);
}

function klogHeader(now: Date): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  const micros = now.getMilliseconds() * 1000 + Number(process.hrtime.bigint() % 1000n);
  const time = `${two(now.getMonth() + 1)}${two(now.getDate())} ${two(now.getHours())}:${two(now.getMinutes())}:${two(now.getSeconds())}.${String(micros).padStart(6, '0')}`;
  return `E${time} ${String(process.pid).padStart(7, ' ')}`;
}

/** client-go's error log for a failed discovery of the API group list (its form changed in 1.37). */
function klogLines(state: SimState | null, verb: string, err: string): string {
  const count = DISCOVERY_ATTEMPTS[verb] ?? 5;
  const v137 = state !== null && minor(state.kubectlVersion) >= 37;
  const quoted = err.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    lines.push(
      v137
        ? `${klogHeader(new Date())} memcache.go:381] "Couldn't get current server API group list" err="${quoted}"`
        : `${klogHeader(new Date())} memcache.go:265] "Unhandled Error" err="couldn't get current server API group list: ${quoted}"`,
    );
  }
  return lines.join('\n');
}

const UNAUTHORIZED = 'error: You must be logged in to the server (the server has asked for the client to provide credentials)';

/**
 * Loads the state after checking the kubeconfig and that the API server answers discovery.
 * `verb` is kubectl's command (get, delete, cordon, ...); `version` passes discovery: false
 * (it asks /version directly: no klog lines).
 */
export function connect(ctx: TwinContext, p: ParsedArgs, verb: string, discovery = true): SimState {
  const lookup = findKubeconfig(ctx, flagString(p, 'kubeconfig'));
  if (lookup.kind === 'explicit-missing') throw new ToolExit(1, `error: stat ${lookup.path}: no such file or directory`);
  const refused = (host: string, url: string, dial: string, state: SimState | null): never => {
    const message = `The connection to the server ${host} was refused - did you specify the right host or port?`;
    throw new ToolExit(1, discovery ? `${klogLines(state, verb, `Get "${url}/api?timeout=32s": dial tcp ${dial}: connect: connection refused`)}\n${message}` : message);
  };
  if (lookup.kind === 'none') refused('localhost:8080', 'http://localhost:8080', '127.0.0.1:8080', loadState(ctx.dir));
  const state = loadState(ctx.dir);
  if (!apiReachable(state)) refused(apiServer(state), `https://${apiServer(state)}`, apiServer(state), state);
  if (state.kubeApiFailure === 'unauthorized') {
    throw new ToolExit(1, discovery ? `${klogLines(state, verb, 'the server has asked for the client to provide credentials')}\n${UNAUTHORIZED}` : UNAUTHORIZED);
  }
  return state;
}

export interface ApiRequest {
  verb: 'get' | 'list' | 'patch' | 'delete' | 'create';
  resource: string;
  group?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

/** The API server's refusal of a resource request in this state (403 or 500), as kubectl prints it; null when it answers. */
export function apiRefusal(state: SimState, req: ApiRequest): { reason: string; message: string } | null {
  const failure = state.kubeApiFailure;
  const write = req.verb !== 'get' && req.verb !== 'list';
  if (failure === 'internal') return { reason: 'InternalError', message: 'Internal error occurred: etcdserver: request timed out' };
  if (failure !== 'forbidden' && !(failure === 'forbidden-writes' && write)) return null;
  const group = req.group ?? '';
  const resource = req.subresource ? `${req.resource}/${req.subresource}` : req.resource;
  const scope = req.namespace ? `in the namespace "${req.namespace}"` : 'at the cluster scope';
  const why = `User "${TWIN_USER}" cannot ${req.verb} resource "${resource}" in API group "${group}" ${scope}`;
  const qualified = group ? `${req.resource}.${group}` : req.resource;
  return { reason: 'Forbidden', message: req.name ? `${qualified} "${req.name}" is forbidden: ${why}` : `${qualified} is forbidden: ${why}` };
}

/** kubectl's "Error from server (<Reason>): <message>". */
export function fromServer(refusal: { reason: string; message: string }): string {
  return `Error from server (${refusal.reason}): ${refusal.message}`;
}
