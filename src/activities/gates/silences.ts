/**
 * The Alertmanager silence a run holds (API v2, Alertmanager v0.25 api/v2/openapi.yaml and
 * silence/silence.go):
 * - create: POST /api/v2/silences; the comment carries a marker unique to the run and silence, so
 *   a retried create finds the silence its first attempt made (GET /api/v2/silences) instead of a twin;
 * - extend: GET /api/v2/silence/{id}, then POST it back with a later endsAt and the same id, matchers
 *   and startsAt (canUpdate: an active silence keeps its id only then; otherwise Alertmanager expires
 *   it and answers a new id, which the result carries);
 * - expire: DELETE /api/v2/silence/{id} (Silences.Expire: idempotent for an expired silence; a
 *   silence Alertmanager no longer knows is gone already).
 */
import { ApplicationFailure } from '@temporalio/common';
import { asFailure, HttpTrouble, requestJson } from './http';
import type { CreateSilenceInput, ExpireSilenceInput, ExtendSilenceInput, SilenceResult } from './types';

const base = (url: string): string => url.replace(/\/+$/, '');
const TYPE = 'AlertmanagerUnavailable';

interface Gettable {
  id: string;
  status: { state: 'active' | 'pending' | 'expired' };
  matchers: unknown[];
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
}

function isGettable(x: unknown): x is Gettable {
  const g = x as Gettable | null;
  return typeof g?.id === 'string' && typeof g.status?.state === 'string' && Array.isArray(g.matchers);
}

export async function createSilence(input: CreateSilenceInput): Promise<SilenceResult> {
  try {
    const all = await requestJson('GET', `${base(input.url)}/api/v2/silences`);
    const mine = (Array.isArray(all) ? all : []).filter(isGettable).find((s) => s.status.state !== 'expired' && s.comment.includes(input.marker));
    if (mine) return { id: mine.id, state: mine.status.state, endsAt: mine.endsAt, reused: true };
    const now = Date.now();
    const endsAt = new Date(now + input.durationMs).toISOString();
    const answer = (await requestJson('POST', `${base(input.url)}/api/v2/silences`, {
      matchers: input.matchers,
      startsAt: new Date(now).toISOString(),
      endsAt,
      createdBy: input.createdBy,
      comment: `${input.comment} [${input.marker}]`,
    })) as { silenceID?: unknown } | null;
    if (typeof answer?.silenceID !== 'string') throw ApplicationFailure.nonRetryable('Alertmanager created the silence but named no silenceID', TYPE);
    return { id: answer.silenceID, state: 'active', endsAt };
  } catch (err) {
    throw asFailure(err, TYPE);
  }
}

export async function extendSilence(input: ExtendSilenceInput): Promise<SilenceResult> {
  try {
    const found = await requestJson('GET', `${base(input.url)}/api/v2/silence/${encodeURIComponent(input.id)}`);
    if (!isGettable(found)) throw ApplicationFailure.nonRetryable(`Alertmanager answered no silence for ${input.id}`, TYPE);
    // Expired by someone else: a human's choice is not undone here.
    if (found.status.state === 'expired') return { id: found.id, state: 'expired', endsAt: found.endsAt };
    const endsAt = new Date(Date.now() + input.durationMs).toISOString();
    const answer = (await requestJson('POST', `${base(input.url)}/api/v2/silences`, {
      id: found.id,
      matchers: found.matchers,
      startsAt: found.startsAt,
      endsAt,
      createdBy: found.createdBy,
      comment: found.comment,
    })) as { silenceID?: unknown } | null;
    return { id: typeof answer?.silenceID === 'string' ? answer.silenceID : found.id, state: found.status.state, endsAt };
  } catch (err) {
    if (err instanceof HttpTrouble && err.status === 404) return { id: input.id, state: 'expired', endsAt: null };
    throw asFailure(err, TYPE);
  }
}

export async function expireSilence(input: ExpireSilenceInput): Promise<SilenceResult> {
  try {
    await requestJson('DELETE', `${base(input.url)}/api/v2/silence/${encodeURIComponent(input.id)}`);
    return { id: input.id, state: 'expired', endsAt: new Date().toISOString() };
  } catch (err) {
    // silence.ErrNotFound comes back as a 500 with "not found": nothing is left to expire.
    if (err instanceof HttpTrouble && (err.status === 404 || /not found/i.test(err.body))) return { id: input.id, state: 'expired', endsAt: null };
    throw asFailure(err, TYPE);
  }
}
