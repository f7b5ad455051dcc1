/**
 * The pipeline on SQLite and PostgreSQL: no consent, refused and audited, nothing stored;
 * with consent, the clean copy and its variants stored encrypted and the ingest audited under
 * the pseudonym; withdrawn, refused again; restricted, refused.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pipeline } from '../../src/compliance/pipeline.js';
import { verifyClean } from '../../src/index.js';
import { WorkerPool } from '../../src/pool/pool.js';
import { CASES } from '../helpers.js';
import { DIALECTS, freshPipeline } from './databases.js';
import type { Opened } from './databases.js';

const PHOTO = readFileSync(path.join(CASES, 'inputs', '01-exif-thumb-uncropped.jpg'));
const GRANT = { policyVersion: '1', method: 'api', collector: 'test' };

describe.each(DIALECTS)('the pipeline on %s', (kind) => {
  let opened: Opened;
  let pipeline: Pipeline;
  const pool = new WorkerPool({ size: 1 });

  beforeAll(async () => {
    ({ opened, pipeline } = await freshPipeline(kind, {
      variants: [{ name: 'thumb', width: 64, height: 64, format: 'webp' }],
      pool,
    }));
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

/** A pool whose jobs wait for a gate: an ingest can be held between its checks and its commit. */
class GatedPool extends WorkerPool {
  opened: Promise<void> = Promise.resolve();
  started: () => void = () => undefined;

  override async runWithInput<T>(task: string, bytes: Uint8Array, payload: object): Promise<T> {
    this.started();
    await this.opened;
    return super.runWithInput<T>(task, bytes, payload);
  }
}

describe.each(DIALECTS)('an ingest racing an erasure or a withdrawal, on %s', (kind) => {
  let opened: Opened;
  let pipeline: Pipeline;
  const pool = new GatedPool({ size: 1 });

  beforeAll(async () => {
    ({ opened, pipeline } = await freshPipeline(kind, {
      variants: [{ name: 'thumb', width: 32, height: 32, format: 'webp' }],
      pool,
    }));
  });
  afterAll(async () => {
    await pipeline.close();
    await pool.close();
    await opened.dispose();
  });

  /** Starts an ingest, holds it while its variant is being made, runs `meanwhile`, lets go. */
  async function held(subjectId: string, meanwhile: () => Promise<unknown>) {
    let open: () => void = () => undefined;
    pool.opened = new Promise<void>((resolve) => {
      open = resolve;
    });
    const started = new Promise<void>((resolve) => (pool.started = resolve));
    const ingest = pipeline.ingest({ subjectId, bytes: PHOTO });
    await started;
    await meanwhile();
    open();
    return ingest;
  }

  it('stores nothing for a subject erased while its image was processed', async () => {
    await pipeline.grantConsent('gil', { purpose: 'storage', ...GRANT });
    const subject = await pipeline.subjects.find('gil');
    await expect(held('gil', () => pipeline.erase('gil'))).rejects.toMatchObject({
      code: 'ERR_PROCESSING_RESTRICTED',
      message: expect.stringMatching(/erased while/) as unknown,
    });
    expect(await pipeline.images.list(subject?.id ?? '')).toEqual([]);
    const files = pipeline.database.dialect === 'sqlite' ? readdirSync(opened.dataDir) : [];
    expect(files.filter((name) => name.includes('.tmp-'))).toEqual([]);
    expect(await pipeline.repair(0)).toEqual({ blobs: 0, temporary: 0, records: 0 });
  });

  it('stores nothing when the consent is withdrawn while the image was processed', async () => {
    await pipeline.grantConsent('hal', { purpose: 'storage', ...GRANT });
    const subject = await pipeline.subjects.find('hal');
    await expect(
      held('hal', () => pipeline.withdrawConsent('hal', 'storage')),
    ).rejects.toMatchObject({ code: 'ERR_CONSENT_REQUIRED' });
    expect(await pipeline.images.list(subject?.id ?? '')).toEqual([]);
    expect(await pipeline.repair(0)).toEqual({ blobs: 0, temporary: 0, records: 0 });
  });
});
