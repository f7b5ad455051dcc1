/**
 * The pipeline a service embeds. `ingest` runs named steps, in order:
 *
 *   detect → limits → subject → restriction → consent → threats → strip → variants →
 *   store → audit
 *
 * Consent, legal basis and restriction are checked before anything reads the person's data
 * beyond its format and size. What is stored as the original is the clean copy; the raw upload
 * is kept (encrypted, as the variant `raw`) only when the purpose is `keep-metadata`, under
 * that consent. Every output is verified by the step that made it. The records of an ingest
 * and its audit entry are committed in one transaction; a refusal at any step stores nothing,
 * and is audited as refused with its code.
 *
 * The other methods are the data-subject rights (history, export, erasure, restriction),
 * consent, retention, key rotation, checkpoints and repair; each is audited.
 */
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, writeSync } from 'node:fs';
import path from 'node:path';
import { detectFormat, requireBytes } from '../detect.js';
import { PixwardenError, pixwardenError } from '../errors.js';
import { inspect } from '../inspect.js';
import { checkFileSize, resolveLimits } from '../limits.js';
import type { Limits } from '../limits.js';
import { checkPolicy } from '../policy.js';
import type { WorkerPool } from '../pool/pool.js';
import { strip } from '../strip.js';
import { transform } from '../transform/transform.js';
import type { VariantSpec } from '../transform/spec.js';
import type { Category, KeepItem, PartRecord, Risk, Source } from '../types.js';
import { AuditTrail, loadSigningKey } from './audit.js';
import type { Checkpoint, Recorder } from './audit.js';
import { BlobStore } from './blobs.js';
import type { ChainVerdict } from './chain.js';
import { Consents, checkBasis, checkPurpose } from './consent.js';
import type { ConsentRecord, Grant, LegalBasis, Purpose } from './consent.js';
import { openDatabase } from './database.js';
import type { Database, ImageTable } from './database.js';
import { eraseSubject } from './erasure.js';
import type { ErasureReport } from './erasure.js';
import { purger } from './hooks.js';
import type { HookOutcome, HookSettings, PurgeHook } from './hooks.js';
import { ImageRegistry } from './images.js';
import type { Repaired, StoredImage } from './images.js';
import { openKeys, rotateKeys } from './keys.js';
import type { Rotation } from './keys.js';
import { sweepRetention } from './retention.js';
import type { SweepReport } from './retention.js';
import { exportSubject, subjectHistory } from './rights.js';
import { openForAppend } from './targets.js';
import type { ExportReport, HistoryEntry } from './rights.js';
import type { Subjects } from './subjects.js';

export interface PipelineConfig {
  /** The data folder. Default `PIXWARDEN_DATA_DIR`, else `./pixwarden-data`. */
  readonly dataDir?: string;
  /** `postgres://…` for PostgreSQL. Default `PIXWARDEN_DATABASE_URL`, else SQLite. */
  readonly databaseUrl?: string;
  /**
   * Purposes that always need consent, whatever the stated basis. Default storage, sharing.
   * `keep-metadata` always needs consent.
   */
  readonly consentPurposes?: readonly Purpose[];
  /** The basis an operation states when the caller gives none. Default `contract`. */
  readonly defaultBasis?: LegalBasis;
  /** Variants made of every image, stored beside the original. Default none. */
  readonly variants?: readonly VariantSpec[];
  /** Days until originals (and raw uploads) expire; null keeps them. Default null. */
  readonly retentionDays?: number | null;
  /** Days until variants expire; default the same as originals. */
  readonly variantRetentionDays?: number | null;
  readonly limits?: Partial<Limits>;
  /** Where pixels are decoded. Default: the shared pool. */
  readonly pool?: WorkerPool;
  /** Who the audit trail names as the actor. Default `service`. */
  readonly actor?: string;
  /** HTTP endpoints told when images are deleted (a CDN's purge API, for instance). */
  readonly purgeHooks?: readonly PurgeHook[];
  readonly hookSettings?: HookSettings;
  /**
   * Signed checkpoints on a schedule: every `every` entries, and every `intervalSeconds`
   * while the pipeline is open (when the head moved), each appended to `file` when given.
   */
  readonly checkpoints?: {
    readonly every?: number | undefined;
    readonly intervalSeconds?: number | undefined;
    readonly file?: string | undefined;
  };
}

