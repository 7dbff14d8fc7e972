/**
 * upgrade-k8s's pre-upgrade checks for Kubernetes items the target minor removed
 * (siderolabs/go-kubernetes kubernetes/upgrade/checks.go, Checks.Run and ComponentRemovedItemsError,
 * v0.2.17 … v0.2.41): the lists per upgrade path, the scan of each control plane's static pods and
 * each node's kubelet arguments, the count of objects of removed API versions, and the error text
 * (tables on stderr). The lists are the library's data; only paths to the next minor have entries.
 */
import { tabwrite } from '../format';
import type { SimNode, SimState } from '../types';

type K8sComponent = 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'kubelet';

interface PathChecks {
  /** Common to kube-apiserver, kube-controller-manager and kube-scheduler. */
  featureGates?: string[];
  apiServerFlags?: string[];
  admissionPlugins?: string[];
  apiResources?: string[];
  controllerManagerFlags?: string[];
  schedulerFlags?: string[];
  kubeletFlags?: string[];
}

/** go-kubernetes newChecks' upgradeVersionCheck map (v0.2.38; v0.2.41 adds 1.36->1.37). */
const CHECKS: Record<string, PathChecks> = {
  '1.24->1.25': {
    apiResources: ['podsecuritypolicies.v1beta1.policy'],
    apiServerFlags: ['service-account-api-audiences'],
    admissionPlugins: ['PodSecurityPolicy'],
    controllerManagerFlags: ['deleting-pods-qps', 'deleting-pods-burst', 'register-retry-count'],
    featureGates: ['CSIVolumeFSGroupPolicy', 'ConfigurableFSGroupPolicy', 'PodDisruptionBudget', 'SelectorIndex'],
  },
  '1.25->1.26': { apiServerFlags: ['master-service-namespace'], featureGates: ['DynamicKubeletConfig'] },
  '1.26->1.27': {
    controllerManagerFlags: ['enable-taint-manager', 'pod-eviction-timeout'],
    kubeletFlags: ['container-runtime', 'master-service-namespace'],
    featureGates: [
      'ExpandCSIVolumes',
      'ExpandInUsePersistentVolumes',
      'ExpandPersistentVolumes',
      'ControllerManagerLeaderMigration',
      'CSIMigration',
      'CSIInlineVolume',
      'EphemeralContainers',
      'LocalStorageCapacityIsolation',
      'NetworkPolicyEndPort',
      'StatefulSetMinReadySeconds',
      'IdentifyPodOS',
      'DaemonSetUpdateSurge',
    ],
  },
  '1.27->1.28': {
    featureGates: [
      'AdvancedAuditing',
      'DelegateFSGroupToCSIDriver',
      'DevicePlugins',
      'DisableAcceleratorUsageMetrics',
      'EndpointSliceTerminatingCondition',
      'CSIStorageCapacity',
      'CSIMigrationGCE',
      'KubeletCredentialProviders',
      'MixedProtocolLBService',
      'ServiceInternalTrafficPolicy',
      'ServiceIPStaticSubrange',
      'WindowsHostProcessContainers',
    ],
  },
  '1.28->1.29': { apiResources: ['clustercidrs.v1alpha1.networking.k8s.io'] },
  '1.29->1.30': {
    featureGates: [
      'ExpandedDNSConfig',
      'ExperimentalHostUserNamespaceDefaultingGate',
      'IPTablesOwnershipCleanup',
      'KubeletPodResources',
      'KubeletPodResourcesGetAllocatable',
      'MinimizeIPTablesRestore',
      'ProxyTerminatingEndpoints',
      'RemoveSelfLink',
    ],
    admissionPlugins: ['SecurityContextDeny'],
  },
  '1.30->1.31': {
    featureGates: [
      'APIPriorityAndFairness',
      'CSINodeExpandSecret',
      'ConsistentHTTPGetHandlers',
      'DefaultHostNetworkHostPortsInPodTemplates',
      'ServiceNodePortStaticSubrange',
      'SkipReadOnlyValidationGCE',
    ],
    kubeletFlags: ['keep-terminated-pod-volumes', 'iptables-masquerade-bit', 'iptables-drop-bit'],
    controllerManagerFlags: ['volume-host-cidr-denylist', 'volume-host-allow-local-loopback', 'horizontal-pod-autoscaler-upscale-delay', 'horizontal-pod-autoscaler-downscale-delay'],
  },
  '1.31->1.32': {
    featureGates: [
      'AllowServiceLBStatusOnNonLB',
      'CloudDualStackNodeIPs',
      'DRAControlPlaneController',
      'HPAContainerMetrics',
      'KMSv2',
      'KMSv2KDF',
      'LegacyServiceAccountTokenCleanUp',
      'MinDomainsInPodTopologySpread',
      'NewVolumeManagerReconstruction',
      'NodeOutOfServiceVolumeDetach',
      'ServerSideApply',
      'ServerSideFieldValidation',
      'StableLoadBalancerNodeSet',
      'ValidatingAdmissionPolicy',
      'ZeroLimitedNominalConcurrencyShares',
    ],
    apiResources: ['podschedulingcontexts.v1alpha3.resource.k8s.io'],
  },
  '1.32->1.33': {
    featureGates: [
      'AppArmor',
      'AppArmorFields',
      'CPUManager',
      'DisableCloudProviders',
      'DisableKubeletCloudCredentialProviders',
      'JobPodFailurePolicy',
      'KubeProxyDrainingTerminatingNodes',
      'PDBUnhealthyPodEvictionPolicy',
      'PersistentVolumeLastPhaseTransitionTime',
      'VolumeCapacityPriority',
    ],
    apiServerFlags: ['cloud-config'],
  },
  '1.33->1.34': { featureGates: ['DevicePluginCDIDevices', 'LegacySidecarContainers', 'PodDisruptionConditions'], kubeletFlags: ['cloud-config'] },
  '1.34->1.35': { kubeletFlags: ['pod-infra-container-image'], featureGates: ['SizeMemoryBackedVolumes', 'UserNamespacesHostNetworkSupport'] },
  '1.35->1.36': { featureGates: ['CSIMigrationPortworx', 'HonorPVReclaimPolicy', 'InTreePluginPortworxUnregister', 'WatchFromStorageWithoutResourceVersion'] },
  '1.36->1.37': {
    featureGates: ['AnyVolumeDataSource', 'DeclarativeValidationTakeover', 'GangScheduling', 'PreventStaticPodAPIReferences', 'WorkloadAwarePreemption'],
    apiResources: ['workloads.v1alpha2.scheduling.k8s.io', 'podgroups.v1alpha2.scheduling.k8s.io'],
    kubeletFlags: [
      'application-metrics-count-limit',
      'boot-id-file',
      'container-hints',
      'containerd',
      'containerd-namespace',
      'enable-load-reader',
      'event-storage-age-limit',
      'event-storage-event-limit',
      'global-housekeeping-interval',
      'log-cadvisor-usage',
      'machine-id-file',
      'storage-driver-user',
      'storage-driver-password',
      'storage-driver-host',
      'storage-driver-db',
      'storage-driver-table',
      'storage-driver-secure',
      'storage-driver-buffer-duration',
    ],
  },
};

