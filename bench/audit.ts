/**
 * Verifying the audit trail: 1,000,000 entries in SQLite, recomputed and checked from the
 * first to the last (target: under 10 s), against the time to merely read the rows.
 *
 * `npm run bench:audit` (builds first). The trail is written directly, in one transaction,
 * with the trail's own chain code; the database is made in a temporary folder and removed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import Sqlite from 'better-sqlite3';
import type * as AuditModule from '../src/compliance/audit.js';
import type * as ChainModule from '../src/compliance/chain.js';
import type * as DatabaseModule from '../src/compliance/database.js';
import { ROOT } from './inputs.js';

const ENTRIES = Number(process.env.BENCH_AUDIT_ENTRIES ?? 1_000_000);
const built = (name: string): string =>
  pathToFileURL(path.join(ROOT, 'dist', 'compliance', `${name}.js`)).href;
const { AuditTrail } = (await import(built('audit'))) as typeof AuditModule;
const { nextRow } = (await import(built('chain'))) as typeof ChainModule;
const { openDatabase } = (await import(built('database'))) as typeof DatabaseModule;

const dataDir = mkdtempSync(path.join(tmpdir(), 'pixwarden-bench-audit-'));
try {
  await (await openDatabase({ dataDir })).close();
  const file = new Sqlite(path.join(dataDir, 'pixwarden.db'));
  const insert = file.prepare(
    'insert into audit (seq, prev_hash, content, hash) values (?, ?, ?, ?)',
  );
  let started = performance.now();
  file.transaction(() => {
    let last: { seq: number; hash: string } | null = null;
    for (let i = 0; i < ENTRIES; i++) {
      const row = nextRow(last, {
        operation: 'ingest',
        actor: 'bench',
        subject: (i % 997).toString(16).padStart(64, '0'),
        image: `image-${i}`,
        formats: ['jpeg', 'webp'],
        stripped: { metadata: 3, thumbnail: 1 },
        basis: 'consent',
        consent: `consent-${i % 997}`,
        outcome: 'done',
        time: '2026-12-03T12:00:00.000Z',
      });
      insert.run(row.seq, row.prevHash, row.content, row.hash);
      last = row;
    }
  })();
  file.close();
  console.log(`wrote ${ENTRIES} entries in ${((performance.now() - started) / 1000).toFixed(1)} s`);

  const database = await openDatabase({ dataDir });
  const trail = new AuditTrail(database);
  started = performance.now();
  let read = 0;
  for await (const row of trail.rows()) read += row.content.length > 0 ? 1 : 0;
  const readSeconds = (performance.now() - started) / 1000;
  started = performance.now();
  const verdict = await trail.verify();
  const verifySeconds = (performance.now() - started) / 1000;
  await database.close();
  console.log(`reading ${read} rows: ${readSeconds.toFixed(2)} s`);
  console.log(
    `verifying ${verdict.entries} entries: ${verifySeconds.toFixed(2)} s (valid: ${String(verdict.valid)}; target under 10 s)`,
  );
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
