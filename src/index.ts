/**
 * pixwarden: find and losslessly remove the personal data hidden in JPEG, PNG, WebP and GIF
 * files.
 *
 * ```ts
 * import { inspect, strip, verifyClean } from 'pixwarden';
 * const report = await inspect(bytes);
 * const { bytes: clean, removed } = await strip(bytes, { keep: ['orientation', 'icc'] });
 * ```
 */
export { inspect, highestRisk } from './inspect.js';
export type { InspectOptions } from './inspect.js';
export {
  DEFAULT_LIMITS,
  LIMIT_NAMES,
  checkDecodeLimits,
  envName,
  flagName,
  resolveLimits,
} from './limits.js';
export type { LimitName, Limits, PictureSize } from './limits.js';
export { strip } from './strip.js';
export type { StripOptions, StripResult } from './strip.js';
export type { Workspace } from './assemble.js';
export { verifyClean } from './verify.js';
export type { VerifyResult } from './verify.js';
export { detectFormat } from './detect.js';
export { DEFAULT_POLICY, KEEP_ITEMS, parseKeepList } from './policy.js';
export {
  ERROR_CATALOGUE,
  PixwardenError,
  InvalidInputError,
  UnsupportedFormatError,
  MalformedImageError,
  LimitExceededError,
  NotFoundError,
  ConflictError,
  IoError,
  InternalError,
} from './errors.js';
export type { ErrorCode, ErrorDetails } from './errors.js';
export type {
  Category,
  Finding,
  FindingValue,
  GpsValue,
  ImageFormat,
  KeepItem,
  PartCategory,
  PartRecord,
  Report,
  Risk,
  Source,
  StripPolicy,
} from './types.js';
