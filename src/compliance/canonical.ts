/**
 * Canonical JSON: the one byte form of a value that is hashed and stored, so that SQLite and
 * PostgreSQL, and any later reader, compute the same hash. Object keys are sorted, there is
 * no whitespace, fields whose value is undefined are left out, and only what JSON represents
 * exactly is allowed: strings, booleans, null, safe integers, arrays and plain objects. A
 * float could be written two ways by two writers.
 */
import { pixwardenError } from '../errors.js';

export type Canonical =
  string | number | boolean | null | readonly Canonical[] | { readonly [key: string]: Canonical };

/**
 * The canonical text of `value`.
 * @throws ERR_INVALID_ARGUMENT for a value JSON cannot carry exactly.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value))
      throw pixwardenError(
        'ERR_INVALID_ARGUMENT',
        `canonical JSON holds only whole numbers, not ${value}`,
      );
    return String(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, field]) => field !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, field]) => `${JSON.stringify(key)}:${canonicalJson(field)}`).join(',')}}`;
  }
  throw pixwardenError('ERR_INVALID_ARGUMENT', `canonical JSON cannot hold a ${typeof value}`);
}
