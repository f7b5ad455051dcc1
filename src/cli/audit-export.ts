/**
 * `pixwarden audit export`: every entry of the trail as one JSON line (`seq`, `prevHash`,
 * `hash` and `content`, the canonical text that was hashed), so that the chain can be checked
 * by anyone, without pixwarden. To a file, written atomically with mode 0600; or to standard
 * output.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { pixwardenError } from '../errors.js';
import { syncFolder } from '../fsync.js';
import type { AuditTrail } from '../compliance/audit.js';

/** Lines are written in batches of about this many bytes. */
const batchBytes = 1 << 20;

export async function exportTrail(audit: AuditTrail, file: string | null): Promise<number> {
  if (file === null) {
    let count = 0;
    let text = '';
    for await (const row of audit.rows()) {
      text += `${JSON.stringify(row)}\n`;
      count += 1;
      if (text.length > batchBytes) {
        await writeOut(text);
        text = '';
      }
    }
    await writeOut(text);
    return count;
  }
  const folder = path.dirname(path.resolve(file));
  const temp = path.join(folder, `.${path.basename(file)}.tmp-${randomBytes(6).toString('hex')}`);
  let fd: number;
  try {
    fd = openSync(temp, 'wx', 0o600);
  } catch (error: unknown) {
    throw pixwardenError(
      'ERR_IO',
      `${file} cannot be written (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  try {
    let count = 0;
    let text = '';
    for await (const row of audit.rows()) {
      text += `${JSON.stringify(row)}\n`;
      count += 1;
      if (text.length > batchBytes) {
        writeSync(fd, text);
        text = '';
      }
    }
    writeSync(fd, text);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(temp, file);
    syncFolder(folder);
    return count;
  } catch (error: unknown) {
    try {
      closeSync(fd);
    } catch {
      // closed already
    }
    rmSync(temp, { force: true });
    throw pixwardenError(
      'ERR_IO',
      `${file} could not be written: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

function writeOut(text: string): Promise<void> {
  if (text === '') return Promise.resolve();
  return new Promise((resolve, reject) => {
    process.stdout.write(text, (error) => {
      if (error === null || error === undefined) resolve();
      else reject(error);
    });
  });
}
