/**
 * A small Kubernetes API server for running the real kubectl in tests: plain HTTP on 127.0.0.1, a
 * free port, and only what the product's kubectl calls need: discovery (/api, /apis and their group
 * versions, /version), nodes (list, get, the strategic-merge PATCH cordon/uncordon send), pods (list,
 * get, DELETE, the pods/eviction subresource refusing with 429 while a PodDisruptionBudget forbids
 * it), namespaces, policy/v1 PodDisruptionBudgets, and the DaemonSet lookup drain makes. Failure
 * modes answer the way a real API server does: 401 for everything (bad credentials), 403 or 500 for
 * resource requests while discovery and /version still answer (RBAC lets every authenticated user
 * discover; an etcd failure does not touch the discovery documents).
 *
 * The 403 message follows k8s.io/apiserver's forbiddenMessage and apimachinery's NewForbidden; the
 * 429 follows kubernetes' pkg/registry/core/pod/storage/eviction.go checkAndDecrement (see the
 * contract cases' evidence).
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { healthyPods, namespaceObject, nodeObject, pdbObject, podObject, versionInfo, type KubeFixture, type Obj } from './kube-objects';

/** forbidden-writes: RBAC lets the user read but not patch, delete or evict (a read-only role). */
export type ApiFailure = 'none' | 'unauthorized' | 'forbidden' | 'forbidden-writes' | 'internal';

export interface KubeApiServer {
  url: string;
  port: number;
  /** The live cluster: cordon, eviction and delete change it. */
  fixture: KubeFixture;
  failure: ApiFailure;
  /** Every request, in order (method and path with query). */
  requests: { method: string; path: string }[];
  close(): Promise<void>;
}

/** The user a 403 names (what RBAC would print for a read-only service account). */
export const FORBIDDEN_USER = 'system:serviceaccount:ops:talos-upgrade';
export const INTERNAL_CAUSE = 'etcdserver: request timed out';

/** A kubeconfig for `server` (http://127.0.0.1:PORT) with a bearer token; returns the file. */
export function writeKubeconfig(file: string, server: string): string {
  fs.writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- cluster:',
      `    server: ${server}`,
      '  name: test',
      'contexts:',
      '- context:',
      '    cluster: test',
      '    user: test',
      '  name: test',
      'current-context: test',
      'users:',
      '- name: test',
      '  user:',
      '    token: not-a-secret-test-token',
      '',
    ].join('\n'),
  );
  return file;
}

/** A port nothing listens on (bound, then released), for the "unreachable" state. */
export async function unusedPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

interface Resource {
  name: string;
  singularName: string;
  namespaced: boolean;
  kind: string;
  verbs: string[];
  shortNames?: string[];
  group?: string;
  version?: string;
}

const CORE: Resource[] = [
  { name: 'namespaces', singularName: 'namespace', namespaced: false, kind: 'Namespace', verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], shortNames: ['ns'] },
  { name: 'nodes', singularName: 'node', namespaced: false, kind: 'Node', verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'], shortNames: ['no'] },
  { name: 'pods', singularName: 'pod', namespaced: true, kind: 'Pod', verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'], shortNames: ['po'] },
  { name: 'pods/eviction', singularName: '', namespaced: true, group: 'policy', version: 'v1', kind: 'Eviction', verbs: ['create'] },
];
const GROUPS: Record<string, Record<string, Resource[]>> = {
  apps: { v1: [{ name: 'daemonsets', singularName: 'daemonset', namespaced: true, kind: 'DaemonSet', verbs: ['get', 'list', 'watch'], shortNames: ['ds'] }] },
  policy: { v1: [{ name: 'poddisruptionbudgets', singularName: 'poddisruptionbudget', namespaced: true, kind: 'PodDisruptionBudget', verbs: ['get', 'list', 'watch'], shortNames: ['pdb'] }] },
};

function status(code: number, reason: string, message: string, details?: Obj): Obj {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code };
}

function notFound(resource: string, name: string, group = ''): Obj {
  return status(404, 'NotFound', `${resource}${group ? `.${group}` : ''} "${name}" not found`, { name, ...(group ? { group } : {}), kind: resource });
}

/** The request's RBAC attributes, for the 403 message. */
interface Attributes {
  verb: string;
  group: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
}

function forbidden(a: Attributes): Obj {
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const why = a.namespace
    ? `User "${FORBIDDEN_USER}" cannot ${a.verb} resource "${resource}" in API group "${a.group}" in the namespace "${a.namespace}"`
    : `User "${FORBIDDEN_USER}" cannot ${a.verb} resource "${resource}" in API group "${a.group}" at the cluster scope`;
  const qualified = a.group ? `${a.resource}.${a.group}` : a.resource;
  const message = a.name ? `${qualified} "${a.name}" is forbidden: ${why}` : `${qualified} is forbidden: ${why}`;
  return status(403, 'Forbidden', message, { ...(a.name ? { name: a.name } : {}), ...(a.group ? { group: a.group } : {}), kind: a.resource });
}

