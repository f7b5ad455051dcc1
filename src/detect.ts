/**
 * Deciding what a file is from its bytes, never its name or a declared type.
 *
 * The four formats pixwarden cleans are recognised by their signatures here. Everything else is
 * named (with file-type for binary formats, with small sniffers of our own for text formats
 * that file-type does not name) so that the refusal says what the file is.
 */
import { pixwardenError } from './errors.js';
import type { PixwardenError } from './errors.js';
import type { ImageFormat } from './types.js';

/** Formats that are images but that pixwarden does not clean yet. */
const NOT_YET: Record<string, string> = {
  heic: 'HEIC',
  heif: 'HEIF',
  avif: 'AVIF',
  tif: 'TIFF',
  jxl: 'JPEG XL',
};

/**
 * Throws `ERR_INVALID_ARGUMENT` unless `bytes` is a Uint8Array (a Buffer is one). Callers from
 * JavaScript can pass anything; a string or a path is a mistake worth a clear message.
 */
export function requireBytes(bytes: unknown): asserts bytes is Uint8Array {
  if (!(bytes instanceof Uint8Array)) {
    const kind = bytes === null ? 'null' : typeof bytes;
    throw pixwardenError(
      'ERR_INVALID_ARGUMENT',
      `expected the file's bytes as a Uint8Array or Buffer, got ${kind}`,
      { value: kind },
    );
  }
}

/** Recognises JPEG, PNG, WebP and GIF by signature; null for anything else. */
export function sniffImage(bytes: Uint8Array): ImageFormat | null {
  const b = bytes;
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (
    b.length >= 8 &&
    b[0] === 0x89 &&
    b[1] === 0x50 &&
    b[2] === 0x4e &&
    b[3] === 0x47 &&
    b[4] === 0x0d &&
    b[5] === 0x0a &&
    b[6] === 0x1a &&
    b[7] === 0x0a
  )
    return 'png';
  if (b.length >= 12 && ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WEBP') return 'webp';
  if (b.length >= 6 && (ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a')) return 'gif';
  return null;
}

function ascii(bytes: Uint8Array, offset: number, length: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + offset, length).toString('latin1');
}

/**
 * What follows an XML declaration and any comments at the start of a text. Written as a loop
 * of plain searches: a regular expression with nested repetition here can take exponential
 * time on a crafted run of comments.
 */
function afterPrologue(text: string): string {
  let rest = text;
  if (rest.startsWith('<?xml')) {
    const close = rest.indexOf('>');
    rest = close === -1 ? '' : rest.slice(close + 1).trimStart();
  }
  while (rest.startsWith('<!--')) {
    const close = rest.indexOf('-->', 4);
    rest = close === -1 ? '' : rest.slice(close + 3).trimStart();
  }
  return rest;
}

/**
 * Names a text format from its first bytes: SVG, HTML, ImageMagick drawing scripts (MVG, MSL),
 * PostScript, XML, scripts. These can run code or fetch URLs inside converters.
 */
export function sniffText(bytes: Uint8Array): string | null {
  let text = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, 4096)).toString(
    'utf8',
  );
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const head = text.trimStart().toLowerCase();
  const body = afterPrologue(head);
  if (
    body.startsWith('<!doctype svg') ||
    /^<svg[\s>]/.test(body) ||
    /<svg[\s>]/.test(head.slice(0, 1024))
  )
    return 'SVG';
  if (/^(<!doctype html|<html|<head|<body|<script|<iframe)/.test(body)) return 'HTML';
  if (/^push graphic-context|^viewbox\s+\d/m.test(head)) return 'MVG';
  if (/^<image[\s>]/.test(body) && head.includes('<read')) return 'MSL';
  if (head.startsWith('%!ps') || head.startsWith('%!')) return 'PostScript';
  if (head.startsWith('<?php')) return 'PHP script';
  if (head.startsWith('#!')) return 'script';
  if (head.startsWith('<?xml')) return 'XML';
  return null;
}

/**
 * Returns the image format, or throws the refusal that names what the bytes are.
 * @throws ERR_EMPTY_INPUT, ERR_UNSUPPORTED_FORMAT (HEIC, AVIF, TIFF: not supported yet) or
 *   ERR_FORMAT_NOT_ALLOWED (anything else, named when it can be).
 */
export async function detectFormat(bytes: Uint8Array): Promise<ImageFormat> {
  requireBytes(bytes);
  const format = sniffImage(bytes);
  if (format !== null) return format;
  throw await refusalFor(bytes);
}

async function refusalFor(bytes: Uint8Array): Promise<PixwardenError> {
  if (bytes.length === 0) return pixwardenError('ERR_EMPTY_INPUT', 'the input is empty (0 bytes)');
  const textKind = sniffText(bytes);
  if (textKind !== null) {
    return pixwardenError(
      'ERR_FORMAT_NOT_ALLOWED',
      `this is ${article(textKind)} file, not an allowed image (JPEG, PNG, WebP, GIF)`,
      { value: textKind },
    );
  }
  const { fileTypeFromBuffer } = await import('file-type');
  const type = await fileTypeFromBuffer(bytes);
  if (type !== undefined) {
    const notYet = NOT_YET[type.ext];
    if (notYet !== undefined) {
      return pixwardenError(
        'ERR_UNSUPPORTED_FORMAT',
        `this is ${article(notYet)} image; ${notYet} is not supported yet`,
        { value: notYet },
      );
    }
    const name = describe(type.ext, type.mime);
    return pixwardenError(
      'ERR_FORMAT_NOT_ALLOWED',
      `this is ${article(name)}, not an allowed image (JPEG, PNG, WebP, GIF)`,
      { value: type.ext },
    );
  }
  return pixwardenError(
    'ERR_FORMAT_NOT_ALLOWED',
    'this is not a recognised image (JPEG, PNG, WebP, GIF)',
    { value: 'unknown' },
  );
}

const NAMES: Record<string, string> = {
  pdf: 'PDF document',
  zip: 'ZIP archive',
  rar: 'RAR archive',
  '7z': '7z archive',
  gz: 'gzip archive',
  tar: 'tar archive',
  exe: 'Windows executable',
  elf: 'ELF executable',
  bmp: 'BMP image',
  ico: 'icon file',
  psd: 'Photoshop document',
  mp4: 'MP4 video',
  mov: 'QuickTime video',
};

function describe(ext: string, mime: string): string {
  return NAMES[ext] ?? `${ext.toUpperCase()} file (${mime})`;
}

function article(noun: string): string {
  return /^[aeiouAEIOUHMNRSX]/.test(noun) && !/^(U\.|Un[ai])/.test(noun)
    ? `an ${noun}`
    : `a ${noun}`;
}
