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
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isSafeInteger(value))
        throw pixwardenError(
          'ERR_INVALID_ARGUMENT',
          `canonical JSON holds only whole numbers, not ${value}`,
        );
      return String(value);
    case 'object': {
      if (value === null) return 'null';
      // Written as loops: verifying a trail canonicalises every entry again, a million of them.
      if (Array.isArray(value)) {
        let text = '[';
        for (let i = 0; i < value.length; i++)
          text += (i === 0 ? '' : ',') + canonicalJson(value[i]);
        return `${text}]`;
      }
      if (Object.getPrototypeOf(value) !== Object.prototype) break;
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record).sort();
      let text = '{';
      for (const key of keys) {
        const field = record[key];
        if (field === undefined) continue;
        text += `${text.length === 1 ? '' : ','}${JSON.stringify(key)}:${canonicalJson(field)}`;
      }
      return `${text}}`;
    }
    default:
      break;
  }
  throw pixwardenError('ERR_INVALID_ARGUMENT', `canonical JSON cannot hold a ${typeof value}`);
}
