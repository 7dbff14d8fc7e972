/**
 * A payload codec for Temporal Cloud (or any server you do not want reading your runs): every payload
 * the client and the worker send (workflow input, activity inputs and results, signals, queries,
 * summaries) is encrypted with AES-256-GCM before it leaves the process, so the server stores only
 * ciphertext. The whole payload (metadata and data, protobuf-encoded) is sealed; the envelope says
 * `binary/encrypted` and names the key by its id. A fresh 12-byte IV per payload; the 16-byte tag
 * authenticates it. Layout of `data`: IV ‖ ciphertext ‖ tag.
 *
 * What it does not hide: search attributes (TalosCluster, UpgradePhase, TalosClusterId: the server
 * indexes them), workflow and activity type names and ids, timestamps, and failure messages and stack
 * traces (the SDK's failure converter keeps those outside payloads; they pass through the redactor).
 */
import * as crypto from 'node:crypto';
import { METADATA_ENCODING_KEY, ValueError, type Payload, type PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { CodecKey } from './key';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
const KEY_ID_METADATA = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;

const text = (bytes: Uint8Array | null | undefined): string => (bytes ? Buffer.from(bytes).toString('utf8') : '');

export class AesGcmCodec implements PayloadCodec {
  constructor(private readonly key: CodecKey) {}

  get keyId(): string {
    return this.key.id;
  }

  seal(plain: Uint8Array): Buffer {
    const iv = crypto.randomBytes(IV_BYTES);
    const cipher = crypto.createCipheriv('aes-256-gcm', this.key.key, iv, { authTagLength: TAG_BYTES });
    return Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
  }

  open(sealed: Uint8Array, id: string): Buffer {
    if (id !== this.key.id) {
      throw new ValueError(`a payload is encrypted with codec key ${id}, but this process has key ${this.key.id} (${this.key.source}); give it the key the worker uses`);
    }
    const data = Buffer.from(sealed);
    if (data.length < IV_BYTES + TAG_BYTES) throw new ValueError('an encrypted payload is too short to be one');
    const decipher = crypto.createDecipheriv('aes-256-gcm', this.key.key, data.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new ValueError(`an encrypted payload (key ${id}) does not authenticate: it was altered or damaged`);
    }
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => ({
      metadata: { [METADATA_ENCODING_KEY]: Buffer.from(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: Buffer.from(this.key.id) },
      data: this.seal(temporal.api.common.v1.Payload.encode(payload).finish()),
    }));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      // Payloads written before the codec was turned on (or by a client without it) pass as they are.
      if (text(payload.metadata?.[METADATA_ENCODING_KEY]) !== ENCRYPTED_ENCODING) return payload;
      const decoded = temporal.api.common.v1.Payload.decode(this.open(payload.data ?? new Uint8Array(), text(payload.metadata?.[KEY_ID_METADATA])));
      return { metadata: decoded.metadata, data: decoded.data };
    });
  }
}
