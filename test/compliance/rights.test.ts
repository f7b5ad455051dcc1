/**
 * The data-subject rights and the pipeline's other duties, on SQLite and PostgreSQL: exports
 * of randomly filled subjects hold exactly their own files, each matching the manifest (read
 * back by Python's zipfile, not by our writer); the history holds the subject's entries and
 * no one else's; keep-metadata needs its consent and keeps the raw upload; retention sweeps
 * what expired and tells the purge hooks (real HTTP servers that fail, then answer); keys
 * rotate without a blob rewritten; checkpoints are written on schedule.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCheckpoints } from '../../src/compliance/audit.js';
import { createPipeline } from '../../src/compliance/pipeline.js';
import type { Pipeline, PipelineConfig } from '../../src/compliance/pipeline.js';
import { WorkerPool } from '../../src/pool/pool.js';
import { verifyClean } from '../../src/index.js';
import { sniffImage } from '../../src/detect.js';
import { CASES } from '../helpers.js';
import { random } from '../hostile/generate.js';
import { DIALECTS, freshDatabase } from './databases.js';
import type { Opened } from './databases.js';

const PHOTOS = [
  '01-exif-thumb-uncropped.jpg',
  '02-orientation-rotate90.jpg',
  '03-icc-wide-gamut.jpg',
  '04-webp-exif-xmp.webp',
  '05-png-exif-chunk.png',
  '06-png-time-text.png',
  '08-gif-comment-xmp.gif',
].map((name) => readFileSync(path.join(CASES, 'inputs', name)));
const GRANT = { policyVersion: '2026-01', method: 'web-form', collector: 'test' };

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Unpacks a zip with Python's zipfile: every member's bytes, and its mode. */
function unzip(file: string): Map<string, { bytes: Buffer; mode: number }> {
  const script = `
import base64, json, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    assert z.testzip() is None
    print(json.dumps({i.filename: [base64.b64encode(z.read(i)).decode(), i.external_attr >> 16] for i in z.infolist()}))
`;
  const result = spawnSync('/usr/bin/python3', ['-c', script, file], {
    maxBuffer: 256 * 1024 * 1024,
  });
  if (result.status !== 0) throw new Error(`zipfile failed: ${result.stderr.toString()}`);
  const parsed = JSON.parse(result.stdout.toString()) as Record<string, [string, number]>;
  return new Map(
    Object.entries(parsed).map(([name, [data, mode]]) => [
      name,
      { bytes: Buffer.from(data, 'base64'), mode },
    ]),
  );
}

interface Hook {
  readonly url: string;
  readonly bodies: unknown[];
  /** Answers these from the next call on, in turn (then the last one for ever). */
  answer(statuses: readonly number[]): void;
  close(): Promise<void>;
}

