/** Checks of the options object callers pass to strip and inspect. */
import { pixwardenError } from './errors.js';
import { WorkerPool } from './pool/pool.js';

interface CommonOptions {
  limits?: unknown;
  declaredType?: unknown;
  fileName?: unknown;
  pool?: unknown;
}

/**
 * Returns `options` when it is an object whose common fields have the right types.
 * @throws ERR_INVALID_ARGUMENT naming the field that is wrong.
 */
export function checkOptions<T extends object>(options: T | null | undefined): T {
  if (options === undefined) return {} as T;
  if (options === null || typeof options !== 'object') {
    throw pixwardenError('ERR_INVALID_ARGUMENT', 'options must be an object');
  }
  const common = options as CommonOptions;
  if (common.limits !== undefined && (common.limits === null || typeof common.limits !== 'object'))
    throw pixwardenError('ERR_INVALID_ARGUMENT', 'options.limits must be an object of limits');
  for (const field of ['declaredType', 'fileName'] as const) {
    if (common[field] !== undefined && typeof common[field] !== 'string')
      throw pixwardenError('ERR_INVALID_ARGUMENT', `options.${field} must be a string`);
  }
  if (common.pool !== undefined && !(common.pool instanceof WorkerPool))
    throw pixwardenError('ERR_INVALID_ARGUMENT', 'options.pool must be a WorkerPool');
  return options;
}
