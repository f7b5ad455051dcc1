/**
 * Whether an embedded thumbnail still shows the picture. A thumbnail that does not (a photo was
 * cropped or edited and the thumbnail kept the original) is the classic leak: it shows what its
 * owner removed. Both pictures are decoded by sharp, at a few pixels across (a JPEG is shrunk
 * while it is decoded), under the decode limits, and compared by a difference hash.
 */
import exifr from 'exifr';
import type SharpFactory from 'sharp';
import type { ParsedImage } from './formats/types.js';
import { checkDecodeLimits } from './limits.js';
import type { Limits } from './limits.js';
import type { Finding } from './types.js';

/** A hash row has one pixel more than the bits it yields: each bit compares two neighbours. */
const hashWidth = 9;
const hashHeight = 8;
/** Of 64 bits, more than this many differing means another picture (or another crop). */
const maxDistance = 14;
/** A thumbnail is a small picture: one claiming more pixels than this is not decoded. */
const maxThumbnailPixels = 4_000_000;

type Sharp = typeof SharpFactory;

async function loadSharp(): Promise<Sharp | null> {
  try {
    return (await import('sharp')).default;
  } catch {
    return null;
  }
}

async function differenceHash(sharp: Sharp, bytes: Uint8Array, maxPixels: number): Promise<bigint> {
  const pixels = await sharp(bytes, {
    limitInputPixels: maxPixels === 0 ? false : maxPixels,
    failOn: 'truncated',
    animated: false,
  })
    .greyscale()
    .resize(hashWidth, hashHeight, { fit: 'fill' })
    .raw()
    .toBuffer();
  let hash = 0n;
  for (let y = 0; y < hashHeight; y++) {
    for (let x = 0; x < hashWidth - 1; x++) {
      const left = pixels[y * hashWidth + x] ?? 0;
      const right = pixels[y * hashWidth + x + 1] ?? 0;
      hash = (hash << 1n) | (left > right ? 1n : 0n);
    }
  }
  return hash;
}

function distance(a: bigint, b: bigint): number {
  let diff = a ^ b;
  let count = 0;
  while (diff > 0n) {
    count += Number(diff & 1n);
    diff >>= 1n;
  }
  return count;
}

/** The JPEG thumbnail in an EXIF block's IFD1, bounded by the block. */
async function exifThumbnail(tiff: Uint8Array): Promise<Uint8Array | null> {
  // exifr throws on a TIFF header it does not know, whatever silentErrors says.
  const out = (await exifr
    .parse(Buffer.from(tiff), {
      tiff: true,
      ifd0: false,
      exif: false,
      gps: false,
      interop: false,
      ifd1: true,
      makerNote: false,
      userComment: false,
      xmp: false,
      icc: false,
      iptc: false,
      jfif: false,
      ihdr: false,
      mergeOutput: false,
      translateKeys: false,
      reviveValues: false,
      silentErrors: true,
    } as never)
    .catch(() => undefined)) as { ifd1?: Record<number, unknown> } | undefined;
  const offset = out?.ifd1?.[0x0201];
  const length = out?.ifd1?.[0x0202];
  if (typeof offset !== 'number' || typeof length !== 'number' || length <= 0) return null;
  if (offset < 8 || offset + length > tiff.length) return null;
  return tiff.subarray(offset, offset + length);
}

/**
 * Findings for embedded thumbnails that do not match the main picture, or that could not be
 * compared (the picture is over the decode limits, or either will not decode).
 */
export async function thumbnailFindings(
  bytes: Uint8Array,
  parsed: ParsedImage,
  limits: Limits,
): Promise<Finding[]> {
  if (parsed.exif === null) return [];
  const thumbnail = await exifThumbnail(parsed.exif);
  if (thumbnail === null) return [];
  const notCompared = (why: string): Finding[] => [
    {
      code: 'THUMBNAIL_NOT_COMPARED',
      category: 'thumbnail',
      source: 'exif',
      name: 'IFD1 thumbnail',
      value: why,
      risk: 'medium',
    },
  ];
  try {
    checkDecodeLimits({ width: parsed.width, height: parsed.height, frames: 1 }, limits);
  } catch (error: unknown) {
    return notCompared(error instanceof Error ? error.message : 'over the decode limits');
  }
  const sharp = await loadSharp();
  if (sharp === null) return notCompared('sharp is not installed');
  let main: bigint;
  let small: bigint;
  try {
    main = await differenceHash(sharp, bytes, limits.maxPixels);
    small = await differenceHash(sharp, thumbnail, maxThumbnailPixels);
  } catch {
    return notCompared('the picture or the thumbnail does not decode');
  }
  const apart = distance(main, small);
  if (apart <= maxDistance) return [];
  return [
    {
      code: 'THUMBNAIL_MISMATCH',
      category: 'thumbnail',
      source: 'exif',
      name: 'IFD1 thumbnail',
      value: `shows another picture than the main one (${apart} of 64 hash bits differ)`,
      risk: 'high',
    },
  ];
}
