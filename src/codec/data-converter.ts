/**
 * The data converter of the client and the worker: the SDK's default, plus the AES-GCM payload codec
 * when a key is configured (TALOS_UPGRADE_CODEC_KEY or TALOS_UPGRADE_CODEC_KEY_FILE). Both sides must
 * use the same key: a worker without it cannot read what a client with it sent, and the other way round.
 */
import type { DataConverter } from '@temporalio/common';
import { AesGcmCodec } from './aes-gcm-codec';
import { keyFromEnv } from './key';

export function codecFromEnv(env: NodeJS.ProcessEnv = process.env): AesGcmCodec | null {
  const key = keyFromEnv(env);
  return key ? new AesGcmCodec(key) : null;
}

/** undefined when no key is configured: the SDK's default converter, payloads in the clear. */
export function dataConverterFromEnv(env: NodeJS.ProcessEnv = process.env): DataConverter | undefined {
  const codec = codecFromEnv(env);
  return codec ? { payloadCodecs: [codec] } : undefined;
}