/** Parses /api/v1/... or /apis/G/V/... into RBAC attributes; null for discovery and other paths. */
function attributes(method: string, path: string): Attributes | null {
  const parts = path.split('/').filter(Boolean);
  let group = '';
  let rest: string[];
  if (parts[0] === 'api' && parts[1] === 'v1') rest = parts.slice(2);
  else if (parts[0] === 'apis' && parts.length > 3) [group, rest] = [parts[1] ?? '', parts.slice(3)];
  else return null;
  if (rest.length === 0) return null;
  // As k8s.io/apiserver's RequestInfoFactory: /namespaces/NS/... sets the namespace, and so does
  // /namespaces/NAME itself (the namespace object is "in" its own namespace for RBAC).
  let namespace = '';
  if (rest[0] === 'namespaces' && rest.length > 1) {
    namespace = rest[1] ?? '';
    if (rest.length > 2) rest = rest.slice(2);
  }
  const [resource = '', name = '', subresource = ''] = rest;
  const verbs: Record<string, string> = { GET: name ? 'get' : 'list', PATCH: 'patch', DELETE: 'delete', POST: 'create', PUT: 'update' };
  return { verb: verbs[method] ?? method.toLowerCase(), group, resource, subresource, namespace, name };
}

function discovery(path: string, port: number): Obj | null {
  const resourceList = (groupVersion: string, resources: Resource[]): Obj => ({
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion,
    resources: resources.map((r) => ({ ...r, storageVersionHash: r.singularName ? Buffer.from(r.kind).toString('base64').slice(0, 11) : undefined })),
  });
  if (path === '/api') return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: `127.0.0.1:${port}` }] };
  if (path === '/apis') {
    return {
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: Object.keys(GROUPS).map((name) => ({ name, versions: [{ groupVersion: `${name}/v1`, version: 'v1' }], preferredVersion: { groupVersion: `${name}/v1`, version: 'v1' } })),
    };
  }
  if (path === '/api/v1') return resourceList('v1', CORE);
  const m = /^\/apis\/([^/]+)\/([^/]+)$/.exec(path);
  const resources = m ? GROUPS[m[1] ?? '']?.[m[2] ?? ''] : undefined;
  return m && resources ? resourceList(`${m[1]}/${m[2]}`, resources) : null;
}

