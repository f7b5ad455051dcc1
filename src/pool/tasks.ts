/** The tasks a pool worker runs for production callers. */
import { pixwardenError } from '../errors.js';
import { decoderRefusal, requireDecoder } from '../pixels.js';
import { thumbnailDistances } from '../thumbnail-hash.js';
import type { ThumbnailJob } from '../thumbnail-hash.js';
import { render } from '../transform/render.js';
import type { RenderJob } from '../transform/render.js';
import type { Task } from './serve.js';

/**
 * `describe`: reads an image's header with sharp (only the four allowed loaders open) and gives
 * its format and size, refusing one past `maxPixels`.
 */
const describe: Task = async (payload) => {
  const { bytes, maxPixels } = payload as { bytes: Uint8Array; maxPixels: number };
  const sharp = await requireDecoder();
  let meta;
  try {
    meta = await sharp(bytes, {
      limitInputPixels: maxPixels === 0 ? false : maxPixels,
      failOn: 'warning',
    }).metadata();
  } catch (error: unknown) {
    throw decoderRefusal(error, maxPixels);
  }
  const pixels = meta.width * meta.height;
  if (maxPixels > 0 && pixels > maxPixels) {
    throw pixwardenError(
      'ERR_PIXEL_LIMIT',
      `${meta.width} × ${meta.height} = ${pixels} pixels, limit ${maxPixels} to be decoded`,
      { value: pixels, limit: maxPixels, unit: 'pixels' },
    );
  }
  return { format: meta.format, width: meta.width, height: meta.height };
};

export const TASKS: Readonly<Record<string, Task>> = {
  describe,
  transform: (payload) => render(payload as RenderJob),
  'thumbnail-distances': (payload) => thumbnailDistances(payload as ThumbnailJob),
};
