/**
 * The Web UI link comes from the server actually used, never a guess: the operator's --ui-url /
 * TEMPORAL_UI, or the record of a dev server `talos-upgrade server` started on that address; else none.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { localServerRecord, noLinkText, setUiUrlFlag, webUiBase, workflowLink, writeServerRecord } from '../../src/client/web-ui';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'web-ui-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshEnv = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({ XDG_STATE_HOME: path.join(root, `s${++n}`), ...extra });
/** A pid no process has (above Linux's largest pid_max). */
const DEAD_PID = 99_999_999;

describe('the Web UI link', () => {
  it('is none when nothing says where the UI is (no default port guessed)', () => {
    const env = freshEnv();
    assert.equal(webUiBase('127.0.0.1:7233', env), null);
    assert.equal(workflowLink('127.0.0.1:7233', 'default', 'talos-upgrade-lab', env), null);
  });

  it('uses TEMPORAL_UI (or the older TALOS_UPGRADE_UI_URL), and the --ui-url flag before both', () => {
    assert.equal(
      workflowLink('10.0.0.5:7233', 'prod', 'talos-upgrade-lab', freshEnv({ TEMPORAL_UI: 'https://ui.example.net/' })),
      'https://ui.example.net/namespaces/prod/workflows/talos-upgrade-lab',
    );
    assert.equal(webUiBase('127.0.0.1:7233', freshEnv({ TALOS_UPGRADE_UI_URL: 'http://ui.test:8080' })), 'http://ui.test:8080');
    setUiUrlFlag('http://flag.test:9000/');
    try {
      assert.equal(webUiBase('127.0.0.1:7233', freshEnv({ TEMPORAL_UI: 'http://env.test' })), 'http://flag.test:9000');
    } finally {
      setUiUrlFlag(undefined);
    }
  });

  it("takes a local server's real UI port from the record its `server` command left, while that server runs", () => {
    const env = freshEnv();
    writeServerRecord({ pid: process.pid, port: 17233, uiUrl: 'http://127.0.0.1:18999' }, env);
    assert.equal(workflowLink('127.0.0.1:17233', 'default', 'talos-upgrade-lab', env), 'http://127.0.0.1:18999/namespaces/default/workflows/talos-upgrade-lab');
    assert.equal(webUiBase('localhost:17233', env), 'http://127.0.0.1:18999');
    assert.equal(webUiBase('127.0.0.1:7233', env), null, 'another port: another server');
    assert.equal(webUiBase('192.0.2.10:17233', env), null, 'a remote address is not our local server');

    writeServerRecord({ pid: process.pid, port: 17234, uiUrl: null }, env);
    assert.equal(webUiBase('127.0.0.1:17234', env), null, 'a headless server has no UI');
    assert.deepEqual(localServerRecord('127.0.0.1:17234', env), { pid: process.pid, port: 17234, uiUrl: null });

    assert.equal(noLinkText('127.0.0.1:17234', env), 'none (this server runs without a Web UI)', "a rehearsal's headless server");
    assert.match(noLinkText('127.0.0.1:7233', env), /^unknown \(pass --ui-url or set TEMPORAL_UI/);

    writeServerRecord({ pid: DEAD_PID, port: 17235, uiUrl: 'http://127.0.0.1:18235' }, env);
    assert.equal(webUiBase('127.0.0.1:17235', env), null, 'a record whose server is gone says nothing');
  });
});
