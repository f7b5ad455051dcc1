/**
 * The lossless strip: parse the container, keep the image parts byte for byte, rewrite what the
 * policy keeps (a minimal EXIF for Orientation and credits, a scrubbed ICC profile), drop the
 * rest, then verify the output with the same parsers.
 */
import { detectFormat } from './detect.js';
import { handlerFor } from './formats/index.js';
import { trailerName } from './formats/trailer.js';
import type { ParsedImage } from './formats/types.js';
import {
  creditsFromXmp,
  orientationFromXmp,
  readCarriedTags,
  tiffFromRawProfile,
  writeMinimalExif,
} from './metadata/exif.js';
import type { CarriedTags } from './metadata/exif.js';
import { isSrgbName, parseIcc, scrubIcc } from './metadata/icc.js';
import { DEFAULT_POLICY, keeps } from './policy.js';
import type { ImageFormat, PartRecord, StripPolicy } from './types.js';
import { checkParsed, notClean } from './verify.js';

export interface StripResult {
  /** The clean file. */
  bytes: Uint8Array;
  format: ImageFormat;
  /** Every part that went, in file order. */
  removed: PartRecord[];
  /** What the clean file keeps beyond the picture, as found by verification. */
  kept: PartRecord[];
  /** Always true: an output that fails verification is an error, never a result. */
  verified: true;
  /** Things a person may want to know, such as a non-sRGB profile that was dropped. */
  warnings: string[];
}

/**
 * Removes every metadata-bearing part of a JPEG, PNG, WebP or GIF without touching its pixels.
 *
 * @param bytes - the whole file.
 * @param policy - what to keep; defaults to orientation and a scrubbed ICC profile.
 * @returns the clean bytes, what was removed and kept, and warnings.
 * @throws ERR_FORMAT_NOT_ALLOWED or ERR_UNSUPPORTED_FORMAT for other kinds of file;
 *   ERR_MALFORMED, ERR_TRUNCATED or ERR_CRC_MISMATCH when the container cannot be fully parsed;
 *   ERR_OUTPUT_NOT_CLEAN if the output fails verification (a defect, never expected).
 */
export async function strip(
  bytes: Uint8Array,
  policy: StripPolicy = DEFAULT_POLICY,
): Promise<StripResult> {
  const format = await detectFormat(bytes);
  return stripAs(format, bytes, policy);
}

/** `strip` for bytes whose format is already known. */
export function stripAs(format: ImageFormat, bytes: Uint8Array, policy: StripPolicy): StripResult {
  const handler = handlerFor(format);
  const parsed = handler.parse(bytes);
  const warnings: string[] = [];
  const carry = {
    exif: writeMinimalExif(carriedTags(parsed, policy, warnings)),
    icc: carriedProfile(parsed, policy, warnings),
  };
  const output = handler.build(bytes, parsed, carry);
  const check = checkParsed(handler.parse(output), policy);
  if (!check.clean) throw notClean(format, check.problems);
  return {
    bytes: output,
    format,
    removed: removedParts(bytes, parsed, check.kept),
    kept: check.kept,
    verified: true,
    warnings,
  };
}

function carriedTags(parsed: ParsedImage, policy: StripPolicy, warnings: string[]): CarriedTags {
  const found = parsed.exif === null ? {} : readCarriedTags(parsed.exif);
  const elsewhere = found.orientation === undefined ? orientationElsewhere(parsed) : undefined;
  if (elsewhere !== undefined) found.orientation = elsewhere;
  const tags: CarriedTags = {};
  if (keeps(policy, 'orientation') && found.orientation !== undefined)
    tags.orientation = found.orientation;
  if (keeps(policy, 'copyright')) {
    const fromXmp =
      found.copyright === undefined && found.artist === undefined ? xmpCredits(parsed) : {};
    const copyright = found.copyright ?? fromXmp.copyright;
    const artist = found.artist ?? fromXmp.artist;
    if (parsed.format === 'gif') {
      if (copyright !== undefined || artist !== undefined)
        warnings.push('GIF has nowhere to keep copyright credits: they were removed');
    } else {
      if (copyright !== undefined) tags.copyright = copyright;
      if (artist !== undefined) tags.artist = artist;
    }
  }
  return tags;
}

function xmpPackets(parsed: ParsedImage): string[] {
  return parsed.blocks
    .filter(
      (block) =>
        block.kind === 'xmp' || (block.kind === 'text' && block.keyword === 'XML:com.adobe.xmp'),
    )
    .map((block) => block.text ?? Buffer.from(block.data).toString('utf8'));
}

function xmpCredits(parsed: ParsedImage): { copyright?: string; artist?: string } {
  for (const xml of xmpPackets(parsed)) {
    const credits = creditsFromXmp(xml);
    if (credits.copyright !== undefined || credits.artist !== undefined) return credits;
  }
  return {};
}

/**
 * Viewers also honour an orientation stored outside EXIF: in XMP (tiff:Orientation), or in the
 * hex-encoded EXIF that ImageMagick writes into PNG text. Without it the clean copy would turn.
 */
function orientationElsewhere(parsed: ParsedImage): number | undefined {
  for (const block of parsed.blocks) {
    if (block.kind === 'text' && /^Raw profile type (exif|APP1)$/i.test(block.keyword ?? '')) {
      const tiff = tiffFromRawProfile(block.text ?? '');
      const orientation = tiff === null ? undefined : readCarriedTags(tiff).orientation;
      if (orientation !== undefined) return orientation;
    }
  }
  for (const xml of xmpPackets(parsed)) {
    const orientation = orientationFromXmp(xml);
    if (orientation !== undefined) return orientation;
  }
  return undefined;
}

function carriedProfile(
  parsed: ParsedImage,
  policy: StripPolicy,
  warnings: string[],
): Uint8Array | null {
  if (parsed.icc === null) return null;
  if (!(parsed.icc instanceof Uint8Array)) {
    warnings.push(`the colour profile was unreadable and was removed: ${parsed.icc.problem}`);
    return null;
  }
  const profile = parseIcc(parsed.icc);
  if (typeof profile === 'string') {
    warnings.push(`the colour profile was malformed and was removed: ${profile}`);
    return null;
  }
  if (!keeps(policy, 'icc')) {
    if (!isSrgbName(profile.description)) {
      warnings.push(
        `a colour profile that is not sRGB (${profile.description ?? 'unnamed'}) was removed: colours may shift`,
      );
    }
    return null;
  }
  return scrubIcc(profile);
}

function removedParts(
  bytes: Uint8Array,
  parsed: ParsedImage,
  kept: readonly PartRecord[],
): PartRecord[] {
  const removed: PartRecord[] = [];
  const keptColour = kept.some((part) => part.category === 'colour');
  for (const part of parsed.parts) {
    const size = part.end - part.start;
    if (part.role === 'drop')
      removed.push({ category: part.category, name: part.name, bytes: size });
    else if (part.role === 'exif')
      removed.push({ category: 'metadata', name: part.name, bytes: size });
    else if (part.role === 'icc' && !keptColour)
      removed.push({ category: 'colour', name: part.name, bytes: size });
  }
  if (parsed.trailer !== null) {
    const trailer = bytes.subarray(parsed.trailer.start);
    removed.push({ category: 'hidden-data', name: trailerName(trailer), bytes: trailer.length });
  }
  return removed;
}
