/**
 * A Prometheus exporter for a simulated cluster (text exposition format 0.0.4), on 127.0.0.1 only,
 * so a real Prometheus can scrape what the twin does and fire alerts from it in rehearsals and tests:
 *   talos_sim_node_disrupted{node,address}  1 while a node is cordoned, upgrading, rebooting,
 *                                           booting or recovering (custom-objects.ts disrupted)
 *   talos_sim_alert_fault{node,address}     1 while an alert-fires-during fault's node is disrupted
 *   talos_sim_objects_degraded              1 while custom objects show their degraded status
 * plus gauges the caller sets itself (set()).
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { degraded, disrupted } from './custom-objects';
import { loadState } from './state';
import type { SimState } from './types';

export interface SimMetrics {
  url: string;
  port: number;
  /** Sets an extra gauge, e.g. set('test_alert', {}, 1); the value 0 keeps the series. */
  set(name: string, labels: Record<string, string>, value: number): void;
  close(): Promise<void>;
}

const esc = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const labelText = (labels: Record<string, string>): string => {
  const entries = Object.entries(labels);
  return entries.length ? `{${entries.map(([k, v]) => `${k}="${esc(v)}"`).join(',')}}` : '';
};

export function renderMetrics(state: SimState, now: number, extra: Map<string, number> = new Map()): string {
  const lines: string[] = [];
  lines.push('# HELP talos_sim_node_disrupted 1 while the node is cordoned, upgrading, rebooting, booting or recovering.', '# TYPE talos_sim_node_disrupted gauge');
  for (const n of state.nodes) lines.push(`talos_sim_node_disrupted${labelText({ node: n.hostname, address: n.address })} ${disrupted(state, n, now) ? 1 : 0}`);
  lines.push('# HELP talos_sim_alert_fault 1 while an alert-fires-during fault holds for the node.', '# TYPE talos_sim_alert_fault gauge');
  for (const n of state.nodes) {
    const fault = state.faults.some((f) => f.kind === 'alert-fires-during' && (f.node === undefined || f.node === n.address));
    lines.push(`talos_sim_alert_fault${labelText({ node: n.hostname, address: n.address })} ${fault && disrupted(state, n, now) ? 1 : 0}`);
  }
  lines.push('# HELP talos_sim_objects_degraded 1 while the custom objects show their degraded status.', '# TYPE talos_sim_objects_degraded gauge');
  lines.push(`talos_sim_objects_degraded ${degraded(state, now) ? 1 : 0}`);
  for (const [series, value] of extra) lines.push(`${series} ${value}`);
  return `${lines.join('\n')}\n`;
}

/** Serves the exporter on 127.0.0.1 (port 0: a free one). */
export async function startSimMetrics(dir: string, port = 0): Promise<SimMetrics> {
  const extra = new Map<string, number>();
  const server = http.createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    let body: string;
    try {
      body = renderMetrics(loadState(dir), Date.now(), extra);
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    set: (name, labels, value) => {
      if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) throw new Error(`not a metric name: ${name}`);
      extra.set(`${name}${labelText(labels)}`, value);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
