/**
 * The little of EXIF that a clean file may carry: Orientation, and on request the copyright
 * notice and the artist credit, in a TIFF structure of our own making.
 *
 * Layout (TIFF 6.0, EXIF 2.32): a header (byte order "MM", 42, offset of IFD0 = 8), then IFD0:
 * a count, 12-byte entries (tag, type, count, value or offset) sorted by tag, and the offset of
 * the next IFD (0: there is none). Values longer than four bytes follow the IFD.
 *
 * Reading here is deliberately narrow: IFD0 only, and only the three tags we carry over. The
 * full decoding of what a file reveals belongs to inspect, which uses exifr.
 */
import { ByteView } from '../bounds.js';

export const TAG_ORIENTATION = 0x0112;
export const TAG_ARTIST = 0x013b;
export const TAG_COPYRIGHT = 0x8298;

const TYPE_ASCII = 2;
const TYPE_SHORT = 3;

/** Longest copyright or artist text carried over; longer text is cut at this many bytes. */
const maxCarriedTextBytes = 1024;
/** IFD0 entry counts above this are not a real camera's and are not walked. */
const maxIfdEntries = 4096;

/** The values a clean file may keep from the original EXIF. */
export interface CarriedTags {
  /** 1..8; absent or 1 means "normal". */
  orientation?: number;
  copyright?: string;
  artist?: string;
}

/**
 * Reads Orientation, Copyright and Artist (unless `withCredits` is false) from IFD0 of a TIFF
 * structure (the payload of an EXIF block, starting at the byte-order mark). Anything it cannot read is simply absent:
 * carrying fewer values over is the safe failure.
 */
export function readCarriedTags(tiff: Uint8Array, withCredits = true): CarriedTags {
  const view = new ByteView(tiff, 'EXIF');
  const tags: CarriedTags = {};
  try {
    const order = view.latin1(0, 2, 'byte order');
    if (order !== 'II' && order !== 'MM') return tags;
    const le = order === 'II';
    if (view.u16(2, le, 'TIFF magic') !== 42) return tags;
    const ifd = view.u32(4, le, 'IFD0 offset');
    const count = view.u16(ifd, le, 'IFD0 entry count');
    if (count > maxIfdEntries) return tags;
    for (let i = 0; i < count; i++) {
      const entry = ifd + 2 + i * 12;
      const tag = view.u16(entry, le, 'IFD0 entry tag');
      const type = view.u16(entry + 2, le, 'IFD0 entry type');
      const n = view.u32(entry + 4, le, 'IFD0 entry count');
      if (tag === TAG_ORIENTATION && type === TYPE_SHORT && n >= 1) {
        const value = view.u16(entry + 8, le, 'Orientation');
        if (value >= 1 && value <= 8) tags.orientation = value;
      } else if (
        withCredits &&
        (tag === TAG_COPYRIGHT || tag === TAG_ARTIST) &&
        type === TYPE_ASCII &&
        n > 0
      ) {
        const offset = n <= 4 ? entry + 8 : view.u32(entry + 8, le, 'text offset');
        const length = Math.min(n, maxCarriedTextBytes);
        const text = cleanText(view.slice(offset, length, 'text value'));
        if (text !== '') {
          if (tag === TAG_COPYRIGHT) tags.copyright = text;
          else tags.artist = text;
        }
      }
    }
  } catch {
    // A broken IFD carries nothing over; the rest of the file is judged elsewhere.
  }
  return tags;
}

/**
 * TIFF ASCII values are NUL-terminated; the copyright field may hold two NUL-separated parts
 * (photographer, editor). Keep printable text only, so nothing binary rides along.
 */
function cleanText(bytes: Uint8Array): string {
  return canonicalText(Buffer.from(bytes).toString('utf8'));
}

/**
 * The form in which a credit is carried: printable text only, NUL-separated parts joined with
 * " / ", at most `maxCarriedTextBytes` of UTF-8 cut at a character boundary. Writing applies it
 * too, so what is written reads back the same (that is how verification recognises it).
 */
