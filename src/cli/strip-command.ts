import path from 'node:path';
import type { PixwardenError } from '../errors.js';
import { pixwardenError } from '../errors.js';
import { parseKeepList } from '../policy.js';
import { strip } from '../strip.js';
import type { StripResult } from '../strip.js';
import type { ImageFormat, PartRecord, StripPolicy } from '../types.js';
import { LineOutput } from './output.js';
import { existsSync, statSync } from 'node:fs';
import { ReadBuffer, readInput, sameFile, writeOutput } from './files.js';
import { errorJson } from './inspect-command.js';
import { startProgress } from './progress.js';
import { countsByGroup, formatBytes, printable } from './summary.js';
import { realpathOrSelf, walk } from './walk.js';
import type { InputFile } from './walk.js';

const EXTENSIONS: Record<ImageFormat, string> = {
  jpeg: '.jpg',
  png: '.png',
  webp: '.webp',
  gif: '.gif',
};

/** The options of `pixwarden strip`, as parsed. */
export interface StripFlags {
  output?: string;
  inPlace?: boolean;
  keep: string;
  rename?: 'hash' | 'seq';
  overwrite?: boolean;
  json?: boolean;
}

interface StripRecord {
  input: string;
  output: string | null;
  status: 'clean' | 'refused';
  removed: PartRecord[];
  kept: PartRecord[];
  verified: boolean;
  warnings?: string[];
  error?: ReturnType<typeof errorJson>;
}

interface Plan {
  policy: StripPolicy;
  outDir: string | null;
  toStdout: boolean;
  inPlace: boolean;
  overwrite: boolean;
  rename: 'hash' | 'seq' | undefined;
  seqWidth: number;
}

function usage(message: string): PixwardenError {
  return pixwardenError('ERR_INVALID_ARGUMENT', message);
}

export async function runStrip(paths: readonly string[], flags: StripFlags): Promise<number> {
  const json = flags.json === true;
  if ((flags.output === undefined) === (flags.inPlace !== true)) {
    throw usage('strip needs exactly one of -o DIR or --in-place');
  }
  if (flags.inPlace === true && flags.rename !== undefined)
    throw usage('--rename cannot be combined with --in-place');
  const toStdout = flags.output === '-';
  if (toStdout && json)
    throw usage('-o - writes the image to standard output; it cannot be combined with --json');
  const policy = parseKeepList(flags.keep);
  const outDir = flags.output === undefined || toStdout ? null : path.resolve(flags.output);
  const skipDir = outDir === null ? null : realpathOrSelf(outDir);
  if (outDir !== null && existsSync(outDir) && !statSync(outDir).isDirectory()) {
    throw usage(`-o ${flags.output ?? ''}: exists and is not a folder`);
  }
  if (paths.filter((p) => p === '-').length > 1)
    throw usage('standard input (-) can be given only once');
  const entries = walk(paths, skipDir);
  if (toStdout && entries.length !== 1)
    throw usage(`-o - writes one output, but ${entries.length} inputs were given`);
  if (paths.includes('-') && flags.inPlace === true)
    throw usage('standard input cannot be cleaned in place');

  const plan: Plan = {
    policy,
    outDir,
    toStdout,
    inPlace: flags.inPlace === true,
    overwrite: flags.overwrite === true,
    rename: flags.rename,
    seqWidth: Math.max(4, String(entries.length).length),
  };
  const clashes = plainNameClashes(entries, plan);
  const claimed = new Map<string, string>();
  const progress = await startProgress(entries.length, json);
  const records: StripRecord[] = [];
  const reader = new ReadBuffer();
  // With -o - the image goes to standard output, so the per-file lines go to standard error.
  const lines = new LineOutput(toStdout ? process.stderr : process.stdout);
  const errors = new LineOutput(process.stderr);

  for (const [index, entry] of entries.entries()) {
    let record: StripRecord;
    if ('error' in entry) {
      record = refused(entry.display, entry.error);
    } else {
      try {
        const clash = clashes.get(entry);
        if (clash !== undefined) throw clash;
        const { bytes, workspace } =
          entry.absolute === null
            ? { bytes: await readInput(entry), workspace: undefined }
            : reader.read(entry);
        const result = await strip(
          bytes,
          plan.policy,
          workspace === undefined ? {} : { workspace },
        );
        const target = targetFor(entry, index, result, plan);
        const output = await deliver(entry, target, result, plan, claimed);
        record = {
          input: entry.display,
          output,
          status: 'clean',
          removed: result.removed,
          kept: result.kept,
          verified: result.verified,
          ...(result.warnings.length > 0 ? { warnings: result.warnings } : {}),
        };
      } catch (error: unknown) {
        record = refused(entry.display, error);
      }
    }
    records.push(record);
    progress.tick();
    // Clean files are listed on standard output, refusals on standard error.
    if (!json && record.status === 'clean') lines.write(describeRecord(record));
    else if (!json) errors.write(describeRefusal(record));
  }
  lines.flush();
  errors.flush();
  progress.stop();
  if (json) process.stdout.write(`${JSON.stringify(records, null, 2)}\n`);
  printSummary(records);
  return records.some((record) => record.status === 'refused') ? 1 : 0;
}

function refused(input: string, error: unknown): StripRecord {
  return {
    input,
    output: null,
    status: 'refused',
    removed: [],
    kept: [],
    verified: false,
    error: errorJson(error),
  };
}

/** The output path an input maps to when its name does not depend on its content. */
function plainTarget(entry: InputFile, plan: Plan): string | null {
  if (plan.inPlace) return entry.absolute === null ? null : realpathOrSelf(entry.absolute);
  if (plan.outDir === null || plan.rename !== undefined || entry.absolute === null) return null;
  return path.join(plan.outDir, entry.relative);
}

