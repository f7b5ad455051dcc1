/**
 * Limits on what an input may claim, checked from headers and container structure before
 * anything is decoded. One typed config used by the library, the CLI (flags and `PIXWARDEN_*`
 * variables) and the service. Every field is in base units (bytes, pixels, frames, segments),
 * and 0 turns a limit off explicitly.
 */
import { pixwardenError } from './errors.js';
import type { ErrorCode } from './errors.js';

export interface Limits {
  /** Bytes in one input file. Default 50 MiB: larger than any photo a phone or camera writes. */
  readonly maxFileBytes: number;
  /**
   * Pixels (width × height, of the canvas and of every frame) for the lossless path, which
   * decodes nothing. Default 268,402,689 (sharp's own ceiling, 16383²): 48–200 megapixel photos
   * and panoramas pass, a header claiming gigapixels is refused.
   */
  readonly maxLosslessPixels: number;
  /**
   * Pixels where pixels are decoded (transforms, thumbnail comparison). Default 40,000,000: a
   * decoded 40-megapixel RGBA picture already takes 160 MB of memory.
   */
  readonly maxPixels: number;
  /** Pixels on either side where pixels are decoded. Default 12,000. */
  readonly maxDimension: number;
  /** Frames in one file for the lossless path. Default 1,000. */
  readonly maxLosslessFrames: number;
  /**
   * Frames where frames are decoded. Default 100; the pixels of all frames together must also
   * stay within 4 × `maxPixels`.
   */
  readonly maxFrames: number;
  /**
   * Bytes in one metadata segment or chunk (EXIF, XMP, text, comments, profiles, unknown
   * chunks; image data is bounded by the file size only). Default 1 MiB: real metadata is far
   * smaller, and a larger block is a way to smuggle or to exhaust.
   */
  readonly maxSegmentBytes: number;
  /**
   * Metadata and structure segments or chunks in one file, besides image data and the
   * per-frame headers that `maxLosslessFrames` bounds. Default 1,000; real files hold dozens.
   */
  readonly maxSegments: number;
  /** Bytes that compressed text or profile data may inflate to. Default 1 MiB. */
  readonly maxInflateBytes: number;
}

export const DEFAULT_LIMITS: Limits = Object.freeze({
  maxFileBytes: 50 * 1024 * 1024,
  maxLosslessPixels: 268_402_689,
  maxPixels: 40_000_000,
  maxDimension: 12_000,
  maxLosslessFrames: 1000,
  maxFrames: 100,
  maxSegmentBytes: 1024 * 1024,
  maxSegments: 1000,
  maxInflateBytes: 1024 * 1024,
});

export type LimitName = keyof Limits;

export const LIMIT_NAMES = Object.keys(DEFAULT_LIMITS) as readonly LimitName[];