export interface IngestRequest {
  /** The caller's id for the person: never stored, never logged. */
  readonly subjectId: string;
  readonly bytes: Uint8Array;
  readonly declaredType?: string;
  /** Default `processing`. `keep-metadata` keeps the raw upload too, encrypted. */
  readonly purpose?: Purpose;
  readonly legalBasis?: LegalBasis;
  /**
   * What the stored original keeps: default orientation and icc. Anything more (copyright)
   * needs keep-metadata consent.
   */
  readonly keep?: readonly KeepItem[];
}

/** What inspect found in the upload, without a single value. */
export interface IngestReport {
  readonly format: string;
  readonly width: number;
  readonly height: number;
  readonly frames: number;
  readonly bytes: number;
  readonly risk: Risk | 'none';
  readonly findings: readonly {
    readonly code: string;
    readonly category: Category;
    readonly source: Source;
    readonly name: string;
    readonly risk: Risk;
  }[];
}

export interface IngestResult {
  readonly imageId: string;
  /** The original (the clean copy), the raw upload when kept, and every variant, as stored. */
  readonly stored: StoredImage[];
  /** What the strip removed, by category and part name. */
  readonly removed: PartRecord[];
  readonly report: IngestReport;
}

export interface Withdrawal {
  /** Valid consents withdrawn. */
  readonly withdrawn: number;
  /** Images with something deleted, and the originals, raw uploads and variants deleted. */
  readonly imagesDeleted: number;
  readonly filesDeleted: number;
  readonly hooks: readonly HookOutcome[];
}

export interface Pipeline {
  ingest(request: IngestRequest): Promise<IngestResult>;
  /** Records a consent for the subject (made now if new). */
  grantConsent(subjectId: string, grant: Grant): Promise<ConsentRecord>;
  /**
   * Withdraws the subject's valid consents for `purpose`, and deletes what was kept only
   * under it: the raw uploads for `keep-metadata`; every stored image for `storage` when
   * storage is consent-based.
   */
  withdrawConsent(subjectId: string, purpose: Purpose): Promise<Withdrawal>;
  /** Every consent record of the subject, oldest first. */
  consentsOf(subjectId: string): Promise<ConsentRecord[]>;
  /** Freezes processing for the subject, or lifts the freeze. */
  restrict(subjectId: string, restricted?: boolean): Promise<void>;
  /** The right of access: every audit entry about the subject. */
  history(subjectId: string): Promise<HistoryEntry[]>;
  /** The right to portability: a zip of everything held about the subject. */
  exportSubject(subjectId: string, file: string, overwrite?: boolean): Promise<ExportReport>;
  /** The right to erasure (see `erasure.ts`). */
  erase(subjectId: string): Promise<ErasureReport>;
  /** Deletes what has expired at `now`. */
  sweepRetention(now?: Date): Promise<SweepReport>;
  /** Seals every key under a new master key (see `keys.ts`). */
  rotateKeys(): Promise<Rotation>;
  /** Signs the head of the trail; appended to `file` (one JSON line) when given. */
  checkpoint(file?: string): Promise<Checkpoint>;
  /** Recomputes the chain against the stored checkpoints and `checkpoints`. */
  verifyAudit(checkpoints?: readonly Checkpoint[]): Promise<ChainVerdict>;
  /** Removes what a crash left (see `ImageRegistry.repair`); audited when it found any. */
  repair(graceMs?: number): Promise<Repaired>;
  /** The data folder: the blobs, the keys and (with SQLite) the database. */
  readonly dataDir: string;
  /** The database the pipeline keeps its records in. */
  readonly database: Database;
  readonly audit: AuditTrail;
  readonly consents: Consents;
  readonly subjects: Subjects;
  readonly images: ImageRegistry;
  close(): Promise<void>;
}

/** The data folder when neither the configuration nor PIXWARDEN_DATA_DIR names one. */
export const DEFAULT_DATA_DIR = './pixwarden-data';

/** Blobs that a crash left are removed by `repair` once they are this old. */
const defaultRepairGraceMs = 10 * 60 * 1000;

const RESERVED_VARIANTS = new Set(['original', 'raw']);

/** Twenty days, below the longest timer Node keeps (about 24.8 days). */
export const MAX_CHECKPOINT_INTERVAL_SECONDS = 20 * 86_400;

