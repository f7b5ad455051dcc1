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
import { PixwardenError, pixwardenError } from '../errors.js';
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

/** Caller ids are at most this many bytes of UTF-8: an id, not a document. */
const maxCallerIdBytes = 1024;

function checkCallerId(callerId: unknown): string {
  if (
    typeof callerId !== 'string' ||
    callerId === '' ||
    Buffer.byteLength(callerId, 'utf8') > maxCallerIdBytes
  )
    throw pixwardenError(
      'ERR_INVALID_ARGUMENT',
      `a subject id must be a text of 1–${maxCallerIdBytes} bytes (UTF-8)`,
    );
  // A lone surrogate has no UTF-8 form: hashed, it would become U+FFFD, and two different
  // ids would name one person.
  if (loneSurrogate.test(callerId))
    throw pixwardenError('ERR_INVALID_ARGUMENT', 'a subject id must be well-formed Unicode text');
  return callerId;
}

const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** What a subject key is sealed to: its subject, and the lookup that finds it. */
const subjectContext = (id: string, lookup: string) => `subject\n${id}\n${lookup}`;

const lookupSecret = 'subject-lookup';

/** The lookup key as sealed in the database `db` reads, or null before the first use. */
export async function sealedLookup(db: Kysely<Tables>): Promise<string | null> {
  const row = await db
    .selectFrom('secrets')
    .select('sealed')
    .where('name', '=', lookupSecret)
    .executeTakeFirst();
  return row?.sealed ?? null;
}

/** Whether `key` is the master key the lookup key (`sealed`, base64) is sealed under. */
export function opensLookup(key: Buffer, sealed: string): boolean {
  try {
    open(key, Buffer.from(sealed, 'base64'), `secret\n${lookupSecret}`).fill(0);
    return true;
  } catch {
    return false;
  }
}

/** Reads the master key afresh (the key file, then a rotation's pending one), or null. */
export type MasterKeyReader = () => Buffer[];

export class Subjects {
  private constructor(
    private readonly database: Database,
    private masterKey: Buffer,
    private readonly lookupKey: Buffer,
    private readonly reread: MasterKeyReader,
  ) {}

  /**
   * The subjects of a database, under `masterKey`; the lookup key is made on first use.
   * `reread` gives the keys to try when another process has rotated the master key.
   * @throws ERR_DECRYPT when the database's keys were sealed under another master key.
   */
  static async open(
    database: Database,
    masterKey: Buffer,
    reread: MasterKeyReader = () => [],
  ): Promise<Subjects> {
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
    return new Subjects(database, masterKey, lookupKey, reread);
  }

  private lookupOf(callerId: string): string {
    return keyedHash(this.lookupKey, callerId);
  }

  /**
   * Runs `use` with the master key; when that fails to open (another process rotated the
   * key), with the key read afresh, which is kept from then on.
   * @throws ERR_DECRYPT when no key opens it.
   */
  private withMaster<T>(use: (key: Buffer) => T): T {
    try {
      return use(this.masterKey);
    } catch (error: unknown) {
      if (!(error instanceof PixwardenError && error.code === 'ERR_DECRYPT')) throw error;
      for (const key of this.reread()) {
        if (key.equals(this.masterKey)) continue;
        try {
          const result = use(key);
          this.masterKey = key;
          return result;
        } catch {
          // not this one
        }
      }
      throw pixwardenError(
        'ERR_DECRYPT',
        'a key does not open under the master key (was it rotated, and this process given the old one?)',
      );
    }
  }

  /** The master key that opens the lookup key as `trx` sees it (read afresh if need be). */
  private async masterInForce(trx: Kysely<Tables>): Promise<Buffer> {
    const sealed = await sealedLookup(trx);
    return this.withMaster((candidate) => {
      if (sealed === null || !opensLookup(candidate, sealed))
        throw pixwardenError('ERR_DECRYPT', 'the lookup key does not open under this key');
      return candidate;
    });
  }

  /**
   * The subject the caller calls `callerId`, made now if there is none. A new subject's key is
   * sealed as the only writer, after checking that the master key is still the one in force,
   * so that a rotation in another process cannot leave it sealed under the old key.
   */
  async ensure(callerId: string): Promise<Subject> {
    const found = await this.find(callerId);
    if (found !== null) return found;
    const id = randomUUID();
    const key = newKey();
    const lookup = this.lookupOf(checkCallerId(callerId));
    await this.database.exclusive(async (trx) => {
      const master = await this.masterInForce(trx);
      await trx
        .insertInto('subjects')
        .values({
          id,
          lookup,
          sealed_key: seal(master, key, subjectContext(id, lookup)).toString('base64'),
          restricted: 0,
          created_at: new Date().toISOString(),
        })
        .onConflict((conflict) => conflict.column('lookup').doNothing())
        .execute();
    });
    key.fill(0);
    // Another writer may have made it first: whichever row is there is the subject.
    const made = await this.find(callerId);
    if (made === null) throw pixwardenError('ERR_IO', 'the subject could not be recorded');
    return made;
  }

  /**
   * The subject the caller calls `callerId`, or null (none, or erased).
   * @throws ERR_DECRYPT when its key does not open under the master key (or it was moved to
   *   another subject's row).
   */
  async find(callerId: string): Promise<Subject | null> {
    const lookup = this.lookupOf(checkCallerId(callerId));
    const row = await this.database.db
      .selectFrom('subjects')
      .selectAll()
      .where('lookup', '=', lookup)
      .executeTakeFirst();
    if (row === undefined || row.sealed_key === null) return null;
    const sealed = Buffer.from(row.sealed_key, 'base64');
    const key = this.withMaster((master) => open(master, sealed, subjectContext(row.id, lookup)));
    const keys = deriveSubjectKeys(key);
    key.fill(0);
    return {
      id: row.id,
      pseudonym: keyedHash(keys.pseudonym, callerId),
      keys,
      restricted: row.restricted !== 0,
    };
  }

  /** Whether the subject still has its key and is not restricted, read in `trx`. */
  async live(subjectId: string, trx: Kysely<Tables>): Promise<'live' | 'restricted' | 'erased'> {
    const row = await trx
      .selectFrom('subjects')
      .select(['sealed_key', 'restricted'])
      .where('id', '=', subjectId)
      .executeTakeFirst();
    if (row === undefined || row.sealed_key === null) return 'erased';
    return row.restricted !== 0 ? 'restricted' : 'live';
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
   * Seals the lookup key and every subject key under a new master key (`keys rotate`), in
   * `trx`, which must be the only writer. The master key in force is read afresh first, in
   * case another process rotated it. Blobs are not rewritten: their data keys are wrapped by
   * keys derived from the subject keys, which do not change.
   * @returns how many subject keys were sealed anew, and a function to call once `trx` has
   *   committed, which makes the new key this object's.
   */
  async reseal(
    newMaster: Buffer,
    trx: Kysely<Tables>,
  ): Promise<{ count: number; done: () => void }> {
    const master = await this.masterInForce(trx);
    const rows = await trx
      .selectFrom('subjects')
      .select(['id', 'lookup', 'sealed_key'])
      .where('sealed_key', 'is not', null)
      .execute();
    for (const row of rows) {
      if (row.sealed_key === null) continue;
      const context = subjectContext(row.id, row.lookup);
      const key = open(master, Buffer.from(row.sealed_key, 'base64'), context);
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
    return {
      count: rows.length,
      done: () => {
        this.masterKey = newMaster;
      },
    };
  }
}
