/**
 * Crash safety on SQLite and PostgreSQL: a child process ingests photos in a loop and is killed
 * (SIGKILL) at a random moment, again and again on the same data. After every kill, before any
 * repair, every registry row has its blob and every blob opens whole; `repair` then leaves no
 * blob without its row and no temporary file, audits what it removed, and the chain verifies.
 * Each ingest is recorded entirely or not at all: its audit entry, its original, its variant.
 *
 * The delays come from a seeded generator, and a failure prints the seed and the delays:
 * PIXWARDEN_CRASH_SEED=<seed> replays the same delays (the moments they land on still vary).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash, randomInt } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { createPipeline } from '../../src/compliance/pipeline.js';
import type { Subject } from '../../src/compliance/subjects.js';
import { CASES } from '../helpers.js';
import { DIALECTS, freshDatabase } from './databases.js';
import type { Opened } from './databases.js';
import { random } from '../hostile/generate.js';

const LOOP = path.join(path.dirname(fileURLToPath(import.meta.url)), 'ingest-loop.mjs');
const PHOTOS = [
  '01-exif-thumb-uncropped.jpg',
  '02-orientation-rotate90.jpg',
  '03-icc-wide-gamut.jpg',
  '04-webp-exif-xmp.webp',
  '05-png-exif-chunk.png',
].map((name) => path.join(CASES, 'inputs', name));
/** The subjects the child ingests for (the same names as in ingest-loop.mjs). */
const PEOPLE = ['ann', 'ben', 'cat'];
/** What every ingest stores: the original and the child's one variant. */
const VARIANTS = ['original', 'thumb'];
const ROUNDS = { sqlite: 6, postgres: 4 } as const;
const MAX_DELAY_MS = 400;
/** A child starts (sharp, the worker pool, the database) and ingests once within this. */
const FIRST_INGEST_MS = 20_000;
const SEED = Number(process.env.PIXWARDEN_CRASH_SEED ?? randomInt(2 ** 31));

/** Children still running: killed in afterAll whatever happened. */
const children = new Set<ChildProcess>();

/**
 * Starts the loop, waits for its first ingest, then `delay` ms more, and kills it.
 * @returns the image ids the child reported as ingested (committed).
 */
async function crashOnce(args: readonly string[], delay: number): Promise<string[]> {
  const child = spawn(process.execPath, [LOOP, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  // 'close', not 'exit': it comes once stdout is drained, so that no line is missed.
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (code, signal) => {
      resolve({ code, signal });
    });
  });
  const ingested: string[] = [];
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr += chunk;
  });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`the child did not ingest within ${FIRST_INGEST_MS} ms: ${stderr}`));
      }, FIRST_INGEST_MS);
      let pending = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        pending += chunk;
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) {
          const id = /^ingested ([0-9a-f]+) \d+$/.exec(line)?.[1];
          if (id !== undefined) ingested.push(id);
        }
        if (ingested.length > 0) {
          clearTimeout(timer);
          resolve();
        }
      });
      void closed.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`the child ended by itself (${String(code ?? signal)}): ${stderr}`));
      });
    });
    await sleep(delay);
    child.kill('SIGKILL');
    const { signal } = await closed;
    // Anything else means the child died of its own accord before the kill.
    if (signal !== 'SIGKILL') throw new Error(`the child ended before the kill: ${stderr}`);
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await closed;
    }
    children.delete(child);
  }
  return ingested;
}

/** Every file under the blob store, as paths relative to it (but the store's own marker). */
function filesUnder(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root).flatMap((folder) => {
    if (folder === '.pixwarden-blobs') return [];
    const inner = path.join(root, folder);
    if (!statSync(inner).isDirectory()) return [folder];
    return readdirSync(inner).map((name) => path.join(folder, name));
  });
}

interface Verdict {
  readonly originals: number;
  readonly repaired: { blobs: number; temporary: number; records: number };
}

