/**
 * Key rotation survives a crash at either point: after the new key was written but before the
 * database changed (the old key stays), and after the database changed but before the key
 * file was replaced (the new key is taken). Either way every image still opens.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newKey } from '../../src/compliance/crypto.js';
import { createPipeline } from '../../src/compliance/pipeline.js';
import type { Pipeline, PipelineConfig } from '../../src/compliance/pipeline.js';
import { CASES, CLI } from '../helpers.js';
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
  const nextFile = () => path.join(opened.dataDir, 'master.key.next-00112233445566ff');
  const pendingFiles = () =>
    readdirSync(opened.dataDir).filter((name) => name.startsWith('master.key.next'));

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
      // The pending key is left alone (a rotation may be writing it); the next rotation
      // replaces it, and works.
      expect(existsSync(nextFile())).toBe(true);
      await pipeline.rotateKeys();
      expect(readFileSync(keyFile(), 'utf8')).not.toBe(old);
      expect(pendingFiles()).toEqual([]);
      await stillOpens(pipeline);
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
      await before.database.exclusive((trx) => before.subjects.reseal(next, trx));
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

  it('keeps a pipeline opened before another rotated the key working, under the new key', async () => {
    const first = await createPipeline(config);
    const second = await createPipeline(config);
    try {
      await first.rotateKeys();
      // The second still holds the old key: it finds eve, and seals bob under the new one.
      await stillOpens(second);
      const bob = await second.ingest({ subjectId: 'bob', bytes: PHOTO });
      const third = await createPipeline(config);
      try {
        const found = await third.subjects.find('bob');
        if (found === null) throw new Error('bob is missing');
        expect((await third.images.read(found, bob.imageId, 'original')).length).toBeGreaterThan(0);
        await stillOpens(third);
      } finally {
        await third.close();
      }
    } finally {
      await first.close();
      await second.close();
    }
  });

  it('survives rotations racing each other and other commands, in separate processes', async () => {
    const url = await opened.url();
    const env = {
      ...process.env,
      NODE_NO_WARNINGS: '1',
      PIXWARDEN_DATA_DIR: opened.dataDir,
      ...(url === undefined ? {} : { PIXWARDEN_DATABASE_URL: url }),
    };
    const run = (args: string[]) =>
      new Promise<{ status: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [CLI, ...args], { env });
        let stderr = '';
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        child.on('close', (status) => {
          resolve({ status, stderr });
        });
      });
    const results = await Promise.all([
      run(['keys', 'rotate']),
      run(['keys', 'rotate']),
      ...Array.from({ length: 4 }, (_, i) =>
        run([
          'consent',
          'grant',
          '--subject',
          `racer-${i}`,
          '--purpose',
          'storage',
          '--policy',
          '1',
        ]),
      ),
      run(['keys', 'rotate']),
    ]);
    expect(results.filter((result) => result.status !== 0)).toEqual([]);
    expect(pendingFiles()).toEqual([]);
    const pipeline = await createPipeline(config);
    try {
      await stillOpens(pipeline);
      for (let i = 0; i < 4; i++)
        expect(await pipeline.consentsOf(`racer-${i}`)).toMatchObject([{ purpose: 'storage' }]);
      expect(await pipeline.verifyAudit()).toMatchObject({ valid: true });
    } finally {
      await pipeline.close();
    }
  }, 60_000);
});
