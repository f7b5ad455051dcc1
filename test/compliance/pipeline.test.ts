/**
 * The pipeline on SQLite and PostgreSQL: no consent, refused and audited, nothing stored;
 * with consent, the clean copy and its variants stored encrypted and the ingest audited under
 * the pseudonym; withdrawn, refused again; restricted, refused.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPipeline } from '../../src/compliance/pipeline.js';
import type { Pipeline } from '../../src/compliance/pipeline.js';
import { verifyClean } from '../../src/index.js';
import { WorkerPool } from '../../src/pool/pool.js';
import { CASES } from '../helpers.js';
import { DIALECTS, freshDatabase } from './databases.js';
import type { Opened } from './databases.js';

const PHOTO = readFileSync(path.join(CASES, 'inputs', '01-exif-thumb-uncropped.jpg'));
const GRANT = { policyVersion: '1', method: 'api', collector: 'test' };

describe.each(DIALECTS)('the pipeline on %s', (kind) => {
  let opened: Opened;
  let pipeline: Pipeline;
  const pool = new WorkerPool({ size: 1 });

  beforeAll(async () => {
    opened = await freshDatabase(kind);
    // The pipeline opens its own connection to the same database.
    const url = kind === 'postgres' ? await opened.url() : undefined;
    await opened.database.close();
    pipeline = await createPipeline({
      dataDir: opened.dataDir,
      ...(url === undefined ? {} : { databaseUrl: url }),
      variants: [{ name: 'thumb', width: 64, height: 64, format: 'webp' }],
      pool,
    });
  });
  afterAll(async () => {
    await pipeline.close();
    await pool.close();
    await opened.dispose();
  });

  const entries = async () => {
    const found: Record<string, unknown>[] = [];
    for await (const row of pipeline.audit.rows())
      found.push(JSON.parse(row.content) as Record<string, unknown>);
    return found;
  };

  it('refuses without storage consent, audits the refusal, and stores nothing', async () => {
    await expect(pipeline.ingest({ subjectId: 'user-1', bytes: PHOTO })).rejects.toMatchObject({
      code: 'ERR_CONSENT_REQUIRED',
      value: 'storage',
    });
    const [entry] = await entries();
    expect(entry).toMatchObject({
      operation: 'ingest',
      outcome: 'refused',
      error: 'ERR_CONSENT_REQUIRED',
    });
    expect(JSON.stringify(entry)).not.toContain('user-1');
    const subject = await pipeline.subjects.find('user-1');
    expect(await pipeline.images.list(subject?.id ?? '')).toEqual([]);
  });

  it('stores the clean copy and its variants, encrypted, and audits it under the pseudonym', async () => {
    const subject = await pipeline.subjects.ensure('user-1');
    await pipeline.consents.grant(subject.id, { purpose: 'storage', ...GRANT });
    const result = await pipeline.ingest({ subjectId: 'user-1', bytes: PHOTO });
    expect(result.stored.map((image) => [image.variant, image.format])).toEqual([
      ['original', 'jpeg'],
      ['thumb', 'webp'],
    ]);
    const original = await pipeline.images.read(subject, result.imageId, 'original');
    expect(await verifyClean(original)).toMatchObject({ clean: true });
    expect(original.length).toBeLessThan(PHOTO.length);
    const last = (await entries()).at(-1);
    expect(last).toMatchObject({
      operation: 'ingest',
      outcome: 'done',
      subject: subject.pseudonym,
      image: result.imageId,
      formats: ['jpeg', 'webp'],
      basis: 'contract',
    });
    expect((await pipeline.audit.verify()).valid).toBe(true);
  });

  it('refuses again once consent is withdrawn, and while processing is restricted', async () => {
    const subject = await pipeline.subjects.ensure('user-1');
    await pipeline.consents.withdraw(subject.id, 'storage');
    await expect(pipeline.ingest({ subjectId: 'user-1', bytes: PHOTO })).rejects.toMatchObject({
      code: 'ERR_CONSENT_REQUIRED',
    });
    await pipeline.consents.grant(subject.id, { purpose: 'storage', ...GRANT });
    await pipeline.subjects.restrict(subject.id, true);
    await expect(pipeline.ingest({ subjectId: 'user-1', bytes: PHOTO })).rejects.toMatchObject({
      code: 'ERR_PROCESSING_RESTRICTED',
    });
    expect((await entries()).slice(-2).map((entry) => entry.error)).toEqual([
      'ERR_CONSENT_REQUIRED',
      'ERR_PROCESSING_RESTRICTED',
    ]);
  });
});
