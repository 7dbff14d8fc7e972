/**
 * Captures the kubectl contract cases from the real kubectl: `node dist/test/contract/capture/capture-kubectl.js [id...]`
 * runs each scenario (kubectl-scenarios.ts) against the test API server with the kubectl that
 * captures it and writes test/contract/kubectl/<id>.json, .stdout and .stderr (an empty stream is no file).
 * `--metadata-only` rewrites the .json files from the scenarios and keeps the captured bytes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { contractDir } from '../../helpers/contract';
import { ensureKubectl, KUBECTL_PINNED } from '../../helpers/kubectl-bin';
import { captureKubectl } from '../../helpers/kubectl-capture';
import { caseMetadata, SCENARIOS } from './kubectl-scenarios';

async function main(argv: string[]): Promise<void> {
  const metadataOnly = argv.includes('--metadata-only');
  const ids = argv.filter((a) => a !== '--metadata-only');
  const dir = path.join(contractDir(), 'kubectl');
  fs.mkdirSync(dir, { recursive: true });
  const chosen = ids.length === 0 ? SCENARIOS : SCENARIOS.filter((s) => ids.includes(s.id));
  const unknown = ids.filter((id) => !SCENARIOS.some((s) => s.id === id));
  if (unknown.length > 0) throw new Error(`no scenario ${unknown.join(', ')}`);
  for (const s of chosen) {
    if (metadataOnly) {
      const file = path.join(dir, `${s.id}.json`);
      const { exitCode } = JSON.parse(fs.readFileSync(file, 'utf8')) as { exitCode: number };
      fs.writeFileSync(file, `${JSON.stringify(caseMetadata(s, exitCode), null, 2)}\n`);
      continue;
    }
    const bin = await ensureKubectl(s.capturedWith ?? KUBECTL_PINNED);
    const r = await captureKubectl(bin, s.setup, s.command);
    for (const [ext, text] of [
      ['stdout', r.stdout],
      ['stderr', r.stderr],
    ] as const) {
      const file = path.join(dir, `${s.id}.${ext}`);
      if (text === '') fs.rmSync(file, { force: true });
      else fs.writeFileSync(file, text);
    }
    fs.writeFileSync(path.join(dir, `${s.id}.json`), `${JSON.stringify(caseMetadata(s, r.exitCode), null, 2)}\n`);
    process.stdout.write(`${s.id}: exit ${r.exitCode}, ${r.stdout.length} + ${r.stderr.length} bytes\n`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`capture-kubectl: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