interface RemovedItem {
  node: string;
  component: string;
  value: string;
}

export interface RemovedItems {
  admissionPlugins: RemovedItem[];
  flags: RemovedItem[];
  featureGates: RemovedItem[];
  apiResources: { resource: string; count: number }[];
}

const argsOf = (node: SimNode, component: K8sComponent): string[] => node.componentArgs?.[component] ?? [];

/** PopulateRemovedCLIFlags: an argument whose key (before "=") is --<removed flag>. */
function flags(out: RemovedItem[], node: string, component: string, args: string[], removed: string[] | undefined): void {
  for (const flag of removed ?? []) if (args.some((a) => a.split('=')[0] === `--${flag}`)) out.push({ node, component, value: flag });
}

/** PopulateRemovedFeatureGates: the first --feature-gates argument, gate names before "=". */
function gates(out: RemovedItem[], node: string, component: string, args: string[], removed: string[] | undefined): void {
  const first = args.find((a) => a.startsWith('--feature-gates'));
  if (first === undefined) return;
  const names = first
    .replace(/^--feature-gates=/, '')
    .split(',')
    .map((g) => g.split('=')[0]);
  for (const gate of removed ?? []) if (names.includes(gate)) out.push({ node, component, value: gate });
}

/** PopulateRemovedAdmissionPlugins: the first --enable-admission-plugins argument. */
function admission(out: RemovedItem[], node: string, args: string[], removed: string[] | undefined): void {
  const first = args.find((a) => a.startsWith('--enable-admission-plugins'));
  if (first === undefined) return;
  const plugins = first.replace(/^--enable-admission-plugins=/, '').split(',');
  for (const plugin of removed ?? []) if (plugins.includes(plugin)) out.push({ node, component: 'kube-apiserver', value: plugin });
}

