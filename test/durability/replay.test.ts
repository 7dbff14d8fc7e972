/**
 * Every recorded history in test/histories/ must replay against the current workflow code: a
 * worker deployed with this code has to be able to resume upgrades that older code started. A
 * failure here means the change needs a versioning decision (`patched()` or Worker Versioning),
 * see test/histories/README.md; re-recording the histories instead only hides the problem.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { DeterminismViolationError } from '@temporalio/workflow';
import { historyFromJson, historyMarks } from './history-json';
import { replayHistory, workflowBundle } from './harness';
import { openSuite, REPO_ROOT } from './results';
import { SCENARIOS } from './scenarios';

const HISTORIES = path.join(REPO_ROOT, 'test', 'histories');
const results = openSuite('replay');

interface EventJson {
  eventType?: string;
  workflowExecutionStartedEventAttributes?: { workflowType?: { name?: string } };
  workflowExecutionCompletedEventAttributes?: { result?: { payloads?: { data?: string }[] } };
  activityTaskScheduledEventAttributes?: { activityType?: { name?: string } };
  upsertWorkflowSearchAttributesEventAttributes?: { searchAttributes?: { indexedFields?: Record<string, { data?: string }> } };
}
type HistoryJson = { events: EventJson[] };

const load = (name: string): HistoryJson => JSON.parse(fs.readFileSync(path.join(HISTORIES, `${name}.json`), 'utf8')) as HistoryJson;

/** The part of a replay error that says what differed (Core's message), on one line. */
function brief(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const core = /\[TMPRL\d+\][^"]*/.exec(text)?.[0];
  return (core ?? text.split('\n')[0] ?? '').slice(0, 300);
}

const decode = (data: string): unknown => JSON.parse(Buffer.from(data, 'base64').toString('utf8'));

/** The report's outcome: the workflow's result, or for a cancelled run the last phase it showed (its report is not a result). */
function outcomeOf(h: HistoryJson, closes: 'completed' | 'cancelled'): string | undefined {
  const last = h.events[h.events.length - 1];
  if (closes === 'cancelled') {
    if (last?.eventType !== 'EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED') return undefined;
    const phases = h.events.map((e) => e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.UpgradePhase?.data).filter((d): d is string => !!d);
    const phase = phases.length ? decode(phases[phases.length - 1]!) : undefined;
    return phase === 'aborted' ? 'aborted' : `phase ${String(phase)}`;
  }
  const data = last?.workflowExecutionCompletedEventAttributes?.result?.payloads?.[0]?.data;
  return data ? (decode(data) as { outcome?: string }).outcome : undefined;
}

describe('replay: recorded histories against the current workflow code', () => {
  before(async () => {
    await workflowBundle();
  });

  it('every main scenario has a recorded history, and nothing else is there', () => {
    const files = fs
      .readdirSync(HISTORIES)
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.replace(/\.json$/, ''))
      .sort();
    assert.deepEqual(files, SCENARIOS.map((s) => s.name).sort());
  });

  for (const scenario of SCENARIOS) {
    it(`${scenario.name} replays without a nondeterminism error`, async () => {
      const json = load(scenario.name);
      assert.equal(json.events[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name, 'clusterUpgrade');
      assert.equal(outcomeOf(json, scenario.closes ?? 'completed'), scenario.outcome, 'the recording is of a finished run with the scenario outcome');
      const marks = historyMarks(json);
      assert.deepEqual(
        scenario.shows.filter((m) => !marks.has(m)),
        [],
        `${scenario.name}.json shows the path it covers`,
      );
      let note: string | undefined;
      try {
        await replayHistory(historyFromJson(json), scenario.name);
      } catch (err) {
        note = brief(err);
        throw new Error(
          `${scenario.name}.json no longer replays (${note}). The workflow changed in a way running upgrades cannot follow: guard the change with patched() or move to Worker Versioning (test/histories/README.md).`,
        );
      } finally {
        results.record({ kind: 'replay', name: scenario.name, ok: note === undefined, events: json.events.length, ...(note ? { note } : {}) });
      }
    });
  }

  it('the replayer does catch an incompatible change (a tampered history fails)', async () => {
    const json = load('happy-path');
    const scheduled = json.events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'installOnNode');
    assert.ok(scheduled?.activityTaskScheduledEventAttributes?.activityType);
    scheduled.activityTaskScheduledEventAttributes.activityType.name = 'installOnNodeV2';
    await assert.rejects(replayHistory(historyFromJson(json), 'tampered'), DeterminismViolationError);
  });
});
