/**
 * The payload codec's key: 32 random bytes (AES-256), given to the client and the worker as
 * TALOS_UPGRADE_CODEC_KEY (base64 or hex) or TALOS_UPGRADE_CODEC_KEY_FILE (a file holding it, e.g. a
 * mounted secret). Create one with `openssl rand -base64 32`. Errors name the variable or the file,
 * never the key.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { ExitCode } from '../contract/exit-codes';

export const CODEC_KEY_ENV = 'TALOS_UPGRADE_CODEC_KEY';
export const CODEC_KEY_FILE_ENV = 'TALOS_UPGRADE_CODEC_KEY_FILE';
const KEY_BYTES = 32;
const MAX_KEY_FILE_BYTES = 4096;

/** A codec key that cannot be used: one line naming where it came from and how to fix it (exit 2). */
export class CodecKeyError extends Error {
  readonly exitCode = ExitCode.badSpec;
  constructor(message: string) {
    super(message);
    this.name = 'CodecKeyError';
  }
}

export interface CodecKey {
  key: Buffer;
  /** Names the key in each payload's metadata, so a wrong key is told apart from damaged data. Not secret: a hash prefix. */
  id: string;
  /** Where it came from, for messages. */
  source: string;
}

/** 32 bytes from base64 (standard or url-safe) or hex text, else null. */
function decodeKey(text: string): Buffer | null {
  const t = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return Buffer.from(t, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(t)) {
    const bytes = Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    return bytes.length === KEY_BYTES ? bytes : null;
  }
  return null;
}

function keyId(key: Buffer): string {
  return crypto.createHash('sha256').update('talos-upgrade payload codec key id\0').update(key).digest('hex').slice(0, 16);
}

function readKeyFile(file: string): string {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    const buffer = Buffer.alloc(MAX_KEY_FILE_BYTES + 1);
    const n = fs.readSync(fd, buffer, 0, buffer.length, 0);
    if (n > MAX_KEY_FILE_BYTES) throw new CodecKeyError(`${CODEC_KEY_FILE_ENV}: ${file} is larger than ${MAX_KEY_FILE_BYTES} bytes; it should hold only the key (openssl rand -base64 32)`);
    return buffer.subarray(0, n).toString('utf8');
  } catch (err) {
    if (err instanceof CodecKeyError) throw err;
    throw new CodecKeyError(`${CODEC_KEY_FILE_ENV}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** The key the environment names, or null when no codec is configured. */
export function keyFromEnv(env: NodeJS.ProcessEnv = process.env): CodecKey | null {
  const inline = env[CODEC_KEY_ENV];
  const file = env[CODEC_KEY_FILE_ENV];
  if (inline && file) throw new CodecKeyError(`both ${CODEC_KEY_ENV} and ${CODEC_KEY_FILE_ENV} are set; keep one`);
  if (!inline && !file) return null;
  const source = inline ? CODEC_KEY_ENV : `${CODEC_KEY_FILE_ENV} (${file})`;
  const key = decodeKey(inline ?? readKeyFile(file ?? ''));
  if (!key) throw new CodecKeyError(`${source} does not hold a 32-byte key in base64 or hex; create one with: openssl rand -base64 32`);
  return { key, id: keyId(key), source };
}
