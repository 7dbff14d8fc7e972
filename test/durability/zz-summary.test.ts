/**
 * Runs after the other durability suites (test files run in sorted order): prints the durability
 * figures into the test output, writes test-results/durability/summary.md for the README, and
 * fails when a suite did not run, is from an earlier run, or a figure is not perfect.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { readSuites, resultsDir, SUITES, type CrashRecord, type DurabilityRecord, type SuiteResults } from './results';
import { perfect, renderMarkdown, renderText, summarize } from './summary';

const suite = (name: string, records: DurabilityRecord[], at = '2026-01-01T00:00:00.000Z'): SuiteResults => ({ suite: name, startedAt: at, updatedAt: at, records });

describe('durability summary', () => {
  it('counts what the records say (synthetic records)', () => {
    const crash = (name: string, survived: boolean, duplicateUpgrades = 0): CrashRecord => ({
      kind: 'crash',
      name,
      disruption: 'worker-sigkill',
      survived,
      outcome: 'completed',
      duplicateUpgrades,
      lostUpgrades: 0,
      acceptedUpgrades: 2,
      seconds: 1,
    });
    const one: Record<(typeof SUITES)[number], DurabilityRecord> = {
      'crash-matrix': crash('a', true),
      'exactly-once': { ...crash('e', true), disruption: 'orphan-late', point: 'e', repetition: 1, overlappingReboots: 0, fallbacks: { seen: 1, reported: 1 } },
      'server-restart': { ...crash('r', true), disruption: 'server-restart' },
      sleep: { ...crash('s', true), disruption: 'sleep' },
      replay: { kind: 'replay', name: 'h', ok: true, events: 10 },
      'bad-input': { kind: 'bad-input', name: 'g', channel: 'spec', rejected: true, inputs: 80, rejectedInputs: 80 },
      'tool-faults': { kind: 'tool-fault', name: 't', ok: true, attempts: 3, leftoverProcesses: 0, seconds: 1 },
    };
    const good = SUITES.map((name) => suite(name, [one[name]]));
    const s = summarize(good);
    assert.ok(perfect(s), renderText(s));
    assert.equal(s.badInput.all.total, 80);
    assert.match(renderMarkdown(s), /\| crash points survived \(worker SIGKILL\) \| 1\/1 \|/);
    assert.equal(s.crash.repeated.total, 1, 'the exactly-once repetitions are counted apart');
    assert.equal(s.repetitions, 1);
    assert.deepEqual(s.fallbacks, { seen: 1, reported: 1 });

    const overlap = summarize([...good.filter((x) => x.suite !== 'exactly-once'), suite('exactly-once', [{ ...crash('e', true), point: 'e', overlappingReboots: 1 }])]);
    assert.equal(overlap.overlappingReboots, 1);
    assert.ok(!perfect(overlap), 'an overlapping reboot is not perfect');
    const unreported = summarize([...good.filter((x) => x.suite !== 'exactly-once'), suite('exactly-once', [{ ...crash('e', true), point: 'e', fallbacks: { seen: 1, reported: 0 } }])]);
    assert.ok(!perfect(unreported), 'a fallback not reported as BootFallback is not perfect');
    const noRepeats = summarize(good.filter((x) => x.suite !== 'exactly-once'));
    assert.deepEqual(noRepeats.missing, ['exactly-once'], 'the exactly-once suite must have run');

    const dup = summarize([...good.filter((x) => x.suite !== 'crash-matrix'), suite('crash-matrix', [crash('a', true), crash('b', false, 1)])]);
    assert.equal(dup.crash.sigkill.ok, 1);
    assert.equal(dup.crash.sigkill.total, 2);
    assert.equal(dup.duplicateUpgrades, 1);
    assert.ok(!perfect(dup));
    const missing = summarize(good.filter((x) => x.suite !== 'replay'));
    assert.deepEqual(missing.missing, ['replay']);
    const stale = summarize([...good.filter((x) => x.suite !== 'sleep'), suite('sleep', good.find((x) => x.suite === 'sleep')!.records, '2025-01-01T00:00:00.000Z')]);
    assert.equal(stale.stale.length, 1);
    assert.ok(!perfect(stale));
  });

  it('prints the figures; every suite ran and every figure is perfect', () => {
    const suites = readSuites();
    const s = summarize(suites);
    process.stdout.write(`\n${renderText(s)}\n\n`);
    fs.mkdirSync(resultsDir(), { recursive: true });
    fs.writeFileSync(path.join(resultsDir(), 'summary.md'), `${renderMarkdown(s)}\n`);
    assert.deepEqual(s.missing, [], 'every durability suite left results');
    assert.deepEqual(s.stale, [], 'all results are from this run');
    assert.deepEqual(s.failures, []);
    assert.ok(perfect(s), 'every figure is perfect');
  });
});
