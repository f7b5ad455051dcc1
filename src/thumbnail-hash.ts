/**
 * The pixel side of the thumbnail check, run inside a pool worker: both pictures are decoded
 * by sharp at a few pixels across (a JPEG is shrunk while it is decoded), under the decode
 * limits, and compared by a difference hash.
 */
import { decoderRefusal, requireDecoder } from './pixels.js';
import { inputBytes } from './pool/pool.js';
import type { Sharp } from './pixels.js';

/** Raw RGB rows, as JFIF stores its thumbnail. */
export interface RawPicture {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
}

export interface ThumbnailJob {
  /** The main picture: its bytes, or the file they were handed over in. */
  readonly input: { readonly bytes?: Uint8Array; readonly file?: string };
  readonly thumbnails: readonly (Uint8Array | RawPicture)[];
  /** Pixels the main picture may have to be decoded (0: no limit). */
  readonly maxPixels: number;
  /** Pixels a thumbnail may have. */
  readonly maxThumbnailPixels: number;
}

/** A hash row has one pixel more than the bits it yields: each bit compares two neighbours. */
const hashWidth = 9;
const hashHeight = 8;

async function differenceHash(
  sharp: Sharp,
  picture: Uint8Array | RawPicture,
  maxPixels: number,
): Promise<bigint> {
  const input =
    picture instanceof Uint8Array
      ? sharp(picture, {
          limitInputPixels: maxPixels === 0 ? false : maxPixels,
          failOn: 'warning',
          animated: false,
        })
      : sharp(picture.data, {
          raw: { width: picture.width, height: picture.height, channels: 3 },
        });
  const pixels = await input
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

/**
 * How many of 64 hash bits each thumbnail differs from the main picture by, or null for a
 * thumbnail that does not decode.
 * @throws a coded decoder refusal when the main picture does not decode.
 */
export async function thumbnailDistances(job: ThumbnailJob): Promise<(number | null)[]> {
  const sharp = await requireDecoder();
  let main: bigint;
  try {
    main = await differenceHash(sharp, inputBytes(job.input), job.maxPixels);
  } catch (error: unknown) {
    throw decoderRefusal(error, job.maxPixels);
  }
  const distances: (number | null)[] = [];
  for (const thumbnail of job.thumbnails) {
    try {
      distances.push(
        distance(main, await differenceHash(sharp, thumbnail, job.maxThumbnailPixels)),
      );
    } catch {
      distances.push(null);
    }
  }
  return distances;
}
