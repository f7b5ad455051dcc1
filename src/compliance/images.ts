/**
 * The image registry: every original and variant stored for a subject, with its format,
 * size, the SHA-256 of the stored (sealed) bytes, when it was made and when it expires. Each
 * stored object has a random data key, sealed under the subject's wrapping key and bound to
 * the object and variant; the blob itself is in the blob store.
 */
import { randomUUID } from 'node:crypto';
import { pixwardenError } from '../errors.js';
import { blobContext } from './blobs.js';
import type { BlobStore } from './blobs.js';
import { newKey, open, seal } from './crypto.js';
import type { Kysely } from 'kysely';
import type { Database, ImageTable, Tables } from './database.js';
import type { Subject } from './subjects.js';

export interface StoredImage {
  readonly id: string;
  readonly subjectId: string;
  /** `original`, or a variant's name. */
  readonly variant: string;
  readonly format: string;
  readonly width: number;
  readonly height: number;
  /** Bytes of the image (before sealing). */
  readonly bytes: number;
  /** SHA-256 of the stored, sealed file. */
  readonly sha256: string;
  readonly createdAt: string;
  readonly expiresAt: string | null;
}

export interface NewImage {
  /** The image's id, shared by an original and its variants; new when absent. */
  readonly id?: string;
  readonly variant: string;
  readonly format: string;
  readonly width: number;
  readonly height: number;
  readonly bytes: Uint8Array;
  readonly expiresAt: string | null;
}

function toImage(row: ImageTable): StoredImage {
  return {
    id: row.id,
    subjectId: row.subject_id,
    variant: row.variant,
    format: row.format,
    width: row.width,
    height: row.height,
    bytes: row.bytes,
    sha256: row.sha256,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
  };
}

export class ImageRegistry {
  constructor(
    private readonly database: Database,
    private readonly blobs: BlobStore,
  ) {}

  /**
   * Seals an image and writes its blob, without recording it: `record` (in a transaction)
   * makes it part of the registry, `discard` removes the blob again. A blob written but never
   * recorded, as after a crash between the two, is an orphan that `orphans` finds.
   */
  async prepare(subject: Subject, image: NewImage): Promise<ImageTable> {
    if (!this.blobs.present()) {
      // No store folder: made now for a registry with no images; with images recorded, the
      // folder is what is missing (a volume not mounted), and a new one would hide that.
      const any = await this.database.db
        .selectFrom('images')
        .select('id')
        .limit(1)
        .executeTakeFirst();
      if (any !== undefined)
        throw pixwardenError(
          'ERR_IO',
          `the blob folder ${this.blobs.root} is missing (or is not the store: it has no marker) while images are recorded`,
        );
      this.blobs.initialise();
    }
    const id = image.id ?? randomUUID().replaceAll('-', '');
    const dataKey = newKey();
    try {
      const sha256 = this.blobs.write(id, image.variant, image.bytes, dataKey);
      return {
        id,
        subject_id: subject.id,
        variant: image.variant,
        format: image.format,
        width: image.width,
        height: image.height,
        bytes: image.bytes.length,
        sha256,
        sealed_key: seal(subject.keys.wrapping, dataKey, blobContext(id, image.variant)).toString(
          'base64',
        ),
        created_at: new Date().toISOString(),
        expires_at: image.expiresAt,
      };
    } finally {
      dataKey.fill(0);
    }
  }

  /** Records prepared images, within the caller's transaction. */
  async record(trx: Kysely<Tables>, rows: readonly ImageTable[]): Promise<StoredImage[]> {
    if (rows.length > 0)
      await trx
        .insertInto('images')
        .values([...rows])
        .execute();
    return rows.map(toImage);
  }

  /** Removes the blobs of prepared images that were not recorded. */
  discard(rows: readonly ImageTable[]): void {
    for (const row of rows) this.blobs.remove(row.id, row.variant);
  }

  /** Seals, stores and records one image. */
  async store(subject: Subject, image: NewImage): Promise<StoredImage> {
    const row = await this.prepare(subject, image);
    try {
      const [stored] = await this.record(this.database.db, [row]);
      if (stored === undefined) throw pixwardenError('ERR_IO', 'the image was not recorded');
      return stored;
    } catch (error: unknown) {
      // Recorded or not at all: a blob nothing refers to is removed again.
      this.discard([row]);
      throw error;
    }
  }

