/**
 * Subjects on SQLite and PostgreSQL: found again by the caller's id, which no table holds;
 * a stable keyed pseudonym; erasure destroys the key, so the pseudonym cannot be computed
 * again; a new master key re-seals every key without losing a subject.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newKey } from '../../src/compliance/crypto.js';
import { Subjects } from '../../src/compliance/subjects.js';
import { DIALECTS, freshDatabase } from './databases.js';
import type { Opened } from './databases.js';

describe.each(DIALECTS)('subjects on %s', (kind) => {
  let opened: Opened;
  let master: Buffer;
  let subjects: Subjects;

  beforeAll(async () => {
    opened = await freshDatabase(kind);
    master = newKey();
    subjects = await Subjects.open(opened.database, master);
  });
  afterAll(async () => opened.dispose());

  it('finds a subject again by the caller’s id, with the same pseudonym', async () => {
    const first = await subjects.ensure('alice@example.com');
    const again = await subjects.ensure('alice@example.com');
    const other = await subjects.ensure('bob@example.com');
    expect(again.id).toBe(first.id);
    expect(again.pseudonym).toBe(first.pseudonym);
    expect(first.pseudonym).toMatch(/^[0-9a-f]{64}$/);
    expect(other.id).not.toBe(first.id);
    expect(other.pseudonym).not.toBe(first.pseudonym);
    expect(await subjects.find('carol@example.com')).toBeNull();
  });

  it('keeps the caller’s id in no table', async () => {
    await subjects.ensure('dave-9f2c@example.com');
    const rows = await opened.database.db.selectFrom('subjects').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain('dave-9f2c');
    if (kind === 'sqlite') {
      for (const file of readdirSync(opened.dataDir))
        expect(readFileSync(path.join(opened.dataDir, file)).includes('dave-9f2c')).toBe(false);
    }
  });

  it('cannot compute an erased subject’s pseudonym again', async () => {
    const before = await subjects.ensure('erin@example.com');
    await subjects.destroyKey(before.id);
    expect(await subjects.find('erin@example.com')).toBeNull();
    const row = await opened.database.db
      .selectFrom('subjects')
      .selectAll()
      .where('id', '=', before.id)
      .executeTakeFirstOrThrow();
    expect(row.sealed_key).toBeNull();
    expect(row.erased_at).not.toBeNull();
    // The same caller id now makes a new subject, with a pseudonym unrelated to the old one.
    const after = await subjects.ensure('erin@example.com');
    expect(after.id).not.toBe(before.id);
    expect(after.pseudonym).not.toBe(before.pseudonym);
  });

  it('freezes and lifts processing for a subject', async () => {
    const subject = await subjects.ensure('frank@example.com');
    expect(subject.restricted).toBe(false);
    await subjects.restrict(subject.id, true);
    expect((await subjects.find('frank@example.com'))?.restricted).toBe(true);
    await subjects.restrict(subject.id, false);
    expect((await subjects.find('frank@example.com'))?.restricted).toBe(false);
  });

  it('re-seals every key under a new master key, and the old one opens nothing', async () => {
    const alice = await subjects.ensure('alice@example.com');
    const rotated = newKey();
    const resealed = await opened.database.exclusive((trx) => subjects.reseal(rotated, trx));
    resealed.done();
    expect(resealed.count).toBeGreaterThanOrEqual(4);
    const reopened = await Subjects.open(opened.database, rotated);
    const found = await reopened.find('alice@example.com');
    expect(found?.id).toBe(alice.id);
    expect(found?.pseudonym).toBe(alice.pseudonym);
    await expect(Subjects.open(opened.database, master)).rejects.toMatchObject({
      code: 'ERR_DECRYPT',
    });
  });

  it('refuses a caller id that is empty, too long, or not well-formed text', async () => {
    await expect(subjects.ensure('')).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(subjects.ensure('x'.repeat(1025))).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
    // Counted in bytes: 256 emoji (1024 bytes) are an id, one more is not.
    expect((await subjects.ensure('😀'.repeat(256))).id).toMatch(/-/);
    await expect(subjects.ensure('😀'.repeat(257))).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
    // Lone surrogates would all hash as U+FFFD: two of them would be one person.
    for (const id of ['user\ud800', 'user\udfff', '\udc00user'])
      await expect(subjects.ensure(id)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    expect((await subjects.ensure('user\ud83d\ude00')).id).toMatch(/-/);
  });

  it('binds a subject key to its lookup: lookups swapped between two rows do not open', async () => {
    const a = await subjects.ensure('swap-a');
    const b = await subjects.ensure('swap-b');
    const lookupOf = async (id: string) =>
      (
        await opened.database.db
          .selectFrom('subjects')
          .select('lookup')
          .where('id', '=', id)
          .executeTakeFirstOrThrow()
      ).lookup;
    const [la, lb] = [await lookupOf(a.id), await lookupOf(b.id)];
    // Swap the lookups, as someone with write access to the table could: 'swap-a' would now
    // find b's row, and an export or an erasure of a would reach b.
    const setLookup = (id: string, lookup: string) =>
      opened.database.db.updateTable('subjects').set({ lookup }).where('id', '=', id).execute();
    await setLookup(a.id, 'moving');
    await setLookup(b.id, la);
    await setLookup(a.id, lb);
    await expect(subjects.find('swap-a')).rejects.toMatchObject({ code: 'ERR_DECRYPT' });
    await expect(subjects.find('swap-b')).rejects.toMatchObject({ code: 'ERR_DECRYPT' });
    await setLookup(a.id, 'moving');
    await setLookup(b.id, lb);
    await setLookup(a.id, la);
    expect((await subjects.find('swap-a'))?.id).toBe(a.id);
  });
});
