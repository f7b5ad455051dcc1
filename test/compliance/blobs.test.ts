/** The blob store: sealed, atomic, bound to its object and variant, nothing image-like on disk. */
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BlobStore } from '../../src/compliance/blobs.js';
import { newKey } from '../../src/compliance/crypto.js';
import { sniffImage } from '../../src/detect.js';
import { CASES } from '../helpers.js';

const PHOTO = readFileSync(path.join(CASES, 'inputs', '01-exif-thumb-uncropped.jpg'));

describe('the blob store', () => {
  it('stores a sealed copy that opens only as its own object and variant', () => {
    const store = new BlobStore(mkdtempSync(path.join(tmpdir(), 'pixwarden-blobs-')));
    const key = newKey();
    const sha = store.write('a1b2c3', 'original', PHOTO, key);
    expect(store.read('a1b2c3', 'original', key).equals(PHOTO)).toBe(true);
    const [name] = store.list();
    const stored = readFileSync(path.join(store.root, name ?? ''));
    expect(createHash('sha256').update(stored).digest('hex')).toBe(sha);
    expect(sniffImage(stored)).toBeNull();
    expect(stored.includes(PHOTO.subarray(100, 160))).toBe(false);
    // Moved to another name, it does not open.
    writeFileSync(path.join(store.root, 'a1', 'a1b2c3.thumb'), stored);
    expect(() => store.read('a1b2c3', 'thumb', key)).toThrow(
      expect.objectContaining({ code: 'ERR_DECRYPT' }),
    );
    expect(() => store.read('a1b2c3', 'original', newKey())).toThrow(
      expect.objectContaining({ code: 'ERR_DECRYPT' }),
    );
  });

  it('refuses a tampered blob, and leaves no temporary file after writing', () => {
    const store = new BlobStore(mkdtempSync(path.join(tmpdir(), 'pixwarden-blobs-')));
    const key = newKey();
    for (let i = 0; i < 20; i++) store.write(`obj${i}`, 'original', PHOTO, key);
    expect(readdirSync(path.join(store.root, 'ob')).filter((n) => n.startsWith('.tmp'))).toEqual(
      [],
    );
    const file = path.join(store.root, 'ob', 'obj3.original');
    const bytes = readFileSync(file);
    bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] ?? 0) ^ 1;
    writeFileSync(file, bytes);
    expect(() => store.read('obj3', 'original', key)).toThrow(
      expect.objectContaining({ code: 'ERR_DECRYPT' }),
    );
    store.remove('obj3', 'original');
    expect(() => store.read('obj3', 'original', key)).toThrow(
      expect.objectContaining({ code: 'ERR_INPUT_NOT_FOUND' }),
    );
    expect(() => store.write('../x', 'original', PHOTO, key)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
    );
  });

  it('lists only its own folders: a stray file beside them is not a blob and breaks nothing', () => {
    const store = new BlobStore(mkdtempSync(path.join(tmpdir(), 'pixwarden-blobs-')));
    store.write('ffee01', 'original', PHOTO, newKey());
    writeFileSync(path.join(store.root, '.DS_Store'), 'finder');
    writeFileSync(path.join(store.root, 'zz'), 'a file where a folder would be');
    expect(store.list()).toEqual([path.join('ff', 'ffee01.original')]);
    expect(store.scan().map((found) => [found.objectId, found.variant])).toEqual([
      ['ffee01', 'original'],
    ]);
  });
});
