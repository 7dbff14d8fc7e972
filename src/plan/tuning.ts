/**
 * How often a run polls (a node coming back, a backup finishing) and how long an activity may stay
 * silent before Temporal gives its attempt up (the heartbeat timeout). Set in the spec (`tuning:`) or
 * on `start` (`--poll-interval`, `--heartbeat-timeout`, which win over the spec); unset, the product's
 * defaults apply (2 s polls, a heartbeat timeout of 1-2 min per activity). Pure: the workflow bundles it.
 */
import { formatDuration, tryParseDuration } from './duration';

/** What ClusterUpgradeInput.tuning carries; absent keys keep the defaults. */
export interface RunTuning {
  pollIntervalMs?: number;
  heartbeatTimeoutMs?: number;
}

/**
 * Bounds. Polls below 100 ms only load the tools; above 30 s a node that is back waits for nothing.
 * Activities heartbeat every 2 s at most (withHeartbeats, the sleeps between polls), so a heartbeat
 * timeout under 5 s would give up on healthy attempts; one over 30 min leaves a dead worker's attempt
 * unnoticed for that long.
 */
export const TUNING_BOUNDS = {
  pollInterval: { minMs: 100, maxMs: 30_000 },
  heartbeatTimeout: { minMs: 5_000, maxMs: 30 * 60_000 },
} as const;

export type TuningKey = keyof typeof TUNING_BOUNDS;

/** The problem with `text` as the duration `key`, or null; the sentence names the bounds. */
export function tuningProblem(key: TuningKey, text: string): string | null {
  const ms = tryParseDuration(text);
  const { minMs, maxMs } = TUNING_BOUNDS[key];
  const range = `from ${formatDuration(minMs)} to ${formatDuration(maxMs)}`;
  if (ms === null) return `${JSON.stringify(text)} is not a duration; write it like 500ms, 2s or 1m (${range})`;
  if (ms < minMs || ms > maxMs) return `${JSON.stringify(text)} is out of bounds; use ${range}`;
  return null;
}

/** Milliseconds of an already validated `tuning` duration. */
export function tuningMs(text: string): number {
  return tryParseDuration(text) ?? 0;
}

/** Later layers win key by key (spec, then the command line); undefined when nothing is set. */
export function mergeTuning(...layers: (RunTuning | undefined)[]): RunTuning | undefined {
  const out: RunTuning = {};
  for (const layer of layers) {
    if (layer?.pollIntervalMs !== undefined) out.pollIntervalMs = layer.pollIntervalMs;
    if (layer?.heartbeatTimeoutMs !== undefined) out.heartbeatTimeoutMs = layer.heartbeatTimeoutMs;
  }
  return out.pollIntervalMs === undefined && out.heartbeatTimeoutMs === undefined ? undefined : out;
}
