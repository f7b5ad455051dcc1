/**
 * pixwarden: find and losslessly remove the personal data hidden in JPEG, PNG, WebP and GIF
 * files; make resized and converted copies from decoded pixels, in sandboxed workers; keep
 * them encrypted, with consent, an audit trail and the data-subject rights (`createPipeline`).
 *
 * ```ts
 * import { inspect, strip, transform, verifyClean } from 'pixwarden';
 * const report = await inspect(bytes);
 * const { bytes: clean, removed } = await strip(bytes, { keep: ['orientation', 'icc'] });
 * const { outputs } = await transform(bytes, { format: 'webp', width: 1024 });
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
export { rewrite, transform } from './transform/transform.js';
export type { TransformOptions, TransformOutput, TransformResult } from './transform/transform.js';
export { DEFAULT_VARIANTS, OUTPUT_FORMATS } from './transform/spec.js';
export type {
  Fit,
  Gravity,
  OutputFormat,
  OutputSpec,
  VariantSpec,
  Watermark,
} from './transform/spec.js';
export { WorkerPool } from './pool/pool.js';
export type { PoolOptions } from './pool/pool.js';
export type { SandboxMode } from './pool/sandbox.js';
export { closeDefaultPool, configureDefaultPool } from './pool/default.js';
export { loadConfig } from './config.js';
export type { Config } from './config.js';
export { createPipeline } from './compliance/pipeline.js';
export type {
  IngestReport,
  IngestRequest,
  IngestResult,
  Pipeline,
  PipelineConfig,
  Withdrawal,
} from './compliance/pipeline.js';
export { LEGAL_BASES, PURPOSES } from './compliance/consent.js';
export type { ConsentRecord, Grant, LegalBasis, Purpose } from './compliance/consent.js';
export type { Checkpoint } from './compliance/audit.js';
export type { ChainVerdict } from './compliance/chain.js';
export type { ErasureReport } from './compliance/erasure.js';
export type { ExportReport, HistoryEntry } from './compliance/rights.js';
export type { SweepReport } from './compliance/retention.js';
export type { Rotation } from './compliance/keys.js';
export type { HookOutcome, HookSettings, PurgeHook } from './compliance/hooks.js';
export type { Repaired, StoredImage } from './compliance/images.js';
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
  ForbiddenError,
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
