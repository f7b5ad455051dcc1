/** The tasks a pool worker runs for production callers. */
import { PixwardenError, pixwardenError } from '../errors.js';
import { pixelDecoder } from '../pixels.js';
import type { Task } from './serve.js';

/**
 * `describe`: reads an image's header with sharp (only the four allowed loaders open) and gives
 * its format and size, refusing one past `maxPixels`.
 */
const describe: Task = async (payload) => {
  const { bytes, maxPixels } = payload as { bytes: Uint8Array; maxPixels: number };
  const sharp = await pixelDecoder();
  if (sharp === null) throw pixwardenError('ERR_WORKER_CRASHED', 'sharp is not installed');
  try {
    const meta = await sharp(bytes, {
      limitInputPixels: maxPixels === 0 ? false : maxPixels,
      failOn: 'warning',
    }).metadata();
    const pixels = meta.width * meta.height;
    if (maxPixels > 0 && pixels > maxPixels) {
      throw pixwardenError(
        'ERR_PIXEL_LIMIT',
        `${meta.width} × ${meta.height} = ${pixels} pixels, limit ${maxPixels} to be decoded`,
        { value: pixels, limit: maxPixels, unit: 'pixels' },
      );
    }
    return { format: meta.format, width: meta.width, height: meta.height };
  } catch (error: unknown) {
    if (error instanceof PixwardenError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    if (/exceeds pixel limit/i.test(reason)) {
      throw pixwardenError('ERR_PIXEL_LIMIT', `the image has more than ${maxPixels} pixels`, {
        limit: maxPixels,
        unit: 'pixels',
      });
    }
    throw pixwardenError('ERR_MALFORMED', `the decoder refused the image: ${reason}`);
  }
};

export const TASKS: Readonly<Record<string, Task>> = { describe };
