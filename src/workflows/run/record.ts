/**
 * The run's last act: its record on the worker's disk (src/activities/run-record.ts), so the report
 * and the audit log outlive the namespace's retention. Best effort: history still holds everything
 * while retained, so a failed write is noted in the progress, never a failed run. Not cancellable: a
 * cancel arriving now must not turn a finished run into an aborted one.
 */
import type { UpgradeReport } from '../messages';
import { failureMessage } from './failures';
import type { UpgradeRun } from './upgrade-run';

export async function recordRun(run: UpgradeRun, report: UpgradeReport): Promise<void> {
  const { cluster } = run.spec;
  const input = {
    cluster,
    workflowId: run.ports.info.workflowId,
    runId: run.ports.info.runId,
    startedBy: run.input.startedBy ?? null,
    startedAt: run.progress.startedAt,
    endedAt: run.now(),
    report,
    steps: run.progress.steps.map(({ id, title, status, attempts, approvedBy, startedAt, endedAt, message }) => ({ id, title, status, attempts, approvedBy, startedAt, endedAt, message })),
    audit: run.progress.audit,
  };
  try {
    const written = await run.ports.nonCancellable(() => run.ports.acts.writeRunRecord(input, { summary: `write the run record of ${cluster}` }));
    if (!written) return;
    run.progress.record = { path: written.path, error: null };
  } catch (err) {
    run.progress.record = { path: null, error: failureMessage(err) };
  }
  run.publish();
}
