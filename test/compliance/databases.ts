/**
 * The databases the compliance tests run on: SQLite in a new data folder, and a real
 * PostgreSQL server (the test command starts one when none runs), each test file in a schema
 * of its own.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { openDatabase } from '../../src/compliance/database.js';
import type { Database } from '../../src/compliance/database.js';

/** The server the test command makes sure of; `PIXWARDEN_TEST_POSTGRES` to use another. */
export const POSTGRES_URL =
  process.env.PIXWARDEN_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface Opened {
  readonly database: Database;
  readonly dataDir: string;
  /** Runs raw SQL, as someone with write access to the database would. */
  readonly raw: (statement: string) => Promise<void>;
}

export const DIALECTS = ['sqlite', 'postgres'] as const;

/** A new, empty database of the given kind. */
export async function freshDatabase(kind: (typeof DIALECTS)[number]): Promise<Opened> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'pixwarden-data-'));
  if (kind === 'sqlite') {
    const database = await openDatabase({ dataDir });
    const { default: Sqlite } = await import('better-sqlite3');
    return {
      database,
      dataDir,
      raw: (statement) => {
        const file = new Sqlite(path.join(dataDir, 'pixwarden.db'));
        try {
          file.exec(statement);
        } finally {
          file.close();
        }
        return Promise.resolve();
      },
    };
  }
  const schema = `pw_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  await admin.end();
  const url = `${POSTGRES_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  const database = await openDatabase({ dataDir, databaseUrl: url });
  return {
    database,
    dataDir,
    raw: async (statement) => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(statement);
      } finally {
        await client.end();
      }
    },
  };
}
