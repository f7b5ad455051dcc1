/**
 * The lossless strip: parse the container, keep the image parts byte for byte, rewrite what the
 * policy keeps (a minimal EXIF for Orientation and credits, a scrubbed ICC profile), drop the
 * rest, then verify the output with the same parsers.
 */
import { assemble } from './assemble.js';
import type { Workspace } from './assemble.js';
import { detectFormat, requireBytes } from './detect.js';
import { WalkMemo } from './formats/memo.js';
import { handlerFor } from './formats/index.js';
import type { MetadataBlock, ParsedImage } from './formats/types.js';
import {
  creditsFromXmp,
  orientationFromXmpBytes,
  readCarriedTags,
  tiffFromRawProfile,
  writeMinimalExif,
} from './metadata/exif.js';
import type { CarriedTags } from './metadata/exif.js';
import { isSrgbName, parseIcc, scrubProfile } from './metadata/icc.js';
import { checkFileSize, resolveLimits } from './limits.js';
import { checkOptions } from './options.js';
import type { Limits } from './limits.js';
import { DEFAULT_POLICY, checkPolicy, keeps } from './policy.js';
import { checkDeclaredType, extensionFinding } from './type-check.js';
import type { ImageFormat, PartRecord, StripPolicy } from './types.js';
import { checkParsed, notClean } from './verify.js';

