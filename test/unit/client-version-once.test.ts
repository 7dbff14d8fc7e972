/**
 * `talosctl version --client` is asked once per binary, not before every install: it sat on the
 * critical path between two nodes (issue 16). A replaced binary (new mtime) is asked again.
 */
import assert from 'node:assert/strict';
import { utimesSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { clientVersion } from '../../src/activities/node/install';
import { calls, scratch, stepInput, twin } from '../helpers/node-steps';

const tmp = scratch('client-version');
after(() => tmp.cleanup());

describe('the talosctl client version', () => {
  it('is asked once per binary, and again when the binary changes', async () => {
    const { sim } = await twin(tmp.dir, { talos: 'v1.12.4', talosctlVersion: 'v1.13.9', kubernetes: '1.35.0' });
    const { access } = stepInput(sim);
    const asked = (): number => calls(sim, 'version').filter((a) => a.includes('--client')).length;
    assert.equal(await clientVersion({ access }), 'v1.13.9');
    assert.equal(await clientVersion({ access }), 'v1.13.9');
    assert.equal(asked(), 1, 'the second install does not ask again');
    const later = new Date(Date.now() + 5_000);
    utimesSync(access.tools.talosctl, later, later);
    assert.equal(await clientVersion({ access }), 'v1.13.9');
    assert.equal(asked(), 2, 'a replaced binary is asked again');
  });
});
