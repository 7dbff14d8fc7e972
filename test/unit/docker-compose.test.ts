import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { projectRoot } from '../../src/paths';

interface Service {
  image: string;
  environment?: Record<string, string>;
  command?: string[];
  ports?: string[];
  healthcheck?: { test: string[] };
  volumes?: string[];
}

const compose = parse(fs.readFileSync(path.join(projectRoot(), 'docker-compose.temporal.yml'), 'utf8')) as {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
};

describe('docker-compose.temporal.yml', () => {
  it('has PostgreSQL, the server, admin tools and the Web UI', () => {
    const images = Object.values(compose.services).map((s) => s.image.split(':')[0]);
    for (const expected of ['postgres', 'temporalio/auto-setup', 'temporalio/admin-tools', 'temporalio/ui']) {
      assert.ok(images.includes(expected), `missing ${expected} in ${images.join(', ')}`);
    }
  });

  it('pins every image tag (never latest, never untagged)', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      const tag = service.image.split(':')[1];
      assert.ok(tag && tag !== 'latest' && /\d/.test(tag), `${name} has unpinned image ${service.image}`);
    }
  });

  it('gives every service a health check', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      assert.ok(service.healthcheck?.test?.length, `${name} has no healthcheck`);
    }
  });

  it('publishes ports on 127.0.0.1 only', () => {
    const ports = Object.values(compose.services).flatMap((s) => s.ports ?? []);
    assert.ok(ports.length >= 2);
    for (const port of ports) assert.match(port, /^127\.0\.0\.1:\d+:\d+$/);
  });

  it('keeps PostgreSQL data in a named volume', () => {
    const pg = Object.values(compose.services).find((s) => s.image.startsWith('postgres:'));
    const volume = pg?.volumes?.[0]?.split(':')[0];
    assert.ok(volume && compose.volumes && volume in compose.volumes, 'postgres data is not in a named volume');
  });

  it('keeps closed upgrades at least 30 days: the default namespace is created with it and an existing one updated to it', () => {
    const hours = (text: string | undefined): number => {
      // ${VAR:-default} is compose interpolation: the default is what runs unless the operator sets it.
      const value = /^\$\{TALOS_UPGRADE_RETENTION:-(\d+)h\}$/.exec(text ?? '')?.[1];
      assert.ok(value, `retention must be \${TALOS_UPGRADE_RETENTION:-<hours>h}, got ${text}`);
      return Number(value);
    };
    const server = Object.values(compose.services).find((s) => s.image.startsWith('temporalio/auto-setup:'));
    assert.equal(server?.environment?.DEFAULT_NAMESPACE, 'default');
    assert.ok(hours(server?.environment?.DEFAULT_NAMESPACE_RETENTION) >= 30 * 24, 'auto-setup creates the namespace with >= 30 days');
    const admin = Object.values(compose.services).find((s) => s.image.startsWith('temporalio/admin-tools:'));
    const update = /temporal operator namespace update --namespace default --retention (\S+?);/.exec((admin?.command ?? []).join(' '));
    assert.ok(update, 'admin-tools updates the retention of a namespace auto-setup did not create');
    assert.equal(hours(update[1]), hours(server?.environment?.DEFAULT_NAMESPACE_RETENTION), 'both say the same retention');
  });

  it('registers the search attributes talos-upgrade needs', () => {
    const text = JSON.stringify(compose.services);
    assert.match(text, /TalosCluster/);
    assert.match(text, /UpgradePhase/);
  });
});
