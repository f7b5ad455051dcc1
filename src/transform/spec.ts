/**
 * What a transform is asked to make: output formats, sizes, named variants, a watermark, and
 * the secure encoder presets. Everything a caller gives is checked here, in the caller's
 * process, before any pixel is decoded; the worker only ever sees a resolved, valid plan.
 */
import { pixwardenError } from '../errors.js';
import type { ImageFormat } from '../types.js';

/** Formats a transform writes: the four it reads, and AVIF. */
export type OutputFormat = ImageFormat | 'avif';

export const OUTPUT_FORMATS: readonly OutputFormat[] = ['jpeg', 'png', 'webp', 'avif', 'gif'];

/**
 * How a picture meets a width and a height: `inside` keeps the whole picture within both,
 * `cover` fills both and crops the overflow (centred), `contain` fits the whole picture and
 * pads it to exactly both. A picture is never enlarged.
 */
export type Fit = 'inside' | 'cover' | 'contain';

export const FITS: readonly Fit[] = ['inside', 'cover', 'contain'];

export type Gravity =
  | 'center'
  | 'north'
  | 'northeast'
  | 'east'
  | 'southeast'
  | 'south'
  | 'southwest'
  | 'west'
  | 'northwest';

export const GRAVITIES: readonly Gravity[] = [
  'center',
  'north',
  'northeast',
  'east',
  'southeast',
  'south',
  'southwest',
  'west',
  'northwest',
];

/** One output: its size and encoding. Unset fields take the transform's or the defaults. */
export interface OutputSpec {
  /** Default: the input's format. */
  readonly format?: OutputFormat;
  /** Pixels; the picture is scaled down to fit, never up. */
  readonly width?: number;
  readonly height?: number;
  /** Default `inside`. */
  readonly fit?: Fit;
  /** 1–100; default by format (`DEFAULT_QUALITY`). Ignored for PNG and GIF. */
  readonly quality?: number;
  /** Encoder effort for AVIF (0 fastest – 9) and WebP (0–6); default the encoder's own. */
  readonly effort?: number;
}

/** A named output, such as `thumb` at 256 pixels. */
export interface VariantSpec extends OutputSpec {
  /** Letters, digits, `-` and `_`: it becomes part of file names (`photo.thumb.webp`). */
  readonly name: string;
}

/** An overlay drawn onto every output (and every frame of an animation). */
export interface Watermark {
  /** Text to draw (plain text, not markup). Give this or `image`. */
  readonly text?: string;
  /** An image to draw (JPEG, PNG, WebP or GIF bytes), decoded like any input. */
  readonly image?: Uint8Array;
  /** Where it sits. Default `southeast`. */
  readonly gravity?: Gravity;
  /** 0 (invisible) – 1 (opaque). Default 0.5. */
  readonly opacity?: number;
  /** Its largest size as a fraction of the output's width and height. Default 0.25. */
  readonly scale?: number;
  /** Text colour, as a CSS colour name or `#rrggbb`. Default `white`. */
  readonly colour?: string;
}

/**
 * Named variants a service usually wants: a thumbnail, a medium and a large size, each
 * scaled to fit a square of that many pixels.
 */
export const DEFAULT_VARIANTS: readonly VariantSpec[] = Object.freeze([
  { name: 'thumb', width: 256, height: 256 },
  { name: 'medium', width: 1024, height: 1024 },
  { name: 'large', width: 2048, height: 2048 },
]);

/** Secure presets: no metadata is ever written; these are the encoder settings. */
export const DEFAULT_QUALITY: Readonly<Record<OutputFormat, number>> = {
  jpeg: 85,
  webp: 80,
  avif: 50,
  png: 100,
  gif: 100,
};

/**
 * AVIF's encoder effort when none is given: 2 of 9. At libaom's default (4) a noisy 12-megapixel
 * photo takes tens of seconds on one core, for a file no smaller; at 2 it takes about three.
 */
export const DEFAULT_AVIF_EFFORT = 2;

/** The quality of `strip --rewrite` for JPEG: high, since it replaces the original. */
export const REWRITE_JPEG_QUALITY = 92;

/** What the worker is handed for one output. */
export interface ResolvedOutput {
  readonly variant: string | null;
  readonly format: OutputFormat;
  readonly width: number | null;
  readonly height: number | null;
  readonly fit: Fit;
  readonly quality: number;
  /** Encode WebP losslessly (a rewrite of a lossless WebP). */
  readonly lossless: boolean;
  readonly effort: number | null;
}

function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/** Colour names a watermark text may use (or any #rrggbb). */
export const COLOUR_NAMES = ['white', 'black', 'grey', 'red', 'green', 'blue', 'yellow'] as const;

/** The resolved watermark: exactly one of text and image. */
export interface ResolvedWatermark {
  readonly text: string | null;
  readonly image: Uint8Array | null;
  readonly gravity: Gravity;
  readonly opacity: number;
  readonly scale: number;
  readonly colour: string;
}

function invalid(message: string, value?: string | number): never {
  throw pixwardenError(
    'ERR_INVALID_ARGUMENT',
    message,
    value === undefined ? undefined : { value },
  );
}

function oneOf<T extends string>(what: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value))
    return value as T;
  return invalid(`${what} must be one of ${allowed.join(', ')}, not ${show(value)}`, show(value));
}

function whole(what: string, value: unknown, min: number, max: number): number {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max)
    return value;
  return invalid(`${what} must be a whole number from ${min} to ${max}, not ${show(value)}`);
}