function canonicalText(text: string): string {
  let out = text
    .split('\0')
    .map((part) => part.replace(/[^\P{C}\t]/gu, '').trim())
    .filter((part) => part !== '')
    .join(' / ');
  while (Buffer.byteLength(out, 'utf8') > maxCarriedTextBytes - 1) out = out.slice(0, -1).trimEnd();
  return out;
}

/** Whether the tags hold anything worth writing: a non-normal orientation or a credit. */
function hasCarriedTags(tags: CarriedTags): boolean {
  return (
    (tags.orientation !== undefined && tags.orientation !== 1) ||
    tags.copyright !== undefined ||
    tags.artist !== undefined
  );
}

/**
 * Writes a big-endian TIFF structure whose IFD0 holds only the given tags, and no next IFD.
 * Returns null when there is nothing to write. The output is canonical: reading it back and
 * writing again gives the same bytes, which is how verification recognises it.
 */
export function writeMinimalExif(given: CarriedTags): Uint8Array | null {
  const tags: CarriedTags = {};
  if (given.orientation !== undefined) tags.orientation = given.orientation;
  const copyright = given.copyright === undefined ? '' : canonicalText(given.copyright);
  const artist = given.artist === undefined ? '' : canonicalText(given.artist);
  if (copyright !== '') tags.copyright = copyright;
  if (artist !== '') tags.artist = artist;
  if (!hasCarriedTags(tags)) return null;
  const entries: { tag: number; type: number; data: Buffer }[] = [];
  if (tags.orientation !== undefined && tags.orientation !== 1) {
    const data = Buffer.alloc(2);
    data.writeUInt16BE(tags.orientation);
    entries.push({ tag: TAG_ORIENTATION, type: TYPE_SHORT, data });
  }
  if (tags.artist !== undefined) {
    entries.push({ tag: TAG_ARTIST, type: TYPE_ASCII, data: asciiz(tags.artist) });
  }
  if (tags.copyright !== undefined) {
    entries.push({ tag: TAG_COPYRIGHT, type: TYPE_ASCII, data: asciiz(tags.copyright) });
  }

  const ifdBytes = 2 + entries.length * 12 + 4;
  let extraOffset = 8 + ifdBytes;
  const head = Buffer.alloc(8 + ifdBytes);
  const extras: Buffer[] = [];
  head.write('MM', 0, 'latin1');
  head.writeUInt16BE(42, 2);
  head.writeUInt32BE(8, 4);
  head.writeUInt16BE(entries.length, 8);
  entries.forEach((entry, i) => {
    const at = 10 + i * 12;
    head.writeUInt16BE(entry.tag, at);
    head.writeUInt16BE(entry.type, at + 2);
    head.writeUInt32BE(
      entry.type === TYPE_SHORT ? entry.data.length / 2 : entry.data.length,
      at + 4,
    );
    if (entry.data.length <= 4) {
      entry.data.copy(head, at + 8);
    } else {
      head.writeUInt32BE(extraOffset, at + 8);
      const padded =
        entry.data.length % 2 === 1 ? Buffer.concat([entry.data, Buffer.alloc(1)]) : entry.data;
      extras.push(padded);
      extraOffset += padded.length;
    }
  });
  return Buffer.concat([head, ...extras]);
}

function asciiz(text: string): Buffer {
  return Buffer.concat([Buffer.from(text, 'utf8'), Buffer.alloc(1)]);
}

/**
 * Checks that an EXIF block is exactly what `writeMinimalExif` would write, holding no tag the
 * policy does not allow. Returns a reason when it is not, or null when it is clean.
 */
