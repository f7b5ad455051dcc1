/**
 * What the compliance layer costs per photo: `pipeline.ingest` (consent check, inspect, strip,
 * AES-256-GCM sealing, an atomic fsynced blob, the registry row and the audit entry in one
 * transaction) against the same photos merely stripped in memory, and against writing each
 * photo's bytes to a file durably (write, fsync, rename, fsync of the folder): the floor of
 * storing anything crash-safely. 100 photos of 12 MP with EXIF, GPS, a thumbnail and a
 * profile; SQLite in a folder of the bench cache (on disk, where a store lives); PostgreSQL too
 * when BENCH_DATABASE_URL names an empty database (it is left holding the runs' records).
 * Medians of 3 runs.
 *
 * `npm run bench:ingest` (builds first).
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as Library from '../src/index.js';
import { CACHE, files, makePhotos, median, ROOT } from './inputs.js';

const RUNS = 3;
const { createPipeline, strip, WorkerPool } = (await import(
  pathToFileURL(path.join(ROOT, 'dist', 'index.js')).href
)) as typeof Library;

const photos = files(makePhotos()).map((file) => readFileSync(file));
const megabytes = photos.reduce((sum, photo) => sum + photo.length, 0) / 1e6;

function syncFolder(folder: string): void {
  const fd = openSync(folder, 'r');
  fsyncSync(fd);
  closeSync(fd);
}

async function timed(work: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await work();
  return (performance.now() - started) / 1000;
}

const pool = new WorkerPool();
const postgresDataDir = mkdtempSync(path.join(CACHE, 'ingest-postgres-'));
const results: Record<string, number[]> = { strip: [], durable: [], sqlite: [], postgres: [] };
const databaseUrl =
  process.env.BENCH_DATABASE_URL === '' ? undefined : process.env.BENCH_DATABASE_URL;
try {
  for (let run = 0; run < RUNS; run++) {
    results.strip?.push(
      await timed(async () => {
        for (const photo of photos) await strip(photo);
      }),
    );
    const folder = mkdtempSync(path.join(CACHE, 'durable-'));
    results.durable?.push(
      await timed(() => {
        for (const [index, photo] of photos.entries()) {
          const sub = path.join(folder, String(index % 16));
          mkdirSync(sub, { recursive: true });
          const temp = path.join(sub, `.tmp-${randomBytes(6).toString('hex')}`);
          const fd = openSync(temp, 'wx', 0o600);
          writeSync(fd, photo);
          fsyncSync(fd);
          closeSync(fd);
          renameSync(temp, path.join(sub, `photo-${index}`));
          syncFolder(sub);
        }
        return Promise.resolve();
      }),
    );
    rmSync(folder, { recursive: true, force: true });
    for (const kind of ['sqlite', 'postgres'] as const) {
      if (kind === 'postgres' && databaseUrl === undefined) continue;
      // PostgreSQL's records outlive a run: its keys stay in one data folder for all runs.
      const dataDir =
        kind === 'postgres' ? postgresDataDir : mkdtempSync(path.join(CACHE, 'ingest-'));
      const pipeline = await createPipeline({
        dataDir,
        ...(kind === 'postgres' && databaseUrl !== undefined ? { databaseUrl } : {}),
        consentPurposes: [],
        pool,
      });
      try {
        results[kind]?.push(
          await timed(async () => {
            for (const [index, photo] of photos.entries())
              await pipeline.ingest({ subjectId: `person-${run}-${index % 10}`, bytes: photo });
          }),
        );
      } finally {
        await pipeline.close();
        if (kind === 'sqlite') rmSync(dataDir, { recursive: true, force: true });
      }
    }
  }
} finally {
  await pool.close();
  rmSync(postgresDataDir, { recursive: true, force: true });
}

const floor = median(results.strip ?? []);
console.log(`${photos.length} photos, ${megabytes.toFixed(0)} MB, median of ${RUNS} runs`);
const line = (name: string, seconds: number) => {
  console.log(
    `${name.padEnd(38)} ${seconds.toFixed(2)} s  ${((seconds / photos.length) * 1000).toFixed(1)} ms/photo  ${(seconds / floor).toFixed(2)}× the strip`,
  );
};
line('strip in memory (the floor)', floor);
line('write each durably (fsync, rename)', median(results.durable ?? []));
line('pipeline.ingest, SQLite', median(results.sqlite ?? []));
if ((results.postgres ?? []).length > 0)
  line('pipeline.ingest, PostgreSQL', median(results.postgres ?? []));