/**
 * Checks.Run for `path` over the nodes (named as upgrade-k8s names them: `nameOf`): what is found,
 * or null when the path has no checks. Lines to log are the caller's.
 */
export function findRemovedItems(state: SimState, path: string, cps: SimNode[], workers: SimNode[], nameOf: (n: SimNode) => string): RemovedItems | null {
  const c = CHECKS[path];
  if (!c) return null;
  const found: RemovedItems = { admissionPlugins: [], flags: [], featureGates: [], apiResources: [] };
  for (const cp of cps) {
    const name = nameOf(cp);
    const api = argsOf(cp, 'kube-apiserver');
    admission(found.admissionPlugins, name, api, c.admissionPlugins);
    flags(found.flags, name, 'kube-apiserver', api, c.apiServerFlags);
    gates(found.featureGates, name, 'kube-apiserver', api, c.featureGates);
    const cm = argsOf(cp, 'kube-controller-manager');
    flags(found.flags, name, 'kube-controller-manager', cm, c.controllerManagerFlags);
    gates(found.featureGates, name, 'kube-controller-manager', cm, c.featureGates);
    const sched = argsOf(cp, 'kube-scheduler');
    flags(found.flags, name, 'kube-scheduler', sched, c.schedulerFlags);
    gates(found.featureGates, name, 'kube-scheduler', sched, c.featureGates);
  }
  for (const n of [...cps, ...workers]) flags(found.flags, nameOf(n), 'kubelet', argsOf(n, 'kubelet'), c.kubeletFlags);
  for (const resource of c.apiResources ?? []) {
    const count = state.apiResources?.[resource] ?? 0;
    if (count > 0) found.apiResources.push({ resource, count });
  }
  return found;
}

export const anyRemoved = (r: RemovedItems): boolean => r.admissionPlugins.length + r.flags.length + r.featureGates.length + r.apiResources.length > 0;

/**
 * ComponentRemovedItemsError.Error(): one tabwriter (padding 3) over every table, each table after a
 * blank line (which also ends the previous table's column block); API resources as `%s\t%d\t` rows.
 * Go iterates the resource map in random order; the twin keeps the check order.
 */
export function removedItemsError(r: RemovedItems): string {
  const table = (header: string, rows: string[]): string => `\n${tabwrite([header, ...rows])}`;
  const items = (rows: RemovedItem[]): string[] => rows.map((i) => `${i.node}\t${i.component}\t${i.value}`);
  let out = '';
  if (r.admissionPlugins.length > 0) out += table('NODE\tCOMPONENT\tREMOVED ADMISSION PLUGIN', items(r.admissionPlugins));
  if (r.featureGates.length > 0) out += table('NODE\tCOMPONENT\tREMOVED FEATURE GATE', items(r.featureGates));
  if (r.flags.length > 0) out += table('NODE\tCOMPONENT\tREMOVED FLAG', items(r.flags));
  if (r.apiResources.length > 0)
    out += table(
      'REMOVED RESOURCE\tCOUNT\t',
      r.apiResources.map((a) => `${a.resource}\t${a.count}\t`),
    );
  return out;
}
