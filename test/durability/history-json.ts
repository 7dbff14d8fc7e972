/**
 * History <-> proto JSON (the format of `temporal workflow show -o json`), through the protobufjs
 * copy that @temporalio/proto itself uses.
 *
 * Why not `historyToJSON`/`historyFromJSON` from @temporalio/common: with this lockfile npm installs
 * three nested copies of protobufjs 8 (the top level holds 7.x for @grpc/proto-loader), and
 * common's protojson rejects the History type built by @temporalio/proto's copy ("type must be a
 * Type"). `Worker.runReplayHistory` given JSON goes through the same function, so replay tests
 * pass it the decoded History instead.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import * as proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';
import { resultsDir } from './results';

type History = proto.temporal.api.history.v1.IHistory;

interface ProtoJson {
  toJson(type: unknown, message: unknown): unknown;
  fromJson(type: unknown, json: unknown, options?: { ignoreUnknownFields?: boolean }): unknown;
}

interface LookupRoot {
  lookupType(name: string): unknown;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const protojson = require(require.resolve('protobufjs/ext/protojson', { paths: [path.dirname(require.resolve('@temporalio/proto'))] })) as ProtoJson;
const historyType = (patchProtobufRoot(proto as unknown as Record<string, unknown>) as unknown as LookupRoot).lookupType('temporal.api.history.v1.History');

export function historyToJson(history: History): string {
  return JSON.stringify(protojson.toJson(historyType, proto.temporal.api.history.v1.History.fromObject(history)), null, 2);
}

export function historyFromJson(json: unknown): History {
  const loaded = protojson.fromJson(historyType, json, { ignoreUnknownFields: true });
  if (!loaded) throw new TypeError('not a workflow history');
  return loaded;
}

/** Saves a failed test's workflow history under test-results/durability/histories/ for diagnosis. */
export async function keepHistory(handle: WorkflowHandle, name: string): Promise<string | undefined> {
  try {
    const dir = path.join(resultsDir(), 'histories');
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${name}.json`);
    fs.writeFileSync(file, `${historyToJson(await handle.fetchHistory())}\n`);
    return file;
  } catch {
    return undefined;
  }
}

interface MarkEvent {
  activityTaskScheduledEventAttributes?: { activityType?: { name?: string | null } | null } | null;
  activityTaskFailedEventAttributes?: { failure?: { applicationFailureInfo?: { type?: string | null } | null } | null } | null;
  workflowExecutionSignaledEventAttributes?: { signalName?: string | null } | null;
  workflowExecutionUpdateAcceptedEventAttributes?: { acceptedRequest?: { input?: { name?: string | null } | null } | null } | null;
  timerStartedEventAttributes?: unknown;
  workflowExecutionCancelRequestedEventAttributes?: unknown;
}

/**
 * What a history shows happened, as marks: `activity:<type>`, `failed:<error type>` (an activity
 * failure), `signal:<name>`, `update:<name>`, `timer`, `cancel-requested`. Works on the proto object
 * (fetchHistory) and on its JSON form (test/histories/*.json) alike.
 */
export function historyMarks(history: { events?: MarkEvent[] | null }): Set<string> {
  const marks = new Set<string>();
  for (const e of history.events ?? []) {
    const activity = e.activityTaskScheduledEventAttributes?.activityType?.name;
    if (activity) marks.add(`activity:${activity}`);
    const failed = e.activityTaskFailedEventAttributes?.failure?.applicationFailureInfo?.type;
    if (failed) marks.add(`failed:${failed}`);
    const signal = e.workflowExecutionSignaledEventAttributes?.signalName;
    if (signal) marks.add(`signal:${signal}`);
    const update = e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name;
    if (update) marks.add(`update:${update}`);
    if (e.timerStartedEventAttributes) marks.add('timer');
    if (e.workflowExecutionCancelRequestedEventAttributes) marks.add('cancel-requested');
  }
  return marks;
}
