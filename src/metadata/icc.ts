/**
 * ICC colour profiles: validation and scrubbing.
 *
 * Layout (ICC.1:2022, also v2 ICC.1:2001-04): a 128-byte header (size at 0, 'acsp' at 36,
 * creation date at 24..35, device maker and model at 48..55, creator at 80..83, profile id at
 * 84..99), a tag count at 128, then 12-byte entries (signature, offset, size) pointing at tag
 * data elsewhere in the profile. Several entries may share one piece of data.
 *
 * A profile is needed to show colours right, but it can name the device or the person who made
 * it ("Jane's MacBook Pro"). Scrubbing rebuilds the profile from the tags that define colour,
 * blanks the text tags unless the profile is a well-known standard one, zeroes the identifying
 * header fields and drops everything else (vendor-private tags, `meta`, calibration dates).
 */
import { ByteView, latin1 } from '../bounds.js';

/** Profiles above this size are not carried over (the largest real ones are a few MB). */
export const maxProfileBytes = 4 * 1024 * 1024;
const maxTagCount = 200;
const headerBytes = 128;

/** Tags whose data defines how colours are computed; kept as they are. */
const COLOUR_TAGS = new Set([
  'A2B0',
  'A2B1',
  'A2B2',
  'A2B3',
  'A2M0',
  'B2A0',
  'B2A1',
  'B2A2',
  'B2A3',
  'D2B0',
  'D2B1',
  'D2B2',
  'D2B3',
  'B2D0',
  'B2D1',
  'B2D2',
  'B2D3',
  'rXYZ',
  'gXYZ',
  'bXYZ',
  'rTRC',
  'gTRC',
  'bTRC',
  'kTRC',
  'wtpt',
  'bkpt',
  'lumi',
  'chad',
  'chrm',
  'meas',
  'view',
  'tech',
  'gamt',
  'clro',
  'clrt',
  'clot',
  'ciis',
  'cicp',
  'ncl2',
  'pre0',
  'pre1',
  'pre2',
  'resp',
  'rig0',
  'rig2',
  'arts',
  'c2sp',
  's2cp',
  'bfd ',
  'psd0',
]);

/** Text tags: kept for standard profiles, blanked otherwise. */
const TEXT_TAGS = new Set(['desc', 'cprt', 'dmnd', 'dmdd', 'vued']);

/**
 * Descriptions of profiles that ship with operating systems and standards. Such a profile says
 * nothing about a person, so its text is kept.
 */
const STANDARD_PROFILE_NAMES: readonly RegExp[] = [
  /^s?RGB IEC61966-2[.-]1( black scaled| no black scaling)?$/i,
  /^sRGB( built-in| profile| v4 ICC preference.*| v2 .*| linear| IEC61966-2\.1 \(.*\))?$/i,
  /^(Linear )?Display P3( D65)?$/i,
  /^(Apple |Generic |ColorMatch |ProPhoto |Wide Gamut |eci|Adobe )?RGB( \(1998\)| Profile| v2)?$/i,
  /^Adobe RGB \(1998\)$/i,
  /^(Rec\. ?|ITU-R BT\.)(709|2020|2100).*$/i,
  /^(DCI|P3)[- ]P3.*$/i,
  /^DCI\(P3\) RGB$/i,
  /^Generic (Gray|Grey) (Gamma 2\.2 |Gamma 1\.8 )?Profile$/i,
  /^(s)?Gr[ae]y( Gamma 2\.2)?$/i,
  /^Dot Gain \d+%$/i,
  /^(U\.S\.|Japan|Euroscale) .*(Coated|Uncoated|Web|Newspaper).*$/i,
  /^(Coated|Uncoated) FOGRA\d+.*$/i,
  /^ISO Coated.*$/i,
  /^PSO .*$/i,
  /^GRACoL.*$/i,
  /^SWOP.*$/i,
  /^c2$/,
  /^Generic CMYK Profile$/i,
  /^Camera RGB Profile$/i,
];

export interface IccTag {
  signature: string;
  offset: number;
  size: number;
}