/** A real HTTP endpoint that answers `statuses` in turn (then the last one for ever). */
async function hook(initial: readonly number[]): Promise<Hook> {
  const bodies: unknown[] = [];
  let statuses = initial;
  let calls = 0;
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      bodies.push(JSON.parse(Buffer.concat(chunks).toString()));
      response.statusCode = statuses[Math.min(calls, statuses.length - 1)] ?? 200;
      calls += 1;
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/purge`,
    bodies,
    answer: (next) => {
      statuses = next;
      calls = 0;
    },
    close: () =>
      new Promise((resolve) =>
        server.close(() => {
          resolve();
        }),
      ),
  };
}

describe.each(DIALECTS)('the data-subject rights on %s', (kind) => {
  let opened: Opened;
  let pipeline: Pipeline;
  let config: PipelineConfig;
  const pool = new WorkerPool({ size: 1 });
  const seed = Number(process.env.PIXWARDEN_TEST_SEED ?? Date.now() % 1_000_000);
  const next = random(seed);
  const people = ['ann', 'ben', 'cat', 'dan'];
  /** The clean originals each person's ingests returned, by image id. */
  const ingested = new Map<string, Map<string, Buffer>>();
  let flaky: Hook;
  let broken: Hook;
  const checkpointFile = path.join(mkdtempSync(path.join(tmpdir(), 'pixwarden-cp-')), 'cp.jsonl');

  beforeAll(async () => {
    opened = await freshDatabase(kind);
    const url = await opened.url();
    await opened.database.close();
    flaky = await hook([503, 500, 200]);
    broken = await hook([500]);
    config = {
      dataDir: opened.dataDir,
      ...(url === undefined ? {} : { databaseUrl: url }),
      variants: [{ name: 'thumb', width: 40, height: 40, format: 'webp' }],
      retentionDays: 30,
      variantRetentionDays: 7,
      pool,
      purgeHooks: [{ url: flaky.url }],
      hookSettings: { backoffMs: 10 },
      checkpoints: { every: 10, file: checkpointFile },
    };
    pipeline = await createPipeline(config);
    for (const person of people) {
      await pipeline.grantConsent(person, { purpose: 'storage', ...GRANT });
      const mine = new Map<string, Buffer>();
      const count = 1 + Math.floor(next() * 3);
      for (let i = 0; i < count; i++) {
        const photo = PHOTOS[Math.floor(next() * PHOTOS.length)] ?? PHOTOS[0];
        if (photo === undefined) throw new Error('no photos');
        const result = await pipeline.ingest({ subjectId: person, bytes: photo });
        const subject = await pipeline.subjects.find(person);
        if (subject === null) throw new Error(`${person} is missing`);
        mine.set(result.imageId, await pipeline.images.read(subject, result.imageId, 'original'));
      }
      ingested.set(person, mine);
    }
  }, 120_000);
  afterAll(async () => {
    await pipeline.close();
    await pool.close();
    await flaky.close();
    await broken.close();
    await opened.dispose();
  });

  it('exports each subject: exactly its files, each matching the manifest', async () => {
    const folder = mkdtempSync(path.join(tmpdir(), 'pixwarden-export-'));
    const pseudonyms = new Map<string, string>();
    for (const person of people)
      pseudonyms.set(person, (await pipeline.subjects.find(person))?.pseudonym ?? '');
    for (const person of people) {
      const file = path.join(folder, `${person}.zip`);
      const report = await pipeline.exportSubject(person, file);
      expect(statSync(file).mode & 0o777, `seed ${seed}`).toBe(0o600);
      expect(readdirSync(folder).filter((name) => name.includes('.tmp-'))).toEqual([]);
      const members = unzip(file);
      const manifest = JSON.parse(members.get('manifest.json')?.bytes.toString() ?? '{}') as {
        subject: string;
        files: { path: string; bytes: number; sha256: string }[];
      };
      expect(manifest.subject).toBe(pseudonyms.get(person));
      // Every member but the manifest is listed, and matches its hash and size.
      expect(manifest.files.map((entry) => entry.path).sort()).toEqual(
        [...members.keys()].filter((name) => name !== 'manifest.json').sort(),
      );
      for (const entry of manifest.files) {
        const member = members.get(entry.path);
        expect(member && sha256(member.bytes), `${person} ${entry.path}`).toBe(entry.sha256);
        expect(member?.bytes.length).toBe(entry.bytes);
      }
      // The images: every original the person's ingests stored, byte for byte, each with its
      // thumbnail, and nothing else.
      const mine = ingested.get(person) ?? new Map<string, Buffer>();
      const images = [...members.keys()].filter((name) => name.startsWith('images/'));
      expect(images.length, `seed ${seed}`).toBe(mine.size * 2);
      expect(report.images).toBe(mine.size);
      for (const [id, original] of mine) {
        const name = images.find((image) => image.startsWith(`images/${id}/original.`));
        expect(name, `${person} ${id}`).toBeDefined();
        expect(members.get(name ?? '')?.bytes.equals(original)).toBe(true);
        expect(await verifyClean(original)).toMatchObject({ clean: true });
        expect(images.some((image) => image.startsWith(`images/${id}/thumb.`))).toBe(true);
      }
      // Nothing of another subject: no image id of theirs, no pseudonym of theirs, anywhere.
      const everything = Buffer.concat([...members.values()].map((member) => member.bytes));
      for (const other of people.filter((name) => name !== person)) {
        for (const id of ingested.get(other)?.keys() ?? [])
          expect(everything.includes(id), `${person} holds ${other}'s ${id}`).toBe(false);
        expect(everything.includes(pseudonyms.get(other) ?? '-')).toBe(false);
      }
      // The history and consents are the person's own.
      const history = JSON.parse(members.get('history.json')?.bytes.toString() ?? '[]') as {
        operation: string;
        subject: string;
      }[];
      expect(history.filter((entry) => entry.operation === 'ingest')).toHaveLength(mine.size);
      expect(history.every((entry) => entry.subject === pseudonyms.get(person))).toBe(true);
      const consents = JSON.parse(members.get('consents.json')?.bytes.toString() ?? '[]') as {
        purpose: string;
        policyVersion: string;
      }[];
      expect(consents).toMatchObject([{ purpose: 'storage', policyVersion: '2026-01' }]);
    }
    // Each export is audited.
    const exports = (await pipeline.history('ann')).filter(
      (entry) => entry.operation === 'subject.export',
    );
    expect(exports).toHaveLength(1);
    // An export never replaces a file unless told to.
    await expect(pipeline.exportSubject('ann', path.join(folder, 'ann.zip'))).rejects.toMatchObject(
      { code: 'ERR_OUTPUT_EXISTS' },
    );
  });

  it('gives a subject its own history, and audits the access', async () => {
    const history = await pipeline.history('ben');
    const operations = history.map((entry) => entry.operation);
    expect(operations[0]).toBe('consent.grant');
    expect(operations.filter((op) => op === 'ingest')).toHaveLength(ingested.get('ben')?.size ?? 0);
    const again = await pipeline.history('ben');
    expect(again.at(-1)?.operation).toBe('subject.access');
    expect(await pipeline.history('nobody')).toEqual([]);
  });

  it('keeps the raw upload only under keep-metadata consent, whatever the basis', async () => {
    const photo = PHOTOS[0] ?? Buffer.alloc(0);
    for (const legalBasis of ['contract', 'legitimate-interest'] as const)
      await expect(
        pipeline.ingest({ subjectId: 'cat', bytes: photo, purpose: 'keep-metadata', legalBasis }),
      ).rejects.toMatchObject({ code: 'ERR_CONSENT_REQUIRED', value: 'keep-metadata' });
    await expect(
      pipeline.ingest({ subjectId: 'cat', bytes: photo, keep: ['orientation', 'copyright'] }),
    ).rejects.toMatchObject({ code: 'ERR_CONSENT_REQUIRED', value: 'keep-metadata' });
    await pipeline.grantConsent('cat', { purpose: 'keep-metadata', ...GRANT });
    const result = await pipeline.ingest({
      subjectId: 'cat',
      bytes: photo,
      purpose: 'keep-metadata',
    });
    expect(result.stored.map((image) => image.variant)).toEqual(['original', 'raw', 'thumb']);
    const cat = await pipeline.subjects.find('cat');
    if (cat === null) throw new Error('cat is missing');
    expect((await pipeline.images.read(cat, result.imageId, 'raw')).equals(photo)).toBe(true);
    const original = await pipeline.images.read(cat, result.imageId, 'original');
    expect(await verifyClean(original)).toMatchObject({ clean: true });
    // The report names what was found, never a value.
    expect(result.report.findings.length).toBeGreaterThan(0);
    for (const finding of result.report.findings) expect(finding).not.toHaveProperty('value');
    // Withdrawn: the raw upload kept under it goes (the clean copy and its variant stay),
    // and the next such ingest is refused.
    expect(await pipeline.withdrawConsent('cat', 'keep-metadata')).toMatchObject({
      withdrawn: 1,
      imagesDeleted: 1,
      filesDeleted: 1,
    });
    expect(
      (await pipeline.images.list(cat.id))
        .filter((image) => image.id === result.imageId)
        .map((image) => image.variant),
    ).toEqual(['original', 'thumb']);
    await expect(
      pipeline.ingest({ subjectId: 'cat', bytes: photo, purpose: 'keep-metadata' }),
    ).rejects.toMatchObject({ code: 'ERR_CONSENT_REQUIRED' });
    ingested.get('cat')?.set(result.imageId, original);
  });

  it('sweeps what expired, audits it, and tells the purge hooks until they accept', async () => {
    const before = await pipeline.images.expired(new Date().toISOString());
    expect(before).toEqual([]);
    // In eight days the thumbnails have expired, the originals not.
    flaky.answer([503, 500, 200]);
    const report = await pipeline.sweepRetention(new Date(Date.now() + 8 * 86_400_000));
    const thumbs = [...ingested.values()].reduce((sum, mine) => sum + mine.size, 0);
    expect(report).toMatchObject({ images: thumbs, files: thumbs });
    expect(report.hooks).toEqual([
      { url: flaky.url, ok: true, attempts: 3, status: 200, error: null },
    ]);
    // The hook was told image ids and variants, and nothing of anyone.
    const body = flaky.bodies.at(-1) as { event: string; images: { variant: string }[] };
    expect(body.event).toBe('retention');
    expect(body.images).toHaveLength(thumbs);
    expect(body.images.every((image) => image.variant === 'thumb')).toBe(true);
    for (const person of people) expect(JSON.stringify(flaky.bodies)).not.toContain(person);
    const ann = await pipeline.subjects.find('ann');
    expect((await pipeline.images.list(ann?.id ?? '')).map((image) => image.variant)).toEqual(
      [...(ingested.get('ann')?.keys() ?? [])].map(() => 'original'),
    );
    // Each image's sweep is in its subject's history, found by the image id.
    const swept = (await pipeline.history('ann')).filter(
      (entry) => entry.operation === 'retention.sweep',
    );
    expect(swept).toHaveLength(ingested.get('ann')?.size ?? 0);
    expect(await pipeline.verifyAudit()).toMatchObject({ valid: true });
  });

  it('erases with a hook that never accepts: the data goes, the failure is audited', async () => {
    const failing = await createPipeline({
      ...config,
      purgeHooks: [{ url: broken.url }],
      hookSettings: { attempts: 2, backoffMs: 5 },
    });
    try {
      const report = await failing.erase('dan');
      expect(report.left).toEqual({ images: 0, blobs: 0, keys: 0 });
      expect(report.hooks).toMatchObject([{ ok: false, attempts: 2, status: 500 }]);
      const body = broken.bodies.at(-1) as { event: string; images: { id: string }[] };
      expect(body.event).toBe('erasure');
      expect(new Set(body.images.map((image) => image.id))).toEqual(
        new Set(ingested.get('dan')?.keys()),
      );
      let last: Record<string, unknown> = {};
      for await (const row of failing.audit.rows())
        last = JSON.parse(row.content) as Record<string, unknown>;
      expect(last).toMatchObject({ operation: 'purge', error: 'ERR_PURGE_HOOK' });
    } finally {
      await failing.close();
    }
  });

  it('rotates the master key: every image still opens, the old key opens nothing', async () => {
    const oldKey = readFileSync(path.join(opened.dataDir, 'master.key'), 'utf8').trim();
    const blobsBefore = readdirSync(path.join(opened.dataDir, 'blobs'), { recursive: true })
      .map(String)
      .sort();
    const rotation = await pipeline.rotateKeys();
    expect(rotation.subjects).toBeGreaterThanOrEqual(3);
    expect(readFileSync(path.join(opened.dataDir, 'master.key'), 'utf8').trim()).not.toBe(oldKey);
    expect(statSync(path.join(opened.dataDir, 'master.key')).mode & 0o777).toBe(0o600);
    // No blob was rewritten: the same files, and each still opens.
    const blobsAfter = readdirSync(path.join(opened.dataDir, 'blobs'), { recursive: true })
      .map(String)
      .sort();
    expect(blobsAfter).toEqual(blobsBefore);
    const reopened = await createPipeline(config);
    try {
      for (const person of ['ann', 'ben', 'cat']) {
        const subject = await reopened.subjects.find(person);
        if (subject === null) throw new Error(`${person} is missing`);
        for (const image of await reopened.images.list(subject.id))
          expect(
            sha256(await reopened.images.read(subject, image.id, image.variant)),
          ).toBeDefined();
        for (const [id, original] of ingested.get(person) ?? [])
          expect((await reopened.images.read(subject, id, 'original')).equals(original)).toBe(true);
      }
    } finally {
      await reopened.close();
    }
    const saved = process.env.PIXWARDEN_MASTER_KEY;
    process.env.PIXWARDEN_MASTER_KEY = oldKey;
    try {
      await expect(createPipeline(config)).rejects.toMatchObject({ code: 'ERR_DECRYPT' });
    } finally {
      if (saved === undefined) delete process.env.PIXWARDEN_MASTER_KEY;
      else process.env.PIXWARDEN_MASTER_KEY = saved;
    }
  });

  it('signs a checkpoint every ten entries, into the file kept elsewhere', async () => {
    const checkpoints = parseCheckpoints(readFileSync(checkpointFile, 'utf8'));
    const head = await pipeline.audit.head();
    expect(checkpoints.length).toBe(Math.floor((head?.seq ?? 0) / 10));
    expect(checkpoints.map((checkpoint) => checkpoint.seq % 10)).toEqual(checkpoints.map(() => 0));
    expect(await pipeline.verifyAudit(checkpoints)).toMatchObject({ valid: true });
  });

  it('signs the head on a timer too, only when it moved', async () => {
    const file = path.join(path.dirname(checkpointFile), 'timed.jsonl');
    const timed = await createPipeline({ ...config, checkpoints: { intervalSeconds: 0.1, file } });
    try {
      await timed.grantConsent('ann', { purpose: 'sharing', ...GRANT });
      const head = (await timed.audit.head())?.seq;
      await new Promise((resolve) => setTimeout(resolve, 450));
      const signed = parseCheckpoints(readFileSync(file, 'utf8'));
      // Several ticks passed, but the head moved once: one checkpoint, of that head.
      expect(signed.map((checkpoint) => checkpoint.seq)).toEqual([head]);
    } finally {
      await timed.close();
    }
  });

  it('leaves nothing on disk that looks like an image, or holds a caller id', () => {
    const files = readdirSync(opened.dataDir, { recursive: true })
      .map((name) => path.join(opened.dataDir, String(name)))
      .filter((file) => statSync(file).isFile());
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) {
      const bytes = readFileSync(file);
      expect(sniffImage(bytes), file).toBeNull();
      // No photo's bytes either, anywhere in a file.
      for (const photo of PHOTOS) expect(bytes.includes(photo.subarray(64, 128)), file).toBe(false);
    }
    for (const file of files.filter((name) => name.includes('pixwarden.db')))
      for (const person of people.map((name) => `"${name}"`))
        expect(readFileSync(file).includes(person), file).toBe(false);
  });

  it('deletes what was stored under consent when that consent is withdrawn', async () => {
    await pipeline.grantConsent('eve', { purpose: 'storage', ...GRANT });
    const photo = PHOTOS[1] ?? Buffer.alloc(0);
    const { imageId } = await pipeline.ingest({ subjectId: 'eve', bytes: photo });
    const eve = await pipeline.subjects.find('eve');
    const result = await pipeline.withdrawConsent('eve', 'storage');
    expect(result).toMatchObject({ withdrawn: 1, imagesDeleted: 1, filesDeleted: 2 });
    expect(await pipeline.images.list(eve?.id ?? '')).toEqual([]);
    const files = readdirSync(path.join(opened.dataDir, 'blobs'), { recursive: true }).map(String);
    expect(files.some((file) => file.includes(imageId))).toBe(false);
    // The purge hook was told, as for an erasure.
    expect(result.hooks).toMatchObject([{ ok: true }]);
    expect(flaky.bodies.at(-1)).toMatchObject({ event: 'withdrawal' });
  });
});
