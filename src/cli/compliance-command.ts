/**
 * The compliance commands: `ingest`, `consent`, `subject`, `audit`, `keys`, `retention` and
 * `repair`. Each opens the pipeline on the data folder (PIXWARDEN_DATA_DIR, else the
 * configuration's `compliance.dataDir`, else ./pixwarden-data) or the database
 * (PIXWARDEN_DATABASE_URL, else `compliance.databaseUrl`), does one thing, and closes it.
 * Exit codes: 0 done, 1 refused or failed (a broken audit trail, a purge hook that never
 * accepted), 2 a usage error.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { ParseArgsConfig } from 'node:util';
import { PixwardenError, pixwardenError } from '../errors.js';
import { loadConfig } from '../config.js';
import type { ComplianceConfig } from '../config.js';
import { parseCheckpoints } from '../compliance/audit.js';
import { LEGAL_BASES, PURPOSES } from '../compliance/consent.js';
import type { LegalBasis, Purpose } from '../compliance/consent.js';
import { isPostgresUrl } from '../compliance/database.js';
import { DEFAULT_DATA_DIR, createPipeline } from '../compliance/pipeline.js';
import type { Pipeline } from '../compliance/pipeline.js';
import { parseKeepList } from '../policy.js';
import { UsageError, parse } from './args.js';
import type { COMPLIANCE_COMMANDS } from './compliance-list.js';
import { displayPath } from './clean-file.js';
import { readInput } from './files.js';
import { errorJson } from './inspect-command.js';
import { printable } from './summary.js';
import { StopSignal } from './stop.js';
import { walk } from './walk.js';
import type { Limits } from '../limits.js';

const EXIT_OK = 0;
const EXIT_FAILED = 1;

const DATA_HELP = `Data: the folder PIXWARDEN_DATA_DIR (else the configuration's compliance.dataDir, else
./pixwarden-data) holds the SQLite database, the encrypted blobs and the keys;
PIXWARDEN_DATABASE_URL=postgres://… keeps the records in PostgreSQL instead.
PIXWARDEN_MASTER_KEY (32 bytes, hex or base64) replaces the key file master.key.
--config FILE (or PIXWARDEN_CONFIG) reads the "compliance" section of a configuration file.
`;

const HELPS: Record<(typeof COMPLIANCE_COMMANDS)[number], string> = {
  ingest: `Usage: pixwarden ingest <path...> --subject ID [options]

Check the subject's restriction and consent, clean each file (metadata removed, the stored
variants made), store it encrypted and audit it. A path is a file, a folder (walked) or - for
standard input. The stored original is the clean copy; with
--purpose keep-metadata the raw upload is kept too (encrypted), which needs that consent.

Options:
  --subject ID     the person the photos belong to (your id for them; never stored)
  --purpose P      ${PURPOSES.join(', ')} (default processing)
  --basis B        the legal basis: ${LEGAL_BASES.join(', ')}
                   (default: the configuration's, else contract)
  --keep LIST      what the stored original keeps: orientation, icc, copyright, or none
                   (default orientation,icc; copyright needs keep-metadata consent)
  --config FILE    configuration file (variants to store, retention, consent purposes)
  --json           print one JSON array, one object per file
  -h, --help       show this help

${DATA_HELP}`,
  consent: `Usage: pixwarden consent grant|withdraw|show --subject ID [options]

Options:
  --subject ID     the person
  --purpose P      ${PURPOSES.join(', ')} (needed for grant and withdraw)
  --policy V       grant: the version of the policy the person agreed to (needed)
  --method M       grant: how consent was collected (default cli)
  --collector C    grant: who collected it (default: the configured actor, else cli)
  --config FILE    configuration file
  --json           print JSON
  -h, --help       show this help

${DATA_HELP}`,
  subject: `Usage: pixwarden subject history|export|erase|restrict <ID> [options]

  history <ID>              every audit entry about the subject (the right of access)
  export <ID> -o FILE       a zip of the subject's images (decrypted), consents, history and a
                            manifest of SHA-256 hashes; written atomically, mode 0600
  erase <ID>                delete every image, withdraw every consent, destroy the key, tell
                            the purge hooks, and scan that nothing is left
  restrict <ID> [--lift]    freeze processing for the subject (or lift the freeze)

Options:
  -o, --output FILE   export: the zip to write
  --overwrite         export: replace FILE if it exists
  --lift              restrict: lift the restriction
  --config FILE       configuration file
  --json              print JSON
  -h, --help          show this help

${DATA_HELP}`,
  audit: `Usage: pixwarden audit verify|checkpoint|export [options]

  verify       recompute the hash chain and check the checkpoints; exit 1 at a break, naming
               the first entry where it breaks
  checkpoint   sign the head of the trail (Ed25519) and print it, or append it to -o FILE;
               keep that file elsewhere: only it shows a tail that was cut off
  export       write every entry (seq, prevHash, hash, content) as JSON lines, to -o FILE or
               standard output; hash = SHA-256 of "<seq>\\n<prevHash>\\n<content>"

Options:
  --checkpoints FILE   verify: checkpoints kept elsewhere (one JSON line each; default the
                       configured compliance.checkpoints.file, when it exists)
  -o, --output FILE    checkpoint: the file to append to; export: the file to write
  --overwrite          export: replace FILE if it exists
  --config FILE        configuration file
  --json               print JSON
  -h, --help           show this help

${DATA_HELP}`,
  keys: `Usage: pixwarden keys rotate [--config FILE] [--json]

Seal the lookup key and every subject key under a new master key; blobs are not rewritten.
With the key file master.key, a new key replaces it. With PIXWARDEN_MASTER_KEY, give the new
key in PIXWARDEN_NEW_MASTER_KEY, and set PIXWARDEN_MASTER_KEY to it afterwards.

${DATA_HELP}`,
  retention: `Usage: pixwarden retention sweep [--config FILE] [--json]

Delete every original and variant whose retention (compliance.retentionDays,
compliance.variantRetentionDays) has run out, audit it and tell the purge hooks.

${DATA_HELP}`,
  repair: `Usage: pixwarden repair [--config FILE] [--json]

Remove what a crash can leave: blobs that no record names (older than ten minutes, so that
another process's ingest in flight is left alone), unfinished temporary files, and records
whose blob is gone. Audited when anything was removed.

${DATA_HELP}`,
};

const COMMON = {
  json: { type: 'boolean' },
  config: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

const OPTIONS = {
  ingest: {
    ...COMMON,
    subject: { type: 'string' },
    purpose: { type: 'string' },
    basis: { type: 'string' },
    keep: { type: 'string' },
  },
  consent: {
    ...COMMON,
    subject: { type: 'string' },
    purpose: { type: 'string' },
    policy: { type: 'string' },
    method: { type: 'string' },
    collector: { type: 'string' },
  },
  subject: {
    ...COMMON,
    output: { type: 'string', short: 'o' },
    overwrite: { type: 'boolean' },
    lift: { type: 'boolean' },
  },
  audit: {
    ...COMMON,
    checkpoints: { type: 'string' },
    output: { type: 'string', short: 'o' },
    overwrite: { type: 'boolean' },
  },
  keys: COMMON,
  retention: COMMON,
  repair: COMMON,
} as const satisfies Record<string, ParseArgsConfig['options']>;

const ACTIONS: Record<(typeof COMPLIANCE_COMMANDS)[number], readonly string[] | null> = {
  ingest: null,
  consent: ['grant', 'withdraw', 'show'],
  subject: ['history', 'export', 'erase', 'restrict'],
  audit: ['verify', 'checkpoint', 'export'],
  keys: ['rotate'],
  retention: ['sweep'],
  repair: null,
};

type Values = Partial<Record<string, string | boolean>>;

function choice<T extends string>(flag: string, text: unknown, allowed: readonly T[]): T {
  if (typeof text === 'string' && (allowed as readonly string[]).includes(text)) return text as T;
  throw new UsageError(`${flag} takes ${allowed.join(', ')}, not "${String(text)}"`);
}

function needed(flag: string, text: unknown, why: string): string {
  if (typeof text !== 'string' || text === '') throw new UsageError(`${why} needs ${flag}`);
  return text;
}

/**
 * A subject id from the command line. Node reads arguments as UTF-8 and turns bytes that are
 * not into U+FFFD, so two different ids could arrive as one: such an id is refused.
 */
