/**
 * The configuration file: named variants for `convert --variants`, and the compliance
 * commands' settings. JSON, for example
 *
 * ```json
 * {
 *   "variants": [ { "name": "thumb", "width": 256, "height": 256, "format": "webp" } ],
 *   "compliance": { "dataDir": "/srv/pixwarden", "variants": ["thumb"], "retentionDays": 365 }
 * }
 * ```
 *
 * The variants it names join the built-in ones (`DEFAULT_VARIANTS`), replacing any of the
 * same name. Unknown fields are refused, so a misspelt one does not silently fall back to a
 * default.
 */
import { readFileSync, statSync } from 'node:fs';
import { z } from 'zod';
import { LEGAL_BASES, PURPOSES } from './compliance/consent.js';
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

/** The compliance commands' settings (`pixwarden ingest`, `subject`, `audit`, …). */
const complianceSchema = z.strictObject({
  /** The data folder (PIXWARDEN_DATA_DIR wins over it). */
  dataDir: z.string().min(1).optional(),
  /** `postgres://…` (PIXWARDEN_DATABASE_URL wins over it). */
  databaseUrl: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'a postgres:// URL')
    .optional(),
  /** Names of the variants stored with every ingested image (from `variants`). */
  variants: z.array(z.string().min(1)).max(20).optional(),
  retentionDays: z.number().positive().max(36_500).nullable().optional(),
  variantRetentionDays: z.number().positive().max(36_500).nullable().optional(),
  consentPurposes: z.array(z.enum(PURPOSES)).optional(),
  defaultBasis: z.enum(LEGAL_BASES).optional(),
  actor: z.string().min(1).max(200).optional(),
  purgeHooks: z
    .array(
      z.strictObject({
        // Credentials in the URL are refused by fetch, and would be printed in reports: an
        // authorization header is the place for them.
        url: z
          .url({ protocol: /^https?$/ })
          .refine((url) => !/^https?:\/\/[^/]*@/i.test(url), 'no user or password in the URL'),
        headers: z
          .record(
            z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'a header name'),
            z.string().regex(/^[^\r\n\0]*$/, 'a header value without line breaks'),
          )
          .optional(),
      }),
    )
    .max(20)
    .optional(),
  hookSettings: z
    .strictObject({
      attempts: z.int().min(1).max(10).optional(),
      timeoutMs: z.int().min(100).max(60_000).optional(),
      backoffMs: z.int().min(0).max(60_000).optional(),
    })
    .optional(),
  checkpoints: z
    .strictObject({
      every: z.int().positive().optional(),
      intervalSeconds: z
        .number()
        .min(0.1)
        .max(20 * 86_400)
        .optional(),
      file: z.string().min(1).optional(),
    })
    .optional(),
});

export type ComplianceConfig = z.infer<typeof complianceSchema>;

export interface Config {
  readonly variants: readonly VariantSpec[];
  readonly compliance: ComplianceConfig;
}

/**
 * Reads and checks a configuration file; `null` gives the defaults.
 * @throws ERR_INPUT_NOT_FOUND when the file cannot be read; ERR_INVALID_ARGUMENT naming what
 *   in it is wrong.
 */
export function loadConfig(file: string | null): Config {
  if (file === null) return { variants: DEFAULT_VARIANTS, compliance: {} };
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
  for (const key of Object.keys(top))
    if (key !== 'variants' && key !== 'compliance') wrong(`unknown field "${key}"`);
  const checked = complianceSchema.safeParse(top.compliance ?? {});
  if (!checked.success) {
    const [issue] = checked.error.issues;
    wrong(`compliance.${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'not valid'}`);
  }
  const compliance = checked.data ?? {};
  if (top.variants === undefined) return { variants: DEFAULT_VARIANTS, compliance };
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
    compliance,
  };
}
