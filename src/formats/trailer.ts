/** Naming the bytes found after the end of an image. */
import { ascii } from '../bounds.js';
import type { Finding } from '../types.js';

const SIGNATURES: readonly { kind: string; magic: Uint8Array }[] = [
  { kind: 'ZIP', magic: Uint8Array.of(0x50, 0x4b, 0x03, 0x04) },
  { kind: 'ZIP', magic: Uint8Array.of(0x50, 0x4b, 0x05, 0x06) },
  { kind: 'RAR', magic: ascii('Rar!') },
  { kind: '7z', magic: Uint8Array.of(0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c) },
  { kind: 'gzip', magic: Uint8Array.of(0x1f, 0x8b) },
  { kind: 'PDF', magic: ascii('%PDF') },
  { kind: 'JPEG', magic: Uint8Array.of(0xff, 0xd8, 0xff) },
  { kind: 'PNG', magic: Uint8Array.of(0x89, 0x50, 0x4e, 0x47) },
  { kind: 'GIF', magic: ascii('GIF8') },
  { kind: 'RIFF', magic: ascii('RIFF') },
];

/** How far into the trailer to look for a signature (an archive may follow some padding). */
const scanBytes = 4096;

/**
 * Names what trailing bytes look like: `ZIP`, `HTML`, `JPEG`, … , `padding` (only zero or 0xFF
 * bytes, which some cameras write) or `unknown`.
 */
export function trailerKind(trailer: Uint8Array): string {
  if (trailer.every((byte) => byte === 0 || byte === 0xff)) return 'padding';
  const head = Buffer.from(trailer.subarray(0, scanBytes));
  for (const { kind, magic } of SIGNATURES) {
    if (head.subarray(0, magic.length).equals(magic)) return kind;
  }
  const text = head.toString('latin1').trimStart().slice(0, 512).toLowerCase();
  if (/^<(!doctype html|html|script|body|svg|\?php)/.test(text)) return 'HTML';
  for (const { kind, magic } of SIGNATURES) {
    if (head.indexOf(magic) !== -1 && kind !== 'gzip') return kind;
  }
  if (text.includes('<script') || text.includes('<html')) return 'HTML';
  return 'unknown';
}

/** The finding for a trailer: hidden data (or harmless padding, reported as structure). */
function trailerFinding(trailer: Uint8Array, kind: string): Finding {
  if (kind === 'padding') {
    return {
      code: 'TRAILING_PADDING',
      category: 'structure',
      source: 'trailer',
      name: 'padding after the end of the image',
      value: trailer.length,
      risk: 'low',
    };
  }
  const picture = kind === 'JPEG' || kind === 'PNG' || kind === 'GIF' || kind === 'RIFF';
  return {
    code: picture ? 'SECOND_PICTURE' : 'HIDDEN_TRAILER',
    category: 'hidden-data',
    source: 'trailer',
    name: `trailing ${kind}`,
    value: trailer.length,
    risk: 'high',
  };
}

/**
 * The bytes after `end` (where the image ends) as a parsed trailer, with its finding added to
 * `findings`; null when the file ends with the image.
 */
export function trailerAt(
  bytes: Uint8Array,
  end: number,
  findings: Finding[],
): { start: number; length: number; kind: string } | null {
  if (end >= bytes.length) return null;
  const trailer = bytes.subarray(end);
  const kind = trailerKind(trailer);
  findings.push(trailerFinding(trailer, kind));
  return { start: end, length: trailer.length, kind };
}
