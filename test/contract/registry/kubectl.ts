/** The kubectl parsers and twin states the contract cases under test/contract/kubectl/ can name. */
import { parseDrain, parseKubectlVersion, parseNamespaceUid, parseNodes, parsePdbs, parsePods } from '../../../src/activities/parse/kubectl';
import { mutateSimState } from '../../../src/simulator';
import type { SimPdb, SimState } from '../../../src/simulator/types';
import type { ToolRegistry } from './types';

const IPV4 = /^(\d{1,3})(\.\d{1,3}){3}$/;

export const registry: ToolRegistry = {
  parsers: {
    nodes: (c) => parseNodes(c.stdout),
    /** A large list, summarised: counts, the ends, and that every InternalIP is an IP. */
    'nodes-summary': (c) => {
      const nodes = parseNodes(c.stdout);
      const end = (n: (typeof nodes)[number] | undefined) => (n ? { name: n.name, internalIP: n.internalIP } : null);
      return {
        count: nodes.length,
        controlPlanes: nodes.filter((n) => n.controlPlane).length,
        ready: nodes.filter((n) => n.ready === true).length,
        first: end(nodes[0]),
        last: end(nodes[nodes.length - 1]),
        everyInternalIPIsAnIP: nodes.every((n) => n.internalIP !== null && IPV4.test(n.internalIP)),
      };
    },
    pods: (c) => parsePods(c.stdout),
    version: (c) => parseKubectlVersion(c.stdout),
    drain: (c) => parseDrain(c.stdout, c.stderr),
    pdbs: (c) => parsePdbs(c.stdout),
    'namespace-uid': (c) => parseNamespaceUid(c.stdout),
  },
  twinStates: {
    /** How the twin's API server answers: unauthorized | forbidden | forbidden-writes | internal. */
    apiFailure: (sim, arg) => mutateSimState(sim.dir, (s) => void (s.kubeApiFailure = arg as NonNullable<SimState['kubeApiFailure']>)),
    /** The kubectl client version the twin reports (e.g. 1.36.4). */
    kubectlVersion: (sim, arg) => mutateSimState(sim.dir, (s) => void (s.kubectlVersion = String(arg))),
    noPods: (sim) => mutateSimState(sim.dir, (s) => void (s.pods = [])),
    /** "namespace/name": the pod is gone. */
    deletePod: (sim, arg) => {
      const [namespace, name] = String(arg).split('/');
      mutateSimState(sim.dir, (s) => void (s.pods = s.pods.filter((p) => !(p.namespace === namespace && p.name === name))));
    },
    /** jellyfin in CrashLoopBackOff and postgres-0 stuck Terminating. */
    podProblems: (sim) =>
      mutateSimState(sim.dir, (s, now) => {
        const crashing = s.pods.find((p) => p.app === 'jellyfin');
        const stuck = s.pods.find((p) => p.name === 'postgres-0');
        if (!crashing || !stuck) throw new Error('twin state "podProblems": the default cluster has no jellyfin or postgres-0 pod');
        crashing.waitingReason = 'CrashLoopBackOff';
        stuck.deletionTimestamp = new Date(now - 600_000).toISOString();
      }),
    pdb: (sim, arg) => mutateSimState(sim.dir, (s) => void (s.pdbs = [...(s.pdbs ?? []), arg as SimPdb])),
    /** The node (hostname) is cordoned. */
    cordon: (sim, arg) =>
      mutateSimState(sim.dir, (s) => {
        const node = s.nodes.find((n) => n.hostname === arg);
        if (!node) throw new Error(`twin state "cordon": no node ${String(arg)}`);
        node.unschedulable = true;
      }),
  },
};