function subjectArgument(text: string): string {
  if (text.includes('\uFFFD'))
    throw new UsageError(
      'the subject id is not valid UTF-8 (or holds U+FFFD): give it as UTF-8 text',
    );
  return text;
}

/**
 * Runs one compliance command; `limits` are the CLI's (flags and PIXWARDEN_* variables). With
 * `--json`, a refusal of the whole command is also printed as `{ "error": { code, message } }`.
 */
export async function runCompliance(
  command: (typeof COMPLIANCE_COMMANDS)[number],
  args: string[],
  limits: Limits,
): Promise<number> {
  try {
    return await runCommand(command, args, limits);
  } catch (error: unknown) {
    if (error instanceof PixwardenError && args.includes('--json'))
      print({ error: error.toJSON() });
    throw error;
  }
}

async function runCommand(
  command: (typeof COMPLIANCE_COMMANDS)[number],
  args: string[],
  limits: Limits,
): Promise<number> {
  const { values, positionals } = parse(args, OPTIONS[command]) as {
    values: Values;
    positionals: string[];
  };
  if (values.help === true) {
    process.stdout.write(HELPS[command]);
    return EXIT_OK;
  }
  const actions = ACTIONS[command];
  let action: string | null = null;
  if (actions !== null) {
    action = positionals.shift() ?? null;
    if (action === null || !actions.includes(action))
      throw new UsageError(
        `${command} takes one of ${actions.join(', ')}${action === null ? '' : `, not "${action}"`}`,
      );
  }
  const json = values.json === true;
  const configFile =
    typeof values.config === 'string' ? values.config : (process.env.PIXWARDEN_CONFIG ?? null);
  const config = loadConfig(configFile);
  const settings = config.compliance;
  const stored = (settings.variants ?? []).map((name) => {
    const spec = config.variants.find((variant) => variant.name === name);
    if (spec === undefined)
      throw new UsageError(
        `the configuration stores a variant "${name}" that neither it nor the built-in ones define`,
      );
    return spec;
  });
  // Checked before the data folder is opened: a usage error changes nothing.
  const run = plan(command, action, positionals, values, json, limits.maxFileBytes, settings);
  const dataDir = process.env.PIXWARDEN_DATA_DIR ?? settings.dataDir ?? DEFAULT_DATA_DIR;
  const databaseUrl = process.env.PIXWARDEN_DATABASE_URL ?? settings.databaseUrl;
  // Only what records something new may make a store; the others, pointed at a folder that
  // holds none (a typo, a missing variable), would answer from an empty one.
  const makes = command === 'ingest' || (command === 'consent' && action === 'grant');
  if (databaseUrl !== undefined && databaseUrl !== '' && !isPostgresUrl(databaseUrl))
    throw pixwardenError(
      'ERR_INVALID_ARGUMENT',
      'PIXWARDEN_DATABASE_URL must be a postgres:// (or postgresql://) URL; leave it unset for SQLite in the data folder',
    );
  const holds =
    databaseUrl === undefined || databaseUrl === ''
      ? existsSync(path.join(dataDir, 'pixwarden.db'))
      : // With PostgreSQL the folder holds the keys: without them, a store would be made.
        existsSync(path.join(dataDir, 'master.key')) ||
        (process.env.PIXWARDEN_MASTER_KEY ?? '') !== '';
  if (!makes && !holds)
    throw pixwardenError(
      'ERR_INPUT_NOT_FOUND',
      `there is no pixwarden data in ${dataDir} (set PIXWARDEN_DATA_DIR, or compliance.dataDir in the configuration)`,
    );
  // Ctrl-C (or SIGTERM) stops an ingest between two files, the one in hand stored or refused
  // whole; only an ingest has such a place to stop, and the other commands end at once.
  const stop = new StopSignal();
  const release = command === 'ingest' ? stop.listen() : () => undefined;
  const pipeline = await createPipeline({
    ...(settings.dataDir === undefined || process.env.PIXWARDEN_DATA_DIR !== undefined
      ? {}
      : { dataDir: settings.dataDir }),
    ...(settings.databaseUrl === undefined || process.env.PIXWARDEN_DATABASE_URL !== undefined
      ? {}
      : { databaseUrl: settings.databaseUrl }),
    ...(settings.consentPurposes === undefined
      ? {}
      : { consentPurposes: settings.consentPurposes }),
    ...(settings.defaultBasis === undefined ? {} : { defaultBasis: settings.defaultBasis }),
    ...(settings.retentionDays === undefined ? {} : { retentionDays: settings.retentionDays }),
    ...(settings.variantRetentionDays === undefined
      ? {}
      : { variantRetentionDays: settings.variantRetentionDays }),
    ...(settings.purgeHooks === undefined ? {} : { purgeHooks: settings.purgeHooks }),
    ...(settings.hookSettings === undefined ? {} : { hookSettings: settings.hookSettings }),
    ...(settings.checkpoints === undefined ? {} : { checkpoints: settings.checkpoints }),
    variants: stored,
    limits,
    actor: settings.actor ?? 'cli',
  });
  try {
    return await run(pipeline, settings.actor ?? 'cli', stop);
  } catch (error: unknown) {
    // The database's own errors (busy past the wait, a damaged file) get a code too.
    if (
      error instanceof Error &&
      /^SQLITE_|^[0-9A-Z]{5}$/.test((error as { code?: string }).code ?? '')
    )
      throw pixwardenError('ERR_IO', `the database: ${error.message}`);
    throw error;
  } finally {
    release();
    await pipeline.close();
  }
}