/** Inputs that would be written to the same output, or onto themselves: each is refused. */
function plainNameClashes(
  entries: readonly (InputFile | { error: unknown })[],
  plan: Plan,
): Map<InputFile, PixwardenError> {
  const byTarget = new Map<string, InputFile[]>();
  for (const entry of entries) {
    if ('error' in entry) continue;
    const target = plainTarget(entry, plan);
    if (target === null) continue;
    byTarget.set(target, [...(byTarget.get(target) ?? []), entry]);
  }
  const clashes = new Map<InputFile, PixwardenError>();
  for (const [target, group] of byTarget) {
    for (const entry of group) {
      if (group.length > 1) {
        clashes.set(
          entry,
          pixwardenError(
            'ERR_OUTPUT_CONFLICT',
            `${group.length} inputs would be written to ${target}: ${group.map((e) => e.display).join(', ')}`,
          ),
        );
      } else if (!plan.inPlace && target === entry.absolute) {
        clashes.set(
          entry,
          pixwardenError('ERR_OUTPUT_CONFLICT', `the output ${target} is the input itself`),
        );
      }
    }
  }
  return clashes;
}

function targetFor(
  entry: InputFile,
  index: number,
  result: StripResult,
  plan: Plan,
): string | null {
  if (plan.toStdout) return null;
  // In place, a symbolic link is followed: the file it names is cleaned, the link stays.
  if (plan.inPlace) return entry.absolute === null ? null : realpathOrSelf(entry.absolute);
  const outDir = plan.outDir ?? '.';
  const ext = EXTENSIONS[result.format];
  const folder = path.dirname(entry.relative);
  let name: string;
  if (plan.rename === 'hash')
    name =
      process
        .getBuiltinModule('node:crypto')
        .createHash('sha256')
        .update(result.bytes)
        .digest('hex')
        .slice(0, 32) + ext;
  else if (plan.rename === 'seq') name = String(index + 1).padStart(plan.seqWidth, '0') + ext;
  else if (entry.absolute === null) name = `stdin${ext}`;
  else name = path.basename(entry.relative);
  const target = path.join(outDir, folder === '.' || entry.absolute === null ? '' : folder, name);
  // Without --overwrite an existing output is refused anyway; with it, make sure the file about
  // to be replaced is not the input itself (reached through a symbolic or a hard link).
  if (plan.overwrite && entry.absolute !== null && sameFile(target, entry.absolute)) {
    throw pixwardenError('ERR_OUTPUT_CONFLICT', `the output ${target} is the input itself`);
  }
  return target;
}

async function deliver(
  entry: InputFile,
  target: string | null,
  result: StripResult,
  plan: Plan,
  claimed: Map<string, string>,
): Promise<string> {
  if (target === null) {
    await new Promise<void>((resolve, reject) => {
      process.stdout.write(result.bytes, (error) => {
        if (error) reject(error);
        else resolve();
      });
    });
    return '-';
  }
  const earlier = claimed.get(target);
  if (earlier !== undefined) {
    throw pixwardenError(
      'ERR_OUTPUT_CONFLICT',
      `${entry.display} and ${earlier} would both be written to ${target}`,
    );
  }
  claimed.set(target, entry.display);
  if (plan.inPlace) {
    const original = statSync(target);
    writeOutput(target, result.bytes, {
      replace: true,
      durable: true,
      mode: original.mode & 0o7777,
      owner: { uid: original.uid, gid: original.gid },
    });
    if (original.nlink > 1) {
      // The rename gives the clean copy a new inode: other hard links keep the original.
      result.warnings.push(
        `the file has ${original.nlink - 1} other name(s) (hard links) that still hold the original`,
      );
    }
  } else {
    writeOutput(target, result.bytes, { replace: plan.overwrite, durable: false });
  }
  return displayPath(target);
}

const cwdPrefix = process.cwd() + path.sep;

/** A path as the user would type it: relative to the working folder when inside it. */
function displayPath(file: string): string {
  return file.startsWith(cwdPrefix) ? file.slice(cwdPrefix.length) : file;
}

function describeRefusal(record: StripRecord): string {
  return `refused ${printable(record.input)}: ${record.error?.code ?? ''}: ${printable(record.error?.message ?? '')}\n`;
}

function describeRecord(record: StripRecord): string {
  const removed = record.removed
    .map((part) => `${printable(part.name)} (${formatBytes(part.bytes)})`)
    .join(', ');
  const kept = record.kept.map((part) => part.name).join(', ');
  return (
    `clean   ${printable(record.input)} -> ${printable(record.output ?? '')}\n` +
    `        removed: ${removed === '' ? 'nothing' : removed}\n` +
    (kept === '' ? '' : `        kept: ${kept}\n`) +
    (record.warnings ?? []).map((warning) => `        warning: ${warning}\n`).join('')
  );
}

function printSummary(records: readonly StripRecord[]): void {
  const cleaned = records.filter((record) => record.status === 'clean');
  const removedBytes = cleaned.reduce(
    (sum, record) => sum + record.removed.reduce((s, part) => s + part.bytes, 0),
    0,
  );
  const groups = countsByGroup(
    cleaned.flatMap((record) => record.removed.map((part) => part.category)),
  );
  process.stderr.write(
    `${cleaned.length} cleaned, ${records.length - cleaned.length} refused, ${formatBytes(removedBytes)} of metadata removed` +
      `${groups === '' ? '' : `; removed by group: ${groups}`}\n`,
  );
}
