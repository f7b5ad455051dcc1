/** inspect: what a file reveals, grouped and ranked by risk. */
import { detectFormat, requireBytes } from './detect.js';
import { handlerFor } from './formats/index.js';
import type { ParsedImage } from './formats/types.js';
import { decodeBlocks } from './metadata/decode.js';
import { isStandardProfileName, parseIcc } from './metadata/icc.js';
import { checkFileSize, resolveLimits } from './limits.js';
import type { Limits } from './limits.js';
import { threatFindings } from './threats.js';
import { thumbnailFindings } from './thumbnails.js';
import type { WorkerPool } from './pool/pool.js';
import { pixwardenError } from './errors.js';
import { checkOptions } from './options.js';
import { checkDeclaredType, declaredTypeFinding, extensionFinding } from './type-check.js';
import type { Finding, Report, Risk } from './types.js';

export interface InspectOptions {
  /** Limits on what the input may claim; unset fields keep their defaults (`DEFAULT_LIMITS`). */
  limits?: Partial<Limits>;
  /** The type the caller was told the file is; bytes of another format are refused. */
  declaredType?: string;
  /** Report bytes that contradict `declaredType` instead of refusing them. */
  allowTypeMismatch?: boolean;
  /** The file's name: an extension that names another format is a finding. */
  fileName?: string;
  /** Where embedded thumbnails are decoded for comparison. Default: the shared pool. */
  pool?: WorkerPool;
  /**
   * Decode embedded thumbnails and compare them with the picture (a thumbnail of what was
   * cropped away is a finding of its own). Default true; false reports them only as found,
   * for a caller that strips them anyway and wants no decoding.
   */
  compareThumbnails?: boolean;
}

const RISK_ORDER: Record<Risk, number> = { low: 1, medium: 2, high: 3 };

/**
 * Reports what a JPEG, PNG, WebP or GIF holds besides its picture: every finding with its
 * category, source, decoded value and risk.
 *
 * @throws ERR_INVALID_ARGUMENT when `bytes` is not a Uint8Array; ERR_FORMAT_NOT_ALLOWED or
 *   ERR_UNSUPPORTED_FORMAT for other kinds of file; ERR_TYPE_MISMATCH when `declaredType`
 *   contradicts the bytes; ERR_MALFORMED, ERR_TRUNCATED or ERR_CRC_MISMATCH when the container
 *   cannot be parsed; ERR_FILE_SIZE_LIMIT, ERR_PIXEL_LIMIT, ERR_FRAME_LIMIT,
 *   ERR_SEGMENT_SIZE_LIMIT or ERR_SEGMENT_COUNT_LIMIT past the limits.
 */
export async function inspect(bytes: Uint8Array, given: InspectOptions = {}): Promise<Report> {
  const options = checkOptions(given);
  if (options.compareThumbnails !== undefined && typeof options.compareThumbnails !== 'boolean')
    throw pixwardenError('ERR_INVALID_ARGUMENT', 'options.compareThumbnails must be true or false');
  const limits = resolveLimits(options.limits);
  requireBytes(bytes);
  checkFileSize(bytes.length, limits.maxFileBytes);
  const format = await detectFormat(bytes);
  checkDeclaredType(format, options.declaredType, options.allowTypeMismatch === true);
  const parsed = handlerFor(format).parse(bytes, { detail: 'inspect', limits });
  const values = [
    ...extensionFinding(format, options.fileName),
    ...(options.allowTypeMismatch === true
      ? declaredTypeFinding(format, options.declaredType)
      : []),
    ...parsed.findings,
    ...(await decodeBlocks(parsed.blocks)),
    ...profileFindings(parsed),
  ];
  const findings = [
    ...values,
    ...threatFindings(parsed, values),
    ...(options.compareThumbnails === false
      ? []
      : await thumbnailFindings(bytes, parsed, limits, options.pool)),
  ];
  return {
    format,
    width: parsed.width,
    height: parsed.height,
    frames: parsed.frames,
    bytes: bytes.length,
    risk: highestRisk(findings),
    findings,
  };
}

/** The highest risk among findings, or `none`. */
export function highestRisk(findings: readonly Finding[]): Risk | 'none' {
  let best: Risk | 'none' = 'none';
  for (const { risk } of findings) {
    if (best === 'none' || RISK_ORDER[risk] > RISK_ORDER[best]) best = risk;
  }
  return best;
}

function profileFindings(parsed: ParsedImage): Finding[] {
  if (parsed.icc === null) return [];
  if (!(parsed.icc instanceof Uint8Array)) {
    return [
      {
        code: 'MALFORMED_PROFILE',
        category: 'structure',
        source: 'icc',
        name: 'ICC profile',
        value: parsed.icc.problem,
        risk: 'low',
      },
    ];
  }
  const profile = parseIcc(parsed.icc);
  if (typeof profile === 'string') {
    return [
      {
        code: 'MALFORMED_PROFILE',
        category: 'structure',
        source: 'icc',
        name: 'ICC profile',
        value: profile,
        risk: 'low',
      },
    ];
  }
  const standard = isStandardProfileName(profile.description);
  return [
    {
      code: 'COLOUR_PROFILE',
      category: 'colour',
      source: 'icc',
      name: standard ? 'ICC profile (standard)' : 'ICC profile',
      value: profile.description ?? 'unnamed',
      risk: 'low',
    },
  ];
}
