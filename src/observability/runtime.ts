/**
 * The Temporal SDK runtime of a worker process, with a Prometheus endpoint on 127.0.0.1 when asked:
 * the SDK's own telemetry (workflow-task and activity latencies, pollers, slots, requests) and the
 * product's `talos_upgrade_*` metrics (src/workflows/run/metrics.ts, activity-interceptor.ts) on one
 * `/metrics`.
 *
 * The port: `--metrics-port`, else TALOS_UPGRADE_METRICS_PORT, else the command's default (9464 for
 * `worker`, off for `rehearse`); 0 turns it off. Only 127.0.0.1 is ever bound: a scraper on another
 * host goes through a reverse proxy or an SSH tunnel the operator sets up (docs/observability.md).
 *
 * The runtime is a process-wide singleton the SDK lets install once (until it shuts down when idle):
 * when something installed it first (tests do), metrics cannot be added to it, and the caller is told
 * so in a sentence instead of the SDK's IllegalStateError.
 */
import { IllegalStateError, type Logger } from '@temporalio/common';
import { Runtime, type RuntimeOptions, type TelemetryOptions } from '@temporalio/worker';
import { UserError } from '../contract/user-error';
import { ExitCode } from '../contract/exit-codes';
import { METRICS, RUN_BUCKETS, STEP_BUCKETS, WAIT_BUCKETS } from '../workflows/run/metrics';

export const METRICS_PORT_ENV = 'TALOS_UPGRADE_METRICS_PORT';
/** `talos-upgrade worker`'s default: the port OpenTelemetry's Prometheus exporter uses by convention. */
export const DEFAULT_WORKER_METRICS_PORT = 9464;
const METRICS_HOST = '127.0.0.1';

export interface MetricsPort {
  /** 0 = no metrics. */
  port: number;
  /** Asked for (flag or environment) rather than a command's default: failing to bind it is an error. */
  explicit: boolean;
}

/**
 * The port to serve metrics on: the flag, else the environment, else `fallback`. 0 = off.
 * Throws a UserError naming where a bad value came from.
 */
export function metricsPort(flag: string | undefined, env: NodeJS.ProcessEnv = process.env, fallback = 0): MetricsPort {
  const fromEnv = env[METRICS_PORT_ENV];
  const [raw, source] = flag !== undefined ? [flag, '--metrics-port'] : fromEnv !== undefined && fromEnv.trim() !== '' ? [fromEnv, METRICS_PORT_ENV] : [undefined, ''];
  if (raw === undefined) return { port: fallback, explicit: false };
  const n = Number(raw.trim());
  if (!/^\d+$/.test(raw.trim()) || !Number.isInteger(n) || n > 65535) {
    throw new UserError(`${source} must be a port from 1 to 65535, or 0 to serve no metrics; got "${raw}"`, ExitCode.badSpec);
  }
  return { port: n, explicit: true };
}

/** The telemetry options for a Prometheus endpoint on 127.0.0.1:`port`. */
export function prometheusTelemetry(port: number): TelemetryOptions {
  const buckets: Record<string, number[]> = {
    [METRICS.activitySeconds]: STEP_BUCKETS,
    [METRICS.nodeSubstepSeconds]: STEP_BUCKETS,
    [METRICS.nodeStepSeconds]: STEP_BUCKETS,
    [METRICS.humanWaitSeconds]: WAIT_BUCKETS,
    [METRICS.runSeconds]: RUN_BUCKETS,
  };
  return { metrics: { prometheus: { bindAddress: `${METRICS_HOST}:${port}`, histogramBucketOverrides: buckets } } };
}

const metricsUrl = (port: number): string => `http://${METRICS_HOST}:${port}/metrics`;

export interface RuntimeSetup {
  metrics: MetricsPort;
  /** Default: the SDK's (INFO and above, to stderr). */
  logger?: Logger;
  /** Default: the SDK's (SIGINT, SIGTERM, SIGQUIT, SIGUSR2 shut workers down gracefully). */
  shutdownSignals?: NodeJS.Signals[];
}

export interface InstalledRuntime {
  /** Where metrics are served, or null. */
  url: string | null;
  /** Why metrics are not served though a port was set (installed before; a default port taken), or null. */
  note: string | null;
}

/** The port is taken (or cannot be bound): the operator picks another or turns metrics off. */
export class MetricsPortError extends UserError {
  constructor(port: number, cause: string) {
    super(`cannot serve metrics on ${METRICS_HOST}:${port}: ${cause}; choose another port with --metrics-port or ${METRICS_PORT_ENV} (0 serves none)`);
    this.name = 'MetricsPortError';
  }
}

function bindFailure(err: unknown): string | null {
  const message = err instanceof Error ? err.message : String(err);
  if (!/prometheus|address|bind|os error/i.test(message)) return null;
  return message
    .replace(/^Failed to start prometheus metrics exporter:\s*/i, '')
    .replace(/\s*\(os error \d+\)$/, '')
    .toLowerCase();
}

/**
 * Installs the runtime; see the module comment for the already-installed case. A port that cannot be
 * bound is an error when it was asked for, and a note (the worker runs without metrics) when it was
 * only the command's default.
 */
export function installRuntime(setup: RuntimeSetup): InstalledRuntime {
  const { port, explicit } = setup.metrics;
  const base: RuntimeOptions = {
    ...(setup.logger ? { logger: setup.logger } : {}),
    ...(setup.shutdownSignals ? { shutdownSignals: setup.shutdownSignals } : {}),
  };
  try {
    Runtime.install(port > 0 ? { ...base, telemetryOptions: prometheusTelemetry(port) } : base);
    return { url: port > 0 ? metricsUrl(port) : null, note: null };
  } catch (err) {
    if (err instanceof IllegalStateError) {
      const note = port > 0 ? `metrics are not served on ${METRICS_HOST}:${port}: the Temporal runtime of this process was set up before, without them (the SDK allows one per process)` : null;
      return { url: null, note };
    }
    const bind = port > 0 ? bindFailure(err) : null;
    if (bind === null) throw err;
    if (explicit) throw new MetricsPortError(port, bind);
    // Nothing was installed (the SDK failed before keeping the runtime): install it without metrics.
    Runtime.install(base);
    return { url: null, note: `metrics are not served: ${METRICS_HOST}:${port} (the default) ${bind}; choose a port with --metrics-port or ${METRICS_PORT_ENV}` };
  }
}
