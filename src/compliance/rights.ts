/**
 * The data-subject rights of access and portability: a subject's processing history, read
 * from the audit trail by pseudonym, and an export of everything held about the subject as
 * one zip file.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import yazl from 'yazl';
import { PixwardenError } from '../errors.js';
import type { AuditTrail } from './audit.js';
import type { ConsentRecord } from './consent.js';
import type { ImageRegistry, StoredImage } from './images.js';
import type { Subject } from './subjects.js';
import { checkTarget, writeWhole } from './targets.js';

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
  /** Images in the zip (each an original, and its raw upload and variants when kept). */
  readonly images: number;
  /** Every file in the zip but the manifest, with its SHA-256. */
  readonly files: readonly {
    readonly path: string;
    readonly bytes: number;
    readonly sha256: string;
  }[];
  /** Stored images whose blob was not found: recorded, but not in the zip. */
  readonly missing: readonly { readonly id: string; readonly variant: string }[];
}

export interface ExportParts {
  /** The data folder: an export is never written inside it. */
  readonly dataDir: string;
  readonly images: ImageRegistry;
  readonly history: readonly HistoryEntry[];
  readonly consents: readonly ConsentRecord[];
}

/**
 * Writes the subject's export to `file`, atomically and with mode 0600: each image decrypted
 * under `images/<id>/<variant>.<ext>`, `images.json` (the registry's records), `consents.json`,
 * `history.json`, and `manifest.json` with the SHA-256 of every other file.
 * @throws ERR_OUTPUT_EXISTS when `file` exists and `overwrite` is not set;
 *   ERR_OUTPUT_CONFLICT inside the data folder or over what is not a regular file; ERR_IO when
 *   it cannot be written (nothing is left behind).
 */
export async function exportSubject(
  subject: Subject,
  file: string,
  parts: ExportParts,
  overwrite = false,
): Promise<ExportReport> {
  const target = checkTarget(file, parts.dataDir, overwrite ? 'replace' : 'create');
  const stored = await parts.images.list(subject.id);
  const contents: { path: string; bytes: Buffer }[] = [];
  const missing: { id: string; variant: string }[] = [];
  for (const image of stored) {
    let bytes: Buffer;
    try {
      bytes = await parts.images.read(subject, image.id, image.variant);
    } catch (error: unknown) {
      // A blob lost (a disk error, a crash before a repair) must not keep the rest from the
      // person: it is named in the manifest instead.
      if (!(error instanceof PixwardenError && error.code === 'ERR_INPUT_NOT_FOUND')) throw error;
      missing.push({ id: image.id, variant: image.variant });
      continue;
    }
    contents.push({
      path: `images/${image.id}/${image.variant}.${EXTENSIONS[image.format] ?? 'bin'}`,
      bytes,
    });
  }
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
    missing,
  };
  contents.push({ path: 'manifest.json', bytes: json(manifest) });
  await writeZip(target, contents);
  return { file, images: new Set(stored.map((image) => image.id)).size, files, missing };
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

/** A zip written whole (see `writeWhole`). */
async function writeZip(target: string, contents: readonly { path: string; bytes: Buffer }[]) {
  await writeWhole(target, async (fd) => {
    const zip = new yazl.ZipFile();
    const mtime = new Date();
    for (const entry of contents) zip.addBuffer(entry.bytes, entry.path, { mtime, mode: 0o100600 });
    zip.end();
    const out = createWriteStream('', { fd, autoClose: false });
    zip.outputStream.pipe(out);
    await finished(out);
  });
}
