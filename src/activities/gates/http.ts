/**
 * Bounded JSON over HTTP for the gates and silences: a timeout on every call, no redirects, a size
 * limit on the answer, and errors that say which server and what happened (redacted) in one line.
 */
import { ApplicationFailure } from '@temporalio/common';
import { redactKnown } from '../redact';

const HTTP_TIMEOUT_MS = 15_000;
const MAX_BYTES = 2 * 1024 * 1024;

export class HttpTrouble extends Error {
  constructor(
    message: string,
    readonly status: number | null,
    readonly body: string,
  ) {
    super(message);
    this.name = 'HttpTrouble';
  }
}

function cause(err: unknown): string {
  if (err instanceof Error) {
    if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'timed out';
    const inner = (err as { cause?: { code?: string; message?: string } }).cause;
    if (inner?.code) return inner.code === 'ECONNREFUSED' ? 'connection refused' : inner.code;
    return err.message;
  }
  return String(err);
}

/** The answer's text, at most MAX_BYTES. */
async function boundedText(response: Response): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > MAX_BYTES) {
      await reader.cancel();
      throw new HttpTrouble(`the answer is larger than ${MAX_BYTES} bytes`, response.status, '');
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** One request; throws HttpTrouble (redacted message) on network trouble or a non-2xx answer. */
export async function requestJson(method: 'GET' | 'POST' | 'DELETE', url: string, body?: unknown, timeoutMs = HTTP_TIMEOUT_MS): Promise<unknown> {
  const where = `${method} ${url.replace(/\?.*$/, '')}`;
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      redirect: 'manual',
      signal: AbortSignal.timeout(Math.max(1_000, timeoutMs)),
      headers: { accept: 'application/json', ...(body !== undefined ? { 'content-type': 'application/json' } : {}), 'user-agent': 'talos-upgrade' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch (err) {
    throw new HttpTrouble(redactKnown(`${where}: ${cause(err)}`), null, '');
  }
  let text: string;
  try {
    text = await boundedText(response);
  } catch (err) {
    throw new HttpTrouble(redactKnown(`${where}: ${cause(err)}`), response.status, '');
  }
  if (response.status < 200 || response.status > 299) {
    const said = text.trim().split('\n')[0]?.slice(0, 200) ?? '';
    throw new HttpTrouble(redactKnown(`${where}: HTTP ${response.status}${said ? `: ${said}` : ''}`), response.status, text.slice(0, 2000));
  }
  if (text.trim() === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new HttpTrouble(redactKnown(`${where}: the answer is not JSON`), response.status, '');
  }
}

/** HttpTrouble as a Temporal failure: 5xx and network trouble retry, the rest does not. */
export function asFailure(err: unknown, type: string): unknown {
  if (!(err instanceof HttpTrouble)) return err;
  const retryable = err.status === null || err.status >= 500 || err.status === 429;
  return ApplicationFailure.create({ message: err.message, type, nonRetryable: !retryable });
}
