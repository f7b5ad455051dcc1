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
import type { Database, ImageTable } from './database.js';
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

  /** Seals and stores an image for a subject, and records it. */
  async store(subject: Subject, image: NewImage): Promise<StoredImage> {
    const id = image.id ?? randomUUID().replaceAll('-', '');
    const dataKey = newKey();
    const sha256 = this.blobs.write(id, image.variant, image.bytes, dataKey);
    const row: ImageTable = {
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
    dataKey.fill(0);
    try {
      await this.database.db.insertInto('images').values(row).execute();
    } catch (error: unknown) {
      // Recorded or not at all: a blob nothing refers to is removed again.
      this.blobs.remove(id, image.variant);
      throw error;
    }
    return toImage(row);
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

  /** Every image of a subject, originals and variants. */
  async list(subjectId: string): Promise<StoredImage[]> {
    const rows = await this.database.db
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

  /** Deletes images (blob first, then record); how many went. */
  async remove(images: readonly StoredImage[]): Promise<number> {
    for (const image of images) {
      this.blobs.remove(image.id, image.variant);
      await this.database.db
        .deleteFrom('images')
        .where('id', '=', image.id)
        .where('variant', '=', image.variant)
        .execute();
    }
    return images.length;
  }
}
