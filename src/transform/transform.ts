/**
 * Transform: resize, convert and make variants from decoded pixels, with every decode in a
 * sandboxed worker process. The steps:
 *
 * 1. detect the format and check the file and its header against the limits;
 * 2. strip the input losslessly, so that the decoder sees only the picture, its orientation
 *    and its colour profile, never a metadata payload or bytes hidden after the image;
 * 3. check the decode limits (a long animation falls back to its first frame);
 * 4. decode, turn upright, convert to sRGB, resize, watermark and encode, in the pool;
 * 5. strip and verify every output again: a second line of defence behind the encoder.
 */
import { detectFormat, requireBytes } from '../detect.js';
import { PixwardenError, pixwardenError } from '../errors.js';
import { parseIsobmff, avifProblems } from '../formats/isobmff.js';
import { handlerFor } from '../formats/index.js';
import { checkDecodeLimits, checkFileSize, resolveLimits } from '../limits.js';
import type { Limits } from '../limits.js';
import { checkOptions } from '../options.js';
import { defaultPool } from '../pool/default.js';
import type { WorkerPool } from '../pool/pool.js';
import { stripAs } from '../strip.js';
import type { StripResult } from '../strip.js';
import { checkDeclaredType, extensionFinding } from '../type-check.js';
import type { ImageFormat, PartRecord } from '../types.js';
import { notClean } from '../verify.js';
import type { RenderJob, RenderedOutput } from './render.js';
import { REWRITE_JPEG_QUALITY, checkVariants, resolveOutput, resolveWatermark } from './spec.js';
import type {
  OutputFormat,
  OutputSpec,
  ResolvedOutput,
  ResolvedWatermark,
  VariantSpec,
  Watermark,
} from './spec.js';

export interface TransformOptions extends OutputSpec {
  /**
   * Named outputs to make instead of one: each takes the fields it does not set from these
   * options. Made from one decode.
   */
  readonly variants?: readonly VariantSpec[];
  readonly watermark?: Watermark;
  /**
   * `keep` (the default) keeps every frame of an animated GIF or WebP when every output is GIF
   * or WebP and the animation is within the decode limits; otherwise, and with `first-frame`,
   * the outputs hold the first frame, and a note says so.
   */
  readonly animation?: 'keep' | 'first-frame';
  /** Limits on what the input may claim; unset fields keep their defaults. */
  readonly limits?: Partial<Limits>;
  /** The type the caller was told the file is; bytes of another format are refused. */
  readonly declaredType?: string;
  /** Accept bytes that contradict `declaredType`. Default false. */
  readonly allowTypeMismatch?: boolean;
  /** The file's name: a misleading extension is mentioned among the warnings. */
  readonly fileName?: string;
  /** Where pixels are decoded. Default: the shared pool. */
  readonly pool?: WorkerPool;
}

export interface TransformOutput {
  /** The variant's name, or null for the single output. */
  readonly variant: string | null;
  readonly format: OutputFormat;
  readonly width: number;
  /** Of one frame. */
  readonly height: number;
  readonly frames: number;
  readonly bytes: Uint8Array;
}

export interface TransformResult {
  /** The input's format. */
  readonly format: ImageFormat;
  readonly outputs: TransformOutput[];
  /** What the input held besides its picture: none of it reached the outputs. */
  readonly removed: PartRecord[];
  /** Always true: an output that fails verification is an error, never a result. */
  readonly verified: true;
  /** What the transform did that a caller may not expect (an animation cut to one frame). */
  readonly notes: string[];
  readonly warnings: string[];
}

/** What the decoder is given of the input: the picture, its orientation and its profile. */
const DECODE_POLICY = { keep: ['orientation', 'icc'] } as const;
/** What an output may keep: nothing (it is upright and in sRGB). */
const OUTPUT_POLICY = { keep: [] } as const;

/**
 * Makes new images from the decoded pixels of a JPEG, PNG, WebP or GIF: upright, in sRGB,
 * resized, in the chosen format, with no metadata, each output verified.
 *
 * @throws ERR_INVALID_ARGUMENT for invalid options; every refusal of `strip` for the input;
 *   ERR_DIMENSION_LIMIT or ERR_PIXEL_LIMIT past the decode limits; ERR_MALFORMED when the
 *   decoder refuses the picture; ERR_WORKER_CRASHED, ERR_WORKER_TIMEOUT or ERR_WORKER_MEMORY
 *   when its worker died or was stopped; ERR_OUTPUT_NOT_CLEAN if an output fails verification.
 */