export interface ParsedIcc {
  bytes: Uint8Array;
  tags: IccTag[];
  description: string | undefined;
  version: number;
}

/**
 * Parses and checks an ICC profile: declared size matches, signature present, every tag's data
 * inside the profile. Returns a reason string when the profile is not well formed.
 */
export function parseIcc(bytes: Uint8Array): ParsedIcc | string {
  if (bytes.length > maxProfileBytes) {
    return `profile is ${bytes.length} bytes, limit ${maxProfileBytes}`;
  }
  const view = new ByteView(bytes, 'ICC profile');
  if (bytes.length < headerBytes + 4) return `profile is ${bytes.length} bytes, too short`;
  const declared = view.u32be(0, 'size');
  if (declared !== bytes.length) {
    return `profile declares ${declared} bytes but holds ${bytes.length}`;
  }
  if (view.latin1(36, 4, 'signature') !== 'acsp') return 'profile has no acsp signature';
  const count = view.u32be(headerBytes, 'tag count');
  if (count > maxTagCount) return `profile has ${count} tags, limit ${maxTagCount}`;
  if (!view.has(headerBytes + 4, count * 12)) return 'profile tag table runs past its end';
  const tags: IccTag[] = [];
  for (let i = 0; i < count; i++) {
    const at = headerBytes + 4 + i * 12;
    const tag = {
      signature: view.latin1(at, 4, 'tag signature'),
      offset: view.u32be(at + 4, 'tag offset'),
      size: view.u32be(at + 8, 'tag size'),
    };
    if (tag.offset < headerBytes || !view.has(tag.offset, tag.size)) {
      return `profile tag ${tag.signature} runs past its end`;
    }
    tags.push(tag);
  }
  const descTag = tags.find((tag) => tag.signature === 'desc');
  const description = descTag === undefined ? undefined : readText(bytes, descTag);
  return { bytes, tags, description, version: bytes[8] ?? 0 };
}

/** Decodes a text-bearing tag (`desc`, `mluc` or `text` type); undefined when unreadable. */
export function readText(profile: Uint8Array, tag: IccTag): string | undefined {
  const view = new ByteView(profile.subarray(tag.offset, tag.offset + tag.size), 'ICC tag');
  try {
    const type = view.latin1(0, 4, 'tag type');
    if (type === 'desc') {
      const n = view.u32be(8, 'desc length');
      return trimText(view.latin1(12, Math.min(n, view.length - 12), 'desc text'));
    }
    if (type === 'text') return trimText(view.latin1(8, view.length - 8, 'text'));
    if (type === 'mluc') {
      const records = view.u32be(8, 'mluc records');
      if (records === 0) return '';
      const length = view.u32be(20, 'mluc length');
      const offset = view.u32be(24, 'mluc offset');
      const utf16 = Buffer.from(view.slice(offset, length - (length % 2), 'mluc text'));
      return trimText(utf16.swap16().toString('utf16le'));
    }
  } catch {
    return undefined;
  }
  return undefined;
}

function trimText(text: string): string {
  const nul = text.indexOf('\0');
  return (nul === -1 ? text : text.slice(0, nul)).trim();
}

/** Whether a profile description names a standard profile rather than a device or person. */
export function isStandardProfileName(description: string | undefined): boolean {
  if (description === undefined || description === '') return false;
  return STANDARD_PROFILE_NAMES.some((pattern) => pattern.test(description));
}

/** Whether the description reads as sRGB (dropping such a profile changes nothing visible). */
export function isSrgbName(description: string | undefined): boolean {
  return description !== undefined && /^s?RGB IEC61966|^sRGB\b/i.test(description);
}

/**
 * Returns a scrubbed copy of a well-formed profile (see the module comment), or a reason when
 * the profile cannot be scrubbed safely (tags whose data partly overlap, which could make the
 * copy far larger than the original). The result is canonical: scrubbing it again gives the
 * same bytes, which is how verification recognises a scrubbed profile.
 *
 * - The header is rebuilt from the fields that define colour (version, class, colour spaces,
 *   rendering intent); everything else is zero, and the illuminant is the D50 the
 *   specification requires.
 * - The description of a well-known standard profile is rewritten from its recognised name
 *   alone (nothing after a NUL, no other languages); every other text tag is blanked.
 * - Tags of a fixed-size type are cut to that size; slack after their data is dropped.
 */
