/**
 * The image registry on SQLite and PostgreSQL: images stored per subject open only with that
 * subject's keys; removing one subject's images leaves none of its blobs or rows, and the
 * other subject's untouched; expired images are found.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobStore } from '../../src/compliance/blobs.js';
import { newKey } from '../../src/compliance/crypto.js';
import { ImageRegistry } from '../../src/compliance/images.js';
import { Subjects } from '../../src/compliance/subjects.js';
import type { Subject } from '../../src/compliance/subjects.js';
import { CASES } from '../helpers.js';
import { DIALECTS, freshDatabase } from './databases.js';
import type { Opened } from './databases.js';

const PHOTO = readFileSync(path.join(CASES, 'inputs', '02-orientation-rotate90.jpg'));
const OTHER = readFileSync(path.join(CASES, 'inputs', '03-icc-wide-gamut.jpg'));

describe.each(DIALECTS)('the image registry on %s', (kind) => {
  let opened: Opened;
  let blobs: BlobStore;
  let registry: ImageRegistry;
  let alice: Subject;
  let bob: Subject;

  beforeAll(async () => {
    opened = await freshDatabase(kind);
    const subjects = await Subjects.open(opened.database, newKey());
    alice = await subjects.ensure('alice');
    bob = await subjects.ensure('bob');
    blobs = new BlobStore(opened.dataDir);
    registry = new ImageRegistry(opened.database, blobs);
  });
  afterAll(async () => opened.dispose());

  it('stores an original and its variants, which open with the subject’s keys only', async () => {
    const original = await registry.store(alice, {
      variant: 'original',
      format: 'jpeg',
      width: 120,
      height: 240,
      bytes: PHOTO,
      expiresAt: null,
    });
    await registry.store(alice, {
      id: original.id,
      variant: 'thumb',
      format: 'webp',
      width: 60,
      height: 120,
      bytes: OTHER,
      expiresAt: '2000-01-01T00:00:00.000Z',
    });
    await registry.store(bob, {
      variant: 'original',
      format: 'jpeg',
      width: 128,
      height: 64,
      bytes: OTHER,
      expiresAt: null,
    });
    expect((await registry.read(alice, original.id, 'original')).equals(PHOTO)).toBe(true);
    const stored = readFileSync(
      path.join(blobs.root, original.id.slice(0, 2), `${original.id}.original`),
    );
    expect(createHash('sha256').update(stored).digest('hex')).toBe(original.sha256);
    await expect(registry.read(bob, original.id, 'original')).rejects.toMatchObject({
      code: 'ERR_INPUT_NOT_FOUND',
    });
    // Keys of another subject do not open it even when the record is reached.
    const forged = { ...bob, id: alice.id };
    await expect(registry.read(forged, original.id, 'original')).rejects.toMatchObject({
      code: 'ERR_DECRYPT',
    });
    expect((await registry.list(alice.id)).map((image) => image.variant)).toEqual([
      'original',
      'thumb',
    ]);
  });

  it('finds what expired, and removes one subject’s images without touching another’s', async () => {
    const expired = await registry.expired(new Date().toISOString());
    expect(expired.map((image) => [image.subjectId, image.variant])).toEqual([[alice.id, 'thumb']]);
    expect(await registry.remove(await registry.list(alice.id))).toBe(2);
    expect(await registry.list(alice.id)).toEqual([]);
    const left = blobs.list();
    expect(left).toHaveLength(1);
    const [bobs] = await registry.list(bob.id);
    expect(left[0]).toContain(bobs?.id ?? 'none');
    expect((await registry.read(bob, bobs?.id ?? '', 'original')).equals(OTHER)).toBe(true);
  });
});