export interface StripResult {
  /** The clean file. */
  bytes: Uint8Array;
  format: ImageFormat;
  /** The picture's size (the canvas, for an animation) and its number of frames. */
  width: number;
  height: number;
  frames: number;
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
 * @param options - see `StripOptions`; by default the input is left untouched.
 * @returns the clean bytes, what was removed and kept, and warnings.
 * @throws ERR_INVALID_ARGUMENT when `bytes` is not a Uint8Array or the policy names an unknown
 *   item; ERR_FORMAT_NOT_ALLOWED or ERR_UNSUPPORTED_FORMAT for other kinds of file;
 *   ERR_MALFORMED, ERR_TRUNCATED or ERR_CRC_MISMATCH when the container cannot be fully parsed;
 *   ERR_OUTPUT_NOT_CLEAN if the output fails verification (a defect, never expected).
 */
export async function strip(
  bytes: Uint8Array,
  policy: StripPolicy = DEFAULT_POLICY,
  given: StripOptions = {},
): Promise<StripResult> {
  const options = checkOptions(given);
  requireBytes(bytes);
  const checked = checkPolicy(policy);
  const limits = resolveLimits(options.limits);
  checkFileSize(bytes.length, limits.maxFileBytes);
  const format = await detectFormat(bytes);
  checkDeclaredType(format, options.declaredType, checked.allowTypeMismatch === true);
  const result = stripAs(format, bytes, checked, { ...options, limits });
  for (const finding of extensionFinding(format, options.fileName)) {
    if (typeof finding.value === 'string')
      result.warnings.push(`the file name's extension is misleading: ${finding.value}`);
  }
  return result;
}

/** How `strip` reads its input. */
export interface StripOptions {
  /** Limits on what the input may claim; unset fields keep their defaults (`DEFAULT_LIMITS`). */
  limits?: Partial<Limits>;
  /**
   * The type the caller was told the file is (an upload's Content-Type). Bytes of another
   * format are refused with ERR_TYPE_MISMATCH unless the policy allows it.
   */
  declaredType?: string;
  /** The file's name: a misleading extension is mentioned among the warnings. */
  fileName?: string;
  /**
   * Lets the clean copy be laid out in place in the input's memory, which is overwritten, with
   * this much spare room around it. Only for callers that read the input into memory of their
   * own and no longer need it.
   */
  workspace?: Workspace;
}

/** `strip` for bytes whose format is already known. */
export function stripAs(
  format: ImageFormat,
  bytes: Uint8Array,
  policy: StripPolicy,
  options: StripOptions = {},
): StripResult {
  const handler = handlerFor(format);
  const memo = new WalkMemo();
  const limits = resolveLimits(options.limits);
  const parsed = handler.parse(bytes, { memo, limits });
  const warnings: string[] = [];
  const carry = {
    exif: writeMinimalExif(carriedTags(parsed, policy, warnings)),
    icc: carriedProfile(parsed, policy, warnings),
  };
  // What was removed is worked out before assembly, which may overwrite the input.
  const removed = removedParts(parsed);
  const output = assemble(handler.build(bytes, parsed, carry), bytes, options.workspace);
  if (output.unchanged === null) memo.clear();
  else memo.keepOnly(output.bytes, output.unchanged.start, output.unchanged.end);
  const check = checkParsed(handler.parse(output.bytes, { memo, limits }), policy);
  if (!check.clean) throw notClean(format, check.problems);
  const keptProfile = check.kept.some((part) => part.category === 'colour');
  return {
    bytes: output.bytes,
    format,
    width: parsed.width,
    height: parsed.height,
    frames: parsed.frames,
    removed: removed.filter((part) => !(keptProfile && part.profile === true)).map(stripFlag),
    kept: check.kept,
    verified: true,
    warnings,
  };
}

function carriedTags(parsed: ParsedImage, policy: StripPolicy, warnings: string[]): CarriedTags {
  const found =
    parsed.exif === null ? {} : readCarriedTags(parsed.exif, keeps(policy, 'copyright'));
  const elsewhere = found.orientation === undefined ? orientationElsewhere(parsed) : undefined;
  if (elsewhere !== undefined) found.orientation = elsewhere;
  const tags: CarriedTags = {};
  if (keeps(policy, 'orientation')) {
    if (found.orientation !== undefined) tags.orientation = found.orientation;
  } else if (found.orientation !== undefined && found.orientation !== 1) {
    warnings.push(
      `the orientation tag (${found.orientation}) was removed: the picture may display turned or mirrored`,
    );
  }
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

function xmpBlocks(parsed: ParsedImage): MetadataBlock[] {
  return parsed.blocks.filter(
    (block) =>
      block.kind === 'xmp' || (block.kind === 'text' && block.keyword === 'XML:com.adobe.xmp'),
  );
}

function xmpPackets(parsed: ParsedImage): string[] {
  return xmpBlocks(parsed).map((block) => block.text ?? Buffer.from(block.data).toString('utf8'));
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
      const orientation = tiff === null ? undefined : readCarriedTags(tiff, false).orientation;
      if (orientation !== undefined) return orientation;
    }
  }
  for (const block of xmpBlocks(parsed)) {
    const orientation = orientationFromXmpBytes(block.data);
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
  if (keeps(policy, 'icc')) {
    const scrubbed = scrubProfile(parsed.icc);
    if (typeof scrubbed === 'string') {
      warnings.push(`the colour profile was malformed and was removed: ${scrubbed}`);
      return null;
    }
    return scrubbed;
  }
  const profile = parseIcc(parsed.icc);
  const description = typeof profile === 'string' ? undefined : profile.description;
  if (!isSrgbName(description)) {
    warnings.push(
      `a colour profile that is not sRGB (${description ?? 'unnamed'}) was removed: colours may shift`,
    );
  }
  return null;
}

interface RemovedPart extends PartRecord {
  /** A piece of the colour profile: it counts as removed only when the copy holds none. */
  profile?: boolean;
}

function stripFlag(part: RemovedPart): PartRecord {
  return { category: part.category, name: part.name, bytes: part.bytes };
}

function removedParts(parsed: ParsedImage): RemovedPart[] {
  const removed: RemovedPart[] = [];
  for (const part of parsed.parts) {
    const size = part.end - part.start;
    if (part.role === 'drop')
      removed.push({ category: part.category, name: part.name, bytes: size });
    else if (part.replacement !== undefined && size > part.replacement.length)
      removed.push({
        category: 'unknown',
        name: `${part.name} extra data`,
        bytes: size - part.replacement.length,
      });
    else if (part.role === 'exif')
      removed.push({ category: 'metadata', name: part.name, bytes: size });
    else if (part.role === 'icc')
      removed.push({ category: 'colour', name: part.name, bytes: size, profile: true });
  }
  const thumbnail = parsed.findings.find((f) => f.source === 'jfif' && f.name === 'JFIF thumbnail');
  if (thumbnail !== undefined) {
    const size = typeof thumbnail.value === 'string' ? thumbnail.value : '';
    const [width = 0, height = 0] = size.split('x').map(Number);
    removed.push({ category: 'thumbnail', name: 'JFIF thumbnail', bytes: width * height * 3 });
  }
  if (parsed.trailer !== null) {
    const { kind, length } = parsed.trailer;
    removed.push({ category: 'hidden-data', name: `trailing ${kind}`, bytes: length });
  }
  return removed;
}