type Run = (pipeline: Pipeline, actor: string, stop: StopSignal) => Promise<number>;

/** Checks the arguments of a command and returns what runs it. */
function plan(
  command: (typeof COMPLIANCE_COMMANDS)[number],
  action: string | null,
  positionals: string[],
  values: Values,
  json: boolean,
  maxFileBytes: number,
  settings: ComplianceConfig,
): Run {
  const noMore = () => {
    if (positionals.length > 0)
      throw new UsageError(`unexpected argument "${positionals[0] ?? ''}"`);
  };
  switch (command) {
    case 'ingest': {
      if (positionals.length === 0) throw new UsageError('ingest needs at least one file');
      const subject = subjectArgument(needed('--subject ID', values.subject, 'ingest'));
      const purpose =
        values.purpose === undefined ? undefined : choice('--purpose', values.purpose, PURPOSES);
      const basis =
        values.basis === undefined ? undefined : choice('--basis', values.basis, LEGAL_BASES);
      const keep = typeof values.keep === 'string' ? parseKeepList(values.keep).keep : undefined;
      return (pipeline, _actor, stop) =>
        ingestFiles(
          pipeline,
          positionals,
          { subject, purpose, basis, keep, json, maxFileBytes },
          stop,
        );
    }
    case 'consent': {
      noMore();
      const subject = subjectArgument(
        needed('--subject ID', values.subject, `consent ${action ?? ''}`),
      );
      if (action === 'show') {
        const purpose =
          values.purpose === undefined ? null : choice('--purpose', values.purpose, PURPOSES);
        return async (pipeline) => {
          const records = (await pipeline.consentsOf(subject)).filter(
            (record) => purpose === null || record.purpose === purpose,
          );
          if (json) print(records);
          else if (records.length === 0) process.stdout.write('no consent on record\n');
          else
            for (const record of records)
              process.stdout.write(
                `${record.purpose}: ${record.withdrawnAt === null ? 'valid' : `withdrawn ${record.withdrawnAt}`}, granted ${record.grantedAt}, policy ${printable(record.policyVersion)}, by ${printable(record.method)} (${printable(record.collector)}), id ${record.id}\n`,
              );
          return EXIT_OK;
        };
      }
      const purpose = choice(
        '--purpose',
        needed('--purpose P', values.purpose, `consent ${action ?? ''}`),
        PURPOSES,
      );
      if (action === 'withdraw')
        return async (pipeline) => {
          const result = await pipeline.withdrawConsent(subject, purpose);
          const failed = result.hooks.filter((hook) => !hook.ok).length;
          if (json) print({ purpose, ...result });
          else
            process.stdout.write(
              `${purpose}: ${result.withdrawn} consent(s) withdrawn${result.filesDeleted > 0 ? `; ${result.filesDeleted} stored file(s) of ${result.imagesDeleted} image(s) kept under it deleted` : ''}${failed > 0 ? `; ${failed} purge hook(s) failed` : ''}\n`,
            );
          return failed === 0 ? EXIT_OK : EXIT_FAILED;
        };
      const policyVersion = needed('--policy V', values.policy, 'consent grant');
      return async (pipeline, actor) => {
        const record = await pipeline.grantConsent(subject, {
          purpose,
          policyVersion,
          method: typeof values.method === 'string' ? values.method : 'cli',
          collector: typeof values.collector === 'string' ? values.collector : actor,
        });
        if (json) print(record);
        else process.stdout.write(`${purpose}: consent granted (id ${record.id})\n`);
        return EXIT_OK;
      };
    }
    case 'subject': {
      const given = positionals.shift();
      if (given === undefined)
        throw new UsageError(`subject ${action ?? ''} needs the subject's ID`);
      const id = subjectArgument(given);
      noMore();
      if (action === 'history')
        return async (pipeline) => {
          const entries = await pipeline.history(id);
          if (json) print(entries);
          else if (entries.length === 0) process.stdout.write('no history\n');
          else
            for (const entry of entries)
              process.stdout.write(
                `${entry.seq}  ${String(entry.time)}  ${String(entry.operation)}  ${String(entry.outcome)}${typeof entry.error === 'string' ? `  ${entry.error}` : ''}${typeof entry.image === 'string' ? `  image ${entry.image}` : ''}\n`,
              );
          return EXIT_OK;
        };
      if (action === 'export') {
        const file = needed('-o FILE', values.output, 'subject export');
        return async (pipeline) => {
          const report = await pipeline.exportSubject(id, file, values.overwrite === true);
          if (json)
            print({
              file: report.file,
              images: report.images,
              files: report.files,
              missing: report.missing,
            });
          else if (report.missing.length > 0)
            process.stderr.write(
              `${report.missing.length} stored file(s) had no blob and are not in the zip (manifest.json names them); "pixwarden repair" removes their records\n`,
            );
          else
            process.stdout.write(
              `${displayPath(file)}: ${report.images} image(s), ${report.files.length + 1} files (manifest.json holds their SHA-256)\n`,
            );
          return EXIT_OK;
        };
      }
      if (action === 'erase')
        return async (pipeline) => {
          const report = await pipeline.erase(id);
          const left = report.left.images + report.left.blobs + report.left.keys;
          const hooksFailed = report.hooks.filter((hook) => !hook.ok).length;
          if (json) print(report);
          else {
            process.stdout.write(
              report.found
                ? `erased: ${report.imagesDeleted} image(s) (${report.filesDeleted} stored file(s)), ${report.consentsWithdrawn} consent(s) withdrawn, key destroyed; the scan found ${left === 0 ? 'nothing left' : `${left} thing(s) left`}\n`
                : 'no such subject: nothing to erase\n',
            );
            for (const hook of report.hooks)
              process.stdout.write(
                `purge hook ${hook.url}: ${hook.ok ? 'done' : `failed after ${hook.attempts} attempt(s) (${hook.error ?? ''})`}\n`,
              );
          }
          if (!json && !report.filesCleared)
            process.stdout.write(
              'the database files still hold the deleted bytes (a reader kept SQLite from folding its log back): erase again to finish\n',
            );
          return left === 0 && hooksFailed === 0 && report.filesCleared ? EXIT_OK : EXIT_FAILED;
        };
      const lift = values.lift === true;
      return async (pipeline) => {
        await pipeline.restrict(id, !lift);
        if (json) print({ restricted: !lift });
        else process.stdout.write(lift ? 'restriction lifted\n' : 'processing restricted\n');
        return EXIT_OK;
      };
    }
    case 'audit': {
      noMore();
      if (action === 'verify') {
        // The checkpoints kept elsewhere: those named, else the configured file when it exists.
        const configured = settings.checkpoints?.file;
        const file =
          typeof values.checkpoints === 'string'
            ? values.checkpoints
            : configured !== undefined && existsSync(configured)
              ? configured
              : null;
        return async (pipeline) => {
          const given = file === null ? [] : parseCheckpoints(readText(file));
          const verdict = await pipeline.verifyAudit(given);
          const shape = {
            valid: verdict.valid,
            entries: verdict.entries,
            firstInvalid: verdict.firstInvalid ?? null,
          };
          if (json) print(shape);
          else if (verdict.valid)
            process.stdout.write(`the audit trail is intact: ${verdict.entries} entries\n`);
          else
            process.stdout.write(
              `the audit trail is broken at entry ${verdict.firstInvalid?.seq ?? '?'}: ${verdict.firstInvalid?.reason ?? ''}\n`,
            );
          return verdict.valid ? EXIT_OK : EXIT_FAILED;
        };
      }
      if (action === 'checkpoint') {
        const file = typeof values.output === 'string' ? values.output : undefined;
        return async (pipeline) => {
          const checkpoint = await pipeline.checkpoint(file);
          if (json || file === undefined) print(checkpoint, false);
          else
            process.stdout.write(
              `${displayPath(file)}: checkpoint of entry ${checkpoint.seq} appended\n`,
            );
          return EXIT_OK;
        };
      }
      const file =
        typeof values.output === 'string' && values.output !== '-' ? values.output : null;
      return async (pipeline) => {
        const { exportTrail } = await import('./audit-export.js');
        const count = await exportTrail(
          pipeline.audit,
          file,
          pipeline.dataDir,
          values.overwrite === true,
        );
        if (file !== null) {
          if (json) print({ file, entries: count });
          else process.stdout.write(`${displayPath(file)}: ${count} entries\n`);
        }
        return EXIT_OK;
      };
    }
    case 'keys':
      noMore();
      return async (pipeline) => {
        const rotation = await pipeline.rotateKeys();
        if (json) print(rotation);
        else
          process.stdout.write(
            `${rotation.subjects} subject key(s) sealed under the new master key${rotation.source === 'environment' ? ': set PIXWARDEN_MASTER_KEY to PIXWARDEN_NEW_MASTER_KEY now' : ` (${displayPath(rotation.source)})`}\n`,
          );
        return EXIT_OK;
      };
    case 'retention':
      noMore();
      return async (pipeline) => {
        const report = await pipeline.sweepRetention();
        const failed = report.hooks.filter((hook) => !hook.ok).length;
        if (json) print(report);
        else
          process.stdout.write(
            `${report.files} expired file(s) of ${report.images} image(s) deleted${failed > 0 ? `; ${failed} purge hook(s) failed` : ''}\n`,
          );
        return failed === 0 ? EXIT_OK : EXIT_FAILED;
      };
    case 'repair':
      noMore();
      return async (pipeline) => {
        const repaired = await pipeline.repair();
        if (json) print(repaired);
        else
          process.stdout.write(
            `removed ${repaired.blobs} blob(s) without a record, ${repaired.temporary} unfinished temporary file(s), ${repaired.records} record(s) without a blob\n`,
          );
        return EXIT_OK;
      };
  }
}

