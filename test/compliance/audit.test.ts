/**
 * The audit trail on SQLite and on PostgreSQL: a 10,000-entry chain verifies; editing,
 * deleting, reordering or inserting any entry is detected and located; a cut-off tail is
 * detected against a checkpoint kept elsewhere; concurrent writers never fork the chain.
 */
import { spawn } from 'node:child_process';
import { sign } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditTrail, loadSigningKey, parseCheckpoints } from '../../src/compliance/audit.js';
import type { Checkpoint } from '../../src/compliance/audit.js';
import { canonicalJson } from '../../src/compliance/canonical.js';
import { entryHash, nextRow } from '../../src/compliance/chain.js';
import type { ChainRow } from '../../src/compliance/chain.js';
import { ROOT } from '../helpers.js';
import { DIALECTS, freshDatabase } from './databases.js';
import type { Opened } from './databases.js';

const ENTRIES = 10_000;

/** Writes `count` chained entries directly, in batches: the chain logic is the trail's own. */
async function fill(opened: Opened, count: number): Promise<ChainRow[]> {
  const rows: ChainRow[] = [];
  let last: ChainRow | null = null;
  for (let i = 0; i < count; i++) {
    last = nextRow(last, {
      operation: 'ingest',
      actor: 'test',
      subject: `pseudonym-${i % 37}`,
      outcome: i % 11 === 0 ? 'refused' : 'done',
      time: '2026-01-01T00:00:00.000Z',
    });
    rows.push(last);
  }
  for (let at = 0; at < rows.length; at += 500) {
    await opened.database.db
      .insertInto('audit')
      .values(
        rows.slice(at, at + 500).map((row) => ({
          seq: row.seq,
          prev_hash: row.prevHash,
          content: row.content,
          hash: row.hash,
        })),
      )
      .execute();
  }
  return rows;
}

