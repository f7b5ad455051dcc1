/**
 * `pixwarden convert`: new images from decoded pixels (resized, in another format, as named
 * variants, with a watermark), each verified clean. The pixels are decoded in the worker
 * pool; the main thread reads, strips, names and writes. Exit codes, progress, the summary
 * and the output rules are those of `strip`.
 */
import { existsSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../config.js';
import { pixwardenError } from '../errors.js';
import type { PixwardenError } from '../errors.js';
import { checkFileSize } from '../limits.js';
import type { Limits } from '../limits.js';
import { WorkerPool } from '../pool/pool.js';
import { extensionOf, pickVariants, resolveOutput } from '../transform/spec.js';
import type { Fit, OutputFormat, VariantSpec, Watermark } from '../transform/spec.js';
import { checkWatermark, transform } from '../transform/transform.js';
import type { TransformOptions, TransformOutput } from '../transform/transform.js';
import type { PartRecord } from '../types.js';
import { displayPath } from './clean-file.js';
import { InOrder, finishBatch } from './batch.js';
import { runConcurrently } from './concurrent.js';
import { readInput, sameFile, writeOutput } from './files.js';
import { errorJson } from './inspect-command.js';
import { startProgress } from './progress.js';
import { StopSignal } from './stop.js';
import { countsByGroup, formatBytes, printable } from './summary.js';
import { realpathOrSelf, walk } from './walk.js';
import type { InputFile, WalkEntry } from './walk.js';

/** The options of `pixwarden convert`, as parsed. */
export interface ConvertFlags {
  output?: string;
  to?: OutputFormat;
  width?: number;
  height?: number;
  fit?: Fit;
  quality?: number;
  /** Encoder effort (AVIF 0–9, WebP 0–6). */
  effort?: number;
  variants?: string[];
  /** Text, or the path of an image file. */
  watermark?: string;
  /** The configuration file with named variants. */
  config?: string;
  overwrite?: boolean;
  json?: boolean;
  /** Worker processes (default: one per core). */
  jobs?: number;
  limits: Limits;
}

/** One written output, as `--json` prints it. */
export interface OutputRecord {
  variant: string | null;
  path: string;
  format: OutputFormat;
  width: number;
  height: number;
  bytes: number;
}

/** What `pixwarden convert --json` prints for one input: strip's record, with `outputs`. */
export interface ConvertRecord {
  input: string;
  outputs: OutputRecord[];
  status: 'clean' | 'refused';
  removed: PartRecord[];
  kept: PartRecord[];
  verified: boolean;
  notes?: string[];
  warnings?: string[];
  error?: ReturnType<typeof errorJson>;
}

interface ConvertPlan {
  readonly options: TransformOptions;
  readonly outDir: string;
  readonly overwrite: boolean;
  readonly limits: Limits;
  /** Every input's absolute path: an output must not replace one. */
  readonly inputs: ReadonlySet<string>;
  /** Outputs claimed so far in this run, and by which input. */
  readonly claimed: Map<string, string>;
}

function usage(message: string): PixwardenError {
  return pixwardenError('ERR_INVALID_ARGUMENT', message);
}

export async function runConvert(paths: readonly string[], flags: ConvertFlags): Promise<number> {
  const json = flags.json === true;
  if (flags.output === undefined) throw usage('convert needs -o DIR');
  if (flags.output === '-') throw usage('convert writes files into a folder; -o - is not possible');
  // Through any symbolic link: the folder itself is what must not be walked or overwritten.
  const outDir = realpathOrSelf(path.resolve(flags.output));
  if (existsSync(outDir) && !statSync(outDir).isDirectory())
    throw usage(`-o ${flags.output}: exists and is not a folder`);
  if (paths.filter((p) => p === '-').length > 1)
    throw usage('standard input (-) can be given only once');
  const config = loadConfig(flags.config ?? process.env.PIXWARDEN_CONFIG ?? null);
  const options = transformOptions(flags, config.variants);
  // A bad --quality or --width, or a watermark image that is not one, stops the run before
  // any input is read.
  resolveOutput(options, {}, 'jpeg', null);
  if (options.watermark !== undefined) await checkWatermark(options.watermark, flags.limits);

  const entries = walk(paths, outDir);
  const plan: ConvertPlan = {
    options,
    outDir,
    overwrite: flags.overwrite === true,
    limits: flags.limits,
    inputs: new Set(
      entries.flatMap((entry) =>
        'error' in entry || entry.absolute === null ? [] : [realpathOrSelf(entry.absolute)],
      ),
    ),
    claimed: new Map(),
  };
  const report = new InOrder<ConvertRecord>(
    entries.length,
    json,
    await startProgress(entries.length, json),
    { clean: describeRecord, refused: describeRefusal },
  );
  const settle = (index: number, record: ConvertRecord): void => {
    report.settle(index, record);
  };
  const clashes = nameClashes(entries, flags.to);
  const items: { index: number; entry: InputFile }[] = [];
  for (const [index, entry] of entries.entries()) {
    const clash = 'error' in entry ? undefined : clashes.get(entry);
    if ('error' in entry) settle(index, refused(entry.display, entry.error));
    else if (clash !== undefined) settle(index, refused(entry.display, clash));
    else items.push({ index, entry });
  }

  const workers = flags.jobs ?? availableParallelism();
  const pool = new WorkerPool({ size: Math.min(workers, Math.max(1, items.length)) });
  const stop = new StopSignal();
  const release = stop.listen();
  try {
    // One input more than there are workers, so a worker never waits while its next input is
    // read and stripped.
    await runConcurrently(
      items,
      workers + 1,
      async ({ index, entry }) => {
        settle(index, await convertFile(entry, { ...plan, options: { ...options, pool } }));
      },
      stop,
    );
  } finally {
    release();
    await pool.close();
    report.flush();
  }
  return finishBatch(report.records, json, stop, printSummary);
}

function transformOptions(
  flags: ConvertFlags,
  configured: readonly VariantSpec[],
): TransformOptions {
  return {
    limits: flags.limits,
    ...(flags.to === undefined ? {} : { format: flags.to }),
    ...(flags.width === undefined ? {} : { width: flags.width }),
    ...(flags.height === undefined ? {} : { height: flags.height }),
    ...(flags.fit === undefined ? {} : { fit: flags.fit }),
    ...(flags.quality === undefined ? {} : { quality: flags.quality }),
    ...(flags.effort === undefined ? {} : { effort: flags.effort }),
    ...(flags.variants === undefined ? {} : { variants: pickVariants(flags.variants, configured) }),
    ...(flags.watermark === undefined
      ? {}
      : { watermark: watermarkFrom(flags.watermark, flags.limits) }),
  };
}

/**
 * `--watermark`: the path of an existing file is an image; anything else is text, unless it
 * ends like an image's file name (a mistyped path would otherwise be drawn as text).
 */
function watermarkFrom(value: string, limits: Limits): Watermark {
  let info: Stats | null = null;
  try {
    info = statSync(value);
  } catch {
    // Nothing there: the value is the text.
  }
  if (info !== null && !info.isFile()) throw usage(`--watermark ${value}: not a regular file`);
  if (info === null) {
    if (/\.(jpe?g|png|webp|gif|avif|svg|tiff?)$/i.test(value))
      throw usage(`--watermark ${value}: no such image file (to draw it as text, add a space)`);
    return { text: value };
  }
  checkFileSize(info.size, limits.maxFileBytes);
  return { image: readFileSync(value) };
}

async function convertFile(entry: InputFile, plan: ConvertPlan): Promise<ConvertRecord> {
  const written: string[] = [];
  try {
    const bytes = await readInput(entry, plan.limits.maxFileBytes);
    const result = await transform(bytes, {
      ...plan.options,
      ...(entry.absolute === null ? {} : { fileName: path.basename(entry.relative) }),
    });
    const targets = result.outputs.map((output) => targetFor(entry, output, plan));
    for (const target of targets) {
      if (!plan.overwrite && existsSync(target))
        throw pixwardenError('ERR_OUTPUT_EXISTS', `${displayPath(target)} already exists`);
      // Found before anything is written: a replaced file cannot be put back afterwards.
      if (plan.overwrite && existsSync(target) && !statSync(target).isFile())
        throw pixwardenError(
          'ERR_OUTPUT_CONFLICT',
          `${displayPath(target)} exists and is not a file: it cannot be replaced`,
        );
    }
    for (const target of targets) plan.claimed.set(target, entry.display);
    const outputs: OutputRecord[] = [];
    for (const [index, output] of result.outputs.entries()) {
      const target = targets[index] as string;
      writeOutput(target, output.bytes, { replace: plan.overwrite, durable: false });
      written.push(target);
      outputs.push({
        variant: output.variant,
        path: displayPath(target),
        format: output.format,
        width: output.width,
        height: output.height,
        bytes: output.bytes.length,
      });
    }
    return {
      input: entry.display,
      outputs,
      status: 'clean',
      removed: result.removed,
      kept: [],
      verified: result.verified,
      ...(result.notes.length > 0 ? { notes: result.notes } : {}),
      ...(result.warnings.length > 0 ? { warnings: result.warnings } : {}),
    };
  } catch (error: unknown) {
    // The outputs of one input are written together or not at all.
    for (const file of written) {
      try {
        unlinkSync(file);
      } catch {
        // Already gone.
      }
    }
    return refused(entry.display, error);
  }
}

/**
 * Where an output goes: the input's folder under -o, its name with the variant and the new
 * extension (`photo.thumb.webp`).
 * @throws ERR_OUTPUT_CONFLICT when that would replace an input or another input's output.
 */
function targetFor(entry: InputFile, output: TransformOutput, plan: ConvertPlan): string {
  const stem = entry.absolute === null ? 'stdin' : path.parse(path.basename(entry.relative)).name;
  const variant = output.variant === null ? '' : `.${output.variant}`;
  const name = `${stem}${variant}.${extensionOf(output.format)}`;
  const folder = entry.absolute === null ? '' : path.dirname(entry.relative);
  const target = path.join(plan.outDir, folder === '.' ? '' : folder, name);
  if (
    plan.inputs.has(path.join(realpathOrSelf(path.dirname(target)), path.basename(target))) ||
    (entry.absolute !== null && sameFile(target, entry.absolute))
  )
    throw pixwardenError('ERR_OUTPUT_CONFLICT', `the output ${target} would replace an input`);
  const earlier = plan.claimed.get(target);
  if (earlier !== undefined)
    throw pixwardenError(
      'ERR_OUTPUT_CONFLICT',
      `${entry.display} and ${earlier} would both be written to ${displayPath(target)}`,
    );
  return target;
}

const NAMED_FORMATS: Readonly<Record<string, string>> = {
  jpg: 'jpeg',
  jpeg: 'jpeg',
  jpe: 'jpeg',
  png: 'png',
  webp: 'webp',
  gif: 'gif',
};

/**
 * Inputs in one folder whose outputs would share names (`photo.jpg` and `photo.png` with
 * `--to webp`): each is refused, whichever would finish first. Without `--to` an output keeps
 * its input's format, which the extension is taken to name. Clashes this cannot foresee (a
 * PNG named photo.jpg beside photo.png) are refused when the second output is about to be
 * written.
 */
function nameClashes(
  entries: readonly WalkEntry[],
  to: OutputFormat | undefined,
): Map<InputFile, PixwardenError> {
  const groups = new Map<string, InputFile[]>();
  for (const entry of entries) {
    if ('error' in entry || entry.absolute === null) continue;
    const parsed = path.parse(entry.relative);
    const named = NAMED_FORMATS[parsed.ext.slice(1).toLowerCase()];
    // A file named as another kind (photo.tif) will most likely be refused for its format: it
    // does not take the name from an image.
    if (named === undefined) continue;
    const format = to ?? named;
    const key = path.join(parsed.dir, parsed.name) + '\0' + format;
    groups.set(key, [...(groups.get(key) ?? []), entry]);
  }
  const clashes = new Map<InputFile, PixwardenError>();
  for (const group of groups.values()) {
    if (group.length < 2) continue;
    for (const entry of group)
      clashes.set(
        entry,
        pixwardenError(
          'ERR_OUTPUT_CONFLICT',
          `${group.length} inputs would be written to the same names: ${group.map((e) => e.display).join(', ')}`,
        ),
      );
  }
  return clashes;
}

function refused(input: string, error: unknown): ConvertRecord {
  return {
    input,
    outputs: [],
    status: 'refused',
    removed: [],
    kept: [],
    verified: false,
    error: errorJson(error),
  };
}

function describeRefusal(record: ConvertRecord): string {
  return `refused ${printable(record.input)}: ${record.error?.code ?? ''}: ${printable(record.error?.message ?? '')}\n`;
}

function describeRecord(record: ConvertRecord): string {
  const outputs = record.outputs
    .map(
      (output) =>
        `${printable(output.path)} (${output.format.toUpperCase()} ${output.width} × ${output.height}, ${formatBytes(output.bytes)})`,
    )
    .join(',\n           ');
  const removed = record.removed
    .map((part) => `${printable(part.name)} (${formatBytes(part.bytes)})`)
    .join(', ');
  return (
    `clean   ${printable(record.input)} -> ${outputs}\n` +
    `        removed: ${removed === '' ? 'nothing' : removed}\n` +
    (record.notes ?? []).map((note) => `        note: ${note}\n`).join('') +
    (record.warnings ?? []).map((warning) => `        warning: ${warning}\n`).join('')
  );
}

function printSummary(records: readonly ConvertRecord[]): void {
  const converted = records.filter((record) => record.status === 'clean');
  const files = converted.reduce((sum, record) => sum + record.outputs.length, 0);
  const removedBytes = converted.reduce(
    (sum, record) => sum + record.removed.reduce((s, part) => s + part.bytes, 0),
    0,
  );
  const groups = countsByGroup(
    converted.flatMap((record) => record.removed.map((part) => part.category)),
  );
  process.stderr.write(
    `${converted.length} converted (${files} files written), ${records.length - converted.length} refused, ${formatBytes(removedBytes)} of metadata removed` +
      `${groups === '' ? '' : `; removed by group: ${groups}`}\n`,
  );
}
