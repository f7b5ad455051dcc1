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
 * Returns a scrubbed copy of a well-formed profile (see the module comment). The result is
 * canonical: scrubbing it again gives the same bytes, which is how verification recognises a
 * scrubbed profile.
 */
export function scrubIcc(icc: ParsedIcc): Uint8Array {
  const standard = isStandardProfileName(icc.description);
  const kept = icc.tags.filter(
    (tag) => COLOUR_TAGS.has(tag.signature) || TEXT_TAGS.has(tag.signature),
  );
  const chunks: Buffer[] = [];
  const placed = new Map<string, number>();
  const table: { signature: string; offset: number; size: number }[] = [];
  let cursor = headerBytes + 4 + kept.length * 12;

  for (const tag of kept) {
    let data: Uint8Array = icc.bytes.subarray(tag.offset, tag.offset + tag.size);
    if (TEXT_TAGS.has(tag.signature) && !standard) data = blankText(data);
    const key = `${tag.offset}:${tag.size}:${TEXT_TAGS.has(tag.signature) && !standard ? tag.signature : ''}`;
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

  const head = Buffer.alloc(headerBytes + 4 + kept.length * 12);
  Buffer.from(icc.bytes.subarray(0, headerBytes)).copy(head);
  head.fill(0, 24, 36); // creation date and time
  head.fill(0, 48, 56); // device manufacturer and model
  head.fill(0, 80, 100); // profile creator and profile id (an MD5 of the original bytes)
  head.writeUInt32BE(cursor, 0);
  head.writeUInt32BE(kept.length, headerBytes);
  table.forEach((entry, i) => {
    const at = headerBytes + 4 + i * 12;
    head.write(entry.signature, at, 'latin1');
    head.writeUInt32BE(entry.offset, at + 4);
    head.writeUInt32BE(entry.size, at + 8);
  });
  return Buffer.concat([head, ...chunks]);
}

/** An empty text of the same tag type, so that readers still find a valid tag. */
function blankText(data: Uint8Array): Uint8Array {
  const type = data.length >= 4 ? latin1(data.subarray(0, 4)) : '';
  if (type === 'mluc') {
    const out = Buffer.alloc(28);
    out.write('mluc', 0, 'latin1');
    out.writeUInt32BE(1, 8); // one record
    out.writeUInt32BE(12, 12); // record size
    out.write('enUS', 16, 'latin1');
    out.writeUInt32BE(0, 20); // empty string
    out.writeUInt32BE(28, 24);
    return out;
  }
  if (type === 'desc') {
    // ASCII count 1 (the NUL), Unicode language and count 0, ScriptCode 0 with 67 zero bytes.
    const out = Buffer.alloc(12 + 1 + 8 + 3 + 67);
    out.write('desc', 0, 'latin1');
    out.writeUInt32BE(1, 8);
    return out;
  }
  const out = Buffer.alloc(9);
  out.write('text', 0, 'latin1');
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
  const scrubbed = Buffer.from(scrubIcc(parsed));
  recent.unshift({ input: Buffer.from(input), scrubbed });
  if (recent.length > recentProfiles) recent.pop();
  return scrubbed;
}

/** Whether a profile is exactly what `scrubIcc` produces. */
export function isScrubbed(bytes: Uint8Array): boolean {
  const input = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (recent.some((entry) => entry.scrubbed.equals(input))) return true;
  const parsed = parseIcc(bytes);
  if (typeof parsed === 'string') return false;
  return Buffer.from(scrubIcc(parsed)).equals(input);
}