/** A hundred years: retention beyond it is keeping. (Dates past the year 9999 would not sort.) */
export const MAX_RETENTION_DAYS = 36_500;

function checkDays(what: string, days: unknown): number | null {
  if (days === null || days === undefined) return null;
  if (typeof days !== 'number' || !(days > 0) || !(days <= MAX_RETENTION_DAYS))
    throw pixwardenError(
      'ERR_INVALID_ARGUMENT',
      `${what} must be a number of days above 0 and at most ${MAX_RETENTION_DAYS}, not ${JSON.stringify(days)}`,
      { value: JSON.stringify(days), limit: MAX_RETENTION_DAYS },
    );
  return days;
}

/** Opens the data folder and database and returns the pipeline. */
export async function createPipeline(config: PipelineConfig = {}): Promise<Pipeline> {
  const dataDir = config.dataDir ?? process.env.PIXWARDEN_DATA_DIR ?? DEFAULT_DATA_DIR;
  const databaseUrl = config.databaseUrl ?? process.env.PIXWARDEN_DATABASE_URL;
  for (const variant of config.variants ?? [])
    if (RESERVED_VARIANTS.has(variant.name))
      throw pixwardenError(
        'ERR_INVALID_ARGUMENT',
        `a stored variant cannot be called "${variant.name}": the name is the pipeline's own`,
      );
  const originalDays = checkDays('retentionDays', config.retentionDays);
  const settings: Settings = {
    consentBased: new Set([
      ...(config.consentPurposes ?? (['storage', 'sharing'] as const)).map(checkPurpose),
      'keep-metadata',
    ]),
    defaultBasis: checkBasis(config.defaultBasis ?? 'contract'),
    variants: config.variants ?? [],
    originalDays,
    variantDays:
      config.variantRetentionDays === undefined
        ? originalDays
        : checkDays('variantRetentionDays', config.variantRetentionDays),
    limits: resolveLimits(config.limits),
    actor: config.actor ?? 'service',
    pool: config.pool,
  };
  const every = config.checkpoints?.every;
  if (every !== undefined && !(Number.isSafeInteger(every) && every > 0))
    throw pixwardenError(
      'ERR_INVALID_ARGUMENT',
      'checkpoints.every must be a whole number above 0',
    );
  const interval = config.checkpoints?.intervalSeconds;
  if (interval !== undefined && !(interval >= 0.1 && interval <= MAX_CHECKPOINT_INTERVAL_SECONDS))
    throw pixwardenError(
      'ERR_INVALID_ARGUMENT',
      `checkpoints.intervalSeconds must be from 0.1 to ${MAX_CHECKPOINT_INTERVAL_SECONDS}, not ${String(interval)}`,
      { value: String(interval), limit: MAX_CHECKPOINT_INTERVAL_SECONDS },
    );
  const database = await openDatabase({ dataDir, databaseUrl });
  let keys;
  try {
    keys = await openKeys(database, dataDir);
  } catch (error: unknown) {
    await database.close();
    throw error;
  }
  const { subjects } = keys;
  let signingKey;
  try {
    // A signing key that went missing is not made anew over checkpoints it signed: every
    // one of them would then look forged.
    if (!existsSync(path.join(dataDir, 'audit-signing.key'))) {
      const signed = await database.db.selectFrom('checkpoints').select('seq').executeTakeFirst();
      if (signed !== undefined)
        throw pixwardenError(
          'ERR_IO',
          `${path.join(dataDir, 'audit-signing.key')} is missing, and the database holds checkpoints it signed: restore it from a backup`,
        );
    }
    signingKey = loadSigningKey(dataDir);
  } catch (error: unknown) {
    await database.close();
    throw error;
  }
  const audit = new AuditTrail(database, signingKey);
  const consents = new Consents(database);
  const blobs = new BlobStore(dataDir);
  const images = new ImageRegistry(database, blobs);
  const checkpointFile = config.checkpoints?.file;

  const checkpoint = async (file = checkpointFile) => {
    // The file is opened first: one that cannot take the line fails before anything is signed.
    const fd = file === undefined ? null : openForAppend(file, dataDir);
    try {
      const made = await audit.checkpoint();
      if (fd !== null) appendLine(fd, file ?? '', JSON.stringify(made));
      return made;
    } finally {
      if (fd !== null) closeSync(fd);
    }
  };
  /** Appends an entry (with `within` in its transaction), and checkpoints on schedule. */
  const record: Recorder = async (entry, within) => {
    const row = await audit.append(entry, within);
    // The work is committed: a checkpoint that cannot be made or written is a warning, not
    // a failure of the work (the checkpoint row may still be in the database).
    if (every !== undefined && row.seq % every === 0)
      await checkpoint().catch((error: unknown) => {
        warnCheckpoint(error);
      });
    return row;
  };
  let lastSigned = 0;
  const timer =
    config.checkpoints?.intervalSeconds === undefined
      ? null
      : setInterval(() => {
          void (async () => {
            const head = await audit.head();
            if (head === null || head.seq === lastSigned) return;
            lastSigned = (await checkpoint()).seq;
          })().catch(warnCheckpoint);
        }, config.checkpoints.intervalSeconds * 1000);
  timer?.unref();

  const parts: Parts = { subjects, consents, images, record };
  const actor = settings.actor;
  const purge = purger(config.purgeHooks ?? [], config.hookSettings, record, actor);

  return {
    dataDir,
    database,
    audit,
    consents,
    subjects,
    images,
    ingest: (request) => ingest(request, parts, settings),
    async grantConsent(subjectId, grant) {
      const subject = await subjects.ensure(subjectId);
      const id = randomUUID();
      let made: ConsentRecord | undefined;
      await record(
        {
          operation: 'consent.grant',
          actor,
          subject: subject.pseudonym,
          purpose: checkPurpose(grant.purpose),
          basis: 'consent',
          consent: id,
          outcome: 'done',
          error: null,
        },
        async (trx) => {
          // An erasure that came meanwhile wins: no consent is left on an erased subject.
          if ((await subjects.live(subject.id, trx)) === 'erased')
            throw pixwardenError(
              'ERR_PROCESSING_RESTRICTED',
              'the subject was erased while the consent was recorded',
            );
          made = await consents.grant(subject.id, { collector: actor, ...grant }, trx, id);
        },
      );
      if (made === undefined) throw pixwardenError('ERR_IO', 'the consent was not recorded');
      return made;
    },
    async withdrawConsent(subjectId, purpose) {
      checkPurpose(purpose);
      const subject = await subjects.find(subjectId);
      if (subject === null) return { withdrawn: 0, imagesDeleted: 0, filesDeleted: 0, hooks: [] };
      let withdrawn = 0;
      let deleted: StoredImage[] = [];
      await record(
        () => ({
          operation: 'consent.withdraw',
          basis: 'legal-obligation',
          actor,
          subject: subject.pseudonym,
          purpose,
          outcome: 'done',
          error: null,
          counts: { withdrawn, files: deleted.length },
        }),
        async (trx) => {
          withdrawn = await consents.withdraw(subject.id, purpose, trx);
          // What was kept only under this consent goes with it: the raw uploads kept under
          // keep-metadata, and everything stored when storage rests on consent.
          const held = await images.list(subject.id, trx);
          deleted =
            purpose === 'keep-metadata'
              ? held.filter((image) => image.variant === 'raw')
              : purpose === 'storage' && settings.consentBased.has('storage')
                ? held
                : [];
          await images.remove(deleted, trx);
        },
      );
      const hooks = await purge(subject.pseudonym, {
        event: 'withdrawal',
        images: deleted.map(({ id, variant }) => ({ id, variant })),
      });
      return {
        withdrawn,
        imagesDeleted: new Set(deleted.map((image) => image.id)).size,
        filesDeleted: deleted.length,
        hooks,
      };
    },
    async consentsOf(subjectId) {
      const subject = await subjects.find(subjectId);
      return subject === null ? [] : consents.list(subject.id);
    },
    async restrict(subjectId, restricted = true) {
      const subject = await subjects.ensure(subjectId);
      await record(
        {
          operation: restricted ? 'subject.restrict' : 'subject.lift',
          basis: 'legal-obligation',
          actor,
          subject: subject.pseudonym,
          outcome: 'done',
          error: null,
        },
        (trx) => subjects.restrict(subject.id, restricted, trx),
      );
    },
    async history(subjectId) {
      const subject = await subjects.find(subjectId);
      if (subject === null) return [];
      const entries = await subjectHistory(audit, subject.pseudonym);
      await record({
        operation: 'subject.access',
        basis: 'legal-obligation',
        actor,
        subject: subject.pseudonym,
        outcome: 'done',
        error: null,
        counts: { entries: entries.length },
      });
      return entries;
    },
    async exportSubject(subjectId, file, overwrite = false) {
      const subject = await subjects.find(subjectId);
      if (subject === null)
        throw pixwardenError('ERR_INPUT_NOT_FOUND', 'there is no subject by that id');
      const report = await exportSubject(
        subject,
        file,
        {
          dataDir,
          images,
          history: await subjectHistory(audit, subject.pseudonym),
          consents: await consents.list(subject.id),
        },
        overwrite,
      );
      await record({
        operation: 'subject.export',
        basis: 'legal-obligation',
        actor,
        subject: subject.pseudonym,
        outcome: 'done',
        error: null,
        counts: { images: report.images, files: report.files.length },
      });
      return report;
    },
    erase: (subjectId) =>
      eraseSubject(subjectId, {
        database,
        subjects,
        consents,
        images,
        blobs,
        record,
        actor,
        purge,
      }),
    sweepRetention: (now = new Date()) =>
      sweepRetention(checkDate(now), {
        images,
        record,
        actor,
        purge,
      }),
    async rotateKeys() {
      const rotation = await rotateKeys(keys, database, dataDir);
      await record({
        operation: 'keys.rotate',
        actor,
        outcome: 'done',
        error: null,
        counts: { subjects: rotation.subjects },
      });
      return rotation;
    },
    checkpoint: (file) => checkpoint(file),
    verifyAudit: (checkpoints = []) => audit.verify(checkpoints),
    async repair(graceMs = defaultRepairGraceMs) {
      return images.repair(graceMs, async (repaired, within) => {
        await record(
          { operation: 'repair', actor, outcome: 'done', error: null, counts: { ...repaired } },
          within,
        );
      });
    },
    async close() {
      if (timer !== null) clearInterval(timer);
      await database.close();
    },
  };
}

