/**
 * Erasure on SQLite and PostgreSQL: after images of several subjects are ingested, erasing one
 * leaves none of its blobs, records or key (the scan says so, and a look at the files agrees),
 * the others untouched, the chain valid, and its pseudonym impossible to compute again.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pipeline } from '../../src/compliance/pipeline.js';
import { WorkerPool } from '../../src/pool/pool.js';
import { CASES } from '../helpers.js';
import { DIALECTS, freshPipeline } from './databases.js';
import type { Opened } from './databases.js';

const PHOTOS = [
  '01-exif-thumb-uncropped.jpg',
  '02-orientation-rotate90.jpg',
  '05-png-exif-chunk.png',
].map((name) => readFileSync(path.join(CASES, 'inputs', name)));
const PEOPLE = ['ann', 'ben', 'cat'];

describe.each(DIALECTS)('erasure on %s', (kind) => {
  let opened: Opened;
  let pipeline: Pipeline;
  const pool = new WorkerPool({ size: 1 });

  beforeAll(async () => {
    ({ opened, pipeline } = await freshPipeline(kind, {
      consentPurposes: [],
      variants: [{ name: 'thumb', width: 32, height: 32, format: 'webp' }],
      pool,
    }));
    for (const person of PEOPLE)
      for (const photo of PHOTOS) await pipeline.ingest({ subjectId: person, bytes: photo });
  }, 60_000);
  afterAll(async () => {
    await pipeline.close();
    await pool.close();
    await opened.dispose();
  });

  it('leaves nothing of the erased subject, and the others untouched', async () => {
    const ben = await pipeline.subjects.find('ben');
    if (ben === null) throw new Error('ben was not ingested');
    const bens = await pipeline.images.list(ben.id);
    expect(bens).toHaveLength(6);
    const sealed = (
      await pipeline.database.db
        .selectFrom('subjects')
        .select('sealed_key')
        .where('id', '=', ben.id)
        .execute()
    )[0]?.sealed_key;

    const report = await pipeline.erase('ben');
    expect(report).toEqual({
      found: true,
      imagesDeleted: 3,
      filesDeleted: 6,
      consentsWithdrawn: 0,
      hooks: [],
      left: { images: 0, blobs: 0, keys: 0 },
      filesCleared: true,
    });
    // A look of our own: no blob file of ben's, no record.
    const files = readdirSync(path.join(opened.dataDir, 'blobs'), { recursive: true }).map(String);
    for (const image of bens) expect(files.some((file) => file.includes(image.id))).toBe(false);
    expect(await pipeline.images.list(ben.id)).toEqual([]);
    if (kind === 'sqlite' && sealed !== null && sealed !== undefined) {
      // secure_delete and the checkpoint: the key's sealed text is in no database file.
      for (const file of readdirSync(opened.dataDir).filter((name) =>
        name.startsWith('pixwarden.db'),
      ))
        expect(readFileSync(path.join(opened.dataDir, file)).includes(sealed)).toBe(false);
    }
    // The others: all there, all readable.
    for (const person of ['ann', 'cat']) {
      const subject = await pipeline.subjects.find(person);
      if (subject === null) throw new Error(`${person} is missing`);
      const images = await pipeline.images.list(subject.id);
      expect(images).toHaveLength(6);
      for (const image of images)
        expect((await pipeline.images.read(subject, image.id, image.variant)).length).toBe(
          image.bytes,
        );
    }
    expect(await pipeline.audit.verify()).toMatchObject({ valid: true });
    // ben's pseudonym cannot be computed again: the same id now makes another subject.
    expect(await pipeline.subjects.find('ben')).toBeNull();
    expect((await pipeline.subjects.ensure('ben')).pseudonym).not.toBe(ben.pseudonym);
  });

  it('does nothing, harmlessly, when erasing again', async () => {
    const before = (await pipeline.audit.verify()).entries;
    const report = await pipeline.erase('nobody-here');
    expect(report).toMatchObject({ found: false, imagesDeleted: 0 });
    expect((await pipeline.audit.verify()).entries).toBe(before);
  });
});
