/**
 * Loads a spec file from disk: parse and validate (pure, src/plan/spec.ts), then make its relative
 * paths absolute against the file's own directory and check that talosconfig and kubeconfig exist.
 * Their contents are never read here: they are secrets and only ever reach the tools via env vars.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SpecError, parseSpecText, specWarnings } from '../plan/spec';
import type { ToolPaths, UpgradeSpec } from '../plan/types';

export interface LoadSpecOptions {
  /** The CLI's --allow-downgrade; ORed with the spec's own allowDowngrade. */
  allowDowngrade?: boolean;
}

export interface LoadedSpec {
  spec: UpgradeSpec;
  warnings: string[];
}

/** `~/x` → home-relative; relative → against `baseDir`; absolute stays. */
function resolvePath(value: string, baseDir: string): string {
  if (value === '~' || value.startsWith('~/')) return path.join(os.homedir(), value.slice(1));
  return path.resolve(baseDir, value);
}

function checkFile(key: 'talosconfig' | 'kubeconfig', resolved: string, written: string, source: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(resolved);
  } catch {
    const where = written === resolved ? '' : ` (looked for ${resolved})`;
    throw new SpecError(key, `${written} does not exist${where}; fix the path (relative paths are relative to the spec file)`, source);
  }
  if (!stat.isFile()) throw new SpecError(key, `${resolved} is not a file; point ${key} at the ${key} file itself`, source);
}

/** A spec is a few KiB; anything past this is not a spec, and reading it whole would only cost memory. */
export const MAX_SPEC_BYTES = 1024 * 1024;

function kindOf(stat: fs.Stats): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFIFO()) return 'a named pipe';
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return 'a device';
  if (stat.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * The text of the spec file at `specPath`, read only from a regular file of at most MAX_SPEC_BYTES.
 * Opened non-blocking so a named pipe without a writer is refused at once instead of hanging, and
 * checked on the open descriptor so /dev/zero (or a symlink to it) is refused before a byte is read.
 */
export function readSpecText(specPath: string): string {
  const source = specPath;
  let fd: number;
  try {
    fd = fs.openSync(specPath, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown error';
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : code === 'EACCES' ? 'permission denied' : code;
    throw new SpecError('', `cannot read the spec file (${why}); check the path`, source);
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw new SpecError('', `cannot read the spec file: it is ${kindOf(stat)}; give the path of a YAML or JSON file`, source);
    if (stat.size > MAX_SPEC_BYTES) {
      throw new SpecError('', `the spec file is ${stat.size} bytes, more than the ${MAX_SPEC_BYTES} a spec may have; give the path of the spec itself`, source);
    }
    // Read at most one byte past the limit: a file that grows while we read is refused, not followed.
    const buf = Buffer.alloc(MAX_SPEC_BYTES + 1);
    let length = 0;
    for (;;) {
      const n = fs.readSync(fd, buf, length, buf.length - length, null);
      if (n === 0) break;
      length += n;
      if (length > MAX_SPEC_BYTES) throw new SpecError('', `the spec file is larger than the ${MAX_SPEC_BYTES} bytes a spec may have; give the path of the spec itself`, source);
    }
    return buf.subarray(0, length).toString('utf8');
  } catch (err) {
    if (err instanceof SpecError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new SpecError('', `cannot read the spec file (${code === 'EISDIR' ? 'it is a directory' : code}); check the path`, source);
  } finally {
    fs.closeSync(fd);
  }
}

export function loadSpecFile(specPath: string, opts: LoadSpecOptions = {}): LoadedSpec {
  const source = specPath;
  const text = readSpecText(specPath);

  const spec = parseSpecText(text, source);
  const baseDir = path.dirname(path.resolve(specPath));
  const warnings = specWarnings(spec);

  const talosconfig = resolvePath(spec.talosconfig, baseDir);
  const kubeconfig = resolvePath(spec.kubeconfig, baseDir);
  checkFile('talosconfig', talosconfig, spec.talosconfig, source);
  checkFile('kubeconfig', kubeconfig, spec.kubeconfig, source);

  const tools = { ...spec.tools };
  for (const name of Object.keys(tools) as (keyof ToolPaths)[]) {
    const value = tools[name];
    // A bare name is looked up on PATH by the runner; anything with a slash is a path.
    if (!value.includes('/') && !value.startsWith('~')) continue;
    const resolved = resolvePath(value, baseDir);
    tools[name] = resolved;
    if (!fs.existsSync(resolved)) warnings.push(`tools.${name}: ${resolved} does not exist yet; the upgrade will fail when it needs ${name}`);
  }

  const resolvedSpec: UpgradeSpec = {
    ...spec,
    talosconfig,
    kubeconfig,
    tools,
    backup: {
      velero: spec.backup.velero,
      etcdSnapshot: { ...spec.backup.etcdSnapshot, directory: resolvePath(spec.backup.etcdSnapshot.directory, baseDir) },
    },
    allowDowngrade: spec.allowDowngrade || opts.allowDowngrade === true,
    // A urlFile is read by the worker: relative to the spec, like the configs.
    ...(spec.notifications ? { notifications: spec.notifications.map((t) => (t.urlFile !== undefined ? { ...t, urlFile: resolvePath(t.urlFile, baseDir) } : t)) } : {}),
  };
  return { spec: resolvedSpec, warnings };
}
