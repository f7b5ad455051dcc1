/**
 * The configuration file: named variants for `convert --variants`. JSON, for example
 *
 * ```json
 * { "variants": [ { "name": "thumb", "width": 256, "height": 256, "format": "webp" } ] }
 * ```
 *
 * The variants it names join the built-in ones (`DEFAULT_VARIANTS`), replacing any of the
 * same name. Unknown fields are refused, so a misspelt one does not silently fall back to a
 * default.
 */
import { readFileSync, statSync } from 'node:fs';
import { PixwardenError, pixwardenError } from './errors.js';
import {
  DEFAULT_VARIANTS,
  VARIANT_FIELDS,
  checkVariants,
  resolveOutput,
} from './transform/spec.js';
import type { VariantSpec } from './transform/spec.js';

/** A configuration names a few variants: a larger file is a mistake (or /dev/zero). */
const maxConfigBytes = 1024 * 1024;

export interface Config {
  readonly variants: readonly VariantSpec[];
}

/**
 * Reads and checks a configuration file; `null` gives the defaults.
 * @throws ERR_INPUT_NOT_FOUND when the file cannot be read; ERR_INVALID_ARGUMENT naming what
 *   in it is wrong.
 */
export function loadConfig(file: string | null): Config {
  if (file === null) return { variants: DEFAULT_VARIANTS };
  let text: string;
  try {
    const info = statSync(file);
    if (!info.isFile())
      throw pixwardenError(
        'ERR_INVALID_ARGUMENT',
        `the configuration file ${file} is not a regular file`,
      );
    if (info.size > maxConfigBytes)
      throw pixwardenError(
        'ERR_INVALID_ARGUMENT',
        `the configuration file ${file} is ${info.size} bytes, limit ${maxConfigBytes}`,
        { value: info.size, limit: maxConfigBytes, unit: 'bytes' },
      );
    text = readFileSync(file, 'utf8');
  } catch (error: unknown) {
    if (error instanceof PixwardenError) throw error;
    throw pixwardenError(
      'ERR_INPUT_NOT_FOUND',
      `the configuration file ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error: unknown) {
    throw pixwardenError(
      'ERR_INVALID_ARGUMENT',
      `the configuration file ${file} is not JSON: ${error instanceof Error ? error.message : ''}`,
    );
  }
  const wrong = (message: string): never => {
    throw pixwardenError('ERR_INVALID_ARGUMENT', `the configuration file ${file}: ${message}`);
  };
  if (data === null || typeof data !== 'object' || Array.isArray(data)) wrong('expected an object');
  const top = data as Record<string, unknown>;
  for (const key of Object.keys(top)) if (key !== 'variants') wrong(`unknown field "${key}"`);
  if (top.variants === undefined) return { variants: DEFAULT_VARIANTS };
  if (!Array.isArray(top.variants)) wrong('"variants" must be an array');
  const variants = top.variants as unknown[];
  for (const [index, variant] of variants.entries()) {
    if (variant === null || typeof variant !== 'object' || Array.isArray(variant))
      wrong(`variant ${index + 1} must be an object`);
    for (const key of Object.keys(variant as object))
      if (!VARIANT_FIELDS.has(key)) wrong(`variant ${index + 1}: unknown field "${key}"`);
  }
  const specs = variants as VariantSpec[];
  checkVariants(specs);
  // Each field is checked now, against a JPEG input, so that a bad value fails at start-up.
  for (const spec of specs) resolveOutput(spec, {}, 'jpeg', spec.name);
  const named = new Set(specs.map((spec) => spec.name));
  return {
    variants: [...DEFAULT_VARIANTS.filter((variant) => !named.has(variant.name)), ...specs],
  };
}
