/** The printed report: one table per benchmark, each followed by its goal and whether it was reached. */
import type { BenchResults } from './run';
import { median } from './stats';
import { GOAL_REBOOT_SECONDS, REALISTIC_REBOOT_SECONDS, type OverheadResult } from './overhead';
import { resumeBound } from './resume';
import { GAP_PARTS } from './timeline';

const s = (ms: number): string => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(1)} s` : '–');
const ms = (x: number): string => (Number.isFinite(x) ? `${Math.round(x)} ms` : '–');
const mib = (x: number): string => `${Math.round(x)} MiB`;

function grid(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function goal(text: string, reached: boolean | null, figure: string): string {
  const verdict = reached === null ? 'not measured in this mode' : `${reached ? 'reached' : 'NOT reached'}: ${figure}`;
  return `goal: ${text} — ${verdict}`;
}

/**
 * What the goal leaves for the per-node steps. talos-upgrade's preflight and postflight (the checks the
 * runbook runs by hand before and after, which the bare loop skips) and its longer Kubernetes step do
 * not shrink with the per-node work, so even a run whose every node cost exactly what the loop's does
 * would take shell + those parts. That "floor" ratio, and the per-node extra 1.10 would still allow.
 */
export function ratioFloor(c: OverheadResult): { floor: number; allowedPerNodeMs: number; spentPerNodeMs: number } | null {
  if (!c.fixedMs) return null;
  const fixedExtra = c.fixedMs.preflight + c.fixedMs.postflight + Math.max(0, c.fixedMs.kubernetes - c.fixedMs.shellKubernetes);
  return {
    floor: (c.shellMs + fixedExtra) / c.shellMs,
    allowedPerNodeMs: (0.1 * c.shellMs - fixedExtra) / c.nodes,
    spentPerNodeMs: (c.workflowMs - c.shellMs - fixedExtra) / c.nodes,
  };
}

function floorLines(cases: OverheadResult[]): string[] {
  const rows = cases.flatMap((c) => {
    const f = ratioFloor(c);
    return f ? [`${c.nodes} nodes ${f.floor.toFixed(2)} (${f.allowedPerNodeMs < 0 ? 'none left' : `${ms(f.allowedPerNodeMs)} per node left`}, spent ${ms(f.spentPerNodeMs)})`] : [];
  });
  if (rows.length === 0) return [];
  return [
    `floor: the ratio with every node costing what the loop's does, preflight + postflight + the longer Kubernetes step only; ` +
      `what 1.10 leaves per node for drain, uncordon, verify and durability: ${rows.join('; ')}`,
  ];
}