/** Opens the data after a kill and checks it, repairs it, and checks it again. */
async function checkAfterCrash(
  dataDir: string,
  url: string | undefined,
  committed: ReadonlySet<string>,
): Promise<Verdict> {
  const pipeline = await createPipeline({
    dataDir,
    ...(url === undefined ? {} : { databaseUrl: url }),
    consentPurposes: [],
  });
  try {
    const blobRoot = path.join(dataDir, 'blobs');
    const rows = await pipeline.database.db.selectFrom('images').selectAll().execute();
    const key = (id: string, variant: string) => `${id}.${variant}`;
    const recorded = new Set(rows.map((row) => key(row.id, row.variant)));

    // Before repair: no row without its blob, and no blob that does not open whole (a blob
    // is authenticated, so a torn or truncated one fails to open).
    const owners = new Map<string, Subject>();
    for (const person of PEOPLE) {
      const subject = await pipeline.subjects.find(person);
      if (subject !== null) owners.set(subject.id, subject);
    }
    let listed = 0;
    for (const subject of owners.values()) {
      const images = await pipeline.images.list(subject.id);
      listed += images.length;
      for (const image of images) {
        const file = path.join(blobRoot, image.id.slice(0, 2), `${image.id}.${image.variant}`);
        expect(existsSync(file), `the blob of ${image.id}.${image.variant}`).toBe(true);
        expect(createHash('sha256').update(readFileSync(file)).digest('hex')).toBe(image.sha256);
        const plain = await pipeline.images.read(subject, image.id, image.variant);
        expect(plain.length).toBe(image.bytes);
      }
    }
    // Every row belongs to one of the subjects the child ingested for.
    expect(listed).toBe(rows.length);

    // An ingest is recorded entirely or not at all: one `done` entry per original, naming it,
    // with every variant beside it; and every ingest the child saw return is there.
    const entries: { operation: string; outcome: string; image?: string }[] = [];
    for await (const row of pipeline.audit.rows())
      entries.push(JSON.parse(row.content) as (typeof entries)[number]);
    const ingests = entries.filter((entry) => entry.operation === 'ingest');
    expect(ingests.filter((entry) => entry.outcome !== 'done')).toEqual([]);
    const originals = rows.filter((row) => row.variant === 'original').map((row) => row.id);
    expect(ingests.length).toBe(originals.length);
    expect(new Set(ingests.map((entry) => entry.image))).toEqual(new Set(originals));
    for (const id of originals)
      expect(
        rows
          .filter((row) => row.id === id)
          .map((row) => row.variant)
          .sort(),
      ).toEqual(VARIANTS);
    for (const id of committed) expect(recorded.has(key(id, 'original')), id).toBe(true);

    // Repair: what the kill left (blobs written for an ingest that never committed, a temporary
    // file mid-write) goes, and is audited; there was no row without its blob to remove.
    const before = await pipeline.audit.head();
    const repaired = await pipeline.repair(0);
    expect(repaired.records).toBe(0);
    const files = filesUnder(blobRoot);
    expect(files.filter((file) => path.basename(file).startsWith('.tmp-'))).toEqual([]);
    expect(new Set(files.map((file) => path.basename(file)))).toEqual(recorded);
    for (const file of files) expect(path.basename(file).slice(0, 2)).toBe(path.dirname(file));
    const after = await pipeline.audit.head();
    if (repaired.blobs + repaired.temporary > 0) {
      expect(after?.seq).toBe((before?.seq ?? 0) + 1);
      let last: unknown;
      for await (const row of pipeline.audit.rows()) last = JSON.parse(row.content);
      expect(last).toMatchObject({ operation: 'repair', outcome: 'done', counts: repaired });
    } else {
      expect(after).toEqual(before);
    }
    // Nothing is left for a second repair, and the registry kept every row.
    expect(await pipeline.repair(0)).toEqual({ blobs: 0, temporary: 0, records: 0 });
    expect(await pipeline.database.db.selectFrom('images').select('id').execute()).toHaveLength(
      rows.length,
    );
    expect(await pipeline.verifyAudit()).toMatchObject({ valid: true });
    return { originals: originals.length, repaired };
  } finally {
    await pipeline.close();
  }
}

afterAll(async () => {
  for (const child of children) {
    child.kill('SIGKILL');
    if (child.exitCode === null && child.signalCode === null)
      await new Promise((resolve) => child.once('close', resolve));
  }
});

describe.each(DIALECTS)('a SIGKILL during ingests on %s', (kind) => {
  let opened: Opened;
  let url: string | undefined;

  beforeAll(async () => {
    opened = await freshDatabase(kind);
    url = await opened.url();
    await opened.database.close();
  });
  afterAll(async () => {
    await opened.dispose();
  });

  it('leaves no partial blob, no row without its blob, and a chain that verifies', async () => {
    const seed = SEED + DIALECTS.indexOf(kind);
    const next = random(seed);
    const rounds: string[] = [];
    onTestFailed(() => {
      console.error(
        `crash test on ${kind}: PIXWARDEN_CRASH_SEED=${SEED}; rounds: ${rounds.join('; ')}`,
      );
    });
    const committed = new Set<string>();
    let originals = 0;
    for (let round = 0; round < ROUNDS[kind]; round++) {
      const delay = Math.floor(next() * (MAX_DELAY_MS + 1));
      const killed = `killed ${delay} ms after the first ingest`;
      rounds.push(killed);
      const ingested = await crashOnce(
        [opened.dataDir, url ?? '', String(round), ...PHOTOS],
        delay,
      );
      for (const id of ingested) committed.add(id);
      rounds[round] = `${killed}, ${ingested.length} ingests reported`;
      const verdict = await checkAfterCrash(opened.dataDir, url, committed);
      rounds[round] =
        `${killed}, ${ingested.length} ingests reported, ${verdict.originals} in all, repair ${JSON.stringify(verdict.repaired)}`;
      // Each round adds at least the ingest it waited for.
      expect(verdict.originals).toBeGreaterThan(originals);
      originals = verdict.originals;
    }
  }, 60_000);
});
