/**
 * `pixwarden audit export`: every entry of the trail as one JSON line (`seq`, `prevHash`,
 * `hash` and `content`, the canonical text that was hashed), so that the chain can be checked
 * by anyone, without pixwarden. To a file (written whole, mode 0600, never inside the data
 * folder, never over a file unless told); or to standard output.
 */
import { writeSync } from 'node:fs';
import type { AuditTrail } from '../compliance/audit.js';
import { checkTarget, writeWhole } from '../compliance/targets.js';

/** Lines are written in batches of about this many bytes. */
const batchBytes = 1 << 20;

async function eachBatch(audit: AuditTrail, write: (text: string) => Promise<void> | void) {
  let count = 0;
  let text = '';
  for await (const row of audit.rows()) {
    text += `${JSON.stringify(row)}\n`;
    count += 1;
    if (text.length > batchBytes) {
      await write(text);
      text = '';
    }
  }
  if (text !== '') await write(text);
  return count;
}

export async function exportTrail(
  audit: AuditTrail,
  file: string | null,
  dataDir: string,
  overwrite: boolean,
): Promise<number> {
  if (file === null) return eachBatch(audit, writeOut);
  const target = checkTarget(file, dataDir, overwrite ? 'replace' : 'create');
  let count = 0;
  await writeWhole(target, async (fd) => {
    count = await eachBatch(audit, (text) => {
      writeSync(fd, text);
    });
  });
  return count;
}

function writeOut(text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdout.write(text, (error) => {
      if (error === null || error === undefined) resolve();
      else reject(error);
    });
  });
}