export function scrubIcc(icc: ParsedIcc): Uint8Array | string {
  const standard = isStandardProfileName(icc.description) ? icc.description : undefined;
  const kept = icc.tags.filter(
    (tag) => COLOUR_TAGS.has(tag.signature) || TEXT_TAGS.has(tag.signature),
  );
  const overlap = partialOverlap(kept);
  if (overlap !== null) return overlap;
  const chunks: Buffer[] = [];
  const placed = new Map<string, number>();
  const table: { signature: string; offset: number; size: number }[] = [];
  let cursor = headerBytes + 4 + kept.length * 12;

  for (const tag of kept) {
    const raw = icc.bytes.subarray(tag.offset, tag.offset + tag.size);
    const text = TEXT_TAGS.has(tag.signature);
    let data: Uint8Array;
    if (!text) data = raw.subarray(0, typedSize(tag.signature, raw) ?? raw.length);
    else if (tag.signature === 'desc' && standard !== undefined) data = textTag(raw, standard);
    else data = textTag(raw, '');
    const key = text ? tag.signature : `${tag.offset}:${data.length}`;
    let offset = placed.get(key);
    if (offset === undefined) {
      offset = cursor;
      placed.set(key, offset);
      const padding = (4 - (data.length % 4)) % 4;
      chunks.push(Buffer.from(data), Buffer.alloc(padding));
      cursor += data.length + padding;
    }
    table.push({ signature: tag.signature, offset, size: data.length });
  }
  if (cursor > Math.max(icc.bytes.length, headerBytes + 4 + kept.length * 12 + 256 * kept.length)) {
    return `scrubbing would make the profile larger (${cursor} bytes) than it was (${icc.bytes.length})`;
  }

  const head = Buffer.alloc(headerBytes + 4 + kept.length * 12);
  const source = Buffer.from(icc.bytes.buffer, icc.bytes.byteOffset, headerBytes);
  head.writeUInt32BE(cursor, 0);
  head[8] = source[8] ?? 0; // major version
  head[9] = source[9] ?? 0; // minor and bug-fix version
  source.copy(head, 12, 12, 24); // device class, colour space, connection space
  head.write('acsp', 36, 'latin1');
  head[67] = (source[67] ?? 0) & 0x03; // rendering intent
  head.writeInt32BE(0x0000f6d6, 68); // D50: X 0.9642, Y 1.0, Z 0.8249 (s15Fixed16)
  head.writeInt32BE(0x00010000, 72);
  head.writeInt32BE(0x0000d32d, 76);
  head.writeUInt32BE(kept.length, headerBytes);
  table.forEach((entry, i) => {
    const at = headerBytes + 4 + i * 12;
    head.write(entry.signature, at, 'latin1');
    head.writeUInt32BE(entry.offset, at + 4);
    head.writeUInt32BE(entry.size, at + 8);
  });
  return Buffer.concat([head, ...chunks]);
}

/**
 * Tags may share data (red, green and blue curves often do) but data that partly overlaps is
 * not a real profile's, and copying each tag on its own could multiply its size.
 */
function partialOverlap(tags: readonly IccTag[]): string | null {
  const ranges = [...new Map(tags.map((tag) => [`${tag.offset}:${tag.size}`, tag])).values()].sort(
    (a, b) => a.offset - b.offset,
  );
  for (let i = 1; i < ranges.length; i++) {
    const previous = ranges[i - 1];
    const current = ranges[i];
    if (
      previous !== undefined &&
      current !== undefined &&
      current.offset < previous.offset + previous.size
    ) {
      return `profile tags ${previous.signature} and ${current.signature} overlap`;
    }
  }
  return null;
}

