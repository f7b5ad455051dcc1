import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE, PixwardenError, inspect, strip, verifyClean } from '../../src/index.js';
import type { StripPolicy } from '../../src/index.js';
import { pixwardenError } from '../../src/errors.js';
import { ROOT, jpegWith } from '../helpers.js';

describe('error catalogue', () => {
  it('lists exactly the codes that docs/errors.md documents, with the same HTTP status', () => {
    const doc = readFileSync(path.join(ROOT, 'docs', 'errors.md'), 'utf8');
    const rows = [...doc.matchAll(/^\|\s*`(ERR_[A-Z_]+)`\s*\|\s*(\d{3})\s*\|/gm)].map((m) => [
      m[1],
      Number(m[2]),
    ]);
    const catalogue = Object.entries(ERROR_CATALOGUE).map(([code, entry]) => [code, entry.status]);
    expect(rows.sort()).toEqual(catalogue.sort());
  });

  it('carries value, limit and unit as fields and in its JSON', () => {
    const error = pixwardenError(
      'ERR_TRUNCATED',
      'PNG: chunk IDAT needs 10 bytes at offset 33, 4 available',
      { value: 10, limit: 4, unit: 'bytes' },
    );
    expect(error).toBeInstanceOf(PixwardenError);
    expect(error.name).toBe('MalformedImageError');
    expect(error.status).toBe(422);
    expect(error.toJSON()).toEqual({
      code: 'ERR_TRUNCATED',
      message: error.message,
      value: 10,
      limit: 4,
      unit: 'bytes',
    });
    expect(error.publicMessage).not.toContain('offset');
  });

  it.each([
    ['a string', 'photo.jpg'],
    ['null', null],
    ['a number', 42],
  ])('refuses %s in place of bytes with ERR_INVALID_ARGUMENT', async (_name, input) => {
    await expect(inspect(input as unknown as Uint8Array)).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
    await expect(strip(input as unknown as Uint8Array)).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
    await expect(verifyClean(input as unknown as Uint8Array)).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
  });

  it.each([['bogus'], ['Orientation'], ['none']])('refuses the policy item %s', async (item) => {
    const policy = { keep: [item] } as unknown as StripPolicy;
    await expect(strip(jpegWith(), policy)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
  });
});
