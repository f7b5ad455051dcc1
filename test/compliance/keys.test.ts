/**
 * Key rotation survives a crash at either point: after the new key was written but before the
 * database changed (the old key stays), and after the database changed but before the key
 * file was replaced (the new key is taken). Either way every image still opens.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newKey } from '../../src/compliance/crypto.js';
import { createPipeline } from '../../src/compliance/pipeline.js';
import type { Pipeline, PipelineConfig } from '../../src/compliance/pipeline.js';
import { CASES } from '../helpers.js';
import { DIALECTS, freshDatabase } from './databases.js';
import type { Opened } from './databases.js';

const PHOTO = readFileSync(path.join(CASES, 'inputs', '05-png-exif-chunk.png'));

describe.each(DIALECTS)('key rotation interrupted, on %s', (kind) => {
  let opened: Opened;
  let config: PipelineConfig;
  let imageId: string;
  let original: Buffer;

  beforeEach(async () => {
    opened = await freshDatabase(kind);
    const url = await opened.url();
    await opened.database.close();
    config = {
      dataDir: opened.dataDir,
      ...(url === undefined ? {} : { databaseUrl: url }),
      consentPurposes: [],
    };
    const pipeline = await createPipeline(config);
    try {
      imageId = (await pipeline.ingest({ subjectId: 'eve', bytes: PHOTO })).imageId;
      const eve = await pipeline.subjects.find('eve');
      if (eve === null) throw new Error('eve is missing');
      original = await pipeline.images.read(eve, imageId, 'original');
    } finally {
      await pipeline.close();
    }
  });
  afterEach(async () => {
    await opened.dispose();
  });

  const keyFile = () => path.join(opened.dataDir, 'master.key');
  const nextFile = () => path.join(opened.dataDir, 'master.key.next');

  async function stillOpens(pipeline: Pipeline) {
    const eve = await pipeline.subjects.find('eve');
    if (eve === null) throw new Error('eve is missing');
    expect((await pipeline.images.read(eve, imageId, 'original')).equals(original)).toBe(true);
  }

  it('keeps the old key when the crash came before the database changed', async () => {
    const old = readFileSync(keyFile(), 'utf8');
    writeFileSync(nextFile(), `${newKey().toString('hex')}\n`, { mode: 0o600 });
    const pipeline = await createPipeline(config);
    try {
      await stillOpens(pipeline);
      expect(readFileSync(keyFile(), 'utf8')).toBe(old);
      expect(existsSync(nextFile())).toBe(false);
    } finally {
      await pipeline.close();
    }
  });

  it('takes the new key when the crash came after the database changed', async () => {
    const next = newKey();
    const before = await createPipeline(config);
    try {
      // What a rotation does up to the crash: the new key on disk, the database re-sealed.
      writeFileSync(nextFile(), `${next.toString('hex')}\n`, { mode: 0o600 });
      await before.subjects.reseal(next);
    } finally {
      await before.close();
    }
    const pipeline = await createPipeline(config);
    try {
      await stillOpens(pipeline);
      expect(readFileSync(keyFile(), 'utf8').trim()).toBe(next.toString('hex'));
      expect(existsSync(nextFile())).toBe(false);
    } finally {
      await pipeline.close();
    }
  });
});
