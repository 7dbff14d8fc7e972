/**
 * `talosctl health` (server-side, the default `--server=true`): the node named by --nodes runs the
 * checks (pkg/cluster/check) and streams progress; talosctl prints each message on stderr.
 * Messages: `discovered nodes: ["a" "b"]`, then per check `waiting for <check>: ...`, then
 * `waiting for <check>: OK|SKIP|<error>` whenever the state changes (an error from a fanned-out call
 * is a go-multierror block and spans lines). The run ends at the first check that does not pass
 * before --wait-timeout: the server returns `context deadline exceeded` (code DeadlineExceeded).
 * 1.9–1.13 clients print a failure that reaches them in the stream as `healthcheck error: <error>`;
 * 1.14 clients print the gRPC error as it is. Exit 1 on any failure.
 */
import { nonBlankLines } from './common';

type HealthKind = 'ok' | 'timeout' | 'unreachable' | 'error' | 'cut-short';

export interface HealthOutcome {
  ok: boolean;
  kind: HealthKind;
  /** The node list the server checked (`discovered nodes:`), null when it never said. */
  discovered: string[] | null;
  /** Checks that passed (OK or SKIP). */
  passed: number;
  /** The check that was running when the run stopped; null when it passed or none started. */
  failedCheck: string | null;
  /** That check's last state (`...` or its last error, lines joined by newlines). */
  reason: string | null;
  /** The final error, without `healthcheck error: `; null when there is none. */
  error: string | null;
  /** Kubernetes node names the failing check listed as not Ready / unschedulable. */
  notReady: string[];
  unschedulable: string[];
}

const UNREACHABLE = /code = Unavailable|connection refused|no route to host|i\/o timeout|network is unreachable|connection reset/;

export function parseHealthOutput(stderr: string, exitCode = 0): HealthOutcome {
  const checks: { name: string; state: string }[] = [];
  let discovered: string[] | null = null;
  const trailing: string[] = [];
  for (const line of nonBlankLines(stderr)) {
    const d = /^discovered nodes: \[(.*)\]$/.exec(line);
    if (d) {
      discovered = [...(d[1] ?? '').matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1] ?? '');
      trailing.length = 0;
      continue;
    }
    const w = /^waiting for (.+?): (.*)$/.exec(line);
    if (w) {
      const name = w[1] ?? '';
      const prev = checks[checks.length - 1];
      if (prev && prev.name === name) prev.state = w[2] ?? '';
      else checks.push({ name, state: w[2] ?? '' });
      trailing.length = 0;
      continue;
    }
    const current = checks[checks.length - 1];
    // An indented line continues the current state (a multi-line error); anything else is the end.
    if (current && trailing.length === 0 && /^\s/.test(line)) {
      current.state += `\n${line}`;
      continue;
    }
    trailing.push(line);
  }
  const finalError = trailing.length > 0 ? trailing.join('\n').replace(/^healthcheck error: /, '') : null;
  const passedState = (s: string): boolean => s === 'OK' || s === 'SKIP';
  const passed = checks.filter((c) => passedState(c.state)).length;
  const last = checks[checks.length - 1];
  const allPassed = last !== undefined && passedState(last.state);
  if (exitCode === 0 && finalError === null && allPassed) {
    return { ok: true, kind: 'ok', discovered, passed, failedCheck: null, reason: null, error: null, notReady: [], unschedulable: [] };
  }
  const failing = last !== undefined && !passedState(last.state) ? last : null;
  const reason = failing?.state ?? null;
  let kind: HealthKind;
  if (finalError === null) kind = 'cut-short';
  else if (/code = DeadlineExceeded|context deadline exceeded/.test(finalError)) kind = 'timeout';
  else if (UNREACHABLE.test(finalError) && checks.length === 0) kind = 'unreachable';
  else kind = 'error';
  const names = (re: RegExp): string[] => {
    const m = reason === null ? null : re.exec(reason);
    return m ? (m[1] ?? '').split(' ').filter((s) => s !== '') : [];
  };
  return {
    ok: false,
    kind,
    discovered,
    passed,
    failedCheck: failing?.name ?? null,
    reason,
    error: finalError,
    notReady: names(/some nodes are not ready: \[(.*)\]/),
    unschedulable: names(/some nodes are not schedulable: \[(.*)\]/),
  };
}
