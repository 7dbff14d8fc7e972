/**
 * Signal and update payload bounds (pure checks shared by the workflow, its update validators and the
 * CLI), and the bounded audit log: short redacted notes and excerpts, refused signals counted past a limit.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_AUDIT_NOTE_CHARS,
  MAX_PAYLOAD_BYTES,
  MAX_REFUSED_AUDIT_ENTRIES,
  appendAudit,
  checkApprove,
  checkControl,
  checkDecide,
  checkReject,
  checkRemediate,
  malformedNote,
  payloadExcerpt,
} from '../../src/workflows/message-checks';
import { type AuditEntry } from '../../src/workflows/messages';
import { confirmSignal, findAuditEntry } from '../../src/client/answer-guard';

const error = (c: { ok: boolean; error?: string }): string => (c.ok ? 'accepted' : (c.error ?? ''));

describe('payload bounds', () => {
  it('reasons, comments and names: 500 characters accepted, 501 refused with a reason that says so', () => {
    assert.deepEqual(checkControl({ by: 'ops', reason: 'r'.repeat(500) }), { ok: true, value: { by: 'ops', reason: 'r'.repeat(500) } });
    assert.equal(error(checkControl({ by: 'ops', reason: 'r'.repeat(501) })), '"reason" is 501 characters; at most 500 are accepted');
    assert.equal(error(checkApprove({ step: 'plan', comment: 'c'.repeat(501) })), '"comment" is 501 characters; at most 500 are accepted');
    assert.equal(error(checkReject({ step: 'plan', reason: 'c'.repeat(501) })), '"reason" is 501 characters; at most 500 are accepted');
    assert.equal(error(checkRemediate({ id: 'x', by: 'b'.repeat(501) })), '"by" is 501 characters; at most 500 are accepted');
  });

  it(`a payload over ${MAX_PAYLOAD_BYTES} bytes of JSON is refused whole, whatever its shape`, () => {
    const big = 'x'.repeat(3000);
    const refusals = [
      checkControl({ by: 'ops', reason: big }),
      checkControl(big),
      checkApprove({ step: 'plan', [big]: 1 }),
      checkDecide([big]),
      checkRemediate({ id: big }),
      // Multi-byte characters count as bytes: 700 × "€" is 2100 bytes.
      checkControl({ reason: '€'.repeat(700) }),
    ];
    for (const r of refusals) assert.match(error(r), /^payload is \d+ bytes; at most 2048 are accepted \(reasons and comments up to 500 characters\)$/);
    assert.equal(checkApprove({ step: 'plan', by: 'a'.repeat(400), comment: 'b'.repeat(400) }).ok, true, 'a large but allowed payload');
  });

  it('unknown field names are listed short, at most three', () => {
    const r = error(checkApprove({ step: 'plan', ['k'.repeat(100)]: 1, a: 1, b: 1, c: 1 }));
    assert.ok(r.length < 200, r);
    assert.match(r, /^unknown fields k{37}\.\.\., a, b and 1 more \(allowed: step, by, comment\)$/);
  });

  it('values that are not plain JSON are refused, not thrown on', () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    assert.equal(error(checkControl(circular)), 'payload is not plain JSON');
    assert.equal(error(checkApprove({ step: 'plan', by: 10n })), 'payload is not plain JSON');
  });
});

describe('the audit log stays bounded', () => {
  const refused = (i: number, note = `malformed payload: ${i}`): AuditEntry => ({ at: `t${i}`, signal: 'abort', by: 'unknown', step: null, accepted: false, note });

  it('notes are one short redacted line; the excerpt of a refused payload never holds it whole', () => {
    const log: AuditEntry[] = [];
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJlLWJ5dGVz';
    const entry = appendAudit(log, { at: 't', signal: 'pause', by: 'ops', step: null, accepted: true, note: `line one\nline two ${'z'.repeat(600)}` });
    assert.ok(!entry.note.includes('\n') && entry.note.length <= MAX_AUDIT_NOTE_CHARS);
    const payload = { reason: `token=${'s'.repeat(30)} ${jwt} ${'q'.repeat(9000)}`, by: 'mallory' };
    const note = malformedNote(error(checkControl(payload)), payload);
    assert.ok(note.length < 220, note);
    assert.match(note, /^malformed payload: payload is 9\d{3} bytes; .*; sent: \{"reason":"token=\[redacted\] \[redacted\] q*\.\.\.$/);
    for (const secret of ['sssssssss', 'eyJhbGciOiJIUzI1NiJ9', 'c2lnbmF0dXJl']) assert.ok(!note.includes(secret));
    // A token cut by the excerpt is dropped rather than shown in part.
    assert.equal(payloadExcerpt({ reason: `x ${'A1b2'.repeat(40)}` }), '{"reason":"x ...');
  });

  it(`refused signals past ${MAX_REFUSED_AUDIT_ENTRIES} share one counting entry; accepted ones are always stored`, () => {
    const log: AuditEntry[] = [];
    for (let i = 0; i < 130; i++) appendAudit(log, refused(i));
    appendAudit(log, { at: 'ok', signal: 'resume', by: 'ops', step: null, accepted: true, note: '' });
    for (let i = 130; i < 140; i++) appendAudit(log, refused(i));
    assert.equal(log.length, MAX_REFUSED_AUDIT_ENTRIES + 2);
    const summary = log.filter((e) => e.ignored !== undefined);
    assert.equal(summary.length, 1);
    assert.equal(summary[0]!.ignored, 140 - MAX_REFUSED_AUDIT_ENTRIES);
    assert.equal(summary[0]!.at, 't139');
    assert.match(summary[0]!.note, /^90 more refused signals not stored one by one; the last \(abort\): malformed payload: 139$/);
    // The CLI finds the entry its own signal left after the point it read before sending.
    assert.equal(findAuditEntry(log, log.length, 'resume', 'ops'), undefined);
    assert.equal(findAuditEntry(log, MAX_REFUSED_AUDIT_ENTRIES, 'resume', 'ops')?.at, 'ok');
  });
});

describe('the CLI confirms the signals it sends', () => {
  const progress = (audit: AuditEntry[]) => ({ audit }) as unknown as import('../../src/workflows/messages').UpgradeProgress;
  const entry = (accepted: boolean, note = ''): AuditEntry => ({ at: 't', signal: 'abort', by: 'ops', step: null, accepted, note });

  it('accepted: returns the entry; refused: says why; no answer: says it was sent and may still act', async () => {
    assert.equal((await confirmSignal(async () => progress([entry(true)]), 'lab', 'abort', 'ops', 0, 1_000)).accepted, true);
    await assert.rejects(
      confirmSignal(async () => progress([entry(false, 'malformed payload: x')]), 'lab', 'abort', 'ops', 0, 1_000),
      /the upgrade of lab refused the abort: malformed payload: x/,
    );
    let asked = 0;
    const silent = async () => {
      asked += 1;
      throw new Error('no worker answered the progress query');
    };
    await assert.rejects(
      confirmSignal(silent, 'lab', 'abort', 'ops', 0, 500),
      /^UserError: abort sent, but the upgrade of lab did not confirm it within 1 s \(is a worker running\?\); it takes effect if a worker processes it later/,
    );
    assert.ok(asked >= 2, 'kept asking until the deadline');
    // An entry from before the signal was sent does not count.
    await assert.rejects(
      confirmSignal(async () => progress([entry(true)]), 'lab', 'abort', 'ops', 1, 300),
      /did not confirm/,
    );
  });
});
