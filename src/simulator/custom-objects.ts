/**
 * Custom objects the kubectl twin serves for `kubernetes` gates, and how a node's disruption shows
 * in them (and in the metrics exporter, metrics.ts):
 * - a node is disrupted while it is cordoned, upgrading, rebooting or booting, and recovering for
 *   rebootSeconds after it is back (replicas rebuild, Ceph re-peers);
 * - every custom object shows its degradedStatus while any node recovers, and for good once a node
 *   named by a gate-never-clears fault has rebooted after the fault was set (until it is cleared);
 * - alert-fires-during@<node> raises talos_sim_alert_fault{node} while that node is disrupted.
 * Node built-ins and this package's small modules only (the twin's hot path imports it).
 */
import { isReachable } from './state';
import type { SimCustomObject, SimNode, SimState } from './types';

export type Obj = Record<string, unknown>;

export const PRESETS: Record<string, Omit<SimCustomObject, 'namespace' | 'name' | 'createdAt'>> = {
  ceph: {
    apiVersion: 'ceph.rook.io/v1',
    kind: 'CephCluster',
    resource: 'cephclusters',
    labels: {},
    spec: { cephVersion: { image: 'quay.io/ceph/ceph:v18.2.4' } },
    status: { phase: 'Ready', state: 'Created', ceph: { health: 'HEALTH_OK' } },
    degradedStatus: { phase: 'Ready', state: 'Created', ceph: { health: 'HEALTH_WARN', details: { PG_DEGRADED: { message: 'Degraded data redundancy', severity: 'HEALTH_WARN' } } } },
  },
  'longhorn-volume': {
    apiVersion: 'longhorn.io/v1beta2',
    kind: 'Volume',
    resource: 'volumes',
    labels: { longhornvolume: '' },
    spec: { numberOfReplicas: 3 },
    status: { state: 'attached', robustness: 'healthy' },
    degradedStatus: { state: 'attached', robustness: 'degraded' },
  },
};

/** Whether `node` is in or just out of an upgrade or reboot at `now`. */
export function disrupted(state: SimState, node: SimNode, now: number): boolean {
  // A booting node is in stage `booting` (state.ts markBooting): not `running`, so disrupted.
  if (node.unschedulable || !isReachable(node) || node.stage !== 'running') return true;
  const rebootedByUs = node.bootedAt > Date.parse(state.createdAt);
  return rebootedByUs && now - node.bootedAt < state.rebootSeconds * 1000;
}

/** Whether a gate-never-clears fault holds: set cluster-wide, or its node rebooted after it was set. */
function neverClears(state: SimState): boolean {
  return state.faults.some((f) => {
    if (f.kind !== 'gate-never-clears') return false;
    if (f.node === undefined) return true;
    const node = state.nodes.find((n) => n.address === f.node);
    return node !== undefined && (node.bootedAt > Date.parse(f.addedAt) || !isReachable(node));
  });
}

export function degraded(state: SimState, now: number): boolean {
  return neverClears(state) || state.nodes.some((n) => disrupted(state, n, now));
}

/** The object as `kubectl get -o json` prints a custom resource (managedFields stripped, as kubectl does). */
export function customObject(state: SimState, o: SimCustomObject, now: number): Obj {
  const status = degraded(state, now) && o.degradedStatus ? o.degradedStatus : o.status;
  return {
    apiVersion: o.apiVersion,
    kind: o.kind,
    metadata: {
      creationTimestamp: o.createdAt.replace(/\.\d+Z$/, 'Z'),
      generation: 1,
      ...(Object.keys(o.labels).length ? { labels: o.labels } : {}),
      name: o.name,
      namespace: o.namespace,
      resourceVersion: String(1000 + state.revision),
      uid: `${o.kind.toLowerCase()}-${o.namespace}-${o.name}`.slice(0, 36),
    },
    ...(o.spec ? { spec: o.spec } : {}),
    status,
  };
}

/**
 * The objects a kubectl resource argument names: `cephclusters`, `cephcluster`, `CephCluster`, or
 * fully qualified `cephcluster.v1.ceph.rook.io` / `cephclusters.ceph.rook.io`; null when no custom kind matches.
 */
export function customKind(state: SimState, arg: string): { kind: string; resource: string; group: string; objects: SimCustomObject[] } | null {
  const [first = '', ...rest] = arg.toLowerCase().split('.');
  const objects = (state.customObjects ?? []).filter((o) => first === o.resource || first === o.kind.toLowerCase());
  if (objects.length === 0) return null;
  let wanted = objects;
  if (rest.length > 0) {
    // resource.version.group, or resource.group (kubectl's ParseResourceArg tries both).
    wanted = objects.filter((o) => {
      const [group = '', version = ''] = o.apiVersion.split('/');
      return rest.join('.') === `${version}.${group}` || rest.join('.') === group;
    });
    if (wanted.length === 0) return null;
  }
  const one = wanted[0] as SimCustomObject;
  return { kind: one.kind, resource: one.resource, group: one.apiVersion.split('/')[0] ?? '', objects: wanted };
}

/** `app=x,tier!=y,key,!key` against labels. */
export function selectorMatches(selector: string | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  return selector.split(',').every((term) => {
    const m = /^(!?)([^=!]+)(?:(==|=|!=)(.*))?$/.exec(term.trim());
    if (!m) return false;
    const [, not, key = '', op, value = ''] = m;
    if (op === undefined) return not ? !(key in labels) : key in labels;
    return op === '!=' ? labels[key] !== value : labels[key] === value;
  });
}