  /**
   * An image's bytes, opened with the subject's keys.
   * @throws ERR_INPUT_NOT_FOUND for an image the subject does not have; ERR_DECRYPT when it
   *   does not open.
   */
  async read(subject: Subject, id: string, variant: string): Promise<Buffer> {
    const row = await this.database.db
      .selectFrom('images')
      .selectAll()
      .where('id', '=', id)
      .where('variant', '=', variant)
      .where('subject_id', '=', subject.id)
      .executeTakeFirst();
    if (row === undefined)
      throw pixwardenError('ERR_INPUT_NOT_FOUND', `the subject has no image ${id}.${variant}`);
    const dataKey = open(
      subject.keys.wrapping,
      Buffer.from(row.sealed_key, 'base64'),
      blobContext(id, variant),
    );
    try {
      return this.blobs.read(id, variant, dataKey);
    } finally {
      dataKey.fill(0);
    }
  }

  /** Every image of a subject, originals and variants (in `trx` when given). */
  async list(subjectId: string, trx?: Kysely<Tables>): Promise<StoredImage[]> {
    const rows = await (trx ?? this.database.db)
      .selectFrom('images')
      .selectAll()
      .where('subject_id', '=', subjectId)
      .orderBy('created_at')
      .orderBy('variant')
      .execute();
    return rows.map(toImage);
  }

  /** Images whose time is up at `now` (ISO 8601). */
  async expired(now: string): Promise<StoredImage[]> {
    const rows = await this.database.db
      .selectFrom('images')
      .selectAll()
      .where('expires_at', 'is not', null)
      .where('expires_at', '<=', now)
      .execute();
    return rows.map(toImage);
  }

  /**
   * Deletes images: every blob first, then the records (in `trx` when given, so that they go
   * with the audit entry that records it). A crash between the two leaves records without
   * blobs, which `repair` removes. How many went.
   */
  async remove(images: readonly StoredImage[], trx?: Kysely<Tables>): Promise<number> {
    for (const image of images) this.blobs.remove(image.id, image.variant);
    await forgetRecords(trx ?? this.database.db, images);
    return images.length;
  }

  /**
   * Removes what a crash can leave behind: blobs that no record names and temporary files,
   * both only when older than `graceMs` (another process may be between writing a blob and
   * recording it), and records whose blob is gone. `audit`, when given, records what was
   * removed, with the records' deletion in its transaction.
   * @returns how many of each were removed, and the ids of the records removed.
   */
  async repair(
    graceMs: number,
    audit?: (repaired: Repaired, within: (trx: Kysely<Tables>) => Promise<void>) => Promise<void>,
  ): Promise<Repaired> {
    const rows = await this.database.db
      .selectFrom('images')
      .select(['id', 'variant', 'subject_id', 'format'])
      .execute();
    // With records and no blob folder at all, the folder is what is missing (moved, not
    // mounted): removing every record would lose their keys for good.
    if (rows.length > 0 && !this.blobs.present())
      throw pixwardenError(
        'ERR_IO',
        `the blob folder ${this.blobs.root} is missing (or is not the store: it has no marker) while ${rows.length} images are recorded: nothing was repaired`,
      );
    const recorded = new Set(rows.map((row) => `${row.id}.${row.variant}`));
    const onDisk = new Set<string>();
    const before = Date.now() - graceMs;
    let blobs = 0;
    let temporary = 0;
    for (const found of this.blobs.scan()) {
      if (found.variant !== null) onDisk.add(`${found.objectId}.${found.variant}`);
      if (found.modified > before) continue;
      if (found.variant === null) {
        this.blobs.removeFile(found.file);
        temporary += 1;
      } else if (!recorded.has(`${found.objectId}.${found.variant}`)) {
        this.blobs.removeFile(found.file);
        blobs += 1;
      }
    }
    const lost = rows.filter((row) => !onDisk.has(`${row.id}.${row.variant}`));
    const repaired = { blobs, temporary, records: lost.length };
    const forget = (trx: Kysely<Tables>) => forgetRecords(trx, lost);
    // The records go in one transaction with the entry that audits the repair.
    if (audit !== undefined && blobs + temporary + lost.length > 0) await audit(repaired, forget);
    else await forget(this.database.db);
    return repaired;
  }
}

export interface Repaired {
  /** Blobs that no record named. */
  readonly blobs: number;
  /** Temporary files of writes that never finished. */
  readonly temporary: number;
  /** Records whose blob was gone. */
  readonly records: number;
}

/** Deletes the records of images (their blobs are the caller's business). */
async function forgetRecords(
  db: Kysely<Tables>,
  images: readonly { readonly id: string; readonly variant: string }[],
): Promise<void> {
  for (const image of images)
    await db
      .deleteFrom('images')
      .where('id', '=', image.id)
      .where('variant', '=', image.variant)
      .execute();
}
