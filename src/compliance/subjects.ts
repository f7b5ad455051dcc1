/**
 * Subjects: the people the images belong to. A caller names a subject by an id of its own
 * (a user id, an email); no table holds that id. The subject is found through a keyed hash of
 * it (under a random lookup key kept sealed by the master key), and each subject has a random
 * key, kept
 * sealed under the master key, from which its pseudonym key and its wrapping key derive.
 * Logs and the audit trail carry only the pseudonym: a keyed hash of the caller's id under the
 * subject's own pseudonym key. Destroying the subject key at erasure makes the pseudonym
 * impossible to compute again, so old audit entries can no longer be linked to the person.
 */
import { randomUUID } from 'node:crypto';
import { pixwardenError } from '../errors.js';
import { deriveSubjectKeys, keyedHash, newKey, open, seal } from './crypto.js';
import type { SubjectKeys } from './crypto.js';
import type { Kysely } from 'kysely';
import type { Database, Tables } from './database.js';

export interface Subject {
  /** Our id for the subject (random, not the caller's). */
  readonly id: string;
  /** The keyed pseudonym that logs and the audit trail carry. */
  readonly pseudonym: string;
  readonly keys: SubjectKeys;
  readonly restricted: boolean;
}

/** Caller ids are at most this long: an id, not a document. */
const maxCallerIdChars = 256;

function checkCallerId(callerId: unknown): string {
  if (typeof callerId !== 'string' || callerId === '' || callerId.length > maxCallerIdChars)
    throw pixwardenError(
      'ERR_INVALID_ARGUMENT',
      `a subject id must be a text of 1–${maxCallerIdChars} characters`,
    );
  return callerId;
}

const lookupSecret = 'subject-lookup';

export class Subjects {
  private constructor(
    private readonly database: Database,
    private masterKey: Buffer,
    private readonly lookupKey: Buffer,
  ) {}

  /**
   * The subjects of a database, under `masterKey`; the lookup key is made on first use.
   * @throws ERR_DECRYPT when the database's keys were sealed under another master key.
   */
  static async open(database: Database, masterKey: Buffer): Promise<Subjects> {
    const context = `secret\n${lookupSecret}`;
    await database.db
      .insertInto('secrets')
      .values({ name: lookupSecret, sealed: seal(masterKey, newKey(), context).toString('base64') })
      .onConflict((conflict) => conflict.column('name').doNothing())
      .execute();
    const row = await database.db
      .selectFrom('secrets')
      .select('sealed')
      .where('name', '=', lookupSecret)
      .executeTakeFirstOrThrow();
    const lookupKey = open(masterKey, Buffer.from(row.sealed, 'base64'), context);
    return new Subjects(database, masterKey, lookupKey);
  }

  private lookupOf(callerId: string): string {
    return keyedHash(this.lookupKey, callerId);
  }

  /** The subject the caller calls `callerId`, made now if there is none. */
  async ensure(callerId: string): Promise<Subject> {
    const found = await this.find(callerId);
    if (found !== null) return found;
    const id = randomUUID();
    const key = newKey();
    await this.database.db
      .insertInto('subjects')
      .values({
        id,
        lookup: this.lookupOf(checkCallerId(callerId)),
        sealed_key: seal(this.masterKey, key, `subject\n${id}`).toString('base64'),
        restricted: 0,
        created_at: new Date().toISOString(),
      })
      .onConflict((conflict) => conflict.column('lookup').doNothing())
      .execute();
    // Another writer may have made it first: whichever row is there is the subject.
    const made = await this.find(callerId);
    if (made === null) throw pixwardenError('ERR_IO', 'the subject could not be recorded');
    return made;
  }

  /**
   * The subject the caller calls `callerId`, or null (none, or erased).
   * @throws ERR_DECRYPT when its key does not open under the master key.
   */
  async find(callerId: string): Promise<Subject | null> {
    const row = await this.database.db
      .selectFrom('subjects')
      .selectAll()
      .where('lookup', '=', this.lookupOf(checkCallerId(callerId)))
      .executeTakeFirst();
    if (row === undefined || row.sealed_key === null) return null;
    const key = open(this.masterKey, Buffer.from(row.sealed_key, 'base64'), `subject\n${row.id}`);
    const keys = deriveSubjectKeys(key);
    key.fill(0);
    return {
      id: row.id,
      pseudonym: keyedHash(keys.pseudonym, callerId),
      keys,
      restricted: row.restricted !== 0,
    };
  }

  /** Freezes (or, with `restricted` false, lifts the freeze on) processing for a subject. */
  async restrict(subjectId: string, restricted: boolean, trx?: Kysely<Tables>): Promise<void> {
    await (trx ?? this.database.db)
      .updateTable('subjects')
      .set({ restricted: restricted ? 1 : 0 })
      .where('id', '=', subjectId)
      .execute();
  }

  /**
   * Destroys a subject's key and its lookup: its data keys, blobs and pseudonym can no longer
   * be opened or computed. The row stays, keyless, as the record that the subject was erased.
   */
  async destroyKey(subjectId: string, trx?: Kysely<Tables>): Promise<void> {
    await (trx ?? this.database.db)
      .updateTable('subjects')
      .set({ sealed_key: null, lookup: `erased:${subjectId}`, erased_at: new Date().toISOString() })
      .where('id', '=', subjectId)
      .execute();
  }

  /**
   * Seals the lookup key and every subject key under a new master key (`keys rotate`), in one
   * transaction. Blobs are not rewritten: their data keys are wrapped by keys derived from the
   * subject keys, which do not change.
   * @returns how many subject keys were sealed anew.
   */
  async reseal(newMaster: Buffer): Promise<number> {
    const count = await this.database.db.transaction().execute(async (trx) => {
      const rows = await trx
        .selectFrom('subjects')
        .select(['id', 'sealed_key'])
        .where('sealed_key', 'is not', null)
        .execute();
      for (const row of rows) {
        if (row.sealed_key === null) continue;
        const context = `subject\n${row.id}`;
        const key = open(this.masterKey, Buffer.from(row.sealed_key, 'base64'), context);
        await trx
          .updateTable('subjects')
          .set({ sealed_key: seal(newMaster, key, context).toString('base64') })
          .where('id', '=', row.id)
          .execute();
        key.fill(0);
      }
      await trx
        .updateTable('secrets')
        .set({
          sealed: seal(newMaster, this.lookupKey, `secret\n${lookupSecret}`).toString('base64'),
        })
        .where('name', '=', lookupSecret)
        .execute();
      return rows.length;
    });
    this.masterKey = newMaster;
    return count;
  }
}
