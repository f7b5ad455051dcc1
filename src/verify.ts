/**
 * Verification: the output of every strip is parsed again by the same container modules and
 * must hold nothing beyond the image parts and what the policy keeps.
 */
import { detectFormat, requireBytes } from './detect.js';
import { PixwardenError, pixwardenError } from './errors.js';
import { handlerFor } from './formats/index.js';
import { resolveLimits } from './limits.js';
import type { Limits } from './limits.js';
import type { ParsedImage } from './formats/types.js';
import { minimalExifProblem, readCarriedTags } from './metadata/exif.js';
import { isScrubbed } from './metadata/icc.js';
import { DEFAULT_POLICY, checkPolicy, keeps } from './policy.js';
import type { ImageFormat, PartRecord, StripPolicy } from './types.js';

export interface VerifyResult {
  /** True when the file holds nothing the policy does not allow. */
  clean: boolean;
  format: ImageFormat | null;
  /** What is wrong, one sentence each; empty when clean. */
  problems: string[];
  /** What the file keeps beyond the image itself (Orientation, ICC profile, credits). */
  kept: PartRecord[];
}

/**
 * Checks a parsed file against the allowlist and the policy.
 * @internal used by `strip` on its own output and by `verifyClean`.
 */
export function checkParsed(parsed: ParsedImage, policy: StripPolicy): VerifyResult {
  const problems: string[] = [];
  const kept: PartRecord[] = [];
  for (const part of parsed.parts) {
    if (part.role === 'drop') problems.push(`holds ${part.name}`);
    if (part.replacement !== undefined) problems.push(`holds ${part.name} with extra data`);
  }
  for (const finding of parsed.findings) problems.push(`shows ${finding.name} (${finding.code})`);
  if (parsed.trailer !== null)
    problems.push(`has ${parsed.trailer.length} bytes after the end of the image`);
  if (parsed.blocks.some((block) => block.kind !== 'exif')) problems.push('holds metadata blocks');

  const exifParts = parsed.parts.filter((part) => part.role === 'exif');
  if (exifParts.length > 1) problems.push(`holds ${exifParts.length} EXIF blocks`);
  if (parsed.exif !== null) {
    const problem = minimalExifProblem(parsed.exif, {
      orientation: keeps(policy, 'orientation'),
      credits: keeps(policy, 'copyright'),
    });
    if (problem !== null) problems.push(problem);
    const tags = readCarriedTags(parsed.exif);
    const bytes = exifParts[0] === undefined ? 0 : exifParts[0].end - exifParts[0].start;
    if (tags.orientation !== undefined)
      kept.push({ category: 'orientation', name: `Orientation ${tags.orientation}`, bytes });
    const credits = [
      tags.copyright === undefined ? null : 'Copyright',
      tags.artist === undefined ? null : 'Artist',
    ];
    const name = credits.filter((credit) => credit !== null).join(' and ');
    if (name !== '') kept.push({ category: 'copyright', name, bytes: 0 });
  }

  const iccParts = parsed.parts.filter((part) => part.role === 'icc');
  if (iccParts.length > 0) {
    if (!keeps(policy, 'icc')) problems.push('holds an ICC profile the policy drops');
    if (parsed.icc === null || !(parsed.icc instanceof Uint8Array))
      problems.push('holds an unreadable ICC profile');
    else if (!isScrubbed(parsed.icc)) problems.push('holds an ICC profile that is not scrubbed');
    const bytes = iccParts.reduce((sum, part) => sum + part.end - part.start, 0);
    kept.push({ category: 'colour', name: 'ICC profile (scrubbed)', bytes });
  }
  return { clean: problems.length === 0, format: parsed.format, problems, kept };
}

/**
 * Parses `bytes` and reports whether they hold anything beyond the picture and what the policy
 * keeps. A file that cannot be parsed is not clean (the reason is in `problems`).
 *
 * @param policy - defaults to keeping orientation and a scrubbed ICC profile.
 * @throws ERR_INVALID_ARGUMENT when `bytes` is not a Uint8Array or the policy is invalid.
 */
export async function verifyClean(
  bytes: Uint8Array,
  policy: StripPolicy = DEFAULT_POLICY,
  options: { limits?: Partial<Limits> } = {},
): Promise<VerifyResult> {
  requireBytes(bytes);
  const checked = checkPolicy(policy);
  const limits = resolveLimits(options.limits);
  let format: ImageFormat;
  let parsed: ParsedImage;
  try {
    format = await detectFormat(bytes);
    parsed = handlerFor(format).parse(bytes, { limits });
  } catch (error: unknown) {
    if (error instanceof PixwardenError) {
      return {
        clean: false,
        format: null,
        problems: [`${error.code}: ${error.message}`],
        kept: [],
      };
    }
    throw error;
  }
  return checkParsed(parsed, checked);
}

/** Throws `ERR_OUTPUT_NOT_CLEAN` naming the problems. */
export function notClean(format: string, problems: readonly string[]): PixwardenError {
  return pixwardenError(
    'ERR_OUTPUT_NOT_CLEAN',
    `cleaned ${format.toUpperCase()} failed verification: ${problems.join('; ')}`,
  );
}
