/**
 * Cleaning one input file for `pixwarden strip`: read, strip, name and write it, and describe
 * what happened as a record. The same code runs on the main thread and in helper threads.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { pixwardenError } from '../errors.js';
import { strip } from '../strip.js';
import type { StripResult } from '../strip.js';
import type { Limits } from '../limits.js';
import type { ImageFormat, PartRecord, StripPolicy } from '../types.js';
import type { ReadBuffer } from './files.js';
import { readInput, sameFile, writeOutput } from './files.js';
import { errorJson } from './inspect-command.js';
import { realpathOrSelf } from './walk.js';
import type { InputFile } from './walk.js';

const EXTENSIONS: Record<ImageFormat, string> = {
  jpeg: '.jpg',
  png: '.png',
  webp: '.webp',
  gif: '.gif',
};

/** What `pixwarden strip --json` prints for one input. */
export interface StripRecord {
  input: string;
  output: string | null;
  status: 'clean' | 'refused';
  removed: PartRecord[];
  kept: PartRecord[];
  verified: boolean;
  warnings?: string[];
  error?: ReturnType<typeof errorJson>;
}

/** How every input of one run is cleaned and where it goes. Plain data: it is sent to helpers. */
export interface Plan {
  policy: StripPolicy;
  limits: Limits;
  outDir: string | null;
  toStdout: boolean;
  inPlace: boolean;
  overwrite: boolean;
  rename: 'hash' | 'seq' | undefined;
  seqWidth: number;
  /** Every input's absolute path: an output must not replace another input. */
  inputs: ReadonlySet<string>;
  /** Re-encode from decoded pixels instead of the lossless strip (`--rewrite`). */
  rewrite: { quality?: number } | null;
}

/**
 * Cleans one input and writes its output. Never throws: a failure is a refused record.
 * `index` is the input's position among all inputs (it names the output with `--rename seq`);
 * `claimed` holds the outputs written so far by this thread, to refuse a second write to one.
 */
export async function cleanFile(
  entry: InputFile,
  index: number,
  plan: Plan,
  reader: ReadBuffer,
  claimed: Map<string, string>,
): Promise<StripRecord> {
  try {
    const fileName = entry.absolute === null ? {} : { fileName: path.basename(entry.relative) };
    let result: StripResult;
    if (plan.rewrite !== null) {
      // Rewrites run several at a time, so each input gets a buffer of its own.
      const bytes = await readInput(entry, plan.limits.maxFileBytes);
      result = await rewritten(bytes, plan, fileName);
    } else {
      const { bytes, workspace } =
        entry.absolute === null
          ? { bytes: await readInput(entry, plan.limits.maxFileBytes), workspace: undefined }
          : reader.read(entry, plan.limits.maxFileBytes);
      result = await strip(bytes, plan.policy, {
        limits: plan.limits,
        ...fileName,
        ...(workspace === undefined ? {} : { workspace }),
      });
    }
    const target = targetFor(entry, index, result, plan);
    const output = await deliver(entry, target, result, plan, claimed);
    return {
      input: entry.display,
      output,
      status: 'clean',
      removed: result.removed,
      kept: result.kept,
      verified: result.verified,
      ...(result.warnings.length > 0 ? { warnings: result.warnings } : {}),
    };
  } catch (error: unknown) {
    return refused(entry.display, error);
  }
}

/** `--rewrite`: the picture re-encoded in its own format, told as a strip's result. */
async function rewritten(
  bytes: Uint8Array,
  plan: Plan,
  fileName: { fileName?: string },
): Promise<StripResult> {
  const { rewrite } = await import('../transform/transform.js');
  const result = await rewrite(bytes, {
    limits: plan.limits,
    ...fileName,
    ...(plan.rewrite?.quality === undefined ? {} : { quality: plan.rewrite.quality }),
  });
  const [output] = result.outputs;
  if (output === undefined) throw pixwardenError('ERR_OUTPUT_NOT_CLEAN', 'no output was made');
  return {
    bytes: output.bytes,
    format: result.format,
    width: output.width,
    height: output.height,
    frames: output.frames,
    removed: result.removed,
    kept: [],
    verified: true,
    warnings: [...result.notes, ...result.warnings],
  };
}

export function refused(input: string, error: unknown): StripRecord {
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
  if (plan.inputs.has(target) && target !== entry.absolute) {
    throw pixwardenError('ERR_OUTPUT_CONFLICT', `the output ${target} would replace another input`);
  }
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
    // Counted before the batch began: other inputs cleaned in place may be links to this file.
    const links = entry.links ?? original.nlink;
    if (links > 1) {
      // The rename gives the clean copy a new inode: other hard links keep the original.
      result.warnings.push(
        `the file has ${links - 1} other name(s) (hard links) that still hold the original`,
      );
    }
  } else {
    writeOutput(target, result.bytes, { replace: plan.overwrite, durable: false });
  }
  return displayPath(target);
}

const cwdPrefix = process.cwd() + path.sep;

/** A path as the user would type it: relative to the working folder when inside it. */
export function displayPath(file: string): string {
  return file.startsWith(cwdPrefix) ? file.slice(cwdPrefix.length) : file;
}