export async function transform(
  bytes: Uint8Array,
  given: TransformOptions = {},
): Promise<TransformResult> {
  const { options, limits, format } = await admit(bytes, given);
  const outputs = resolveOutputs(options, format);
  const watermark =
    options.watermark === undefined ? null : await cleanWatermark(options.watermark, limits);
  return run(format, bytes, outputs, watermark, options, limits);
}

/**
 * Re-encodes an image from its decoded pixels in its own format, for those who would rather
 * destroy any payload than keep the pixels exact: JPEG at quality 92 unless `quality` says
 * otherwise, a lossless WebP losslessly, other formats with the transform presets.
 */
export async function rewrite(
  bytes: Uint8Array,
  given: Omit<TransformOptions, 'variants' | 'format' | 'watermark'> = {},
): Promise<TransformResult> {
  const { options, limits, format } = await admit(bytes, given);
  const quality = options.quality ?? (format === 'jpeg' ? REWRITE_JPEG_QUALITY : undefined);
  const output = resolveOutput(
    { ...options, format, ...(quality === undefined ? {} : { quality }) },
    {},
    format,
    null,
  );
  return run(format, bytes, [output], null, options, limits, format === 'webp');
}

/** The checks before anything else: options, the file's size, its format, its declared type. */
async function admit<T extends TransformOptions>(
  bytes: Uint8Array,
  given: T,
): Promise<{ options: T; limits: Limits; format: ImageFormat }> {
  const options = checkOptions(given);
  requireBytes(bytes);
  const limits = resolveLimits(options.limits);
  checkFileSize(bytes.length, limits.maxFileBytes);
  const format = await detectFormat(bytes);
  checkDeclaredType(format, options.declaredType, options.allowTypeMismatch === true);
  return { options, limits, format };
}

function resolveOutputs(options: TransformOptions, format: ImageFormat): ResolvedOutput[] {
  const animation: unknown = options.animation;
  if (animation !== undefined && animation !== 'keep' && animation !== 'first-frame')
    throw pixwardenError('ERR_INVALID_ARGUMENT', 'animation must be keep or first-frame');
  const defaults: OutputSpec = options;
  if (options.variants === undefined) return [resolveOutput({}, defaults, format, null)];
  checkVariants(options.variants);
  if (options.variants.length === 0)
    throw pixwardenError('ERR_INVALID_ARGUMENT', 'the variant list is empty');
  return options.variants.map((variant) => resolveOutput(variant, defaults, format, variant.name));
}

/**
 * Checks a watermark before a batch: its fields, and an image's format and limits.
 * @throws what `transform` would throw for it.
 */
export async function checkWatermark(mark: Watermark, limits: Partial<Limits> = {}): Promise<void> {
  await cleanWatermark(mark, resolveLimits(limits));
}

/** The watermark image is an input like any other: checked, and stripped before decoding. */
async function cleanWatermark(mark: Watermark, limits: Limits): Promise<ResolvedWatermark> {
  const resolved = resolveWatermark(mark);
  if (resolved.image === null) return resolved;
  try {
    checkFileSize(resolved.image.length, limits.maxFileBytes);
    const format = await detectFormat(resolved.image);
    const clean = stripAs(format, resolved.image, DECODE_POLICY, { limits });
    checkDecodeLimits({ width: clean.width, height: clean.height, frames: 1 }, limits);
    return { ...resolved, image: clean.bytes };
  } catch (error: unknown) {
    if (!(error instanceof PixwardenError)) throw error;
    throw pixwardenError(error.code, `the watermark image: ${error.message}`, {
      ...(error.value === undefined ? {} : { value: error.value }),
      ...(error.limit === undefined ? {} : { limit: error.limit }),
      ...(error.unit === undefined ? {} : { unit: error.unit }),
    });
  }
}