/** The exact size of tag data of a fixed-layout type, or undefined to keep it whole. */
function typedSize(signature: string, data: Uint8Array): number | undefined {
  if (data.length < 12) return undefined;
  const view = Buffer.from(data.buffer, data.byteOffset, data.length);
  const type = view.toString('latin1', 0, 4);
  const single = ['wtpt', 'bkpt', 'rXYZ', 'gXYZ', 'bXYZ', 'lumi'].includes(signature);
  let size: number | undefined;
  if (type === 'XYZ ') size = single ? 20 : 8 + 12 * Math.floor((data.length - 8) / 12);
  else if (type === 'curv') size = 12 + 2 * view.readUInt32BE(8);
  else if (type === 'para') size = 12 + 4 * ([1, 3, 4, 5, 7][view.readUInt16BE(8)] ?? 0);
  else if (type === 'sf32') size = 8 + 4 * Math.floor((data.length - 8) / 4);
  else if (type === 'meas' || type === 'view') size = 36;
  else if (type === 'sig ') size = 12;
  else if (type === 'chrm') size = 12 + 8 * view.readUInt16BE(8);
  return size !== undefined && size <= data.length ? size : undefined;
}

/** A text tag of the same type as `data` (desc, mluc or text) holding `text` alone. */
function textTag(data: Uint8Array, text: string): Uint8Array {
  const type = data.length >= 4 ? latin1(data.subarray(0, 4)) : '';
  const ascii = Buffer.from(text.replace(/[^\x20-\x7e]/g, ''), 'latin1');
  if (type === 'mluc') {
    const utf16 = Buffer.from(ascii.toString('latin1'), 'utf16le').swap16();
    const out = Buffer.alloc(28 + utf16.length);
    out.write('mluc', 0, 'latin1');
    out.writeUInt32BE(1, 8); // one record
    out.writeUInt32BE(12, 12); // record size
    out.write('enUS', 16, 'latin1');
    out.writeUInt32BE(utf16.length, 20);
    out.writeUInt32BE(28, 24);
    utf16.copy(out, 28);
    return out;
  }
  if (type === 'desc') {
    // ASCII count and text with its NUL, Unicode language and count 0, ScriptCode 0 and 67 zeros.
    const out = Buffer.alloc(12 + ascii.length + 1 + 8 + 3 + 67);
    out.write('desc', 0, 'latin1');
    out.writeUInt32BE(ascii.length + 1, 8);
    ascii.copy(out, 12);
    return out;
  }
  const out = Buffer.alloc(9 + ascii.length);
  out.write('text', 0, 'latin1');
  ascii.copy(out, 8);
  return out;
}

/**
 * Photos from one camera or app carry the same profile, so scrubbing results are remembered
 * for a few recent profiles: each entry pairs an input profile with its scrubbed form, and a
 * hit is confirmed by comparing every byte.
 */
const recent: { input: Buffer; scrubbed: Buffer }[] = [];
const recentProfiles = 8;

/** `scrubIcc` for raw bytes, remembering recent results; a string says why it is malformed. */
export function scrubProfile(bytes: Uint8Array): Uint8Array | string {
  const input = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const hit = recent.find((entry) => entry.input.equals(input));
  if (hit !== undefined) return hit.scrubbed;
  const parsed = parseIcc(bytes);
  if (typeof parsed === 'string') return parsed;
  const result = scrubIcc(parsed);
  if (typeof result === 'string') return result;
  const scrubbed = Buffer.from(result);
  recent.unshift({ input: Buffer.from(input), scrubbed });
  if (recent.length > recentProfiles) recent.pop();
  return scrubbed;
}

/** Whether a profile is exactly what `scrubIcc` produces. */
export function isScrubbed(bytes: Uint8Array): boolean {
  const input = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (input.length > maxProfileBytes) return false;
  if (recent.some((entry) => entry.scrubbed.equals(input))) return true;
  const parsed = parseIcc(bytes);
  if (typeof parsed === 'string') return false;
  const scrubbed = scrubIcc(parsed);
  return typeof scrubbed !== 'string' && Buffer.from(scrubbed).equals(input);
}
