/**
 * Files the compliance layer writes for someone to take away: an export, a checkpoint file,
 * the trail. Never inside the data folder (an export there could replace the keys or the
 * database), never over anything but a regular file, never over an existing file unless told;
 * written whole or not at all, with mode 0600.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  lstatSync,
  openSync,
  readdirSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import path from 'node:path';
import { PixwardenError, pixwardenError } from '../errors.js';
import { syncFolder } from '../fsync.js';
import { processAlive } from '../processes.js';

/** How a target may be written: a new file, a new or replaced one, or appended to. */
export type TargetMode = 'create' | 'replace' | 'append';

/**
 * Checks where `file` would land.
 * @returns its absolute path, its folder resolved.
 * @throws ERR_IO when its folder does not exist; ERR_OUTPUT_CONFLICT inside the data folder or
 *   over something that is not a regular file; ERR_OUTPUT_EXISTS over a file, for `create`.
 */
export function checkTarget(file: string, dataDir: string, mode: TargetMode): string {
  let folder: string;
  try {
    folder = realpathSync(path.dirname(path.resolve(file)));
  } catch {
    throw pixwardenError('ERR_IO', `the folder of ${file} does not exist`);
  }
  const target = path.join(folder, path.basename(file));
  let data: string;
  try {
    data = realpathSync(dataDir);
  } catch {
    data = path.resolve(dataDir);
  }
  const inside = () =>
    pixwardenError(
      'ERR_OUTPUT_CONFLICT',
      `${file} is inside the data folder ${dataDir}: write it elsewhere`,
    );
  if (target === data || target.startsWith(data + path.sep)) throw inside();
  // By identity too: the data folder (or its blob folder, which may live on another volume)
  // can be reached by other paths, such as a bind mount.
  const guarded = [data, path.join(data, 'blobs')].flatMap((each) => {
    const info = statSync(each, { throwIfNoEntry: false });
    return info === undefined ? [] : [`${info.dev}:${info.ino}`];
  });
  for (let up = folder; ; up = path.dirname(up)) {
    const info = statSync(up, { throwIfNoEntry: false });
    if (info !== undefined && guarded.includes(`${info.dev}:${info.ino}`)) throw inside();
    if (path.dirname(up) === up) break;
  }
  let info;
  try {
    info = lstatSync(target);
  } catch {
    return target;
  }
  if (!info.isFile())
    throw pixwardenError('ERR_OUTPUT_CONFLICT', `${file} exists and is not a regular file`);
  // A file with other names may be a key or the database under another one.
  if (info.nlink > 1)
    throw pixwardenError('ERR_OUTPUT_CONFLICT', `${file} has other hard links: write it elsewhere`);
  if (mode === 'create')
    throw pixwardenError('ERR_OUTPUT_EXISTS', `${file} exists (--overwrite replaces it)`);
  return target;
}

/** Opens a checked target to append to (created with mode 0600; a symbolic link refused). */
export function openForAppend(file: string, dataDir: string): number {
  const target = checkTarget(file, dataDir, 'append');
  try {
    const fd = openSync(
      target,
      constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW,
      0o600,
    );
    // Checked again on what was opened: a link made since the check is refused too.
    if (fstatSync(fd).nlink > 1) {
      closeSync(fd);
      throw pixwardenError(
        'ERR_OUTPUT_CONFLICT',
        `${file} has other hard links: write it elsewhere`,
      );
    }
    return fd;
  } catch (error: unknown) {
    if (error instanceof PixwardenError) throw error;
    throw pixwardenError(
      'ERR_IO',
      `${file} cannot be written (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
}

const temporaryOf = (base: string) =>
  new RegExp(`^\\.${base.replace(/[^A-Za-z0-9]/g, '\\$&')}\\.tmp-(\\d+)-[0-9a-f]+$`);

/**
 * Writes `target` (from `checkTarget`) whole: `write` fills a temporary file beside it (mode
 * 0600, named with this process's id), which is fsynced and renamed over it. Temporary files
 * left by processes that died (a kill in the middle of an export holds decrypted photos) are
 * removed first.
 * @throws ERR_IO when it cannot be written; nothing is left behind.
 */
export async function writeWhole(
  target: string,
  write: (fd: number) => Promise<void> | void,
): Promise<void> {
  const folder = path.dirname(target);
  const base = path.basename(target);
  const pattern = temporaryOf(base);
  for (const name of readdirSync(folder)) {
    const match = pattern.exec(name);
    if (match !== null && !processAlive(Number(match[1])))
      rmSync(path.join(folder, name), { force: true });
  }
  const temp = path.join(folder, `.${base}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  let fd: number;
  try {
    fd = openSync(temp, 'wx', 0o600);
  } catch (error: unknown) {
    throw pixwardenError(
      'ERR_IO',
      `${target} cannot be written (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  try {
    await write(fd);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(temp, target);
    syncFolder(folder);
  } catch (error: unknown) {
    try {
      closeSync(fd);
    } catch {
      // closed already
    }
    rmSync(temp, { force: true });
    if (error instanceof PixwardenError) throw error;
    throw pixwardenError(
      'ERR_IO',
      `${target} could not be written: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}
