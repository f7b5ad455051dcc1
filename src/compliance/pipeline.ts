/**
 * The pipeline a service embeds. `ingest` runs named steps, in order:
 *
 *   detect → limits → subject → restriction → consent → threats → strip → variants →
 *   store → audit
 *
 * Consent, legal basis and restriction are checked before anything reads the person's data
 * beyond its format and size. What is stored as the original is the clean copy; every output
 * is verified by the step that made it. A refusal at any step stores nothing, and is audited as
 * refused with its code.
 */
import { detectFormat, requireBytes } from '../detect.js';
import { PixwardenError, pixwardenError } from '../errors.js';
import { inspect } from '../inspect.js';
import { checkFileSize, resolveLimits } from '../limits.js';
import type { Limits } from '../limits.js';
import type { WorkerPool } from '../pool/pool.js';
import { strip } from '../strip.js';
import { transform } from '../transform/transform.js';
import type { VariantSpec } from '../transform/spec.js';
import { AuditTrail, loadSigningKey } from './audit.js';
import { BlobStore } from './blobs.js';
import { Consents, checkBasis, checkPurpose } from './consent.js';
import type { LegalBasis, Purpose } from './consent.js';
import { loadMasterKey } from './crypto.js';
import { openDatabase } from './database.js';
import type { Database } from './database.js';
import { eraseSubject } from './erasure.js';
import type { ErasureReport } from './erasure.js';
import { ImageRegistry } from './images.js';
import type { StoredImage } from './images.js';
import { Subjects } from './subjects.js';

export interface PipelineConfig {
  /** The data folder. Default `PIXWARDEN_DATA_DIR`, else `./pixwarden-data`. */
  readonly dataDir?: string;
  /** `postgres://…` for PostgreSQL. Default `PIXWARDEN_DATABASE_URL`, else SQLite. */
  readonly databaseUrl?: string;
  /** Purposes that always need consent, whatever the stated basis. Default storage, sharing. */
  readonly consentPurposes?: readonly Purpose[];
  /** The basis an operation states when the caller gives none. Default `contract`. */
  readonly defaultBasis?: LegalBasis;
  /** Variants made of every image, stored beside the original. Default none. */
  readonly variants?: readonly VariantSpec[];
  /** Days until originals and variants expire; null keeps them. Default null. */
  readonly retentionDays?: number | null;
  readonly limits?: Partial<Limits>;
  /** Where pixels are decoded. Default: the shared pool. */
  readonly pool?: WorkerPool;
  /** Who the audit trail names as the actor. Default `service`. */
  readonly actor?: string;
}

export interface IngestRequest {
  /** The caller's id for the person: never stored, never logged. */
  readonly subjectId: string;
  readonly bytes: Uint8Array;
  readonly declaredType?: string;
  /** Default `processing`. */
  readonly purpose?: Purpose;
  readonly legalBasis?: LegalBasis;
}

export interface IngestResult {
  readonly imageId: string;
  /** The original (the clean copy) and every variant, as stored. */
  readonly stored: StoredImage[];
  /** What the input held, by category and part name, without values. */
  readonly removed: { category: string; name: string; bytes: number }[];
}

export interface Pipeline {
  ingest(request: IngestRequest): Promise<IngestResult>;
  /** Erases the subject the caller calls `subjectId` (see `erasure.ts`). */
  erase(subjectId: string): Promise<ErasureReport>;
  /** The database the pipeline keeps its records in. */
  readonly database: Database;
  readonly audit: AuditTrail;
  readonly consents: Consents;
  readonly subjects: Subjects;
  readonly images: ImageRegistry;
  close(): Promise<void>;
}

/** Opens the data folder and database and returns the pipeline. */
export async function createPipeline(config: PipelineConfig = {}): Promise<Pipeline> {
  const dataDir = config.dataDir ?? process.env.PIXWARDEN_DATA_DIR ?? './pixwarden-data';
  const databaseUrl = config.databaseUrl ?? process.env.PIXWARDEN_DATABASE_URL;
  const database = await openDatabase({ dataDir, databaseUrl });
  const subjects = await Subjects.open(database, loadMasterKey(dataDir));
  const audit = new AuditTrail(database, loadSigningKey(dataDir));
  const consents = new Consents(database);
  const blobs = new BlobStore(dataDir);
  const images = new ImageRegistry(database, blobs);
  const settings = {
    consentBased: new Set(config.consentPurposes ?? (['storage', 'sharing'] as const)),
    defaultBasis: checkBasis(config.defaultBasis ?? 'contract'),
    variants: config.variants ?? [],
    retentionDays: config.retentionDays ?? null,
    limits: resolveLimits(config.limits),
    actor: config.actor ?? 'service',
    pool: config.pool,
  };
  return {
    database,
    audit,
    consents,
    subjects,
    images,
    ingest: (request) => ingest(request, { database, subjects, audit, consents, images }, settings),
    erase: (subjectId) =>
      eraseSubject(subjectId, {
        database,
        subjects,
        consents,
        images,
        blobs,
        audit,
        actor: settings.actor,
      }),
    close: () => database.close(),
  };
}

