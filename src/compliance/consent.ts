/**
 * Consent and legal basis. A consent record is per subject and purpose, with the version of
 * the policy the person agreed to, when it was granted and withdrawn, how it was collected and
 * by whom (the fields of a consent receipt, after Kantara's specification and ISO/IEC 27560).
 * Every operation states its legal basis; one whose purpose is configured as consent-based, or
 * whose basis is consent, is refused without a valid consent. Withdrawal stops any later
 * processing for that purpose.
 */
import { randomUUID } from 'node:crypto';
import { pixwardenError } from '../errors.js';
import type { Kysely } from 'kysely';
import type { ConsentTable, Database, Tables } from './database.js';

export const PURPOSES = ['processing', 'keep-metadata', 'storage', 'sharing'] as const;
export type Purpose = (typeof PURPOSES)[number];

export const LEGAL_BASES = [
  'consent',
  'contract',
  'legal-obligation',
  'vital-interest',
  'public-task',
  'legitimate-interest',
] as const;
export type LegalBasis = (typeof LEGAL_BASES)[number];

export interface ConsentRecord {
  readonly id: string;
  readonly purpose: Purpose;
  readonly policyVersion: string;
  readonly grantedAt: string;
  readonly withdrawnAt: string | null;
  /** How it was collected: `web-form`, `paper`, `api`, … */
  readonly method: string;
  /** Who collected it (the controller), as the caller names it. */
  readonly collector: string;
}

export interface Grant {
  readonly purpose: Purpose;
  readonly policyVersion: string;
  /** How it was collected. Default `api`. */
  readonly method?: string;
  /** Who collected it. Default: the pipeline's actor. */
  readonly collector?: string;
}

function oneOf<T extends string>(what: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value))
    return value as T;
  throw pixwardenError(
    'ERR_INVALID_ARGUMENT',
    `${what} must be one of ${allowed.join(', ')}, not ${JSON.stringify(value)}`,
    { value: String(value) },
  );
}

/** @throws ERR_INVALID_ARGUMENT for a purpose not in `PURPOSES`. */
export function checkPurpose(purpose: unknown): Purpose {
  return oneOf('a purpose', purpose, PURPOSES);
}

/** @throws ERR_INVALID_ARGUMENT for a basis not in `LEGAL_BASES`. */
export function checkBasis(basis: unknown): LegalBasis {
  return oneOf('a legal basis', basis, LEGAL_BASES);
}

function shortText(what: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > 200)
    throw pixwardenError('ERR_INVALID_ARGUMENT', `${what} must be a text of 1–200 characters`);
  return value;
}

export class Consents {
  constructor(private readonly database: Database) {}

  /**
   * Records a consent (in `trx` when given, under `id` when given); an earlier valid one for
   * the purpose stays valid beside it.
   */
  async grant(
    subjectId: string,
    grant: Grant,
    trx?: Kysely<Tables>,
    id: string = randomUUID(),
  ): Promise<ConsentRecord> {
    const record: ConsentRecord = {
      id,
      purpose: checkPurpose(grant.purpose),
      policyVersion: shortText('the policy version', grant.policyVersion),
      grantedAt: new Date().toISOString(),
      withdrawnAt: null,
      method: shortText('how consent was collected', grant.method ?? 'api'),
      collector: shortText('who collected consent', grant.collector ?? 'service'),
    };
    await (trx ?? this.database.db)
      .insertInto('consents')
      .values({
        id: record.id,
        subject_id: subjectId,
        purpose: record.purpose,
        policy_version: record.policyVersion,
        granted_at: record.grantedAt,
        withdrawn_at: null,
        method: record.method,
        collector: record.collector,
      })
      .execute();
    return record;
  }

  /**
   * Withdraws every valid consent of the subject for `purpose`, or for every purpose (at
   * erasure) when none is named; how many there were. In `trx` when given.
   */
  async withdraw(subjectId: string, purpose?: Purpose, trx?: Kysely<Tables>): Promise<number> {
    let query = (trx ?? this.database.db)
      .updateTable('consents')
      .set({ withdrawn_at: new Date().toISOString() })
      .where('subject_id', '=', subjectId)
      .where('withdrawn_at', 'is', null);
    if (purpose !== undefined) query = query.where('purpose', '=', checkPurpose(purpose));
    const result = await query.executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /**
   * Deletes every consent record of the subject (at erasure, after withdrawing them: the audit
   * trail keeps what was granted and withdrawn, by consent id); how many there were.
   */
  async erase(subjectId: string, trx: Kysely<Tables>): Promise<number> {
    const result = await trx
      .deleteFrom('consents')
      .where('subject_id', '=', subjectId)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /** The newest valid consent of the subject for `purpose`, or null (in `trx` when given). */
  async valid(
    subjectId: string,
    purpose: Purpose,
    trx?: Kysely<Tables>,
  ): Promise<ConsentRecord | null> {
    const row = await (trx ?? this.database.db)
      .selectFrom('consents')
      .selectAll()
      .where('subject_id', '=', subjectId)
      .where('purpose', '=', checkPurpose(purpose))
      .where('withdrawn_at', 'is', null)
      .orderBy('granted_at', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row === undefined ? null : toRecord(row);
  }

  /** Every consent of the subject, oldest first. */
  async list(subjectId: string): Promise<ConsentRecord[]> {
    const rows = await this.database.db
      .selectFrom('consents')
      .selectAll()
      .where('subject_id', '=', subjectId)
      .orderBy('granted_at')
      .execute();
    return rows.map(toRecord);
  }

  /**
   * The consent an operation rests on, checked: with the basis `consent`, or a purpose that is
   * configured as consent-based, a valid consent for the purpose must exist.
   * @returns the consent's id, or null when the operation rests on another basis.
   * @throws ERR_CONSENT_REQUIRED naming the purpose.
   */
  async require(
    subjectId: string,
    purpose: Purpose,
    basis: LegalBasis,
    consentBased: ReadonlySet<Purpose>,
    trx?: Kysely<Tables>,
  ): Promise<string | null> {
    if (basis !== 'consent' && !consentBased.has(purpose)) return null;
    const consent = await this.valid(subjectId, purpose, trx);
    if (consent === null)
      throw pixwardenError(
        'ERR_CONSENT_REQUIRED',
        `the purpose "${purpose}" needs consent, and the subject has no valid consent for it`,
        { value: purpose },
      );
    return consent.id;
  }
}

function toRecord(row: ConsentTable): ConsentRecord {
  return {
    id: row.id,
    purpose: checkPurpose(row.purpose),
    policyVersion: row.policy_version,
    grantedAt: row.granted_at,
    withdrawnAt: row.withdrawn_at,
    method: row.method,
    collector: row.collector,
  };
}
