/**
 * The spec file's zod schema: strict objects, defaults and the value rules of spec-values.ts. Pure.
 */
import { z } from 'zod';
import { DEFAULT_RELEASE_FEEDS } from './cadence';
import { alertmanagerSchema, gateSchema } from './gate-schema';
import { tuningProblem } from './tuning';
import {
  clusterProblem,
  talosVersionProblem,
  kubernetesVersionProblem,
  schematicProblem,
  addressProblem,
  imageFactoryProblem,
  durationProblem,
  pathProblem,
  namespaceProblem,
  dayProblem,
  timeOfDayProblem,
  windowDurationProblem,
  timeZoneProblem,
  feedUrlProblem,
  envNameProblem,
  urlFileProblem,
  NOTIFICATION_KINDS,
  EVENT_VALUES,
  checked,
} from './spec-values';

// ---------------------------------------------------------------- schema

const DEFAULT_EXCLUDED_NAMESPACES = ['kube-system', 'kube-public', 'kube-node-lease'] as const;
/**
 * One budget per step: a node step's covers pulling the installer (minutes on a slow link), the
 * product's drain (its own `drain` timeout, inside the budget), the install, the reboot and the
 * verification. A Kubernetes hop's covers the whole `upgrade-k8s`.
 */
const DEFAULT_TIMEOUTS = { worker: '15m', controlPlane: '20m', kubernetes: '60m', drain: '5m' } as const;
const DEFAULT_IMAGE_FACTORY = 'factory.talos.dev';

export const nodesSchema = z.strictObject({
  controlPlane: z.array(checked(addressProblem)),
  primary: checked(addressProblem).optional(),
  // `workers:` with nothing after it is YAML null: a cluster without workers.
  workers: z.array(checked(addressProblem)).nullable().default([]),
});

export const talosSchema = z.strictObject({
  version: checked(talosVersionProblem),
  schematic: checked(schematicProblem).default('detect'),
  imageFactory: checked(imageFactoryProblem).default(DEFAULT_IMAGE_FACTORY),
});

export const kubernetesSchema = z.strictObject({
  version: checked(kubernetesVersionProblem),
});

export const veleroSchema = z.strictObject({
  enabled: z.boolean().default(true),
  excludeNamespaces: z.array(checked(namespaceProblem)).default([...DEFAULT_EXCLUDED_NAMESPACES]),
  defaultVolumesToFsBackup: z.boolean().default(true),
});

export const etcdSnapshotSchema = z.strictObject({
  enabled: z.boolean().default(true),
  directory: checked(pathProblem).default('backups'),
});

export const backupSchema = z.strictObject({
  velero: veleroSchema.prefault({}),
  etcdSnapshot: etcdSnapshotSchema.prefault({}),
});

export const timeoutsSchema = z.strictObject({
  worker: checked(durationProblem).default(DEFAULT_TIMEOUTS.worker),
  controlPlane: checked(durationProblem).default(DEFAULT_TIMEOUTS.controlPlane),
  kubernetes: checked(durationProblem).default(DEFAULT_TIMEOUTS.kubernetes),
  drain: checked(durationProblem).default(DEFAULT_TIMEOUTS.drain),
});

/** Polling and heartbeats of the run (src/plan/tuning.ts has the bounds); absent = the defaults. */
export const tuningSchema = z.strictObject({
  pollInterval: checked((text) => tuningProblem('pollInterval', text)).optional(),
  heartbeatTimeout: checked((text) => tuningProblem('heartbeatTimeout', text)).optional(),
});

export const toolsSchema = z.strictObject({
  talosctl: checked(pathProblem).default('talosctl'),
  kubectl: checked(pathProblem).default('kubectl'),
  velero: checked(pathProblem).default('velero'),
  flux: checked(pathProblem).default('flux'),
});

export const maintenanceWindowSchema = z.strictObject({
  days: z.array(checked(dayProblem)).optional(),
  start: checked(timeOfDayProblem),
  duration: checked(windowDurationProblem),
  timeZone: checked(timeZoneProblem).default('UTC'),
});

export const notificationSchema = z.strictObject({
  kind: z.enum(NOTIFICATION_KINDS),
  // Always refused (notificationTarget): known here so the message says what to write instead.
  url: z.unknown().optional(),
  urlEnv: checked(envNameProblem).optional(),
  urlFile: checked(urlFileProblem).optional(),
  events: z.array(z.enum(EVENT_VALUES)).optional(),
});

export const releasesSchema = z.strictObject({
  talosFeed: checked(feedUrlProblem).default(DEFAULT_RELEASE_FEEDS.talosFeed),
  kubernetesFeed: checked(feedUrlProblem).default(DEFAULT_RELEASE_FEEDS.kubernetesFeed),
});

const APPROVALS = ['control-plane', 'every-node', 'plan-only', 'none'] as const;
const ON_FAILURE = ['rollback-node', 'pause', 'rollback-all'] as const;
const ORDERS = ['workers-first', 'control-planes-first'] as const;

/** The raw spec file shape (before cross-field checks and duration conversion). */
export const specFileSchema = z.strictObject({
  cluster: checked(clusterProblem),
  talosconfig: checked(pathProblem),
  kubeconfig: checked(pathProblem),
  nodes: nodesSchema.optional(),
  discover: z.boolean().default(false),
  talos: talosSchema,
  kubernetes: kubernetesSchema.optional(),
  backup: backupSchema.prefault({}),
  approvals: z.enum(APPROVALS).default('control-plane'),
  onFailure: z.enum(ON_FAILURE).default('rollback-node'),
  order: z.enum(ORDERS).default('workers-first'),
  timeouts: timeoutsSchema.prefault({}),
  tuning: tuningSchema.optional(),
  tools: toolsSchema.prefault({}),
  allowDowngrade: z.boolean().default(false),
  maintenanceWindow: maintenanceWindowSchema.optional(),
  // `notifications:` with nothing after it is YAML null: no notifications.
  notifications: z.array(notificationSchema).nullable().default([]),
  releases: releasesSchema.optional(),
  // `gates:` with nothing after it is YAML null: no gates.
  gates: z.array(gateSchema).nullable().optional(),
  alertmanager: alertmanagerSchema.optional(),
});