function warnCheckpoint(error: unknown): void {
  process.emitWarning(
    `a scheduled audit checkpoint was not made or written: ${error instanceof Error ? error.message : String(error)}`,
    { code: 'PIXWARDEN_CHECKPOINT_FAILED' },
  );
}

function checkDate(now: unknown): Date {
  if (!(now instanceof Date) || Number.isNaN(now.getTime()))
    throw pixwardenError('ERR_INVALID_ARGUMENT', 'the time of a sweep must be a valid Date');
  return now;
}

/** Appends one line to an open file, durably. */
function appendLine(fd: number, file: string, line: string): void {
  try {
    writeSync(fd, `${line}\n`);
    fsyncSync(fd);
  } catch (error: unknown) {
    throw pixwardenError(
      'ERR_IO',
      `${file} could not be written (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
}

interface Parts {
  readonly subjects: Subjects;
  readonly consents: Consents;
  readonly images: ImageRegistry;
  readonly record: Recorder;
}

interface Settings {
  readonly consentBased: ReadonlySet<Purpose>;
  readonly defaultBasis: LegalBasis;
  readonly variants: readonly VariantSpec[];
  readonly originalDays: number | null;
  readonly variantDays: number | null;
  readonly limits: Limits;
  readonly actor: string;
  readonly pool: WorkerPool | undefined;
}

/** The consent (or consents) an operation rested on, as the audit entry holds it. */
const consentField = (ids: readonly string[]) =>
  ids.length === 0 ? null : ids.length === 1 ? (ids[0] ?? null) : [...ids];

const expiry = (days: number | null) =>
  days === null ? null : new Date(Date.now() + days * 86_400_000).toISOString();

async function ingest(
  request: IngestRequest,
  parts: Parts,
  settings: Settings,
): Promise<IngestResult> {
  const purpose = checkPurpose(request.purpose ?? 'processing');
  const basis = checkBasis(request.legalBasis ?? settings.defaultBasis);
  const policy = checkPolicy({ keep: request.keep ?? ['orientation', 'icc'] });
  let pseudonym: string | null = null;
  const relied: string[] = [];
  const prepared: ImageTable[] = [];
  let committed = false;
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
    // The stated purpose; storage, since an ingest stores the images; keep-metadata when
    // the original keeps more than orientation and colour.
    const needed = new Set<Purpose>([purpose, 'storage']);
    if (policy.keep.some((item) => item !== 'orientation' && item !== 'icc'))
      needed.add('keep-metadata');
    for (const each of needed) {
      const id = await parts.consents.require(subject.id, each, basis, settings.consentBased);
      if (id !== null) relied.push(id);
    }
    // threats: inspect reports them (the report keeps no values); the strip removes what
    // carries them
    const options = {
      limits: settings.limits,
      ...(request.declaredType === undefined ? {} : { declaredType: request.declaredType }),
      ...(settings.pool === undefined ? {} : { pool: settings.pool }),
    };
    // The thumbnails are not decoded for a comparison: the strip removes them whatever
    // they show.
    const inspected = await inspect(request.bytes, { ...options, compareThumbnails: false });
    const report: IngestReport = {
      format: inspected.format,
      width: inspected.width,
      height: inspected.height,
      frames: inspected.frames,
      bytes: inspected.bytes,
      risk: inspected.risk,
      findings: inspected.findings.map(({ code, category, source, name, risk }) => ({
        code,
        category,
        source,
        name,
        risk,
      })),
    };
    // strip, variants
    const clean = await strip(request.bytes, policy, options);
    const variants =
      settings.variants.length === 0
        ? []
        : (await transform(clean.bytes, { ...options, variants: settings.variants })).outputs;
    // store: every blob written, then every record with the audit entry in one transaction
    const original = await parts.images.prepare(subject, {
      variant: 'original',
      format,
      width: clean.width,
      height: clean.height,
      bytes: clean.bytes,
      expiresAt: expiry(settings.originalDays),
    });
    prepared.push(original);
    const id = original.id;
    if (purpose === 'keep-metadata')
      prepared.push(
        await parts.images.prepare(subject, {
          id,
          variant: 'raw',
          format,
          width: clean.width,
          height: clean.height,
          bytes: request.bytes,
          expiresAt: expiry(settings.originalDays),
        }),
      );
    for (const output of variants)
      prepared.push(
        await parts.images.prepare(subject, {
          id,
          variant: output.variant ?? 'variant',
          format: output.format,
          width: output.width,
          height: output.height,
          bytes: output.bytes,
          expiresAt: expiry(settings.variantDays),
        }),
      );
    const stripped: Record<string, number> = {};
    for (const part of clean.removed) stripped[part.category] = (stripped[part.category] ?? 0) + 1;
    let stored: StoredImage[] = [];
    await parts.record(
      {
        operation: 'ingest',
        actor: settings.actor,
        subject: pseudonym,
        purpose,
        image: id,
        formats: prepared.map((row) => row.format),
        stripped,
        basis,
        consent: consentField(relied),
        outcome: 'done',
        error: null,
        counts: { variants: prepared.length, findings: report.findings.length },
      },
      async (trx) => {
        // Checked again as the only writer: an erasure, a restriction or a withdrawal that
        // came while the image was processed wins, and nothing is stored.
        const state = await parts.subjects.live(subject.id, trx);
        if (state !== 'live')
          throw pixwardenError(
            'ERR_PROCESSING_RESTRICTED',
            state === 'erased'
              ? 'the subject was erased while the image was processed'
              : 'processing was restricted while the image was processed',
          );
        for (const each of needed)
          await parts.consents.require(subject.id, each, basis, settings.consentBased, trx);
        stored = await parts.images.record(trx, prepared);
      },
    );
    committed = true;
    return { imageId: id, stored, removed: clean.removed, report };
  } catch (error: unknown) {
    if (committed) throw error;
    // A refusal stores nothing: the blobs written before it go again.
    parts.images.discard(prepared);
    // Refused before the subject was looked up (the format, the size): an existing subject
    // still sees the refusal in their history.
    pseudonym ??= await parts.subjects
      .find(request.subjectId)
      .then((subject) => subject?.pseudonym ?? null)
      .catch(() => null);
    await parts.record({
      operation: 'ingest',
      actor: settings.actor,
      subject: pseudonym,
      purpose,
      basis,
      consent: consentField(relied),
      outcome: 'refused',
      error: error instanceof PixwardenError ? error.code : 'uncoded',
    });
    throw error;
  }
}