export function minimalExifProblem(
  tiff: Uint8Array,
  allow: { orientation: boolean; credits: boolean },
): string | null {
  const tags = readCarriedTags(tiff);
  const canonical = writeMinimalExif(tags);
  if (canonical === null || !Buffer.from(canonical).equals(Buffer.from(tiff))) {
    return 'EXIF holds more than Orientation and the copyright credits';
  }
  if (!allow.orientation && tags.orientation !== undefined) {
    return 'EXIF holds an Orientation tag the policy drops';
  }
  if (!allow.credits && (tags.copyright !== undefined || tags.artist !== undefined)) {
    return 'EXIF holds copyright credits the policy drops';
  }
  return null;
}

/** Longest hex-encoded raw profile decoded to look for an orientation (64 KiB of EXIF). */
const maxRawProfileChars = 2 * 65_536;

/**
 * ImageMagick writes EXIF into PNG text chunks as "Raw profile type exif": a line with the
 * name, a line with the byte count, then hex digits. Returns the TIFF payload, or null.
 */
export function tiffFromRawProfile(text: string): Uint8Array | null {
  const match = /^\s*\S+\s+(\d+)\s+([0-9a-fA-F\s]+)$/.exec(text.slice(0, maxRawProfileChars + 64));
  if (match === null) return null;
  const bytes = Buffer.from(
    (match[2] ?? '').replace(/\s+/g, '').slice(0, maxRawProfileChars),
    'hex',
  );
  const start = bytes.subarray(0, 6).toString('latin1') === 'Exif\0\0' ? 6 : 0;
  return bytes.subarray(start);
}

/** The tiff:Orientation of an XMP packet (attribute or element form), when it is 1..8. */
export function orientationFromXmp(xml: string): number | undefined {
  const match = /tiff:Orientation\s*(?:=\s*["']\s*(\d+)\s*["']|>\s*(\d+)\s*<)/.exec(xml);
  const value = Number(match?.[1] ?? match?.[2]);
  return Number.isInteger(value) && value >= 1 && value <= 8 ? value : undefined;
}

/** `orientationFromXmp` for a packet still in bytes: only the bytes around the tag are decoded. */
export function orientationFromXmpBytes(xmp: Uint8Array): number | undefined {
  const bytes = Buffer.from(xmp.buffer, xmp.byteOffset, xmp.length);
  const at = bytes.indexOf('tiff:Orientation');
  if (at === -1) return undefined;
  return orientationFromXmp(bytes.toString('latin1', at, at + 64));
}

/** The copyright notice (dc:rights) and first creator (dc:creator) of an XMP packet. */
export function creditsFromXmp(xml: string): { copyright?: string; artist?: string } {
  const first = (property: string): string | undefined => {
    const block = new RegExp(`<dc:${property}[^>]*>([\\s\\S]*?)</dc:${property}>`).exec(xml)?.[1];
    const item =
      block === undefined
        ? undefined
        : (/<rdf:li[^>]*>([^<]*)<\/rdf:li>/.exec(block)?.[1] ?? block);
    const text = item === undefined ? '' : decodeEntities(item).trim();
    return text === '' || text.includes('<') ? undefined : text.slice(0, maxCarriedTextBytes);
  };
  const credits: { copyright?: string; artist?: string } = {};
  const copyright = first('rights');
  const artist = first('creator');
  if (copyright !== undefined) credits.copyright = copyright;
  if (artist !== undefined) credits.artist = artist;
  return credits;
}

/** The character of a numeric entity, or the entity itself when it names no character. */
function codePoint(value: number, entity: string): string {
  return Number.isInteger(value) && value >= 0 && value <= 0x10ffff
    ? String.fromCodePoint(value)
    : entity;
}

function decodeEntities(text: string): string {
  const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
  return text.replace(
    /&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi,
    (entity: string, body: string) => {
      if (body.startsWith('#x') || body.startsWith('#X'))
        return codePoint(parseInt(body.slice(2), 16), entity);
      if (body.startsWith('#')) return codePoint(Number(body.slice(1)), entity);
      return named[body.toLowerCase()] ?? entity;
    },
  );
}