function show(value: unknown): string {
  return typeof value === 'string' ? `"${value.slice(0, 40)}"` : String(value);
}

/** The largest side a transform may ask for: the decode limit's own default ceiling. */
const maxSide = 16_383;

/**
 * Resolves one output against the transform's defaults and the input's format.
 * @throws ERR_INVALID_ARGUMENT naming the first field that is wrong.
 */
export function resolveOutput(
  spec: OutputSpec,
  defaults: OutputSpec,
  input: ImageFormat,
  variant: string | null,
): ResolvedOutput {
  const field = <K extends keyof OutputSpec>(key: K): OutputSpec[K] => spec[key] ?? defaults[key];
  const label = variant === null ? '' : `variant "${variant}": `;
  const format = oneOf(`${label}format`, field('format') ?? input, OUTPUT_FORMATS);
  const width = field('width');
  const height = field('height');
  const quality = field('quality');
  const effort = field('effort');
  const maxEffort = format === 'webp' ? 6 : 9;
  return {
    variant,
    format,
    width: width === undefined ? null : whole(`${label}width`, width, 1, maxSide),
    height: height === undefined ? null : whole(`${label}height`, height, 1, maxSide),
    fit: oneOf(`${label}fit`, field('fit') ?? 'inside', FITS),
    quality:
      quality === undefined ? DEFAULT_QUALITY[format] : whole(`${label}quality`, quality, 1, 100),
    lossless: false,
    effort:
      effort === undefined
        ? format === 'avif'
          ? DEFAULT_AVIF_EFFORT
          : null
        : whole(`${label}effort`, effort, 0, maxEffort),
  };
}

/** The fields a variant may have. */
export const VARIANT_FIELDS: ReadonlySet<string> = new Set([
  'name',
  'format',
  'width',
  'height',
  'fit',
  'quality',
  'effort',
]);

/**
 * Checks a variant list: names unique and safe for file names.
 * @throws ERR_INVALID_ARGUMENT.
 */
export function checkVariants(variants: readonly VariantSpec[]): void {
  if (!Array.isArray(variants)) invalid('variants must be an array');
  const seen = new Set<string>();
  for (const variant of variants as unknown[]) {
    if (variant === null || typeof variant !== 'object' || Array.isArray(variant))
      invalid('each variant must be an object with a name');
    for (const field of Object.keys(variant))
      if (!VARIANT_FIELDS.has(field)) invalid(`a variant has no field "${field}"`, field);
    const name: unknown = (variant as { name?: unknown }).name;
    if (typeof name !== 'string' || !/^[A-Za-z0-9_-]{1,32}$/.test(name))
      invalid(
        `a variant name must be 1–32 letters, digits, "-" or "_", not ${show(name)}`,
        show(name),
      );
    if (seen.has(name)) invalid(`the variant "${name}" is named twice`, name);
    seen.add(name);
  }
}

/**
 * Picks variants by name from a set (the built-in one or a configured one).
 * @throws ERR_INVALID_ARGUMENT for a name the set does not hold, listing the names it does.
 */
export function pickVariants(
  names: readonly string[],
  from: readonly VariantSpec[] = DEFAULT_VARIANTS,
): VariantSpec[] {
  return names.map((name) => {
    const found = from.find((variant) => variant.name === name);
    if (found === undefined)
      invalid(
        `there is no variant "${name}": the configured ones are ${from.map((v) => v.name).join(', ')}`,
        name,
      );
    return found;
  });
}

/**
 * Resolves a watermark.
 * @throws ERR_INVALID_ARGUMENT unless exactly one of text and image is given and the other
 *   fields are in range.
 */
export function resolveWatermark(mark: Watermark): ResolvedWatermark {
  const given: unknown = mark;
  if (given === null || typeof given !== 'object') invalid('a watermark must be an object');
  const text: unknown = mark.text;
  const image: unknown = mark.image;
  if ((text === undefined) === (image === undefined))
    invalid('a watermark needs exactly one of text and image');
  if (
    text !== undefined &&
    (typeof text !== 'string' || text.trim() === '' || text.length > 200 || hasControl(text))
  )
    invalid('a watermark text must be 1–200 printable characters');
  if (image !== undefined && !(image instanceof Uint8Array))
    invalid('a watermark image must be the bytes of a file (a Uint8Array)');
  const fraction = (what: string, value: unknown, fallback: number, min: number): number => {
    if (value === undefined) return fallback;
    if (typeof value === 'number' && value >= min && value <= 1) return value;
    return invalid(`the watermark's ${what} must be from ${min} to 1, not ${show(value)}`);
  };
  const colour: unknown = mark.colour ?? 'white';
  if (
    typeof colour !== 'string' ||
    !(/^#[0-9a-fA-F]{6}$/.test(colour) || (COLOUR_NAMES as readonly string[]).includes(colour))
  )
    invalid(
      `the watermark's colour must be #rrggbb or one of ${COLOUR_NAMES.join(', ')}, not ${show(colour)}`,
    );
  return {
    text: typeof text === 'string' ? text : null,
    image: image instanceof Uint8Array ? image : null,
    gravity: oneOf("the watermark's gravity", mark.gravity ?? 'southeast', GRAVITIES),
    opacity: fraction('opacity', mark.opacity, 0.5, 0),
    scale: fraction('scale', mark.scale, 0.25, 0.01),
    colour,
  };
}

/** The file name extension of a format. */
export function extensionOf(format: OutputFormat): string {
  return format === 'jpeg' ? 'jpg' : format;
}
