/** Encryption at rest: sealed values open only with their key and context, nonces never repeat. */
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  deriveSubjectKeys,
  keyedHash,
  loadMasterKey,
  newKey,
  open,
  openBlob,
  seal,
  sealBlob,
} from '../../src/compliance/crypto.js';
import { sniffImage } from '../../src/detect.js';

const PHOTO = Buffer.concat([Buffer.of(0xff, 0xd8, 0xff, 0xe0), Buffer.alloc(2000, 7)]);

describe('sealing', () => {
  it('opens with the same key and context only', () => {
    const key = newKey();
    const sealed = seal(key, PHOTO, 'image-1\noriginal');
    expect(open(key, sealed, 'image-1\noriginal').equals(PHOTO)).toBe(true);
    expect(() => open(newKey(), sealed, 'image-1\noriginal')).toThrow(
      expect.objectContaining({ code: 'ERR_DECRYPT' }),
    );
    // Bound to what it is: the blob of one variant does not open as another's.
    expect(() => open(key, sealed, 'image-1\nthumb')).toThrow(
      expect.objectContaining({ code: 'ERR_DECRYPT' }),
    );
  });

  it('refuses a sealed value with any byte changed', () => {
    const key = newKey();
    const sealed = seal(key, PHOTO, 'image-2\noriginal');
    for (const at of [0, 11, 12, 500, sealed.length - 17, sealed.length - 1]) {
      const changed = Buffer.from(sealed);
      changed[at] = (changed[at] ?? 0) ^ 0x01;
      expect(() => open(key, changed, 'image-2\noriginal'), `byte ${at}`).toThrow(
        expect.objectContaining({ code: 'ERR_DECRYPT' }),
      );
    }
    expect(() => open(key, sealed.subarray(0, 20), 'image-2\noriginal')).toThrow(
      expect.objectContaining({ code: 'ERR_DECRYPT' }),
    );
  });

  it('never repeats a nonce across 100,000 encryptions', () => {
    const key = newKey();
    const nonces = new Set<string>();
    const plain = Buffer.alloc(16);
    for (let i = 0; i < 100_000; i++)
      nonces.add(seal(key, plain, 'n').subarray(0, 12).toString('hex'));
    expect(nonces.size).toBe(100_000);
  });

  it('stores blobs that start with no image signature', () => {
    const key = newKey();
    for (let i = 0; i < 1000; i++) {
      const blob = sealBlob(key, PHOTO, `image-${i}\noriginal`);
      expect(sniffImage(blob)).toBeNull();
      expect(blob.subarray(0, 4).toString('latin1')).toBe('PWB1');
      expect(blob.includes(PHOTO.subarray(4, 64))).toBe(false);
    }
    const blob = sealBlob(key, PHOTO, 'image-x\noriginal');
    expect(openBlob(key, blob, 'image-x\noriginal').equals(PHOTO)).toBe(true);
    expect(() => openBlob(key, PHOTO, 'image-x\noriginal')).toThrow(
      expect.objectContaining({ code: 'ERR_DECRYPT' }),
    );
  });
});

describe('keys', () => {
  it('derives a pseudonym key and a wrapping key, distinct and stable, from a subject key', () => {
    const subject = newKey();
    const keys = deriveSubjectKeys(subject);
    expect(keys.pseudonym.equals(keys.wrapping)).toBe(false);
    expect(deriveSubjectKeys(subject).pseudonym.equals(keys.pseudonym)).toBe(true);
    const other = deriveSubjectKeys(newKey());
    expect(keyedHash(keys.pseudonym, 'user-42')).not.toBe(keyedHash(other.pseudonym, 'user-42'));
    expect(keyedHash(keys.pseudonym, 'user-42')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('reads the master key from the variable, in hex or base64, or from a 0600 key file', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pixwarden-keys-'));
    const key = newKey();
    expect(loadMasterKey(dir, { PIXWARDEN_MASTER_KEY: key.toString('hex') }).equals(key)).toBe(
      true,
    );
    expect(loadMasterKey(dir, { PIXWARDEN_MASTER_KEY: key.toString('base64') }).equals(key)).toBe(
      true,
    );
    expect(() => loadMasterKey(dir, { PIXWARDEN_MASTER_KEY: 'abcd' })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', value: 3, limit: 32 }),
    );
    const made = loadMasterKey(dir, {});
    expect(made).toHaveLength(32);
    expect(statSync(path.join(dir, 'master.key')).mode & 0o777).toBe(0o600);
    expect(loadMasterKey(dir, {}).equals(made)).toBe(true);
  });
});
