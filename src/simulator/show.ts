/** Human-readable views of a simulated cluster for `sim show` and `sim log`. */
import { tabwrite } from './format';
import type { Invocation, SimState } from './types';

const short = (id: string | null): string => (id === null ? '-' : `${id.slice(0, 12)}…`);

export function renderState(dir: string, state: SimState, now = Date.now()): string {
  const out: string[] = [];
  out.push(`Simulated cluster in ${dir}`);
  out.push(`  reboot ${state.rebootSeconds}s, backup ${state.backupSeconds}s, talosctl client ${state.talosctlVersion}, Kubernetes API server ${state.apiServerVersion}`);
  out.push('');
  const rows = ['NODE\tHOSTNAME\tROLE\tTALOS\tSCHEMATIC\tSTAGE\tK8S READY\tKUBELET\tBOOT\tPREVIOUS\tNOTE'];
  for (const n of state.nodes) {
    const notes: string[] = [];
    if (n.rebootUntil !== null) notes.push(`back in ${Math.max(0, (n.rebootUntil - now) / 1000).toFixed(1)}s${n.pendingUpgrade ? ` as ${n.pendingUpgrade.talosVersion}` : ''}`);
    if (n.broken) notes.push('never healthy');
    if (n.unschedulable) notes.push('cordoned');
    rows.push(
      [n.address, n.hostname, n.role, n.talosVersion, short(n.schematic), n.stage, String(n.kubernetesReady), n.kubeletVersion, n.boot.active, n.boot.previousVersion ?? '-', notes.join(', ')].join(
        '\t',
      ),
    );
  }
  out.push(tabwrite(rows, 2).trimEnd());
  out.push('');
  out.push('etcd members:');
  for (const m of state.etcd.members) out.push(`  ${m.id}  ${m.hostname}  ${m.peerUrls.join(',')}${m.learner ? '  learner' : ''}${m.stale ? '  (stale)' : ''}`);
  out.push('');
  if (!state.velero.installed) out.push('Velero: not installed');
  else if (state.velero.backups.length === 0) out.push('Velero: installed, no backups');
  else {
    out.push('Velero backups:');
    for (const b of state.velero.backups)
      out.push(`  ${b.name}  ${b.phase}  errors=${b.errors} warnings=${b.warnings}${b.excludedNamespaces.length ? `  excluded=${b.excludedNamespaces.join(',')}` : ''}`);
  }
  if (!state.flux.installed) out.push('Flux: not installed');
  else {
    const notReady = [...state.flux.kustomizations, ...state.flux.helmreleases].filter((o) => !o.ready);
    out.push(
      `Flux: ${state.flux.kustomizations.length} kustomizations, ${state.flux.helmreleases.length} helmreleases${notReady.length ? `, not ready: ${notReady.map((o) => `${o.namespace}/${o.name}`).join(', ')}` : ''}`,
    );
  }
  const stuck = state.pods.filter((p) => p.deletionTimestamp !== null);
  out.push(`Pods: ${state.pods.length}${stuck.length ? `, stuck Terminating: ${stuck.map((p) => `${p.namespace}/${p.name}`).join(', ')}` : ''}`);
  out.push('');
  if (state.faults.length === 0) out.push('Faults: none');
  else {
    out.push('Faults:');
    for (const f of state.faults) {
      const where = [f.node ? `node ${f.node}` : 'cluster-wide', f.tool ? `tool ${f.tool}` : '', f.match ? `match "${f.match}"` : ''].filter(Boolean).join(', ');
      out.push(`  ${f.kind}  ${where}  ${f.remaining !== undefined ? `${f.remaining} more time(s)` : 'until cleared'}  fired ${f.fired}`);
    }
  }
  if (state.pauses.length > 0) {
    out.push('Pauses:');
    for (const p of state.pauses) out.push(`  ${p.name}  ${p.tool}${p.match ? ` "${p.match}"` : ''}${p.node ? ` node ${p.node}` : ''}  ${p.when}`);
  }
  const perNode = new Map<string, number>();
  for (const u of state.acceptedUpgrades) perNode.set(u.node, (perNode.get(u.node) ?? 0) + 1);
  if (perNode.size > 0) out.push(`Accepted upgrades: ${[...perNode].map(([n, c]) => `${n}×${c}`).join(', ')}`);
  return `${out.join('\n')}\n`;
}

export function renderLog(entries: Invocation[]): string {
  if (entries.length === 0) return 'no twin invocations yet\n';
  const rows = ['AT\tTOOL\tEXIT\tMS\tARGS'];
  for (const e of entries) {
    const extra = [e.accepted?.length ? `accepted=${e.accepted.join(',')}` : '', e.faults?.length ? `faults=${e.faults.join(',')}` : ''].filter(Boolean).join(' ');
    rows.push([e.at, e.tool, String(e.exit), String(e.durationMs), `${e.args.join(' ')}${extra ? `   [${extra}]` : ''}`].join('\t'));
  }
  return tabwrite(rows, 2);
}