export async function startKubeApiServer(fixture: KubeFixture, opts: { failure?: ApiFailure } = {}): Promise<KubeApiServer> {
  let revision = 1000;
  const rv = (): string => String(revision);
  const requests: KubeApiServer['requests'] = [];
  const self = { fixture, failure: opts.failure ?? 'none', requests } as KubeApiServer;

  const nodeIP = (name: string): string => fixture.nodes.find((n) => n.name === name)?.internalIP ?? '';
  const node = (name: string): Obj | null => {
    const i = fixture.nodes.findIndex((n) => n.name === name);
    const n = fixture.nodes[i];
    return n ? nodeObject(n, i, rv()) : null;
  };
  const pod = (i: number): Obj => {
    const p = fixture.pods[i];
    if (!p) throw new Error(`no pod ${i}`);
    return podObject(p, nodeIP(p.node), i, rv());
  };
  const list = (kind: string, apiVersion: string, items: Obj[]): Obj => ({
    kind,
    apiVersion,
    metadata: { resourceVersion: rv() },
    // A typed list from the API server carries kind/apiVersion on the list, not on its items.
    items: items.map(({ kind: _k, apiVersion: _a, ...item }) => item),
  });

  function route(method: string, path: string, query: URLSearchParams, body: string): [number, Obj] {
    const a = attributes(method, path);
    if (path === '/version') return [200, versionInfo(fixture.serverVersion)];
    const disc = discovery(path, server.port);
    if (disc) return [200, disc];
    if (!a) return [404, status(404, 'NotFound', 'the server could not find the requested resource')];
    if (self.failure === 'forbidden' || (self.failure === 'forbidden-writes' && method !== 'GET')) return [403, forbidden(a)];
    if (self.failure === 'internal') return [500, status(500, 'InternalError', `Internal error occurred: ${INTERNAL_CAUSE}`, { causes: [{ message: INTERNAL_CAUSE }] })];

    const podIndex = (): number => fixture.pods.findIndex((p) => p.namespace === a.namespace && p.name === a.name);
    const key = `${method} ${a.group}/${a.resource}${a.namespace ? ' ns' : ''}${a.name ? ' name' : ''}${a.subresource ? `/${a.subresource}` : ''}`;
    switch (key) {
      case 'GET /nodes':
        return [
          200,
          list(
            'NodeList',
            'v1',
            fixture.nodes.map((_, i) => node(fixture.nodes[i]?.name ?? '') as Obj),
          ),
        ];
      case 'GET /nodes name':
        return node(a.name) ? [200, node(a.name) as Obj] : [404, notFound('nodes', a.name)];
      case 'PATCH /nodes name': {
        const n = fixture.nodes.find((x) => x.name === a.name);
        if (!n) return [404, notFound('nodes', a.name)];
        const patch = JSON.parse(body) as { spec?: { unschedulable?: boolean | null } };
        if (patch.spec && 'unschedulable' in patch.spec) n.unschedulable = patch.spec.unschedulable === true;
        revision++;
        return [200, node(a.name) as Obj];
      }
      case 'GET /pods':
      case 'GET /pods ns': {
        const onNode = /^spec\.nodeName=(.*)$/.exec(query.get('fieldSelector') ?? '')?.[1];
        const items = fixture.pods.flatMap((p, i) => ((!a.namespace || p.namespace === a.namespace) && (onNode === undefined || p.node === onNode) ? [pod(i)] : []));
        return [200, list('PodList', 'v1', items)];
      }
      case 'GET /pods ns name':
        return podIndex() >= 0 ? [200, pod(podIndex())] : [404, notFound('pods', a.name)];
      case 'DELETE /pods ns name': {
        const i = podIndex();
        if (i < 0) return [404, notFound('pods', a.name)];
        const gone = pod(i);
        fixture.pods.splice(i, 1);
        revision++;
        return [200, gone];
      }
      case 'POST /pods ns name/eviction': {
        const i = podIndex();
        const p = fixture.pods[i];
        if (!p) return [404, notFound('pods', a.name)];
        const budget = fixture.pdbs.find((b) => b.namespace === p.namespace && b.app === p.app);
        const ignorable = (p.phase ?? 'Running') !== 'Running' || p.terminating === true;
        if (budget && !ignorable && healthyPods(fixture, budget) - budget.minAvailable <= 0) {
          const { status: s } = pdbObject(fixture, budget, rv()) as { status: { desiredHealthy: number; currentHealthy: number } };
          return [
            429,
            status(429, 'TooManyRequests', "Cannot evict pod as it would violate the pod's disruption budget.", {
              causes: [{ reason: 'DisruptionBudget', message: `The disruption budget ${budget.name} needs ${s.desiredHealthy} healthy pods and has ${s.currentHealthy} currently` }],
            }),
          ];
        }
        fixture.pods.splice(i, 1);
        revision++;
        return [201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 }];
      }
      case 'GET /namespaces':
        return [
          200,
          list(
            'NamespaceList',
            'v1',
            fixture.namespaces.map((n) => namespaceObject(n, rv())),
          ),
        ];
      case 'GET /namespaces ns name':
        return fixture.namespaces.includes(a.name) ? [200, namespaceObject(a.name, rv())] : [404, notFound('namespaces', a.name)];
      case 'GET policy/poddisruptionbudgets':
      case 'GET policy/poddisruptionbudgets ns': {
        const items = fixture.pdbs.filter((b) => !a.namespace || b.namespace === a.namespace).map((b) => pdbObject(fixture, b, rv()));
        return [200, list('PodDisruptionBudgetList', 'policy/v1', items)];
      }
      case 'GET apps/daemonsets ns name': {
        const owns = fixture.pods.some((p) => p.ownerKind === 'DaemonSet' && p.namespace === a.namespace && p.ownerName === a.name);
        if (!owns) return [404, notFound('daemonsets', a.name, 'apps')];
        return [200, { kind: 'DaemonSet', apiVersion: 'apps/v1', metadata: { name: a.name, namespace: a.namespace, resourceVersion: rv() }, spec: {}, status: {} }];
      }
      default:
        return [405, status(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`)];
    }
  }

  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      requests.push({ method: req.method ?? 'GET', path: `${url.pathname}${url.search}` });
      let code: number;
      let doc: Obj;
      if (self.failure === 'unauthorized') [code, doc] = [401, status(401, 'Unauthorized', 'Unauthorized')];
      else {
        try {
          [code, doc] = route(req.method ?? 'GET', url.pathname, url.searchParams, body);
        } catch (err) {
          [code, doc] = [500, status(500, 'InternalError', `Internal error occurred: ${(err as Error).message}`)];
        }
      }
      const text = JSON.stringify(doc);
      res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
    });
  }) as http.Server & { port: number };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.port = (server.address() as AddressInfo).port;
  self.port = server.port;
  self.url = `http://127.0.0.1:${server.port}`;
  self.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return self;
}