export function renderTable(r: BenchResults): string {
  const out: string[] = [];
  const m = r.machine;
  const cache = r.overhead?.workflowCacheSize ?? r.fleet?.cases[0]?.fleet.workflowCacheSize ?? r.resume?.cases[0]?.workflowCacheSize;
  out.push(
    `talos-upgrade benchmarks (${r.mode}, ${r.date.slice(0, 16).replace('T', ' ')} UTC) on ${m.nproc} × ${m.cpuModel}, ${m.memoryGiB} GiB, ` +
      `${m.node}, load ${m.loadAverageAtStart} at start, ${r.loadAverageAtEnd} at end`,
    `talos-upgrade: poll ${r.settings.pollIntervalMs} ms (production default 2000 ms), heartbeat timeout ${r.settings.heartbeatTimeoutMs / 1000} s` +
      `${cache === undefined ? '' : `, worker maxCachedWorkflows ${cache}`}; ${r.settings.upgrade}; backups off`,
    '',
  );

  if (r.overhead) {
    const cases = r.overhead.cases;
    const tuned = r.settings.pollIntervalMs;
    out.push("1. Overhead ratio: talos-upgrade wall time ÷ the runbook shell loop's (same twin, same reboot time)");
    out.push(
      grid(
        [
          'nodes',
          'reboot',
          'poll',
          'shell loop',
          'talos-upgrade',
          'ratio',
          'extra/node',
          'CPU s loop | t-u worker+tools+server',
          'gap p50/p95 loop',
          'gap p50/p95 t-u',
          'calls in gap loop/t-u',
          'worker CPU/task',
        ],
        cases.map((c) => [
          String(c.nodes),
          `${c.rebootSeconds} s`,
          `${c.pollIntervalMs} ms`,
          s(c.shellMs),
          s(c.workflowMs),
          c.ratio.toFixed(2),
          ms(c.extraPerNodeMs),
          `${c.cpuSeconds.shell} | ${c.cpuSeconds.workflow.worker}+${c.cpuSeconds.workflow.tools}+${c.cpuSeconds.workflow.server}`,
          `${c.gapShellMs.p50}/${c.gapShellMs.p95} ms`,
          `${c.gapWorkflowMs.p50}/${c.gapWorkflowMs.p95} ms`,
          c.callsInGap ? `${c.callsInGap.shell}/${c.callsInGap.workflow}` : '–',
          c.workerCpuPerTaskMs === undefined ? '–' : `${c.workerCpuPerTaskMs} ms (${c.workflowTasks})`,
        ]),
      ),
    );
    out.push(`where talos-upgrade's gap goes (p50, ms; timeline.ts): ${GAP_PARTS.join(' / ')}`);
    out.push(
      grid(
        ['nodes', 'reboot', 'poll', ...GAP_PARTS],
        cases.map((c) => [String(c.nodes), `${c.rebootSeconds} s`, `${c.pollIntervalMs} ms`, ...GAP_PARTS.map((k) => String((c.gapPartsMs as Partial<Record<string, number>>)[k] ?? '–'))]),
      ),
    );
    out.push(
      "worker CPU/task: the worker process's own CPU over the run ÷ its workflow tasks (count in brackets); an upper bound, the same",
      'process runs the activities too (section 6 measures a task alone)',
    );
    // The goal is judged at 5 s reboots; without such a case (--reboots), at the longest reboot run.
    const goalCases = cases.filter((c) => c.rebootSeconds === GOAL_REBOOT_SECONDS && c.pollIntervalMs === tuned);
    const judged = goalCases.length > 0 ? GOAL_REBOOT_SECONDS : Math.max(...cases.map((c) => c.rebootSeconds));
    const atGoal = goalCases.length > 0 ? goalCases : cases.filter((c) => c.rebootSeconds === judged && c.pollIntervalMs === tuned);
    const worst = Math.max(...atGoal.map((c) => c.ratio));
    const gapP95 = Math.max(...atGoal.map((c) => c.gapWorkflowMs.p95));
    out.push(goal(`ratio ≤ 1.10 at ${GOAL_REBOOT_SECONDS} s reboots`, goalCases.length > 0 ? worst <= 1.1 : null, `worst ${worst.toFixed(2)} at ${judged} s reboots`));
    out.push(...floorLines(atGoal));
    if (goalCases.length === 0) out.push(`(no ${GOAL_REBOOT_SECONDS} s-reboot case in this run; worst ratio at ${judged} s reboots ${worst.toFixed(2)})`);
    else if (r.mode === 'quick') out.push(`(quick mode: ${GOAL_REBOOT_SECONDS} s reboots on ${atGoal.map((c) => c.nodes).join(', ')} nodes only; the full run has 3, 10 and 50)`);
    for (const c of cases.filter((x) => x.rebootSeconds === REALISTIC_REBOOT_SECONDS && x.pollIntervalMs === tuned)) {
      out.push(
        `at ${REALISTIC_REBOOT_SECONDS} s reboots (${c.nodes} nodes): ratio ${c.ratio.toFixed(2)}, ${ms(c.extraPerNodeMs)} extra per node, fixed parts included: ` +
          'the same orchestration cost weighs less as reboots lengthen',
      );
    }
    out.push(goal('per-node gap p95 ≤ 1 s', gapP95 <= 1000, `worst p95 ${ms(gapP95)} at ${judged} s reboots (the loop: ${ms(Math.max(...atGoal.map((c) => c.gapShellMs.p95)))})`));
    const fixed = cases.flatMap((c) => (c.fixedMs ? [c.fixedMs] : []));
    if (fixed.length > 0) {
      const med = (k: keyof (typeof fixed)[number]): string => s(median(fixed.map((f) => f[k])));
      out.push(
        `parts that do not grow with nodes (medians): preflight ${med('preflight')}, postflight ${med('postflight')}; ` +
          `Kubernetes upgrade ${med('kubernetes')} (the loop's upgrade-k8s: ${med('shellKubernetes')})`,
      );
    }
    out.push(
      `worker: started in ${s(r.overhead.workerStartMs)}, RSS ${r.overhead.workerIdleRssMiB} MiB idle, ${mib(r.overhead.workerPeakRssMiB)} peak; ` +
        `approvals given automatically: ${cases.reduce((n, c) => n + c.approvalsGiven, 0)}`,
      '',
    );
  }

  if (r.fleet) {
    out.push('2. Fleet: clusters of 5 nodes upgraded at once by one worker, against one cluster alone');
    out.push(
      grid(
        ['clusters', 'reboot', 'one alone', 'all at once', '×', 'RSS idle → peak (alone)', 'CPU s worker/tools/server/other of', 'gap p50/p95 alone', 'gap p50/p95 fleet'],
        r.fleet.cases.map((c) => [
          String(c.clusters),
          `${c.rebootSeconds} s`,
          s(c.alone.wallMs),
          s(c.fleet.wallMs),
          c.ratio.toFixed(2),
          `${c.fleet.workerIdleRssMiB} → ${mib(c.fleet.workerPeakRssMiB)} (${mib(c.alone.workerPeakRssMiB)})`,
          `${c.fleet.cpuSeconds.worker}/${c.fleet.cpuSeconds.tools}/${c.fleet.cpuSeconds.server}/${c.fleet.cpuSeconds.other} of ${c.fleet.cpuSeconds.available}`,
          `${c.alone.gapMs.p50}/${c.alone.gapMs.p95} ms`,
          `${c.fleet.gapMs.p50}/${c.fleet.gapMs.p95} ms`,
        ]),
      ),
    );
    const big = r.fleet.cases.find((c) => c.clusters === 50);
    const largest = r.fleet.cases[r.fleet.cases.length - 1];
    const mb = (x: number): number => Math.round(x * 1.048576);
    const failed = r.fleet.failed ?? [];
    for (const f of failed) out.push(`fleet of ${f.clusters} clusters did not finish: ${f.message}`);
    const bigFailed = failed.some((f) => f.clusters === 50);
    out.push(
      goal(
        '50 clusters on one worker ≤ 400 MB RSS',
        big ? mb(big.fleet.workerPeakRssMiB) <= 400 : bigFailed ? false : null,
        big ? `${mb(big.fleet.workerPeakRssMiB)} MB peak` : 'the fleet of 50 did not finish',
      ),
    );
    if (!big && largest) out.push(`(quick mode: ${largest.clusters} clusters peaked at ${mib(largest.fleet.workerPeakRssMiB)})`);
    if (largest)
      out.push(
        `per-node gap p95: ${ms(largest.alone.gapMs.p95)} for one cluster alone, ${ms(largest.fleet.gapMs.p95)} with ${largest.clusters} at once; retried activities: ${largest.fleet.retriedActivities}`,
      );
    out.push('');
  }

  if (r.resume) {
    out.push('3. Resume: worker SIGKILLed while a node reboots, a new one started at once');
    out.push(
      grid(
        [
          'heartbeat timeout',
          'reboot',
          'new worker up',
          'killed in',
          'kill → retry started',
          'kill → it completed',
          'kill → next step',
          'kill → verify done',
          'kill → node back',
          'sticky timeouts',
          'exactly once',
        ],
        r.resume.cases.map((c) => [
          `${c.heartbeatTimeoutMs / 1000} s${c.stickyTimeoutMs ? ` (sticky ${c.stickyTimeoutMs / 1000} s)` : ''}`,
          `${c.rebootSeconds} s`,
          s(c.workerRestartMs),
          `${c.interrupted ?? 'upgradeNode'} (attempt ${c.attempt})`,
          s(c.retryStartedMs),
          s(c.resumeMs),
          `${s(c.nextStepMs)}${c.nextStep ? ` (${c.nextStep})` : ''}`,
          s(c.verifiedMs ?? Number.NaN),
          s(c.nodeBackMs),
          String(c.stickyTimeouts ?? '–'),
          `${c.upgradedExactlyOnce ? 'yes' : 'NO'}${c.maxInstallsPerNode === undefined ? '' : ` (installs ≤ ${c.maxInstallsPerNode}, reboot calls ≤ ${c.maxRebootCallsPerNode} per node)`}`,
        ]),
      ),
    );
    const def = r.resume.cases.find((c) => c.heartbeatTimeoutMs === r.settings.heartbeatTimeoutMs && !c.stickyTimeoutMs) ?? r.resume.cases[0];
    // Files from before the node-step activities keep their own wording; newer ones get the current text.
    const first = r.resume.cases[0];
    out.push(`bound: ${first?.interrupted ? resumeBound(first.workflowCacheSize) : r.resume.bound}`);
    out.push(
      goal('resume ≤ 15 s (kill → next step)', def ? def.nextStepMs <= 15_000 : null, def ? `${s(def.nextStepMs)} with the default ${def.heartbeatTimeoutMs / 1000} s heartbeat timeout` : ''),
      '',
    );
  }

  if (r.history) {
    const h = r.history;
    out.push('4. History per upgrade (Talos on every node + one Kubernetes hop)');
    out.push(
      grid(
        ['nodes', 'reboot', 'events', 'bytes', 'events/node', 'bytes/node'],
        h.rows.map((row) => [String(row.nodes), `${row.rebootSeconds} s`, String(row.events), String(row.bytes), String(row.eventsPerNode), String(row.bytesPerNode)]),
      ),
    );
    out.push(
      `marginal cost: ${h.marginal.eventsPerNode} events and ${h.marginal.bytesPerNode} bytes per node on top of ${h.marginal.fixedEvents} events / ${h.marginal.fixedBytes} bytes; ` +
        `Temporal warns at ${h.limits.warnEvents} events or 10 MiB (terminates at ${h.limits.maxEvents} / 50 MiB): ` +
        `about ${Math.min(h.nodesBeforeWarning.byEvents, h.nodesBeforeWarning.byBytes)} nodes in one workflow before the first warning`,
    );
    const biggest = h.rows.reduce((a, b) => (b.nodes > a.nodes ? b : a), h.rows[0] ?? ({ nodes: 0, events: 0, bytes: 0 } as never));
    out.push(
      goal('≤ 30 history events per node', h.marginal.eventsPerNode <= 30, `${h.marginal.eventsPerNode} per node marginal; ${biggest.nodes} nodes: ${biggest.events} events, ${biggest.bytes} bytes`),
      '',
    );
  }

  if (r.twin) {
    out.push(`5. Twin call latency (talosctl version, start to exit, ${r.twin.n} calls): median ${r.twin.medianMs} ms, p95 ${r.twin.p95Ms} ms (simulator's goal: median < 150 ms)`);
    const calls = r.overhead?.cases.find((c) => c.callsInGap)?.callsInGap;
    out.push(
      '   it colours every figure above: every tool call on the critical path between two nodes is one such process start' +
        (calls ? ` (measured: ${calls.workflow} calls for talos-upgrade, ${calls.shell} for the loop, median per node pair)` : ''),
      '',
    );
  }
  if (r.workerCpu) {
    const w = r.workerCpu;
    out.push(
      `6. Worker CPU (one run of ${w.nodes} nodes waiting at an approval gate, ${w.historyEvents} events, maxCachedWorkflows ${w.workflowCacheSize}; idle ${w.idleCpuMsPerSecond} ms/s subtracted):`,
      `   per progress query: ${w.queries.cpuMsEach} ms CPU (${w.queries.n} queries in a row, latency p50 ${w.queries.latencyMsP50} ms, p95 ${w.queries.latencyMsP95} ms)`,
      `   per workflow task: ${w.tasks.cpuMsEach} ms CPU (${w.tasks.signals} ignored approve signals → ${w.tasks.workflowTasks} workflow tasks)`,
      '',
    );
  }

  for (const f of r.failures ?? []) out.push(`section ${f.section} failed: ${f.message}`);

  return `${out.join('\n')}\n`;
}