interface Parts {
  readonly database: Database;
  readonly subjects: Subjects;
  readonly audit: AuditTrail;
  readonly consents: Consents;
  readonly images: ImageRegistry;
}

interface Settings {
  readonly consentBased: ReadonlySet<Purpose>;
  readonly defaultBasis: LegalBasis;
  readonly variants: readonly VariantSpec[];
  readonly retentionDays: number | null;
  readonly limits: Limits;
  readonly actor: string;
  readonly pool: WorkerPool | undefined;
}

async function ingest(
  request: IngestRequest,
  parts: Parts,
  settings: Settings,
): Promise<IngestResult> {
  const purpose = checkPurpose(request.purpose ?? 'processing');
  const basis = checkBasis(request.legalBasis ?? settings.defaultBasis);
  let pseudonym: string | null = null;
  let consent: string | null = null;
  const stored: StoredImage[] = [];
  try {
    // detect, limits
    requireBytes(request.bytes);
    checkFileSize(request.bytes.length, settings.limits.maxFileBytes);
    const format = await detectFormat(request.bytes);
    // subject, restriction, consent: before anything reads the person's data
    const subject = await parts.subjects.ensure(request.subjectId);
    pseudonym = subject.pseudonym;
    if (subject.restricted)
      throw pixwardenError('ERR_PROCESSING_RESTRICTED', 'processing is restricted for the subject');
    // The stated purpose, and storage, since an ingest stores the images.
    for (const needed of new Set<Purpose>([purpose, 'storage'])) {
      const id = await parts.consents.require(subject.id, needed, basis, settings.consentBased);
      consent ??= id;
    }
    // threats: inspect reports them; the strip removes what carries them
    const options = {
      limits: settings.limits,
      ...(request.declaredType === undefined ? {} : { declaredType: request.declaredType }),
      ...(settings.pool === undefined ? {} : { pool: settings.pool }),
    };
    await inspect(request.bytes, options);
    // strip, variants
    const clean = await strip(request.bytes, undefined, options);
    const variants =
      settings.variants.length === 0
        ? []
        : (await transform(clean.bytes, { ...options, variants: settings.variants })).outputs;
    // store
    const expiresAt =
      settings.retentionDays === null
        ? null
        : new Date(Date.now() + settings.retentionDays * 86_400_000).toISOString();
    const original = await parts.images.store(subject, {
      variant: 'original',
      format,
      width: clean.width,
      height: clean.height,
      bytes: clean.bytes,
      expiresAt,
    });
    stored.push(original);
    for (const output of variants) {
      stored.push(
        await parts.images.store(subject, {
          id: original.id,
          variant: output.variant ?? 'variant',
          format: output.format,
          width: output.width,
          height: output.height,
          bytes: output.bytes,
          expiresAt,
        }),
      );
    }
    // audit
    const stripped: Record<string, number> = {};
    for (const part of clean.removed) stripped[part.category] = (stripped[part.category] ?? 0) + 1;
    await parts.audit.append({
      operation: 'ingest',
      actor: settings.actor,
      subject: pseudonym,
      image: original.id,
      formats: stored.map((image) => image.format),
      stripped,
      basis,
      consent,
      outcome: 'done',
      error: null,
    });
    return { imageId: original.id, stored, removed: clean.removed };
  } catch (error: unknown) {
    // A refusal stores nothing: what was stored before it goes again.
    await parts.images.remove(stored);
    await parts.audit.append({
      operation: 'ingest',
      actor: settings.actor,
      subject: pseudonym,
      basis,
      consent,
      outcome: 'refused',
      error: error instanceof PixwardenError ? error.code : 'uncoded',
    });
    throw error;
  }
}
