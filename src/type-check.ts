/**
 * What a file claims to be against what its bytes are. The format always comes from the bytes;
 * a name or a declared type only ever adds a finding or a refusal.
 */
import path from 'node:path';
import { pixwardenError } from './errors.js';
import type { Finding, ImageFormat } from './types.js';

const MIME_TYPES: Record<ImageFormat, readonly string[]> = {
  jpeg: ['image/jpeg', 'image/jpg', 'image/pjpeg'],
  png: ['image/png', 'image/apng'],
  webp: ['image/webp'],
  gif: ['image/gif'],
};

const EXTENSIONS: Record<ImageFormat, readonly string[]> = {
  jpeg: ['.jpg', '.jpeg', '.jpe', '.jfif', '.pjpeg'],
  png: ['.png', '.apng'],
  webp: ['.webp'],
  gif: ['.gif'],
};

/** The MIME type and the extension pixwarden writes for a format. */
export function mimeType(format: ImageFormat): string {
  return MIME_TYPES[format][0] ?? 'application/octet-stream';
}

/**
 * Refuses bytes of `format` that a caller declared as another type (an upload's Content-Type).
 * Parameters such as `; charset=` are ignored, and so is case.
 * @throws ERR_TYPE_MISMATCH unless `allow`.
 */
export function checkDeclaredType(
  format: ImageFormat,
  declaredType: string | undefined,
  allow: boolean,
): void {
  if (allow) return;
  const declared = mismatchedType(format, declaredType);
  if (declared === null) return;
  throw pixwardenError(
    'ERR_TYPE_MISMATCH',
    `declared as ${JSON.stringify(declared)}, but the bytes are ${format.toUpperCase()}`,
    { value: declared, limit: mimeType(format) },
  );
}

/** A finding when bytes contradict a declared type that the policy allowed anyway. */
export function declaredTypeFinding(
  format: ImageFormat,
  declaredType: string | undefined,
): Finding[] {
  const declared = mismatchedType(format, declaredType);
  if (declared === null) return [];
  return [
    {
      code: 'TYPE_MISMATCH',
      category: 'structure',
      source: 'container',
      name: 'declared type',
      value: `${declared} for a ${format.toUpperCase()} file`,
      risk: 'low',
    },
  ];
}

/**
 * The declared type (lower case, without parameters, at most 100 characters) when it is not a
 * name for `format`; null when it is, or when nothing was declared.
 */
function mismatchedType(format: ImageFormat, declaredType: string | undefined): string | null {
  if (declaredType === undefined) return null;
  const declared = (declaredType.split(';')[0] ?? '').trim().toLowerCase();
  return MIME_TYPES[format].includes(declared) ? null : declared.slice(0, 100);
}

/**
 * A finding when a file's extension names another image format than its bytes (a WebP saved as
 * `.jpg` is common, and harmless once cleaned), or names no image format at all.
 */
export function extensionFinding(format: ImageFormat, fileName: string | undefined): Finding[] {
  if (typeof fileName !== 'string') return [];
  const base = path.basename(fileName).toLowerCase();
  // A name that is only an extension (".png") is one all the same.
  const ext = path.extname(base) === '' && base.startsWith('.') ? base : path.extname(base);
  if (ext === '' || EXTENSIONS[format].includes(ext)) return [];
  return [
    {
      code: 'EXTENSION_MISMATCH',
      category: 'structure',
      source: 'container',
      name: 'file name extension',
      value: `${ext.slice(0, 20)} for a ${format.toUpperCase()} file`,
      risk: 'low',
    },
  ];
}
