/**
 * The compliance database: SQLite in the data folder by default (better-sqlite3, WAL mode,
 * `synchronous=FULL` so that an audit entry that was written survives a crash, and
 * `secure_delete` so that deleted rows are overwritten), or PostgreSQL when a `postgres://`
 * URL is given. Both are reached through one query builder (Kysely) and share the migrations
 * below, so every query is written once.
 */
import { closeSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import type { Migration, MigrationProvider, Transaction } from 'kysely';
import { pixwardenError } from '../errors.js';

export interface AuditTable {
  seq: number;
  prev_hash: string;
  content: string;
  hash: string;
}

export interface CheckpointTable {
  seq: number;
  hash: string;
  time: string;
  /** Ed25519 over the canonical JSON of { seq, hash, time }, base64. */
  signature: string;
}

export interface SubjectTable {
  id: string;
  /** Keyed hash of the caller's id; `erased:<id>` once erased. */
  lookup: string;
  /** The subject key sealed under the master key, base64; null once erased. */
  sealed_key: string | null;
  restricted: number;
  created_at: string;
  erased_at: string | null;
}

export interface SecretTable {
  name: string;
  /** Sealed under the master key, base64. */
  sealed: string;
}

export interface ConsentTable {
  id: string;
  subject_id: string;
  purpose: string;
  policy_version: string;
  granted_at: string;
  withdrawn_at: string | null;
  method: string;
  collector: string;
}

export interface ImageTable {
  id: string;
  subject_id: string;
  variant: string;
  format: string;
  width: number;
  height: number;
  bytes: number;
  sha256: string;
  sealed_key: string;
  created_at: string;
  expires_at: string | null;
}

export interface Tables {
  images: ImageTable;
  consents: ConsentTable;
  audit: AuditTable;
  checkpoints: CheckpointTable;
  subjects: SubjectTable;
  secrets: SecretTable;
}

export type Dialect = 'sqlite' | 'postgres';

export interface Database {
  readonly db: Kysely<Tables>;
  readonly dialect: Dialect;
  /**
   * Runs `work` as the only writer: across threads and processes, one at a time (SQLite:
   * `BEGIN IMMEDIATE`; PostgreSQL: a transaction-scoped advisory lock).
   */
  exclusive<T>(work: (trx: Kysely<Tables> | Transaction<Tables>) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** The data folder (SQLite's file lives there). */
  readonly dataDir: string;
  /** `postgres://…` to use PostgreSQL instead of SQLite. */
  readonly databaseUrl?: string | undefined;
}

/** The advisory lock every PostgreSQL writer of the audit trail takes. */
const auditLockKey = 0x70_69_78_77; // "pixw"

const MIGRATIONS: Record<string, Migration> = {
  '0001-audit': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('audit')
        .addColumn('seq', 'bigint', (c) => c.primaryKey())
        .addColumn('prev_hash', 'text', (c) => c.notNull())
        .addColumn('content', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('checkpoints')
        .addColumn('seq', 'bigint', (c) => c.primaryKey())
        .addColumn('hash', 'text', (c) => c.notNull())
        .addColumn('time', 'text', (c) => c.notNull())
        .addColumn('signature', 'text', (c) => c.notNull())
        .execute();
    },
  },
};

MIGRATIONS['0002-subjects'] = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('secrets')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('sealed', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('subjects')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('lookup', 'text', (c) => c.notNull().unique())
      .addColumn('sealed_key', 'text')
      .addColumn('restricted', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('erased_at', 'text')
      .execute();
  },
};

MIGRATIONS['0003-consents'] = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('consents')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('subject_id', 'text', (c) => c.notNull().references('subjects.id'))
      .addColumn('purpose', 'text', (c) => c.notNull())
      .addColumn('policy_version', 'text', (c) => c.notNull())
      .addColumn('granted_at', 'text', (c) => c.notNull())
      .addColumn('withdrawn_at', 'text')
      .addColumn('method', 'text', (c) => c.notNull())
      .addColumn('collector', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('consents_by_subject')
      .on('consents')
      .columns(['subject_id', 'purpose'])
      .execute();
  },
};

MIGRATIONS['0004-images'] = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('images')
      .addColumn('id', 'text', (c) => c.notNull())
      .addColumn('variant', 'text', (c) => c.notNull())
      .addColumn('subject_id', 'text', (c) => c.notNull().references('subjects.id'))
      .addColumn('format', 'text', (c) => c.notNull())
      .addColumn('width', 'integer', (c) => c.notNull())
      .addColumn('height', 'integer', (c) => c.notNull())
      .addColumn('bytes', 'bigint', (c) => c.notNull())
      .addColumn('sha256', 'text', (c) => c.notNull())
      .addColumn('sealed_key', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text')
      .addPrimaryKeyConstraint('images_key', ['id', 'variant'])
      .execute();
    await db.schema.createIndex('images_by_subject').on('images').column('subject_id').execute();
  },
};

