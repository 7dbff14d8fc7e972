/**
 * The AES-GCM payload codec and its key, without a server: the key's forms and one-line errors,
 * a round trip, payloads written before the codec pass through, and a wrong key or a changed byte
 * is refused with a message that names the key ids, never the key.
 */
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { defaultPayloadConverter } from '@temporalio/common';
import { AesGcmCodec, ENCRYPTED_ENCODING } from '../../src/codec/aes-gcm-codec';
import { dataConverterFromEnv } from '../../src/codec/data-converter';
import { CodecKeyError, keyFromEnv } from '../../src/codec/key';
import { tempDir } from '../helpers/temporal-env';

const keyText = (): string => crypto.randomBytes(32).toString('base64');
const codecWith = (text: string): AesGcmCodec => new AesGcmCodec(keyFromEnv({ TALOS_UPGRADE_CODEC_KEY: text }) ?? assert.fail('no key'));

describe('codec key', () => {
  it('takes base64, url-safe base64 or hex from the environment or a file; none set means no codec', () => {
    const raw = crypto.randomBytes(32);
    const b64 = keyFromEnv({ TALOS_UPGRADE_CODEC_KEY: raw.toString('base64') });
    assert.deepEqual(b64?.key, raw);
    assert.deepEqual(keyFromEnv({ TALOS_UPGRADE_CODEC_KEY: raw.toString('base64url') })?.key, raw);
    assert.deepEqual(keyFromEnv({ TALOS_UPGRADE_CODEC_KEY: raw.toString('hex') })?.key, raw);
    const tmp = tempDir('codec-key');
    try {
      const file = path.join(tmp.dir, 'key');
      fs.writeFileSync(file, `${raw.toString('base64')}\n`);
      const fromFile = keyFromEnv({ TALOS_UPGRADE_CODEC_KEY_FILE: file });
      assert.deepEqual(fromFile?.key, raw);
      assert.equal(fromFile?.id, b64?.id, 'the id follows the key, not where it came from');
      assert.throws(() => keyFromEnv({ TALOS_UPGRADE_CODEC_KEY_FILE: path.join(tmp.dir, 'missing') }), CodecKeyError);
    } finally {
      tmp.cleanup();
    }
    assert.equal(keyFromEnv({}), null);
    assert.equal(dataConverterFromEnv({}), undefined);
  });

  it('refuses a short key, both variables, or an unreadable file in one line without the key', () => {
    const short = crypto.randomBytes(16).toString('base64');
    for (const [env, message] of [
      [{ TALOS_UPGRADE_CODEC_KEY: short }, /^TALOS_UPGRADE_CODEC_KEY does not hold a 32-byte key in base64 or hex; create one with: openssl rand -base64 32$/],
      [{ TALOS_UPGRADE_CODEC_KEY: keyText(), TALOS_UPGRADE_CODEC_KEY_FILE: '/x' }, /^both TALOS_UPGRADE_CODEC_KEY and TALOS_UPGRADE_CODEC_KEY_FILE are set; keep one$/],
      [{ TALOS_UPGRADE_CODEC_KEY_FILE: '/nonexistent/key' }, /^TALOS_UPGRADE_CODEC_KEY_FILE: cannot read \/nonexistent\/key \(ENOENT\)$/],
    ] as const) {
      const err = (() => {
        try {
          keyFromEnv(env);
        } catch (e) {
          return e as Error;
        }
        return assert.fail('accepted');
      })();
      assert.ok(err instanceof CodecKeyError);
      assert.match(err.message, message);
      assert.ok(!err.message.includes(short));
    }
  });
});

describe('AES-GCM payload codec', () => {
  const payload = defaultPayloadConverter.toPayload({ cluster: 'lab', talosconfig: '/secret/path/talosconfig' });

  it('encrypts the whole payload (metadata included) and decrypts it back', async () => {
    const codec = codecWith(keyText());
    const [sealed] = await codec.encode([payload]);
    assert.equal(Buffer.from(sealed?.metadata?.encoding ?? []).toString(), ENCRYPTED_ENCODING);
    assert.equal(Buffer.from(sealed?.metadata?.['encryption-key-id'] ?? []).toString(), codec.keyId);
    const bytes = Buffer.from(sealed?.data ?? []);
    assert.ok(!bytes.toString('latin1').includes('talosconfig') && !bytes.toString('latin1').includes('json/plain'), 'no plaintext left');
    const [again] = await codec.encode([payload]);
    assert.notDeepEqual(again?.data, sealed?.data, 'a fresh IV each time');
    const [opened] = await codec.decode([sealed ?? assert.fail()]);
    assert.deepEqual(defaultPayloadConverter.fromPayload(opened ?? assert.fail()), { cluster: 'lab', talosconfig: '/secret/path/talosconfig' });
  });

  it('passes payloads that were never encrypted; refuses a wrong key or a changed byte, naming key ids only', async () => {
    const text = keyText();
    const codec = codecWith(text);
    assert.deepEqual(await codec.decode([payload]), [payload]);
    const [sealed] = await codec.encode([payload]);
    const other = codecWith(keyText());
    await assert.rejects(other.decode([sealed ?? assert.fail()]), (err: Error) => {
      assert.match(err.message, new RegExp(`^a payload is encrypted with codec key ${codec.keyId}, but this process has key ${other.keyId} \\(TALOS_UPGRADE_CODEC_KEY\\)`));
      assert.ok(!err.message.includes(text));
      return true;
    });
    const data = Buffer.from(sealed?.data ?? []);
    data[20] = (data[20] ?? 0) ^ 1;
    await assert.rejects(codec.decode([{ ...sealed, data }]), /does not authenticate: it was altered or damaged/);
  });
});
