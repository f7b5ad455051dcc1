/**
 * sharp, set up for untrusted input: every libvips loader is blocked except those of the four
 * allowed formats, so that a file that fools the sniffer still cannot reach the TIFF, SVG, PDF,
 * HEIF or other loaders (each a large attack surface of its own). Loaded on first use: the
 * lossless path never needs it.
 */
import type SharpFactory from 'sharp';

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
