/** Bounded zlib inflation: compressed data in a file is never inflated past a cap. */
import type * as Zlib from 'node:zlib';

/**
 * Node's zlib, loaded on first use: a run that meets no PNG never pays for loading it.
 */
export function zlib(): typeof Zlib {
  return process.getBuiltinModule('node:zlib');
}

export type InflateResult =
  { ok: true; data: Uint8Array } | { ok: false; reason: 'over-limit' | 'corrupt' };

/**
 * Inflates zlib data, stopping at `limit` bytes. zlib's `maxOutputLength` aborts as soon as the
 * output would pass the limit, so a bomb costs at most `limit` bytes of memory.
 */
export function inflateCapped(data: Uint8Array, limit: number): InflateResult {
  try {
    return { ok: true, data: zlib().inflateSync(data, { maxOutputLength: limit }) };
  } catch (error: unknown) {
    const code = (error as { code?: unknown }).code;
    return { ok: false, reason: code === 'ERR_BUFFER_TOO_LARGE' ? 'over-limit' : 'corrupt' };
  }
}
