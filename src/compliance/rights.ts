/**
 * The data-subject rights of access and portability: a subject's processing history, read
 * from the audit trail by pseudonym, and an export of everything held about the subject as
 * one zip file.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, renameSync, rmSync } from 'node:fs';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import yazl from 'yazl';
import { pixwardenError } from '../errors.js';
import { syncFolder } from '../fsync.js';
import type { AuditTrail } from './audit.js';
import type { ConsentRecord } from './consent.js';
import type { ImageRegistry, StoredImage } from './images.js';
import type { Subject } from './subjects.js';

/** One audit entry about the subject, with its place in the trail. */
export type HistoryEntry = { readonly seq: number } & Readonly<Record<string, unknown>>;

/**
 * Every audit entry about a subject, oldest first: those that name its pseudonym, and those
 * that name one of its images without naming a subject (a retention sweep, a repair).
 */
export async function subjectHistory(
  audit: AuditTrail,
  pseudonym: string,
): Promise<HistoryEntry[]> {
  const found: HistoryEntry[] = [];
  const images = new Set<string>();
  for await (const row of audit.rows()) {
    // Most entries are about someone else: look before parsing.
    const mentions =
      row.content.includes(pseudonym) || (images.size > 0 && row.content.includes('"image":"'));
    if (!mentions) continue;
    const entry = JSON.parse(row.content) as Record<string, unknown>;
    const image = typeof entry.image === 'string' ? entry.image : null;
    if (entry.subject === pseudonym) {
      if (image !== null) images.add(image);
      found.push({ seq: row.seq, ...entry });
    } else if ((entry.subject ?? null) === null && image !== null && images.has(image)) {
      found.push({ seq: row.seq, ...entry });
    }
  }
  return found;
}

const EXTENSIONS: Record<string, string> = {
  jpeg: 'jpg',
  png: 'png',
  webp: 'webp',
  gif: 'gif',
  avif: 'avif',
  tiff: 'tif',
  heic: 'heic',
};

export interface ExportReport {
  readonly file: string;
  /** Images (originals and variants) in the zip. */
  readonly images: number;
  /** Every file in the zip but the manifest, with its SHA-256. */
  readonly files: readonly {
    readonly path: string;
    readonly bytes: number;
    readonly sha256: string;
  }[];
}

export interface ExportParts {
  readonly images: ImageRegistry;
  readonly history: readonly HistoryEntry[];
  readonly consents: readonly ConsentRecord[];
}

/**
 * Writes the subject's export to `file`, atomically and with mode 0600: each image decrypted
 * under `images/<id>/<variant>.<ext>`, `images.json` (the registry's records), `consents.json`,
 * `history.json`, and `manifest.json` with the SHA-256 of every other file.
 * @throws ERR_OUTPUT_EXISTS when `file` exists and `overwrite` is not set; ERR_IO when it
 *   cannot be written (nothing is left behind).
 */
export async function exportSubject(
  subject: Subject,
  file: string,
  parts: ExportParts,
  overwrite = false,
): Promise<ExportReport> {
  if (!overwrite && existsSync(file))
    throw pixwardenError('ERR_OUTPUT_EXISTS', `${file} exists (overwrite it explicitly)`);
  const stored = await parts.images.list(subject.id);
  const contents: { path: string; bytes: Buffer }[] = [];
  for (const image of stored)
    contents.push({
      path: `images/${image.id}/${image.variant}.${EXTENSIONS[image.format] ?? 'bin'}`,
      bytes: await parts.images.read(subject, image.id, image.variant),
    });
  const json = (value: unknown) => Buffer.from(`${JSON.stringify(value, null, 2)}\n`);
  contents.push({ path: 'images.json', bytes: json(stored.map(describe)) });
  contents.push({ path: 'consents.json', bytes: json(parts.consents) });
  contents.push({ path: 'history.json', bytes: json(parts.history) });
  const files = contents.map((entry) => ({
    path: entry.path,
    bytes: entry.bytes.length,
    sha256: createHash('sha256').update(entry.bytes).digest('hex'),
  }));
  const manifest = {
    subject: subject.pseudonym,
    created: new Date().toISOString(),
    files,
  };
  contents.push({ path: 'manifest.json', bytes: json(manifest) });
  await writeZip(file, contents);
  return { file, images: stored.length, files };
}

function describe(image: StoredImage) {
  return {
    id: image.id,
    variant: image.variant,
    format: image.format,
    width: image.width,
    height: image.height,
    bytes: image.bytes,
    createdAt: image.createdAt,
    expiresAt: image.expiresAt,
  };
}

/** A zip written to a temporary file beside `file` (mode 0600), fsynced, then renamed. */
async function writeZip(file: string, contents: readonly { path: string; bytes: Buffer }[]) {
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
    const zip = new yazl.ZipFile();
    const mtime = new Date();
    for (const entry of contents) zip.addBuffer(entry.bytes, entry.path, { mtime, mode: 0o100600 });
    zip.end();
    const out = createWriteStream('', { fd, autoClose: false });
    zip.outputStream.pipe(out);
    await finished(out);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(temp, file);
    syncFolder(folder);
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
