import { test } from 'node:test';
import assert from 'node:assert/strict';
import { REDACTED, redact, redactCut, usableSecrets } from '../../src/activities/redact';
import { toolEnv } from '../../src/activities/tool-env';

test('redact replaces every occurrence, longest secret first, ignoring empty ones', () => {
  assert.equal(redact('a token123 b token123', ['token123']), `a ${REDACTED} b ${REDACTED}`);
  assert.equal(redact('key=abcdef', ['abc', 'abcdef']), `key=${REDACTED}`);
  assert.equal(redact('nothing here', ['', 'zzz']), 'nothing here');
  assert.equal(redact('x', undefined), 'x');
  assert.deepEqual(usableSecrets(['a', '', 'abc', 'a']), ['abc', 'a']);
});

test('redactCut drops the piece of a secret left at a cut', () => {
  const secret = 'SECRETVALUE42';
  // A tail that starts inside the secret.
  assert.equal(redactCut('ALUE42 and more', [secret], 'start'), ' and more');
  // A head that ends inside the secret.
  assert.equal(redactCut('prefix SECRETV', [secret], 'end'), 'prefix ');
  // Whole occurrences are still replaced, and text without pieces is untouched.
  assert.equal(redactCut(`x ${secret} y`, [secret], 'start'), `x ${REDACTED} y`);
  assert.equal(redactCut('plain text', [secret], 'end'), 'plain text');
});

test('toolEnv passes paths only', () => {
  assert.deepEqual(toolEnv({ talosconfig: '/c/talosconfig', kubeconfig: '/c/kubeconfig' }), { TALOSCONFIG: '/c/talosconfig', KUBECONFIG: '/c/kubeconfig' });
});