/** `maxPixels` → `PIXWARDEN_MAX_PIXELS`. */
export function envName(name: LimitName): string {
  return `PIXWARDEN_${name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

/** `maxPixels` → `--max-pixels`. */
export function flagName(name: LimitName): string {
  return `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** The largest value a limit may take: beyond it, arithmetic on sizes stops being exact. */
const maxLimitValue = Number.MAX_SAFE_INTEGER;

/**
 * Parses one limit given as text (a variable or a flag): a whole number of base units, 0 for
 * "no limit".
 * @throws ERR_INVALID_ARGUMENT naming the source and the value.
 */
export function parseLimit(name: LimitName, text: string, source: string): number {
  const trimmed = text.trim();
  const value = /^\d+$/.test(trimmed) ? Number(trimmed) : Number.NaN;
  if (!Number.isSafeInteger(value) || value > maxLimitValue) {
    throw pixwardenError(
      'ERR_INVALID_ARGUMENT',
      `${source} must be a whole number of ${UNITS[name]} (0 turns the limit off), not "${text}"`,
      { value: text },
    );
  }
  return value;
}

/** Limits objects this module made (and froze): they need no second check. */
const resolved = new WeakSet<object>([DEFAULT_LIMITS]);

const ENV_NAMES = LIMIT_NAMES.map((name) => [name, envName(name)] as const);

/**
 * The limits in force: the defaults, overridden by `PIXWARDEN_*` variables in `env`, overridden
 * by `overrides`. Limits this function returned before come back as they are (each file of a
 * batch does not pay for checking them again).
 * @throws ERR_INVALID_ARGUMENT for a variable or override that is not a whole number ≥ 0, or a
 *   key that names no limit.
 */
export function resolveLimits(
  overrides: Partial<Record<string, unknown>> | Limits = DEFAULT_LIMITS,
  env?: Readonly<Record<string, string | undefined>>,
): Limits {
  if (env === undefined && resolved.has(overrides)) return overrides as unknown as Limits;
  const limits: Record<string, number> = { ...DEFAULT_LIMITS };
  for (const [name, variable] of env === undefined ? [] : ENV_NAMES) {
    const text = env?.[variable];
    if (text !== undefined && text !== '') limits[name] = parseLimit(name, text, variable);
  }
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    if (!(LIMIT_NAMES as readonly string[]).includes(key)) {
      throw pixwardenError('ERR_INVALID_ARGUMENT', `"${key}" is not a limit`, { value: key });
    }
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      const shown = typeof value === 'number' ? String(value) : typeof value;
      throw pixwardenError(
        'ERR_INVALID_ARGUMENT',
        `limit ${key} must be a whole number ≥ 0, not ${shown}`,
        { value: shown },
      );
    }
    limits[key] = value;
  }
  const frozen = Object.freeze(limits as unknown as Limits);
  resolved.add(frozen);
  return frozen;
}

const UNITS: Record<LimitName, string> = {
  maxFileBytes: 'bytes',
  maxLosslessPixels: 'pixels',
  maxPixels: 'pixels',
  maxDimension: 'pixels',
  maxLosslessFrames: 'frames',
  maxFrames: 'frames',
  maxSegmentBytes: 'bytes',
  maxSegments: 'segments',
  maxInflateBytes: 'bytes',
};

/** Whether `value` passes `limit` (0 is no limit). */
export function over(value: number, limit: number): boolean {
  return limit > 0 && value > limit;
}

function limitError(code: ErrorCode, message: string, value: number, limit: number, unit: string) {
  return pixwardenError(code, message, { value, limit, unit });
}

/** Pixels in megapixels for a message; small counts are given in pixels, so none reads as 0. */
function megapixels(pixels: number): string {
  const mp = pixels / 1e6;
  if (mp >= 10) return `${Math.round(mp)} megapixels`;
  if (mp >= 0.1) return `${mp.toFixed(1)} megapixels`;
  return `${pixels} pixels`;
}

/**
 * Refuses an input larger than `maxFileBytes` (0: no limit).
 * @throws ERR_FILE_SIZE_LIMIT
 */
export function checkFileSize(size: number, maxFileBytes: number): void {
  if (over(size, maxFileBytes)) {
    throw limitError(
      'ERR_FILE_SIZE_LIMIT',
      `the file is ${size} bytes, limit ${maxFileBytes}`,
      size,
      maxFileBytes,
      'bytes',
    );
  }
}

/**
 * Refuses a picture (or frame) whose header claims more pixels than the lossless path accepts.
 * @throws ERR_PIXEL_LIMIT
 */
export function checkLosslessPixels(
  what: string,
  width: number,
  height: number,
  limits: Limits,
): void {
  const pixels = width * height;
  if (over(pixels, limits.maxLosslessPixels)) {
    throw limitError(
      'ERR_PIXEL_LIMIT',
      `${what} is ${width} × ${height} = ${megapixels(pixels)}, limit ${megapixels(limits.maxLosslessPixels)} (${limits.maxLosslessPixels} pixels)`,
      pixels,
      limits.maxLosslessPixels,
      'pixels',
    );
  }
}

/** @throws ERR_FRAME_LIMIT */
export function checkFrameCount(format: string, frames: number, limit: number): void {
  if (over(frames, limit)) {
    throw limitError(
      'ERR_FRAME_LIMIT',
      `${format} has ${frames} frames, limit ${limit}`,
      frames,
      limit,
      'frames',
    );
  }
}