async function run(
  format: ImageFormat,
  bytes: Uint8Array,
  outputs: readonly ResolvedOutput[],
  watermark: ResolvedWatermark | null,
  options: TransformOptions,
  limits: Limits,
  keepLossless = false,
): Promise<TransformResult> {
  const clean = stripAs(format, bytes, DECODE_POLICY, { limits });
  const notes: string[] = [];
  const animated = keepsAnimation(clean, outputs, options, limits, notes);
  checkDecodeLimits(
    { width: clean.width, height: clean.height, frames: animated ? clean.frames : 1 },
    limits,
  );
  const lossless = keepLossless && isLosslessWebp(clean.bytes, limits);
  const job: Omit<RenderJob, 'input'> = {
    animated,
    outputs: lossless ? outputs.map((output) => ({ ...output, lossless: true })) : outputs,
    watermark,
    maxPixels: limits.maxPixels === 0 ? 0 : animated ? 4 * limits.maxPixels : limits.maxPixels,
  };
  const pool = options.pool ?? defaultPool();
  const rendered = await pool.runWithInput<RenderedOutput[]>('transform', clean.bytes, job);
  const warnings = [...clean.warnings];
  for (const finding of extensionFinding(format, options.fileName)) {
    if (typeof finding.value === 'string')
      warnings.push(`the file name's extension is misleading: ${finding.value}`);
  }
  return {
    format,
    outputs: rendered.map((output) => verified(output, limits)),
    removed: [...clean.removed, ...clean.kept.map(applied)],
    verified: true,
    notes,
    warnings,
  };
}

/** What the decoder was given besides the picture goes too: it is applied to the pixels. */
function applied(part: PartRecord): PartRecord {
  const how = part.category === 'orientation' ? 'applied to the pixels' : 'converted to sRGB';
  return { ...part, name: `${part.name.replace(/ \(scrubbed\)$/, '')}, ${how}` };
}

/** Whether every frame is kept; when not, for an animation, the note that says why. */
function keepsAnimation(
  clean: StripResult,
  outputs: readonly ResolvedOutput[],
  options: TransformOptions,
  limits: Limits,
  notes: string[],
): boolean {
  if (clean.frames <= 1) return false;
  const firstOnly = `only the first of its ${clean.frames} frames was kept`;
  if (clean.format === 'png') {
    // libvips reads an animated PNG's default image, which need not be a frame of the
    // animation that viewers show: then it is a picture nobody saw, and is not made public.
    const names = handlerFor('png')
      .parse(clean.bytes, { limits })
      .parts.map((part) => part.name);
    const control = names.indexOf('fcTL');
    if (control === -1 || control > names.indexOf('IDAT'))
      throw pixwardenError(
        'ERR_UNSUPPORTED_FORMAT',
        'this animated PNG shows an animation whose frames cannot be decoded here, and its default image is not one of them',
        { value: 'APNG' },
      );
    notes.push(`${firstOnly}: animated PNG frames are not decoded here`);
    return false;
  }
  if (options.animation === 'first-frame') {
    notes.push(`${firstOnly}, as asked`);
    return false;
  }
  const still = outputs.find((output) => output.format !== 'gif' && output.format !== 'webp');
  if (still !== undefined) {
    notes.push(`${firstOnly}: ${still.format.toUpperCase()} output holds no animation here`);
    return false;
  }
  try {
    checkDecodeLimits({ width: clean.width, height: clean.height, frames: clean.frames }, limits);
  } catch (error: unknown) {
    if (!(error instanceof PixwardenError)) throw error;
    notes.push(`${firstOnly}: the animation is past the decode limits (${error.message})`);
    return false;
  }
  return true;
}

function isLosslessWebp(bytes: Uint8Array, limits: Limits): boolean {
  return handlerFor('webp')
    .parse(bytes, { limits })
    .parts.some((part) => part.name === 'VP8L');
}

/**
 * An output, stripped and verified by the same parsers as any input. AVIF has no lossless
 * stripper yet: its container is read and must hold nothing but the picture.
 */
function verified(output: RenderedOutput, limits: Limits): TransformOutput {
  if (output.format === 'avif') {
    const problems = avifProblems(parseIsobmff(output.bytes, limits));
    if (problems.length > 0) throw notClean('avif', problems);
    return output;
  }
  const clean = stripAs(output.format, output.bytes, OUTPUT_POLICY, { limits });
  return { ...output, bytes: clean.bytes };
}