function print(value: unknown, pretty = true): void {
  process.stdout.write(`${pretty ? JSON.stringify(value, null, 2) : JSON.stringify(value)}\n`);
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error: unknown) {
    throw pixwardenError(
      'ERR_INPUT_NOT_FOUND',
      `${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
}

interface IngestFlags {
  readonly subject: string;
  readonly purpose: Purpose | undefined;
  readonly basis: LegalBasis | undefined;
  readonly keep: readonly ('orientation' | 'icc' | 'copyright')[] | undefined;
  readonly json: boolean;
  readonly maxFileBytes: number;
}

async function ingestFiles(
  pipeline: Pipeline,
  paths: readonly string[],
  flags: IngestFlags,
  stop: StopSignal,
): Promise<number> {
  const records: unknown[] = [];
  let failed = 0;
  for (const entry of walk(paths, null)) {
    if (stop.requested) break;
    const file = entry.display;
    try {
      if ('error' in entry) throw entry.error;
      const bytes = await readInput(entry, flags.maxFileBytes);
      const result = await pipeline.ingest({
        subjectId: flags.subject,
        bytes,
        ...(flags.purpose === undefined ? {} : { purpose: flags.purpose }),
        ...(flags.basis === undefined ? {} : { legalBasis: flags.basis }),
        ...(flags.keep === undefined ? {} : { keep: flags.keep }),
      });
      const stored = result.stored.map(({ variant, format, width, height, bytes: size }) => ({
        variant,
        format,
        width,
        height,
        bytes: size,
      }));
      if (flags.json)
        records.push({
          input: file,
          status: 'stored',
          imageId: result.imageId,
          stored,
          removed: result.removed,
          report: result.report,
        });
      else
        process.stdout.write(
          `${printable(file)}: stored as ${result.imageId} (${stored.map((image) => `${image.variant} ${image.format} ${image.width}×${image.height}`).join(', ')}); ${result.removed.length} part(s) removed\n`,
        );
    } catch (error: unknown) {
      failed += 1;
      const detail = errorJson(error);
      if (flags.json) records.push({ input: file, status: 'refused', error: detail });
      else process.stderr.write(`${printable(file)}: ${detail.code}: ${detail.message}\n`);
    }
  }
  if (flags.json) print(records);
  if (stop.requested) return process.exitCode === 143 ? 143 : 130;
  return failed === 0 ? EXIT_OK : EXIT_FAILED;
}
