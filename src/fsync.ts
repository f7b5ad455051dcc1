/** Durable writes: fsync of a folder, so that a rename or an unlink in it survives a crash. */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';

export function syncFolder(folder: string): void {
  const fd = openSync(folder, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Creates `file` holding `text` (mode 0600), durably and whole, unless it exists: written to a
 * temporary file, fsynced, then linked to its name (which fails if another process made it
 * first), then the folder fsynced. A crash leaves the file complete or absent.
 * @returns whether this call made it.
 */
export function createSecretFile(file: string, text: string): boolean {
  const folder = path.dirname(file);
  const temp = path.join(folder, `.${path.basename(file)}.tmp-${randomBytes(6).toString('hex')}`);
  const fd = openSync(temp, 'wx', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temp, file);
    return true;
  } catch (error: unknown) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    rmSync(temp, { force: true });
    syncFolder(folder);
  }
}