const provider: MigrationProvider = {
  getMigrations: () => Promise.resolve(MIGRATIONS),
};

/** Whether a database URL names PostgreSQL (the only server the records can live in). */
export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url);
}

/**
 * Opens the database and brings its schema up to date.
 * @throws ERR_INVALID_ARGUMENT for a URL that is not PostgreSQL's; ERR_IO when it cannot be
 *   opened or migrated.
 */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const url = options.databaseUrl === '' ? undefined : options.databaseUrl;
  // Any other URL is a mistake: falling back to a local SQLite file would answer from an
  // empty store as if it were the real one.
  if (url !== undefined && !isPostgresUrl(url))
    throw pixwardenError(
      'ERR_INVALID_ARGUMENT',
      'the database URL must be a postgres:// (or postgresql://) URL; leave it unset for SQLite in the data folder',
    );
  const database = url !== undefined ? await openPostgres(url) : await openSqlite(options.dataDir);
  // Several processes opening a new SQLite file at once race to create its tables (the
  // migrator's own lock table is one of them): the losers find them made, and look again.
  let { error } = await new Migrator({ db: database.db, provider }).migrateToLatest();
  for (let attempt = 0; error !== undefined && attempt < 10; attempt++) {
    if (!(error instanceof Error && /already exists|locked|busy/i.test(error.message))) break;
    await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 200));
    ({ error } = await new Migrator({ db: database.db, provider }).migrateToLatest());
  }
  if (error !== undefined) {
    await database.close();
    throw pixwardenError(
      'ERR_IO',
      `the database could not be opened or migrated: ${error instanceof Error ? error.message : 'unknown error'}`,
    );
  }
  return database;
}

/** How long a writer waits for another (a key rotation of many subjects takes a while). */
export const SQLITE_BUSY_TIMEOUT_MS = 30_000;

async function openSqlite(dataDir: string): Promise<Database> {
  const { default: SqliteDatabase } = await import('better-sqlite3');
  const name = path.join(dataDir, 'pixwarden.db');
  let file;
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    // Made with mode 0600 before SQLite opens it: its log and shared-memory files take the
    // database file's mode.
    closeSync(openSync(name, 'a', 0o600));
    file = new SqliteDatabase(name);
    file.pragma('journal_mode = WAL');
    file.pragma('synchronous = FULL');
    file.pragma('secure_delete = ON');
    file.pragma('foreign_keys = ON');
    file.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
  } catch (error: unknown) {
    file?.close();
    throw pixwardenError(
      'ERR_IO',
      `the database ${name} cannot be opened: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  // Whole numbers up to 2^53 come back as numbers; the sequence never gets near.
  const db = new Kysely<Tables>({ dialect: new SqliteDialect({ database: file }) });
  return {
    db,
    dialect: 'sqlite',
    exclusive: (work) =>
      db.connection().execute(async (connection) => {
        await sql`begin immediate`.execute(connection);
        try {
          const result = await work(connection);
          await sql`commit`.execute(connection);
          return result;
        } catch (error: unknown) {
          await sql`rollback`.execute(connection);
          throw error;
        }
      }),
    close: () => db.destroy(),
  };
}

async function openPostgres(url: string): Promise<Database> {
  const { default: pg } = await import('pg');
  // BIGINT comes back as a number: sequence numbers stay far below 2^53.
  pg.types.setTypeParser(pg.types.builtins.INT8, (text) => Number(text));
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  const db = new Kysely<Tables>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    dialect: 'postgres',
    exclusive: (work) =>
      db.transaction().execute(async (trx) => {
        await sql`select pg_advisory_xact_lock(${auditLockKey})`.execute(trx);
        return work(trx);
      }),
    close: () => db.destroy(),
  };
}
