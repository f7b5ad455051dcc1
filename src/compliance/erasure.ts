/**
 * Erasure of a subject: every original and variant deleted (blobs first, then their records),
 * every consent withdrawn and the subject key destroyed (so its data keys, blobs and pseudonym
 * are gone for good) in one transaction with the audit entry that records it; then the
 * database files are made to forget the deleted bytes (SQLite: `secure_delete` is on, and the
 * write-ahead log is checkpointed and truncated; PostgreSQL: the tables are vacuumed), the
 * purge hooks are told, and the storage is scanned to show that nothing of the subject is left.
 * Erasing again is harmless: there is nothing left to find.
 *
 * Backups made before an erasure still hold the subject's rows and blobs, but only as
 * ciphertext under a key that no longer exists anywhere.
 */
import { sql } from 'kysely';
import type { Recorder } from './audit.js';
import type { BlobStore } from './blobs.js';
import type { Consents } from './consent.js';
import { SQLITE_BUSY_TIMEOUT_MS } from './database.js';
import type { Database } from './database.js';
import type { HookOutcome, Purger } from './hooks.js';
import type { ImageRegistry, StoredImage } from './images.js';
import type { Subjects } from './subjects.js';

export interface ErasureReport {
  /** Whether there was a subject to erase. */
  readonly found: boolean;
  /** Images deleted, and their stored files (originals, raw uploads and variants). */
  readonly imagesDeleted: number;
  readonly filesDeleted: number;
  readonly consentsWithdrawn: number;
  /** How each purge hook went. */
  readonly hooks: readonly HookOutcome[];
  /** What the scan afterwards still found of the subject: all zero after an erasure. */
  readonly left: { readonly images: number; readonly blobs: number; readonly keys: number };
  /**
   * Whether the database files were made to forget the deleted bytes; false when a reader
   * kept SQLite from folding its log back for five seconds (erasing again finishes it).
   */
  readonly filesCleared: boolean;
}

export interface ErasureParts {
  readonly database: Database;
  readonly subjects: Subjects;
  readonly consents: Consents;
  readonly images: ImageRegistry;
  readonly blobs: BlobStore;
  /** Appends an audit entry, with `within` in its transaction. */
  readonly record: Recorder;
  readonly actor: string;
  /** Tells the purge hooks, and audits it. */
  readonly purge: Purger;
}

/** Erases the subject the caller calls `callerId`. */
export async function eraseSubject(callerId: string, parts: ErasureParts): Promise<ErasureReport> {
  const subject = await parts.subjects.find(callerId);
  if (subject === null)
    return {
      found: false,
      imagesDeleted: 0,
      filesDeleted: 0,
      consentsWithdrawn: 0,
      hooks: [],
      left: { images: 0, blobs: 0, keys: 0 },
      filesCleared: await forgetDeletedBytes(parts.database),
    };
  // The images are listed as the only writer, so that an ingest committing meanwhile is
  // either erased here or finds the subject erased and stores nothing.
  let stored: StoredImage[] = [];
  let consentsWithdrawn = 0;
  await parts.record(
    () => ({
      operation: 'subject.erase',
      basis: 'legal-obligation',
      actor: parts.actor,
      subject: subject.pseudonym,
      outcome: 'done',
      error: null,
      counts: {
        images: new Set(stored.map((image) => image.id)).size,
        variants: stored.length,
        consents: consentsWithdrawn,
      },
    }),
    async (trx) => {
      stored = await parts.images.list(subject.id, trx);
      await parts.images.remove(stored, trx);
      consentsWithdrawn = await parts.consents.withdraw(subject.id, undefined, trx);
      await parts.consents.erase(subject.id, trx);
      await parts.subjects.destroyKey(subject.id, trx);
    },
  );
  const ids = new Set(stored.map((image) => image.id));
  const filesCleared = await forgetDeletedBytes(parts.database);
  const hooks = await parts.purge(subject.pseudonym, {
    event: 'erasure',
    images: stored.map(({ id, variant }) => ({ id, variant })),
  });
  // The scan: records, blob files and the key, looked for afresh.
  const images = (await parts.images.list(subject.id)).length;
  const blobs = parts.blobs.scan().filter((found) => ids.has(found.objectId)).length;
  const row = await parts.database.db
    .selectFrom('subjects')
    .select('sealed_key')
    .where('id', '=', subject.id)
    .executeTakeFirst();
  const keys = row?.sealed_key === null || row === undefined ? 0 : 1;
  return {
    found: true,
    imagesDeleted: ids.size,
    filesDeleted: stored.length,
    consentsWithdrawn,
    hooks,
    left: { images, blobs, keys },
    filesCleared,
  };
}

/**
 * Makes the database files drop the bytes of deleted rows. SQLite copies the write-ahead log
 * into the database (where `secure_delete` has overwritten them) and truncates it, which a
 * reader holding an old snapshot prevents: it is tried for a few seconds.
 * @returns whether it was done.
 */
async function forgetDeletedBytes(database: Database): Promise<boolean> {
  if (database.dialect === 'sqlite') {
    // Each attempt waits briefly, not the writers' long timeout: a checkpoint waiting on a
    // reader holds the write lock, and every other writer with it.
    await sql`pragma busy_timeout = 100`.execute(database.db);
    try {
      for (let attempt = 0; attempt < 25; attempt++) {
        const { rows } = await sql<{ busy: number }>`pragma wal_checkpoint(truncate)`.execute(
          database.db,
        );
        if (rows[0]?.busy === 0) return true;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return false;
    } finally {
      await sql.raw(`pragma busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`).execute(database.db);
    }
  }
  for (const table of ['subjects', 'images', 'consents'])
    await sql`vacuum ${sql.table(table)}`.execute(database.db);
  return true;
}
