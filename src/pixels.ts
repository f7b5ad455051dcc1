/**
 * sharp, set up for untrusted input: every libvips loader is blocked except those of the four
 * allowed formats, so that a file that fools the sniffer still cannot reach the TIFF, SVG, PDF,
 * HEIF or other loaders (each a large attack surface of its own). Loaded on first use: the
 * lossless path never needs it.
 */
import type SharpFactory from 'sharp';
import { PixwardenError, pixwardenError } from './errors.js';

export type Sharp = typeof SharpFactory;

/** The libvips loader classes that stay open (their buffer and file variants with them). */
export const ALLOWED_LOADERS = [
  'VipsForeignLoadJpeg',
  'VipsForeignLoadPng',
  'VipsForeignLoadWebp',
  'VipsForeignLoadNsgif',
] as const;

let loaded: Promise<Sharp | null> | undefined;

/** sharp with only the allowed loaders, or null when its binary is not installed. */
export function pixelDecoder(): Promise<Sharp | null> {
  loaded ??= import('sharp').then(
    ({ default: sharp }) => {
      sharp.block({ operation: ['VipsForeignLoad'] });
      sharp.unblock({ operation: [...ALLOWED_LOADERS] });
      return sharp;
    },
    () => null,
  );
  return loaded;
}

/**
 * The decoder, set up for a worker process: libvips' operation cache off (a cache keeps
 * decoded pixels of earlier jobs alive) and one libvips thread, since the pool runs one
 * worker per core.
 * @throws ERR_WORKER_CRASHED when sharp is not installed.
 */
export async function requireDecoder(): Promise<Sharp> {
  const sharp = await pixelDecoder();
  if (sharp === null) throw pixwardenError('ERR_WORKER_CRASHED', 'sharp is not installed');
  if (!configured) {
    sharp.cache(false);
    sharp.concurrency(1);
    configured = true;
  }
  return sharp;
}

let configured = false;

/**
 * The coded error for a failure inside sharp: past the decode pixel limit, or a picture the
 * decoder refused (at `failOn: 'warning'`, even a warning refuses it). A coded error passes
 * through as it is.
 */
export function decoderRefusal(error: unknown, maxPixels: number): PixwardenError {
  if (error instanceof PixwardenError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  if (/exceeds pixel limit/i.test(reason)) {
    return pixwardenError('ERR_PIXEL_LIMIT', `the image has more than ${maxPixels} pixels`, {
      limit: maxPixels,
      unit: 'pixels',
    });
  }
  return pixwardenError('ERR_MALFORMED', `the decoder refused the image: ${firstLine(reason)}`);
}

function firstLine(text: string): string {
  const line = text.split('\n', 1)[0] ?? '';
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
