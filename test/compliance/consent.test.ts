/**
 * Consent on SQLite and PostgreSQL: an operation that needs consent is refused without it,
 * allowed with it, and refused again once it is withdrawn; other legal bases need none.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Consents } from '../../src/compliance/consent.js';
import type { Purpose } from '../../src/compliance/consent.js';
import { newKey } from '../../src/compliance/crypto.js';
import { Subjects } from '../../src/compliance/subjects.js';
import { DIALECTS, freshDatabase } from './databases.js';
import type { Opened } from './databases.js';

const GRANT = { policyVersion: '2026-11', method: 'web-form', collector: 'Example Clinic' };
const CONSENT_BASED: ReadonlySet<Purpose> = new Set(['storage', 'sharing']);

describe.each(DIALECTS)('consent on %s', (kind) => {
  let opened: Opened;
  let consents: Consents;
  let subject: string;

  beforeAll(async () => {
    opened = await freshDatabase(kind);
    const subjects = await Subjects.open(opened.database, newKey());
    subject = (await subjects.ensure('patient-17')).id;
    consents = new Consents(opened.database);
  });
  afterAll(async () => opened.dispose());

  it('refuses a consent-based purpose without consent, with the code and the purpose', async () => {
    await expect(
      consents.require(subject, 'storage', 'contract', CONSENT_BASED),
    ).rejects.toMatchObject({
      code: 'ERR_CONSENT_REQUIRED',
      status: 403,
      value: 'storage',
    });
    // The basis "consent" needs one whatever the purpose.
    await expect(
      consents.require(subject, 'processing', 'consent', CONSENT_BASED),
    ).rejects.toMatchObject({
      code: 'ERR_CONSENT_REQUIRED',
    });
    // Another basis for a purpose that is not consent-based needs none.
    await expect(
      consents.require(subject, 'processing', 'contract', CONSENT_BASED),
    ).resolves.toBeNull();
  });

  it('allows it with a valid consent, and refuses it again once withdrawn', async () => {
    const granted = await consents.grant(subject, { purpose: 'storage', ...GRANT });
    expect(granted).toMatchObject({
      purpose: 'storage',
      policyVersion: '2026-11',
      withdrawnAt: null,
    });
    await expect(consents.require(subject, 'storage', 'consent', CONSENT_BASED)).resolves.toBe(
      granted.id,
    );
    expect(await consents.withdraw(subject, 'storage')).toBe(1);
    await expect(
      consents.require(subject, 'storage', 'consent', CONSENT_BASED),
    ).rejects.toMatchObject({
      code: 'ERR_CONSENT_REQUIRED',
    });
    const history = await consents.list(subject);
    expect(history).toHaveLength(1);
    expect(history[0]?.withdrawnAt).not.toBeNull();
  });

  it('withdraws every purpose at once, and checks what it records', async () => {
    await consents.grant(subject, { purpose: 'sharing', ...GRANT });
    await consents.grant(subject, { purpose: 'keep-metadata', ...GRANT });
    expect(await consents.withdraw(subject)).toBe(2);
    expect(await consents.valid(subject, 'sharing')).toBeNull();
    await expect(
      consents.grant(subject, { purpose: 'marketing' as Purpose, ...GRANT }),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT', value: 'marketing' });
    await expect(
      consents.grant(subject, { purpose: 'storage', ...GRANT, policyVersion: '' }),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
  });
});
