/**
 * Parsers for talosctl output. The read commands live in their own modules, each traced to
 * talosctl's source (test/contract/talosctl/ holds the bytes and the evidence):
 * talosctl-errors (stderr forms of failed nodes), talosctl-version, talosctl-get, talosctl-etcd,
 * talosctl-health. The upgrade and upgrade-k8s progress parsers follow here.
 */
import { ParseError, parseSpaceTable } from './common';

export * from './talosctl-errors';
export * from './talosctl-version';
export * from './talosctl-get';
export * from './talosctl-etcd';
export * from './talosctl-health';

// ------------------------------------------------------------------ upgrade / upgrade-k8s progress

export interface UpgradeAck {
  node: string;
  ack: string;
  started: string;
}

/** `talosctl upgrade --wait=false`: NODE ACK STARTED. */
export function parseUpgradeAck(stdout: string): UpgradeAck[] {
  const command = 'talosctl upgrade';
  const table = parseSpaceTable(stdout, command, ['NODE', 'ACK'], ['STARTED']);
  if (table.rows.length === 0) throw new ParseError(command, 'no acknowledgement rows');
  return table.rows.map(({ cells }) => ({ node: cells['NODE'] ?? '', ack: cells['ACK'] ?? '', started: cells['STARTED'] ?? '' }));
}

export type UpgradeProgressKind = 'waiting' | 'sequence' | 'phase' | 'task' | 'unavailable' | 'stage' | 'check' | 'other';

export interface UpgradeProgress {
  node: string;
  message: string;
  kind: UpgradeProgressKind;
}

/** One stderr line of `talosctl upgrade --wait` off a terminal: `"<node>": <message>`. */
export function parseUpgradeProgressLine(line: string): UpgradeProgress | null {
  const m = /^\s*"([^"]+)":\s*(.*)$/.exec(line.replace(/\r$/, ''));
  if (!m) return null;
  const message = (m[2] ?? '').trim();
  const kind: UpgradeProgressKind = /^waiting/.test(message)
    ? 'waiting'
    : /^sequence:/.test(message)
      ? 'sequence'
      : /^phase:/.test(message)
        ? 'phase'
        : /^task:/.test(message)
          ? 'task'
          : /^unavailable/.test(message)
            ? 'unavailable'
            : /^stage:/.test(message)
              ? 'stage'
              : /check (condition met|passed)|post check/.test(message)
                ? 'check'
                : 'other';
  return { node: m[1] ?? '', message, kind };
}

export type UpgradeK8sEvent =
  | { kind: 'detected'; version: string; text: string }
  | { kind: 'discovered'; role: 'controlplane' | 'worker'; nodes: string[]; text: string }
  | { kind: 'compatible'; node: string; text: string }
  | { kind: 'component'; component: string; version: string; text: string }
  | { kind: 'update'; component: string; from: string; to: string; text: string }
  | { kind: 'node'; node: string; message: string; done: boolean; text: string }
  | { kind: 'manifests'; text: string }
  | { kind: 'progress'; text: string };

/** One stdout line of `talosctl upgrade-k8s`, as a progress event for heartbeats; null when not one. */
export function parseUpgradeK8sLine(line: string): UpgradeK8sEvent | null {
  const text = line.replace(/\r$/, '').trim();
  if (text === '') return null;
  let m: RegExpExecArray | null;
  if ((m = /^automatically detected the lowest Kubernetes version (\S+)$/.exec(text))) {
    return { kind: 'detected', version: (m[1] ?? '').replace(/^v/, ''), text };
  }
  if ((m = /^discovered (controlplane|worker) nodes \[(.*)\]$/.exec(text))) {
    const nodes = [...(m[2] ?? '').matchAll(/"([^"]*)"/g)].map((x) => x[1] ?? '');
    return { kind: 'discovered', role: m[1] === 'worker' ? 'worker' : 'controlplane', nodes, text };
  }
  if ((m = /^> "([^"]+)": Talos version \S+ is compatible with Kubernetes version \S+$/.exec(text))) {
    return { kind: 'compatible', node: m[1] ?? '', text };
  }
  if ((m = /^updating "?([\w-]+)"? to version "?([^"\s]+)"?$/.exec(text))) {
    return { kind: 'component', component: m[1] ?? '', version: (m[2] ?? '').replace(/^v/, ''), text };
  }
  if ((m = /^> update ([\w-]+): (\S+) -> (\S+)$/.exec(text))) {
    return { kind: 'update', component: m[1] ?? '', from: (m[2] ?? '').replace(/^v/, ''), to: (m[3] ?? '').replace(/^v/, ''), text };
  }
  if ((m = /^([<>]) "([^"]+)": (.*)$/.exec(text))) {
    return { kind: 'node', node: m[2] ?? '', message: (m[3] ?? '').trim(), done: m[1] === '<', text };
  }
  if (text === 'updating manifests') return { kind: 'manifests', text };
  if (/^[<>] /.test(text)) return { kind: 'progress', text };
  return null;
}
