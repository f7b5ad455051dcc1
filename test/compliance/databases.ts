/**
 * The databases the compliance tests run on: SQLite in a new data folder, and a real
 * PostgreSQL server (the test command starts one when none runs), each test in a database of
 * its own, dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { openDatabase } from '../../src/compliance/database.js';
import type { Database } from '../../src/compliance/database.js';
import { createPipeline } from '../../src/compliance/pipeline.js';
import type { Pipeline, PipelineConfig } from '../../src/compliance/pipeline.js';

/** The server the test command makes sure of; `PIXWARDEN_TEST_POSTGRES` to use another. */
export const POSTGRES_URL =
  process.env.PIXWARDEN_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface Opened {
  readonly database: Database;
  readonly dataDir: string;
  /** Runs raw SQL, as someone with write access to the database would. */
  readonly raw: (statement: string) => Promise<void>;
  /** Closes the database and removes it. */
  readonly dispose: () => Promise<void>;
  /** The PostgreSQL URL of this database (SQLite: none). */
  readonly url: () => Promise<string | undefined>;
}

async function admin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
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
      dispose: () => database.close().catch(() => undefined),
      url: () => Promise.resolve(undefined),
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
  const name = `pw_test_${randomBytes(6).toString('hex')}`;
  await admin(`create database ${name}`);
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  const database = await openDatabase({ dataDir, databaseUrl: url.href });
  return {
    database,
    dataDir,
    dispose: async () => {
      await database.close().catch(() => undefined);
      await admin(`drop database if exists ${name}`);
    },
    url: () => Promise.resolve(url.href),
    raw: async (statement) => {
      const client = new pg.Client({ connectionString: url.href });
      await client.connect();
      try {
        await client.query(statement);
      } finally {
        await client.end();
      }
    },
  };
}

/**
 * A pipeline on a new database of the given kind: the database made by `freshDatabase`, then
 * opened by the pipeline itself (with its own connection), as a service would.
 */
export async function freshPipeline(
  kind: (typeof DIALECTS)[number],
  config: Omit<PipelineConfig, 'dataDir' | 'databaseUrl'> = {},
): Promise<{ opened: Opened; pipeline: Pipeline; config: PipelineConfig }> {
  const opened = await freshDatabase(kind);
  const url = await opened.url();
  await opened.database.close();
  const full: PipelineConfig = {
    dataDir: opened.dataDir,
    ...(url === undefined ? {} : { databaseUrl: url }),
    ...config,
  };
  return { opened, pipeline: await createPipeline(full), config: full };
}
