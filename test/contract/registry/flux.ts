/** The flux parsers and twin states the contract cases under test/contract/flux/ can name. */
import { readFluxGet } from '../../../src/activities/parse/flux';
import { mutateSimState } from '../../../src/simulator';
import type { SimFluxObject } from '../../../src/simulator/types';
import type { ContractCase } from '../../helpers/contract';
import type { ToolRegistry } from './types';

/** A Flux object as a case describes it: `ready` is the Ready condition's status, null without one. */
interface CaseFluxObject {
  namespace: string;
  name: string;
  revision: string;
  suspended: boolean;
  ready: 'True' | 'False' | 'Unknown' | null;
  message: string;
}

const toSim = (o: CaseFluxObject): SimFluxObject => ({
  namespace: o.namespace,
  name: o.name,
  revision: o.revision,
  suspended: o.suspended,
  ready: o.ready === 'True',
  readyStatus: o.ready,
  message: o.message,
});

const kindOf = (c: ContractCase) => (c.command[1] === 'helmreleases' ? 'HelmRelease' : 'Kustomization');

export const registry: ToolRegistry = {
  parsers: {
    get: (c) => readFluxGet(c.stdout, c.stderr, c.exitCode, kindOf(c)),
  },
  twinStates: {
    /** Replaces the cluster's Kustomizations and/or HelmReleases. */
    fluxObjects: (sim, arg) => {
      const lists = arg as { kustomizations?: CaseFluxObject[]; helmreleases?: CaseFluxObject[] };
      mutateSimState(sim.dir, (s) => {
        if (lists.kustomizations) s.flux.kustomizations = lists.kustomizations.map(toSim);
        if (lists.helmreleases) s.flux.helmreleases = lists.helmreleases.map(toSim);
      });
    },
    /** The Flux version installed in the cluster (it decides which HelmRelease API versions are served). */
    fluxCluster: (sim, arg) => {
      mutateSimState(sim.dir, (s) => {
        s.flux.clusterVersion = String(arg);
      });
    },
  },
};