/**
 * Counts the segments of one file as a parser meets them, and refuses the file as soon as one
 * metadata segment is too large or there are too many: a file of a million tiny chunks is
 * refused after a thousand, not parsed whole. Segments are named (by `nameOf`, from the key the
 * parser has at hand: a marker code, a chunk type) only when one is refused.
 */
export class SegmentCounter<Key extends number | string> {
  private count = 0;
  private readonly maxSegments: number;
  private readonly maxBytes: number;

  constructor(
    private readonly format: string,
    limits: Limits,
    private readonly nameOf: (key: Key) => string,
  ) {
    this.maxSegments = limits.maxSegments;
    this.maxBytes = limits.maxSegmentBytes;
  }

  /**
   * Counts one segment; `metadataBytes` is its size when it holds metadata (and so is bound by
   * `maxSegmentBytes`), or undefined for structure.
   * @throws ERR_SEGMENT_COUNT_LIMIT, ERR_SEGMENT_SIZE_LIMIT
   */
  add(key: Key, offset: number, metadataBytes?: number): void {
    if (++this.count > this.maxSegments && this.maxSegments > 0) {
      throw limitError(
        'ERR_SEGMENT_COUNT_LIMIT',
        `${this.format} has more than ${this.maxSegments} segments (limit ${this.maxSegments}); the next is ${this.nameOf(key)} at offset ${offset}`,
        this.count,
        this.maxSegments,
        'segments',
      );
    }
    if (metadataBytes !== undefined) this.bound(key, offset, metadataBytes);
  }

  /**
   * Bounds the size of a segment that is not counted (one that each frame may have).
   * @throws ERR_SEGMENT_SIZE_LIMIT
   */
  bound(key: Key, offset: number, metadataBytes: number): void {
    if (metadataBytes > this.maxBytes && this.maxBytes > 0) {
      throw limitError(
        'ERR_SEGMENT_SIZE_LIMIT',
        `${this.format} ${this.nameOf(key)} at offset ${offset} holds ${metadataBytes} bytes, limit ${this.maxBytes}`,
        metadataBytes,
        this.maxBytes,
        'bytes',
      );
    }
  }
}

/** What the decode limits judge: a picture's canvas and its frames. */
export interface PictureSize {
  readonly width: number;
  readonly height: number;
  readonly frames: number;
}

/**
 * Refuses a picture that is too large to decode: either side past `maxDimension`, the canvas
 * past `maxPixels`, more than `maxFrames` frames, or all frames together past 4 × `maxPixels`.
 * For callers about to decode pixels (transforms, thumbnail comparison).
 * @throws ERR_DIMENSION_LIMIT, ERR_PIXEL_LIMIT, ERR_FRAME_LIMIT
 */
export function checkDecodeLimits(
  size: PictureSize,
  given: Partial<Limits> = DEFAULT_LIMITS,
): void {
  const limits = resolveLimits(given);
  const { width, height, frames } = size;
  for (const [name, value] of [
    ['width', width],
    ['height', height],
    ['frames', frames],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw pixwardenError(
        'ERR_INVALID_ARGUMENT',
        `the picture's ${name} must be a whole number ≥ 0, not ${String(value)}`,
      );
    }
  }
  const side = Math.max(width, height);
  if (over(side, limits.maxDimension)) {
    throw limitError(
      'ERR_DIMENSION_LIMIT',
      `the picture is ${width} × ${height} pixels; a side may be at most ${limits.maxDimension} to be decoded`,
      side,
      limits.maxDimension,
      'pixels',
    );
  }
  const pixels = width * height;
  if (over(pixels, limits.maxPixels)) {
    throw limitError(
      'ERR_PIXEL_LIMIT',
      `${width} × ${height} = ${megapixels(pixels)}, limit ${megapixels(limits.maxPixels)} to be decoded`,
      pixels,
      limits.maxPixels,
      'pixels',
    );
  }
  checkFrameCount('the picture', frames, limits.maxFrames);
  const total = pixels * frames;
  if (over(total, 4 * limits.maxPixels)) {
    throw limitError(
      'ERR_PIXEL_LIMIT',
      `${frames} frames of ${width} × ${height} = ${megapixels(total)} in all, limit ${megapixels(4 * limits.maxPixels)}`,
      total,
      4 * limits.maxPixels,
      'pixels',
    );
  }
}