describe.each(DIALECTS)('the audit trail on %s', (kind) => {
  let opened: Opened;
  let trail: AuditTrail;
  let rows: ChainRow[];
  let checkpoint: Checkpoint;

  beforeAll(async () => {
    opened = await freshDatabase(kind);
    trail = new AuditTrail(opened.database, loadSigningKey(opened.dataDir));
    rows = await fill(opened, ENTRIES);
    checkpoint = await trail.checkpoint();
  }, 120_000);
  afterAll(async () => opened.dispose());

  /** Runs a tamper, verifies, and puts the original rows back. */
  async function tampered(statements: string[], checkpoints: Checkpoint[] = []) {
    for (const statement of statements) await opened.raw(statement);
    try {
      return await trail.verify(checkpoints);
    } finally {
      await opened.raw('delete from audit');
      await fill(opened, ENTRIES);
    }
  }

  const quote = (text: string): string => `'${text.replaceAll("'", "''")}'`;

  it('verifies the whole chain and its checkpoint', async () => {
    const verdict = await trail.verify([checkpoint]);
    expect(verdict).toMatchObject({ valid: true, entries: ENTRIES });
    expect(verdict.firstInvalid).toBeUndefined();
    expect(checkpoint).toMatchObject({ seq: ENTRIES, hash: rows.at(-1)?.hash });
  });

  it('finds an edited entry', async () => {
    const row = rows[4999] as ChainRow;
    const edited = row.content.replace('"outcome":"done"', '"outcome":"refused"');
    expect(edited).not.toBe(row.content);
    const verdict = await tampered([
      `update audit set content = ${quote(edited)} where seq = 5000`,
    ]);
    expect(verdict).toMatchObject({ valid: false, firstInvalid: { seq: 5000 } });
    expect(verdict.firstInvalid?.reason).toMatch(/no longer match/);
  });

  it('finds an edited entry whose hash was recomputed, at the entry after it', async () => {
    const row = rows[6999] as ChainRow;
    const edited = row.content.replace('"actor":"test"', '"actor":"someone else"');
    const hash = entryHash(row.seq, row.prevHash, edited);
    const verdict = await tampered([
      `update audit set content = ${quote(edited)}, hash = ${quote(hash)} where seq = 7000`,
    ]);
    expect(verdict.firstInvalid).toMatchObject({ seq: 7001 });
    expect(verdict.firstInvalid?.reason).toMatch(/does not follow entry 7000/);
  });

  it('finds a deleted entry', async () => {
    const verdict = await tampered(['delete from audit where seq = 1234']);
    expect(verdict).toMatchObject({
      valid: false,
      firstInvalid: { seq: 1235, reason: 'entries 1234–1234 are missing' },
    });
  });

  it('finds two entries swapped', async () => {
    const [a, b] = [rows[3999] as ChainRow, rows[4000] as ChainRow];
    const verdict = await tampered([
      `update audit set content = ${quote(b.content)}, hash = ${quote(b.hash)}, prev_hash = ${quote(b.prevHash)} where seq = 4000`,
      `update audit set content = ${quote(a.content)}, hash = ${quote(a.hash)}, prev_hash = ${quote(a.prevHash)} where seq = 4001`,
    ]);
    expect(verdict.firstInvalid?.seq).toBe(4000);
  });

  it('finds an inserted entry', async () => {
    // A forged entry at 3000, chained correctly from 2999; the real ones moved up by one.
    const forged = nextRow(rows[2998] ?? null, {
      operation: 'consent.grant',
      actor: 'forger',
      outcome: 'done',
    });
    const moved = rows
      .slice(2999)
      .map(
        (row) =>
          `(${row.seq + 1}, ${quote(row.prevHash)}, ${quote(row.content)}, ${quote(row.hash)})`,
      );
    const verdict = await tampered([
      'delete from audit where seq >= 3000',
      `insert into audit (seq, prev_hash, content, hash) values (3000, ${quote(forged.prevHash)}, ${quote(forged.content)}, ${quote(forged.hash)})`,
      `insert into audit (seq, prev_hash, content, hash) values ${moved.join(', ')}`,
    ]);
    expect(verdict.firstInvalid?.seq).toBe(3001);
  });

  it('finds a cut-off tail only against a checkpoint kept elsewhere', async () => {
    await opened.raw('delete from audit where seq > 9000');
    try {
      // The checkpoint kept in the database still shows it…
      expect(await trail.verify()).toMatchObject({ valid: false, firstInvalid: { seq: 9001 } });
      // …until the intruder deletes that too: then only the one kept elsewhere does.
      await opened.raw('delete from checkpoints');
      expect(await trail.verify()).toMatchObject({ valid: true, entries: 9000 });
      const verdict = await trail.verify([checkpoint]);
      expect(verdict).toMatchObject({ valid: false, firstInvalid: { seq: 9001 } });
      expect(verdict.firstInvalid?.reason).toMatch(/ends at entry 9000.*cut off/);
    } finally {
      await opened.raw('delete from audit');
      await fill(opened, ENTRIES);
    }
  });

  it('refuses a checkpoint with a forged signature or from another key', async () => {
    const forged = { ...checkpoint, hash: '0'.repeat(64) };
    expect((await trail.verify([forged])).firstInvalid?.reason).toMatch(/not validly signed/);
    // The same head, signed by a key of someone else's.
    const other = loadSigningKey(`${opened.dataDir}-other`);
    const signed = { seq: checkpoint.seq, hash: checkpoint.hash, time: checkpoint.time };
    const foreign: Checkpoint = {
      ...signed,
      signature: sign(null, Buffer.from(canonicalJson(signed)), other.privateKey).toString(
        'base64',
      ),
      publicKey: other.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
    };
    expect((await trail.verify([foreign])).firstInvalid?.reason).toMatch(/another key/);
    expect(parseCheckpoints(`${JSON.stringify(checkpoint)}\n`)).toEqual([checkpoint]);
  });

  it('appends after the head, one writer at a time, without forking the chain', async () => {
    const appended = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        trail.append({ operation: 'ingest', actor: `writer-${i}`, outcome: 'done' }),
      ),
    );
    expect(appended.map((row) => row.seq).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 40 }, (_, i) => ENTRIES + 1 + i),
    );
    expect(await trail.verify()).toMatchObject({ valid: true, entries: ENTRIES + 40 });
    await expect(
      trail.append({
        operation: 'ingest',
        actor: 'x',
        outcome: 'done',
        name: 'photo.jpg',
      } as never),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
  });
});

describe('the audit trail on SQLite, written by several processes at once', () => {
  it('keeps one unbroken chain', async () => {
    const opened = await freshDatabase('sqlite');
    await opened.database.close();
    const writer = path.join(ROOT, 'test', 'compliance', 'audit-writer.mjs');
    const runs = Array.from(
      { length: 4 },
      (_, i) =>
        new Promise<number | null>((resolve) => {
          const child = spawn(process.execPath, [writer, opened.dataDir, String(i), '25'], {
            stdio: 'inherit',
          });
          child.on('exit', resolve);
        }),
    );
    expect(await Promise.all(runs)).toEqual([0, 0, 0, 0]);
    const { openDatabase } = await import('../../src/compliance/database.js');
    const database = await openDatabase({ dataDir: opened.dataDir });
    try {
      expect(await new AuditTrail(database).verify()).toMatchObject({ valid: true, entries: 100 });
    } finally {
      await database.close();
    }
  }, 60_000);
});
