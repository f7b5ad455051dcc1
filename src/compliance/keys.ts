/**
 * The master key: where it comes from, and its rotation. It seals the lookup key and every
 * subject key; blobs are sealed under data keys that the subject keys wrap, so rotating the
 * master key re-seals a few rows per subject and rewrites no blob.
 *
 * From a key file, a rotation runs as the database's only writer: the new key is written
 * beside the old one (`master.key.next-<random>`, a name of its own), the database re-sealed,
 * and after the commit the new key renamed over the old. Whichever key opens the database is
 * the one in force: a process that finds the database re-sealed and the file not yet renamed
 * takes the pending key (and finishes the rename). Only a rotation, as the only writer,
 * removes a pending key, and only one that opens nothing (its rotation never committed).
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { PixwardenError, pixwardenError } from '../errors.js';
import { syncFolder } from '../fsync.js';
import { loadMasterKey, newKey, parseKey } from './crypto.js';
import type { Database } from './database.js';
import { Subjects, opensLookup, sealedLookup } from './subjects.js';

export interface OpenedKeys {
  readonly subjects: Subjects;
  /** `environment` (PIXWARDEN_MASTER_KEY) or the key file's path. */
  readonly source: string;
}

const keyFile = (dataDir: string) => path.join(dataDir, 'master.key');
const pendingName = /^master\.key\.next-[0-9a-f]{16}$/;

/** The key file's key and every pending one, those that can be read, with their files. */
function keysOnDisk(dataDir: string): { file: string; key: Buffer }[] {
  let names: string[];
  try {
    names = readdirSync(dataDir).filter((name) => pendingName.test(name));
  } catch {
    names = [];
  }
  const found: { file: string; key: Buffer }[] = [];
  for (const file of [keyFile(dataDir), ...names.map((name) => path.join(dataDir, name))]) {
    try {
      found.push({ file, key: parseKey(readFileSync(file, 'utf8').trim(), file) });
    } catch {
      // gone meanwhile, or being written
    }
  }
  return found;
}

/**
 * Renames a pending key over the key file, finishing its rotation. Gone already means another
 * process finished it.
 */
function finishRotation(dataDir: string, pending: string): void {
  try {
    renameSync(pending, keyFile(dataDir));
  } catch (error: unknown) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  syncFolder(dataDir);
}

/**
 * Opens the subjects under the master key, finishing a rotation whose commit came before its
 * rename.
 * @throws ERR_DECRYPT when no key opens the database, or the key file is missing while the
 *   database holds keys sealed under one.
 */
export async function openKeys(
  database: Database,
  dataDir: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<OpenedKeys> {
  const fromEnv = env.PIXWARDEN_MASTER_KEY !== undefined && env.PIXWARDEN_MASTER_KEY !== '';
  if (!fromEnv && !existsSync(keyFile(dataDir))) {
    const held = await database.db.selectFrom('secrets').select('name').executeTakeFirst();
    if (held !== undefined)
      throw pixwardenError(
        'ERR_DECRYPT',
        `${keyFile(dataDir)} is missing, and the database holds keys sealed under a master key: restore the file, or set PIXWARDEN_MASTER_KEY`,
      );
  }
  const current = loadMasterKey(dataDir, env);
  const reread = fromEnv ? () => [] : () => keysOnDisk(dataDir).map((found) => found.key);
  const source = fromEnv ? 'environment' : keyFile(dataDir);
  try {
    return { subjects: await Subjects.open(database, current, reread), source };
  } catch (error: unknown) {
    if (!(error instanceof PixwardenError && error.code === 'ERR_DECRYPT') || fromEnv) throw error;
    // Another process rotated the key: its new key is in the key file by now, or still
    // pending. Files move while this looks, so it looks a few times.
    for (let attempt = 0; attempt < 5; attempt++) {
      for (const found of keysOnDisk(dataDir)) {
        if (found.key.equals(current)) continue;
        try {
          const subjects = await Subjects.open(database, found.key, reread);
          if (found.file !== keyFile(dataDir)) finishRotation(dataDir, found.file);
          return { subjects, source };
        } catch {
          // not this one
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw error;
  }
}

export interface Rotation {
  /** Subject keys sealed anew. */
  readonly subjects: number;
  /** Where the new key is: the key file, or `environment` (set PIXWARDEN_MASTER_KEY to it). */
  readonly source: string;
}

/**
 * Seals every key under a new master key, as the database's only writer. With a key file,
 * the new key is made and replaces the file; with PIXWARDEN_MASTER_KEY, the new key comes from
 * PIXWARDEN_NEW_MASTER_KEY, and the caller sets PIXWARDEN_MASTER_KEY to it afterwards.
 * @throws ERR_INVALID_ARGUMENT when the key comes from the environment and no new one is given.
 */
export async function rotateKeys(
  keys: OpenedKeys,
  database: Database,
  dataDir: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Rotation> {
  if (keys.source === 'environment') {
    const given = env.PIXWARDEN_NEW_MASTER_KEY;
    if (given === undefined || given === '')
      throw pixwardenError(
        'ERR_INVALID_ARGUMENT',
        'the master key comes from PIXWARDEN_MASTER_KEY: give the new one in PIXWARDEN_NEW_MASTER_KEY (32 bytes, hex or base64)',
      );
    const next = parseKey(given, 'PIXWARDEN_NEW_MASTER_KEY');
    const result = await database.exclusive((trx) => keys.subjects.reseal(next, trx));
    result.done();
    return { subjects: result.count, source: 'environment' };
  }
  const next = newKey();
  const pending = path.join(dataDir, `master.key.next-${randomBytes(8).toString('hex')}`);
  const result = await database.exclusive(async (trx) => {
    // As the only writer, tidy up first: a pending key that opens the database is a committed
    // rotation that was not yet renamed (finish it); one that does not never committed.
    const sealed = await sealedLookup(trx);
    for (const found of keysOnDisk(dataDir)) {
      if (found.file === keyFile(dataDir)) continue;
      if (sealed !== null && opensLookup(found.key, sealed)) finishRotation(dataDir, found.file);
      else rmSync(found.file, { force: true });
    }
    const fd = openSync(pending, 'wx', 0o600);
    try {
      writeSync(fd, `${next.toString('hex')}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    syncFolder(dataDir);
    try {
      return await keys.subjects.reseal(next, trx);
    } catch (error: unknown) {
      rmSync(pending, { force: true });
      throw error;
    }
  });
  result.done();
  finishRotation(dataDir, pending);
  return { subjects: result.count, source: keyFile(dataDir) };
}
