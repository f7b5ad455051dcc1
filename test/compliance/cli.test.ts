/**
 * The compliance commands as a script uses them, through the built CLI: the JSON shapes and
 * exit codes, the whole corpus ingested and exported with ExifTool judging every stored
 * original, a tampered and a cut-off trail found by `audit verify`, an exported trail checked
 * without pixwarden, and the same commands on PostgreSQL.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Sqlite from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { ACCEPTABLE_REFUSALS, CASES, CLI, CORPUS, ROOT, exiftool, runCli } from '../helpers.js';
import { problemsOf } from '../structure-tags.js';
import { freshDatabase } from './databases.js';

const PHOTO = path.join(CASES, 'inputs', '01-exif-thumb-uncropped.jpg');

function dataDir(): string {
  return path.join(mkdtempSync(path.join(tmpdir(), 'pixwarden-cli-')), 'data');
}

/** The CLI on a data folder (or a database), its JSON output parsed. */
function cli(env: NodeJS.ProcessEnv, args: readonly string[]) {
  const result = runCli(args, { env: { NODE_NO_WARNINGS: '1', ...env } });
  let json: unknown = null;
  try {
    json = JSON.parse(result.stdout);
  } catch {
    // not JSON: the human form, or nothing
  }
  return { ...result, json };
}

