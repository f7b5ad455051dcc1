/**
 * The master key: where it comes from, and its rotation. It seals the lookup key and every
 * subject key; blobs are sealed under data keys that the subject keys wrap, so rotating the
 * master key re-seals a few rows per subject and rewrites no blob.
 *
 * From a key file, a rotation is crash-safe: the new key is written beside the old one
 * (`master.key.next`) before the database changes, and renamed over it after the database
 * has committed. Whichever key opens the database on the next start is the one kept.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { PixwardenError, pixwardenError } from '../errors.js';
import { syncFolder } from '../fsync.js';
import { loadMasterKey, newKey, parseKey } from './crypto.js';
import type { Database } from './database.js';
import { Subjects } from './subjects.js';

export interface OpenedKeys {
  readonly subjects: Subjects;
  /** `environment` (PIXWARDEN_MASTER_KEY) or the key file's path. */
  readonly source: string;
}

const keyFile = (dataDir: string) => path.join(dataDir, 'master.key');
const nextFile = (dataDir: string) => path.join(dataDir, 'master.key.next');

/**
 * Opens the subjects under the master key, finishing or undoing a rotation that a crash
 * interrupted.
 * @throws ERR_DECRYPT when neither key opens the database.
 */
export async function openKeys(
  database: Database,
  dataDir: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<OpenedKeys> {
  const fromEnv = env.PIXWARDEN_MASTER_KEY !== undefined && env.PIXWARDEN_MASTER_KEY !== '';
  const current = loadMasterKey(dataDir, env);
  const source = fromEnv ? 'environment' : keyFile(dataDir);
  const pending = fromEnv ? null : nextFile(dataDir);
  try {
    const subjects = await Subjects.open(database, current);
    // A rotation that never committed: its new key was not used.
    if (pending !== null && existsSync(pending)) rmSync(pending, { force: true });
    return { subjects, source };
  } catch (error: unknown) {
    if (!(error instanceof PixwardenError && error.code === 'ERR_DECRYPT')) throw error;
    if (pending === null || !existsSync(pending)) throw error;
    // The database committed a rotation, and the key file was not yet replaced.
    const next = parseKey(readFileSync(pending, 'utf8').trim(), pending);
    const subjects = await Subjects.open(database, next);
    renameSync(pending, keyFile(dataDir));
    syncFolder(dataDir);
    return { subjects, source };
  }
}

export interface Rotation {
  /** Subject keys sealed anew. */
  readonly subjects: number;
  /** Where the new key is: the key file, or `environment` (set PIXWARDEN_MASTER_KEY to it). */
  readonly source: string;
}

/**
 * Seals every key under a new master key. With a key file, the new key is made and replaces
 * the file; with PIXWARDEN_MASTER_KEY, the new key comes from PIXWARDEN_NEW_MASTER_KEY, and the
 * caller sets PIXWARDEN_MASTER_KEY to it afterwards.
 * @throws ERR_INVALID_ARGUMENT when the key comes from the environment and no new one is given.
 */
export async function rotateKeys(
  keys: OpenedKeys,
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
    return { subjects: await keys.subjects.reseal(next), source: 'environment' };
  }
  const next = newKey();
  const pending = nextFile(dataDir);
  rmSync(pending, { force: true });
  const fd = openSync(pending, 'wx', 0o600);
  try {
    writeSync(fd, `${next.toString('hex')}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  syncFolder(dataDir);
  let subjects: number;
  try {
    subjects = await keys.subjects.reseal(next);
  } catch (error: unknown) {
    rmSync(pending, { force: true });
    throw error;
  }
  renameSync(pending, keyFile(dataDir));
  syncFolder(dataDir);
  return { subjects, source: keyFile(dataDir) };
}
