/**
 * Whether an embedded thumbnail still shows the picture. A thumbnail that does not (a photo was
 * cropped or edited and the thumbnail kept the original) is the classic leak: it shows what its
 * owner removed. Both pictures are decoded in a pool worker (see `thumbnail-hash.ts`) and
 * compared by a difference hash.
 */
import exifr from 'exifr';
import { PixwardenError } from './errors.js';
import type { ParsedImage } from './formats/types.js';
import { checkDecodeLimits } from './limits.js';
import { defaultPool } from './pool/default.js';
import type { WorkerPool } from './pool/pool.js';
import type { RawPicture, ThumbnailJob } from './thumbnail-hash.js';
import type { Limits } from './limits.js';
import type { Finding } from './types.js';

/** Of 64 bits, more than this many differing means another picture (or another crop). */
const maxDistance = 14;
/** The most pixels of a main picture that is not a JPEG decoded for a comparison. */
const maxWholeDecodePixels = 4_000_000;
/** A thumbnail is a small picture: one claiming more pixels than this is not decoded. */
const maxThumbnailPixels = 4_000_000;

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

interface Thumbnail {
  readonly name: string;
  readonly source: 'exif' | 'jfif';
  readonly picture: Uint8Array | RawPicture;
}

async function thumbnailsOf(parsed: ParsedImage): Promise<Thumbnail[]> {
  const found: Thumbnail[] = [];
  if (parsed.exif !== null) {
    const jpeg = await exifThumbnail(parsed.exif);
    if (jpeg !== null) found.push({ name: 'IFD1 thumbnail', source: 'exif', picture: jpeg });
  }
  for (const block of parsed.blocks) {
    if (block.kind !== 'thumbnail' || block.name !== 'JFIF thumbnail') continue;
    const [width = 0, height = 0] = (block.keyword ?? '').split('x').map(Number);
    if (width > 0 && height > 0)
      found.push({
        name: block.name,
        source: 'jfif',
        picture: { data: block.data, width, height },
      });
  }
  return found;
}

/**
 * Findings for embedded thumbnails (EXIF IFD1, JFIF) that do not match the main picture, or that
 * could not be compared (the picture is over the decode limits, or will not decode).
 */
export async function thumbnailFindings(
  bytes: Uint8Array,
  parsed: ParsedImage,
  limits: Limits,
  pool?: WorkerPool,
): Promise<Finding[]> {
  const thumbnails = await thumbnailsOf(parsed);
  if (thumbnails.length === 0) return [];
  const finding = (thumbnail: Thumbnail, code: string, value: string, risk: Finding['risk']) => ({
    code,
    category: 'thumbnail' as const,
    source: thumbnail.source,
    name: thumbnail.name,
    value,
    risk,
  });
  const notCompared = (why: string): Finding[] =>
    thumbnails.map((t) => finding(t, 'THUMBNAIL_NOT_COMPARED', why, 'medium'));
  try {
    checkDecodeLimits({ width: parsed.width, height: parsed.height, frames: 1 }, limits);
  } catch (error: unknown) {
    return notCompared(error instanceof Error ? error.message : 'over the decode limits');
  }
  // A JPEG is shrunk while it is decoded; other formats are decoded whole, so a small file
  // that draws a large picture would cost seconds of decoding for one comparison.
  if (parsed.format !== 'jpeg' && parsed.width * parsed.height > maxWholeDecodePixels)
    return notCompared(
      `a ${parsed.format.toUpperCase()} of ${parsed.width} × ${parsed.height} is not decoded for a comparison`,
    );
  const job: Omit<ThumbnailJob, 'input'> = {
    thumbnails: thumbnails.map((thumbnail) => thumbnail.picture),
    maxPixels: limits.maxPixels,
    maxThumbnailPixels,
  };
  let distances: (number | null)[];
  try {
    distances = await (pool ?? defaultPool()).runWithInput<(number | null)[]>(
      'thumbnail-distances',
      bytes,
      job,
    );
  } catch (error: unknown) {
    const code = error instanceof PixwardenError ? error.code : '';
    const reason = error instanceof Error ? error.message : String(error);
    // A worker that died or was stopped says nothing about the picture.
    return notCompared(
      code.startsWith('ERR_WORKER') || code === 'ERR_INVALID_ARGUMENT'
        ? `the comparison could not run (${code}: ${reason})`
        : `the main picture does not decode (${code === '' ? '' : `${code}: `}${reason})`,
    );
  }
  const findings: Finding[] = [];
  for (const [index, thumbnail] of thumbnails.entries()) {
    const apart = distances[index] ?? null;
    if (apart === null) {
      findings.push(
        finding(thumbnail, 'THUMBNAIL_NOT_COMPARED', 'the thumbnail does not decode', 'medium'),
      );
    } else if (apart > maxDistance) {
      findings.push(
        finding(
          thumbnail,
          'THUMBNAIL_MISMATCH',
          `shows another picture than the main one (${apart} of 64 hash bits differ)`,
          'high',
        ),
      );
    }
  }
  return findings;
}