describe('the compliance commands', () => {
  it('refuses without consent (exit 1, coded), and a usage error (exit 2) touches nothing', () => {
    const env = { PIXWARDEN_DATA_DIR: dataDir() };
    for (const args of [
      ['ingest', PHOTO],
      ['consent', 'grant', '--subject', 'a', '--purpose', 'bogus', '--policy', '1'],
      ['consent', 'grant', '--subject', 'a', '--purpose', 'storage'],
      ['subject', 'frobnicate', 'a'],
      ['subject', 'export', 'a'],
      ['audit', 'verify', 'extra'],
      ['ingest', PHOTO, '--subject', 'a', '--basis', 'whim'],
    ]) {
      const result = cli(env, args);
      expect(result.status, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(/^pixwarden: .*\nRun "pixwarden --help"/);
    }
    expect(existsSync(env.PIXWARDEN_DATA_DIR)).toBe(false);
    const refused = cli(env, ['ingest', PHOTO, '--subject', 'a', '--json']);
    expect(refused.status).toBe(1);
    expect(refused.json).toMatchObject([
      { input: PHOTO, status: 'refused', error: { code: 'ERR_CONSENT_REQUIRED' } },
    ]);
    expect(statSync(path.join(env.PIXWARDEN_DATA_DIR, 'master.key')).mode & 0o777).toBe(0o600);
  });

  it('ingests the whole corpus and exports it: ExifTool finds no metadata in any original', () => {
    const env = { PIXWARDEN_DATA_DIR: dataDir() };
    const grant = cli(env, [
      'consent',
      'grant',
      '--subject',
      'corpus-owner',
      '--purpose',
      'storage',
      '--policy',
      'v3',
      '--json',
    ]);
    expect(grant.status).toBe(0);
    expect(grant.json).toMatchObject({
      purpose: 'storage',
      policyVersion: 'v3',
      method: 'cli',
      withdrawnAt: null,
    });
    const ingest = cli(env, ['ingest', CORPUS, '--subject', 'corpus-owner', '--json']);
    const records = ingest.json as {
      input: string;
      status: string;
      imageId?: string;
      error?: { code: string };
    }[];
    const stored = records.filter((record) => record.status === 'stored');
    const refused = records.filter((record) => record.status === 'refused');
    expect(stored.length).toBeGreaterThan(350);
    expect(refused.filter((record) => !ACCEPTABLE_REFUSALS.has(record.error?.code ?? ''))).toEqual(
      [],
    );
    expect(ingest.status).toBe(refused.length > 0 ? 1 : 0);

    const zip = path.join(path.dirname(env.PIXWARDEN_DATA_DIR), 'export.zip');
    const exported = cli(env, ['subject', 'export', 'corpus-owner', '-o', zip, '--json']);
    expect(exported.status).toBe(0);
    expect(exported.json).toMatchObject({ file: zip, images: stored.length });
    expect(statSync(zip).mode & 0o777).toBe(0o600);
    const folder = path.join(path.dirname(zip), 'unpacked');
    const unpack = spawnSync('/usr/bin/python3', [
      '-c',
      'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])',
      zip,
      folder,
    ]);
    expect(unpack.status).toBe(0);
    const judged = exiftool([path.join(folder, 'images')]);
    expect(judged).toHaveLength(stored.length);
    const dirty = judged
      .map((record) => ({ file: record.SourceFile, problems: problemsOf(record) }))
      .filter((entry) => entry.problems.length > 0);
    expect(dirty).toEqual([]);
    // The manifest holds each file's hash, as computed here.
    const manifest = JSON.parse(readFileSync(path.join(folder, 'manifest.json'), 'utf8')) as {
      files: { path: string; sha256: string }[];
    };
    for (const entry of manifest.files)
      expect(
        createHash('sha256')
          .update(readFileSync(path.join(folder, entry.path)))
          .digest('hex'),
      ).toBe(entry.sha256);
  }, 300_000);

  it('restricts, lifts, gives the history, rotates keys, sweeps and erases, all as JSON', () => {
    const env = { PIXWARDEN_DATA_DIR: dataDir() };
    const run = (...args: string[]) => cli(env, [...args, '--json']);
    expect(
      run('consent', 'grant', '--subject', 'b', '--purpose', 'storage', '--policy', '1'),
    ).toMatchObject({ status: 0 });
    expect(run('subject', 'restrict', 'b')).toMatchObject({
      status: 0,
      json: { restricted: true },
    });
    expect(run('ingest', PHOTO, '--subject', 'b')).toMatchObject({
      status: 1,
      json: [{ status: 'refused', error: { code: 'ERR_PROCESSING_RESTRICTED' } }],
    });
    expect(run('subject', 'restrict', 'b', '--lift')).toMatchObject({
      json: { restricted: false },
    });
    const stored = run('ingest', PHOTO, '--subject', 'b');
    expect(stored).toMatchObject({
      status: 0,
      json: [{ status: 'stored', stored: [{ variant: 'original', format: 'jpeg' }] }],
    });
    const history = run('subject', 'history', 'b').json as { operation: string }[];
    expect(history.map((entry) => entry.operation)).toEqual([
      'consent.grant',
      'subject.restrict',
      'ingest',
      'subject.lift',
      'ingest',
    ]);
    expect(JSON.stringify(history)).not.toContain('"b"');
    expect(run('consent', 'show', '--subject', 'b').json).toMatchObject([{ purpose: 'storage' }]);
    expect(run('consent', 'withdraw', '--subject', 'b', '--purpose', 'storage')).toMatchObject({
      status: 0,
      // Storage rests on consent by default: what was stored under it goes.
      json: { purpose: 'storage', withdrawn: 1, imagesDeleted: 1, filesDeleted: 1 },
    });
    expect(run('keys', 'rotate')).toMatchObject({ status: 0, json: { subjects: 1 } });
    expect(run('retention', 'sweep')).toMatchObject({
      status: 0,
      json: { images: 0, files: 0, hooks: [] },
    });
    expect(run('repair')).toMatchObject({
      status: 0,
      json: { blobs: 0, temporary: 0, records: 0 },
    });
    expect(run('subject', 'erase', 'b')).toMatchObject({
      status: 0,
      json: { found: true, imagesDeleted: 0, left: { images: 0, blobs: 0, keys: 0 } },
    });
    expect(run('subject', 'erase', 'b')).toMatchObject({ status: 0, json: { found: false } });
    expect(run('subject', 'history', 'b').json).toEqual([]);
    expect(run('audit', 'verify')).toMatchObject({
      status: 0,
      json: { valid: true, entries: 9, firstInvalid: null },
    });
  });

  it('finds an edited entry and a cut-off tail, and exports a trail anyone can check', () => {
    const env = { PIXWARDEN_DATA_DIR: dataDir() };
    const run = (...args: string[]) => cli(env, args);
    for (const person of ['p1', 'p2', 'p3', 'p4'])
      run('consent', 'grant', '--subject', person, '--purpose', 'sharing', '--policy', '1');
    const checkpoints = path.join(path.dirname(env.PIXWARDEN_DATA_DIR), 'checkpoints.jsonl');
    expect(run('audit', 'checkpoint', '-o', checkpoints).status).toBe(0);
    run('consent', 'withdraw', '--subject', 'p1', '--purpose', 'sharing');

    // An export, checked here with nothing but SHA-256.
    const trail = path.join(path.dirname(env.PIXWARDEN_DATA_DIR), 'trail.jsonl');
    expect(run('audit', 'export', '-o', trail).status).toBe(0);
    const rows = readFileSync(trail, 'utf8')
      .trim()
      .split('\n')
      .map(
        (line) =>
          JSON.parse(line) as { seq: number; prevHash: string; content: string; hash: string },
      );
    expect(rows.map((row) => row.seq)).toEqual([1, 2, 3, 4, 5]);
    let previous = '0'.repeat(64);
    for (const row of rows) {
      expect(row.prevHash).toBe(previous);
      const hash = createHash('sha256')
        .update(`${row.seq}\n${row.prevHash}\n${row.content}`)
        .digest('hex');
      expect(hash).toBe(row.hash);
      previous = hash;
    }

    const database = path.join(env.PIXWARDEN_DATA_DIR, 'pixwarden.db');
    const edit = (statement: string) => {
      const db = new Sqlite(database);
      try {
        db.exec(statement);
      } finally {
        db.close();
      }
    };
    edit(`update audit set content = replace(content, '"sharing"', '"storage"') where seq = 3`);
    const edited = cli(env, ['audit', 'verify', '--json']);
    expect(edited.status).toBe(1);
    expect(edited.json).toMatchObject({ valid: false, entries: 3, firstInvalid: { seq: 3 } });
    expect(cli(env, ['audit', 'verify']).stdout).toMatch(/broken at entry 3/);

    // Put back, then cut the tail and the checkpoints kept beside it.
    edit(`update audit set content = replace(content, '"storage"', '"sharing"') where seq = 3`);
    expect(cli(env, ['audit', 'verify', '--json']).status).toBe(0);
    edit('delete from audit where seq > 2; delete from checkpoints');
    expect(cli(env, ['audit', 'verify', '--json'])).toMatchObject({
      status: 0,
      json: { valid: true, entries: 2 },
    });
    const cut = cli(env, ['audit', 'verify', '--checkpoints', checkpoints, '--json']);
    expect(cut).toMatchObject({
      status: 1,
      json: { valid: false, entries: 2, firstInvalid: { seq: 3 } },
    });
  });

  it('runs on PostgreSQL when PIXWARDEN_DATABASE_URL names it', async () => {
    const opened = await freshDatabase('postgres');
    try {
      const url = (await opened.url()) ?? '';
      await opened.database.close();
      const env = { PIXWARDEN_DATA_DIR: opened.dataDir, PIXWARDEN_DATABASE_URL: url };
      const run = (...args: string[]) => cli(env, [...args, '--json']);
      run('consent', 'grant', '--subject', 'pg', '--purpose', 'storage', '--policy', '1');
      expect(run('ingest', PHOTO, '--subject', 'pg')).toMatchObject({
        status: 0,
        json: [{ status: 'stored' }],
      });
      expect(run('audit', 'verify')).toMatchObject({ json: { valid: true, entries: 2 } });
      // Another folder, without the keys: a reading command makes no store of its own.
      const stray = cli({ ...env, PIXWARDEN_DATA_DIR: dataDir() }, ['audit', 'verify', '--json']);
      expect(stray).toMatchObject({ status: 1, json: { error: { code: 'ERR_INPUT_NOT_FOUND' } } });
      // The records are in PostgreSQL: the data folder holds no SQLite database.
      expect(existsSync(path.join(opened.dataDir, 'pixwarden.db'))).toBe(false);
      expect(run('subject', 'erase', 'pg')).toMatchObject({
        status: 0,
        json: { left: { images: 0, blobs: 0, keys: 0 } },
      });
    } finally {
      await opened.dispose();
    }
  });
});

describe('the compliance commands, refusing what would do harm', () => {
  const setUp = () => {
    const env = { PIXWARDEN_DATA_DIR: dataDir() };
    const run = (...args: string[]) => cli(env, [...args, '--json']);
    run('consent', 'grant', '--subject', 'r', '--purpose', 'storage', '--policy', '1');
    expect(run('ingest', PHOTO, '--subject', 'r').status).toBe(0);
    return { env, run, data: env.PIXWARDEN_DATA_DIR };
  };
  const codeOf = (result: { stderr: string }) => /ERR_[A-Z_]+/.exec(result.stderr)?.[0];

  it('writes nothing into the data folder, over another file, or over what is not a file', () => {
    const { run, data } = setUp();
    const key = readFileSync(path.join(data, 'master.key'));
    for (const args of [
      ['audit', 'export', '-o', path.join(data, 'master.key'), '--overwrite'],
      ['audit', 'checkpoint', '-o', path.join(data, 'master.key')],
      ['subject', 'export', 'r', '-o', path.join(data, 'pixwarden.db'), '--overwrite'],
      ['audit', 'export', '-o', '/dev/null', '--overwrite'],
      ['audit', 'checkpoint', '-o', '/tmp'],
    ]) {
      const result = run(...args);
      expect(result.status, args.join(' ')).toBe(1);
      expect(codeOf(result), args.join(' ')).toBe('ERR_OUTPUT_CONFLICT');
    }
    // Nor through another name of a key file.
    const link = path.join(path.dirname(data), 'link');
    linkSync(path.join(data, 'master.key'), link);
    expect(codeOf(run('audit', 'checkpoint', '-o', link))).toBe('ERR_OUTPUT_CONFLICT');
    expect(codeOf(run('audit', 'export', '-o', link, '--overwrite'))).toBe('ERR_OUTPUT_CONFLICT');
    expect(readFileSync(path.join(data, 'master.key')).equals(key)).toBe(true);
    const precious = path.join(path.dirname(data), 'precious.txt');
    writeFileSync(precious, 'keep me');
    expect(codeOf(run('audit', 'export', '-o', precious))).toBe('ERR_OUTPUT_EXISTS');
    expect(codeOf(run('subject', 'export', 'r', '-o', precious))).toBe('ERR_OUTPUT_EXISTS');
    expect(readFileSync(precious, 'utf8')).toBe('keep me');
    expect(run('audit', 'export', '-o', precious, '--overwrite').status).toBe(0);
    expect(readFileSync(precious, 'utf8')).toMatch(/^\{"seq":1,/);
    // Everything still works.
    expect(run('audit', 'verify')).toMatchObject({ status: 0, json: { valid: true } });
  });

  it('repairs nothing while the blob folder is missing, and keeps every record', () => {
    const { run, data } = setUp();
    renameSync(path.join(data, 'blobs'), path.join(data, 'blobs-away'));
    const refused = run('repair');
    expect(refused.status).toBe(1);
    expect(codeOf(refused)).toBe('ERR_IO');
    // An empty folder in its place (a volume not mounted) is no store either: neither a
    // repair nor an ingest takes it for one.
    mkdirSync(path.join(data, 'blobs'));
    expect(codeOf(run('repair'))).toBe('ERR_IO');
    expect(run('ingest', PHOTO, '--subject', 'r').json).toMatchObject([
      { status: 'refused', error: { code: 'ERR_IO' } },
    ]);
    rmSync(path.join(data, 'blobs'), { recursive: true });
    renameSync(path.join(data, 'blobs-away'), path.join(data, 'blobs'));
    const zip = path.join(path.dirname(data), 'r.zip');
    expect(run('subject', 'export', 'r', '-o', zip)).toMatchObject({
      status: 0,
      json: { images: 1 },
    });
  });

  it('refuses broken keys and configuration with codes, and never makes a new key over data', () => {
    const { env, run, data } = setUp();
    const signing = path.join(data, 'audit-signing.key');
    const saved = readFileSync(signing);
    writeFileSync(signing, 'garbage');
    const garbled = run('consent', 'show', '--subject', 'r');
    expect(garbled.stderr).toMatch(/ERR_IO: .*audit-signing\.key does not hold/);
    expect(garbled.status).toBe(1);
    writeFileSync(signing, saved);
    // A master key file gone missing is not replaced by a new one.
    const key = path.join(data, 'master.key');
    renameSync(key, `${key}.away`);
    const missing = run('consent', 'show', '--subject', 'r');
    expect(missing.status).toBe(1);
    expect(codeOf(missing)).toBe('ERR_DECRYPT');
    expect(existsSync(key)).toBe(false);
    renameSync(`${key}.away`, key);
    for (const compliance of [
      { retentionDays: 3_000_000 },
      { purgeHooks: [{ url: 'http://admin:secret@127.0.0.1/purge' }] },
      { purgeHooks: [{ url: 'file:///etc/passwd' }] },
      { purgeHooks: [{ url: 'http://127.0.0.1/', headers: { 'x-a': 'one\ntwo' } }] },
      { checkpoints: { every: 0 } },
      { checkpoints: { intervalSeconds: 2_592_000 } },
    ]) {
      const config = path.join(path.dirname(data), 'config.json');
      writeFileSync(config, JSON.stringify({ compliance }));
      const result = cli(env, ['retention', 'sweep', '--config', config]);
      expect(result.status, JSON.stringify(compliance)).toBe(2);
      expect(result.stderr).not.toContain('secret');
    }
    expect(run('audit', 'verify')).toMatchObject({ status: 0, json: { valid: true } });
  });

  it('answers from no store but the one named: no data, no fallback, nothing made', () => {
    const env = { PIXWARDEN_DATA_DIR: dataDir() };
    for (const args of [
      ['subject', 'history', 'x'],
      ['consent', 'show', '--subject', 'x'],
      ['audit', 'verify'],
      ['subject', 'erase', 'x'],
    ]) {
      const result = cli(env, [...args, '--json']);
      expect(result.status, args.join(' ')).toBe(1);
      expect(result.json).toMatchObject({ error: { code: 'ERR_INPUT_NOT_FOUND' } });
    }
    // An id that was not UTF-8 on the command line arrives with U+FFFD: refused, not merged.
    const mangled = cli(env, [
      'consent',
      'grant',
      '--subject',
      'm\uFFFDller',
      '--purpose',
      'storage',
      '--policy',
      '1',
    ]);
    expect(mangled.status).toBe(2);
    const mysql = cli({ ...env, PIXWARDEN_DATABASE_URL: 'mysql://x' }, ['audit', 'verify']);
    expect(mysql.status).toBe(2);
    expect(mysql.stderr).toMatch(/postgres:\/\//);
    expect(existsSync(env.PIXWARDEN_DATA_DIR)).toBe(false);
  });

  it('writes the trail to standard output with -o -', () => {
    const { env } = setUp();
    const result = cli(env, ['audit', 'export', '-o', '-']);
    expect(result.status).toBe(0);
    const lines = result.stdout.trim().split('\n');
    // The consent and the ingest.
    expect(lines.map((line) => (JSON.parse(line) as { seq: number }).seq)).toEqual([1, 2]);
    expect(existsSync(path.join(ROOT, '-'))).toBe(false);
  });

  it('stops an ingest between two files on Ctrl-C, with 130, leaving no photo in /dev/shm', async () => {
    const { env, run } = setUp();
    const config = path.join(path.dirname(env.PIXWARDEN_DATA_DIR), 'config.json');
    // A stored variant, so that the worker pool (and its folder in /dev/shm) is in use.
    writeFileSync(config, JSON.stringify({ compliance: { variants: ['thumb'] } }));
    const child = spawn(
      process.execPath,
      [CLI, 'ingest', path.join(CASES, 'inputs'), CORPUS, '--subject', 'r', '--config', config],
      { env: { ...process.env, ...env, NODE_NO_WARNINGS: '1' } },
    );
    let stored = 0;
    let interrupted = false;
    child.stdout.on('data', (chunk: Buffer) => {
      stored += chunk
        .toString()
        .split('\n')
        .filter((line) => line.includes('stored as')).length;
      // Once: a second signal ends the process at once, by design.
      if (stored >= 2 && !interrupted) interrupted = child.kill('SIGINT');
    });
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(status).toBe(130);
    expect(
      readdirSync('/dev/shm').filter((name) => name.startsWith(`pixwarden-pool-${child.pid}-`)),
    ).toEqual([]);
    // What was stored is whole, and audited: the trail holds one done ingest per stored image.
    const history = run('subject', 'history', 'r').json as { operation: string; outcome: string }[];
    const done = history.filter(
      (entry) => entry.operation === 'ingest' && entry.outcome === 'done',
    );
    expect(done.length).toBeGreaterThanOrEqual(3);
    expect(done.length).toBeLessThan(200);
    expect(run('repair')).toMatchObject({ json: { blobs: 0, records: 0 } });
    expect(run('audit', 'verify')).toMatchObject({ status: 0, json: { valid: true } });
  }, 120_000);

  it('makes one store when several first commands start at once', async () => {
    const env = { ...process.env, NODE_NO_WARNINGS: '1', PIXWARDEN_DATA_DIR: dataDir() };
    const statuses = await Promise.all(
      Array.from(
        { length: 6 },
        (_, i) =>
          new Promise<number | null>((resolve) => {
            const child = spawn(
              process.execPath,
              [
                CLI,
                'consent',
                'grant',
                '--subject',
                `first-${i}`,
                '--purpose',
                'storage',
                '--policy',
                '1',
              ],
              { env, stdio: 'ignore' },
            );
            child.on('close', resolve);
          }),
      ),
    );
    expect(statuses).toEqual([0, 0, 0, 0, 0, 0]);
    expect(cli(env, ['audit', 'verify', '--json'])).toMatchObject({
      status: 0,
      json: { valid: true, entries: 6 },
    });
  }, 60_000);
});
