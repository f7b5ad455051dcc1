/**
 * Encryption at rest. Three layers of keys:
 *
 * - the master key (32 bytes: `PIXWARDEN_MASTER_KEY` in hex or base64, or a key file created
 *   with mode 0600 on first run) wraps each subject's key;
 * - each subject's random key yields, by HKDF-SHA256, a pseudonym key (the subject's keyed
 *   pseudonym in logs and the audit trail) and a wrapping key for the subject's data keys;
 * - each stored object has a random data key, wrapped by its subject's wrapping key.
 *
 * Everything is sealed with AES-256-GCM: a random 96-bit nonce, a 16-byte tag, and additional
 * data naming what is sealed (the object and its variant, the subject), so a sealed value
 * cannot be moved to another place and still open. Destroying a subject's key makes its data
 * keys, and so its blobs, unreadable, and its pseudonym no longer computable.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createSecretFile } from '../fsync.js';
import path from 'node:path';
import { pixwardenError } from '../errors.js';

const keyBytes = 32;
const nonceBytes = 12;
const tagBytes = 16;
/** What a sealed blob starts with: no image format begins so. */
export const BLOB_MAGIC = Buffer.from('PWB1', 'latin1');

/** AES-256-GCM over `plain`, bound to `context`: nonce, ciphertext, tag. */
export function seal(key: Uint8Array, plain: Uint8Array, context: string): Buffer {
  const nonce = randomBytes(nonceBytes);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: tagBytes });
  cipher.setAAD(Buffer.from(context, 'utf8'));
  return Buffer.concat([nonce, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
}

/**
 * Opens what `seal` made with the same key and context.
 * @throws ERR_DECRYPT when the key or the context is wrong, or a byte was changed.
 */
export function open(key: Uint8Array, sealed: Uint8Array, context: string): Buffer {
  if (sealed.length < nonceBytes + tagBytes)
    throw pixwardenError(
      'ERR_DECRYPT',
      `a sealed value is at least ${nonceBytes + tagBytes} bytes, not ${sealed.length}`,
    );
  const nonce = sealed.subarray(0, nonceBytes);
  const tag = sealed.subarray(sealed.length - tagBytes);
  const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: tagBytes });
  decipher.setAAD(Buffer.from(context, 'utf8'));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([
      decipher.update(sealed.subarray(nonceBytes, sealed.length - tagBytes)),
      decipher.final(),
    ]);
  } catch {
    throw pixwardenError(
      'ERR_DECRYPT',
      `the sealed value for ${context.split('\n', 1)[0] ?? ''} does not open: a wrong key, or changed bytes`,
    );
  }
}

/** A blob as stored: the magic, then the sealed bytes. */
export function sealBlob(dataKey: Uint8Array, plain: Uint8Array, context: string): Buffer {
  return Buffer.concat([BLOB_MAGIC, seal(dataKey, plain, context)]);
}

/** @throws ERR_DECRYPT for a blob that is not one, or that does not open. */
export function openBlob(dataKey: Uint8Array, blob: Uint8Array, context: string): Buffer {
  if (!Buffer.from(blob.subarray(0, BLOB_MAGIC.length)).equals(BLOB_MAGIC))
    throw pixwardenError('ERR_DECRYPT', 'the stored file is not a pixwarden blob');
  return open(dataKey, blob.subarray(BLOB_MAGIC.length), context);
}

/** A new random key. */
export function newKey(): Buffer {
  return randomBytes(keyBytes);
}

/** The two keys a subject's key yields. */
export interface SubjectKeys {
  /** Keys the subject's pseudonym. */
  readonly pseudonym: Buffer;
  /** Wraps the subject's data keys. */
  readonly wrapping: Buffer;
}

export function deriveSubjectKeys(subjectKey: Uint8Array): SubjectKeys {
  const derive = (info: string): Buffer =>
    Buffer.from(hkdfSync('sha256', subjectKey, Buffer.alloc(0), info, keyBytes));
  return { pseudonym: derive('pixwarden pseudonym'), wrapping: derive('pixwarden wrapping') };
}

/** A keyed hash, hex: the pseudonym of a subject, or the lookup of a caller's id. */
export function keyedHash(key: Uint8Array, text: string): string {
  return createHmac('sha256', key).update(text, 'utf8').digest('hex');
}

/**
 * Reads the master key: from `PIXWARDEN_MASTER_KEY` (32 bytes, as 64 hex digits or base64),
 * or from `master.key` in the data folder, created with mode 0600 on first run.
 * @throws ERR_INVALID_ARGUMENT for a variable, ERR_IO for a file, that does not hold 32 bytes.
 */
export function loadMasterKey(dataDir: string, env: NodeJS.ProcessEnv = process.env): Buffer {
  const given = env.PIXWARDEN_MASTER_KEY;
  if (given !== undefined && given !== '') return parseKey(given, 'PIXWARDEN_MASTER_KEY');
  const file = path.join(dataDir, 'master.key');
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    createSecretFile(file, `${newKey().toString('hex')}\n`);
  }
  try {
    return parseKey(readFileSync(file, 'utf8').trim(), file);
  } catch (error: unknown) {
    // A damaged key file is not a mistake on the command line: said as what it is.
    throw pixwardenError(
      'ERR_IO',
      error instanceof Error ? `${error.message}: restore it from a backup` : String(error),
    );
  }
}

/** 32 bytes from 64 hex digits or from base64. */
export function parseKey(text: string, where: string): Buffer {
  const key = /^[0-9a-fA-F]{64}$/.test(text)
    ? Buffer.from(text, 'hex')
    : /^[A-Za-z0-9+/]+={0,2}$/.test(text)
      ? Buffer.from(text, 'base64')
      : null;
  if (key === null || key.length !== keyBytes)
    throw pixwardenError(
      'ERR_INVALID_ARGUMENT',
      `${where} must hold a 32-byte key as 64 hex digits or base64, not ${key === null ? 'other text' : `${key.length} bytes`}`,
      { value: key?.length ?? 0, limit: keyBytes, unit: 'bytes' },
    );
  return key;
}
