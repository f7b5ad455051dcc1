/**
 * Properties that hold for every input, checked on inputs fast-check generates: any bytes end in
 * a verified clean copy or a coded error; a secret placed in any metadata part never reaches the
 * clean copy; cleaning a clean copy changes nothing.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE, PixwardenError, strip, verifyClean } from '../src/index.js';
import {
  chunk,
  gifWith,
  jpegWith,
  pngWith,
  riff,
  seg,
  subBlocks,
  vp8l,
  vp8x,
  webpFile,
} from './helpers.js';

const SIGNATURES = [
  Buffer.of(0xff, 0xd8, 0xff),
  Buffer.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a),
  Buffer.from('RIFF\x20\x00\x00\x00WEBP', 'latin1'),
  Buffer.from('GIF89a', 'latin1'),
];

const codes = new Set(Object.keys(ERROR_CATALOGUE));

/** Cleans `bytes`; true when the outcome is a verified clean copy or a coded error. */
async function wellBehaved(bytes: Uint8Array): Promise<boolean> {
  try {
    const result = await strip(bytes);
    return (await verifyClean(result.bytes)).clean;
  } catch (error: unknown) {
    return error instanceof PixwardenError && codes.has(error.code);
  }
}

/** A metadata part of one of the four formats, carrying `secret`. */
const metadata = (secret: string): fc.Arbitrary<{ format: string; part: Buffer }> =>
  fc.oneof(
    fc
      .constantFrom(0xe1, 0xe3, 0xeb, 0xed, 0xef, 0xfe)
      .map((marker) => ({ format: 'jpeg', part: seg(marker, `x${secret}`) })),
    fc
      .constantFrom('tEXt', 'tIME', 'prVt', 'zzZz', 'eXIf')
      .map((type) => ({ format: 'png', part: chunk(type, `Key\0${secret}`) })),
    fc
      .constantFrom('EXIF', 'XMP ', 'META', 'abcd')
      .map((fourcc) => ({ format: 'webp', part: riff(fourcc, secret) })),
    fc.constantFrom(0xfe, 0x01, 0xff).map((label) => ({
      format: 'gif',
      part: Buffer.concat([
        Buffer.of(0x21, label),
        label === 0xff
          ? Buffer.concat([Buffer.of(11), Buffer.from('SECRETAPP1.0')]).subarray(0, 12)
          : Buffer.alloc(0),
        subBlocks(secret),
      ]),
    })),
  );

function fileWith(format: string, parts: readonly Buffer[]): Buffer {
  if (format === 'jpeg') return jpegWith(parts);
  if (format === 'png') return pngWith(parts);
  if (format === 'webp') return webpFile([vp8x(0, 2, 2), vp8l(), ...parts]);
  return gifWith(parts);
}

describe('properties', () => {
  it('any bytes after a known signature end in a verified copy or a coded error', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...SIGNATURES),
        fc.uint8Array({ maxLength: 600 }),
        async (signature, rest) => wellBehaved(Buffer.concat([signature, rest])),
      ),
      { numRuns: 400, seed: 20261203 },
    );
  });

  it('a valid file with flipped bytes ends in a verified copy or a coded error', async () => {
    const bases = [
      jpegWith([seg(0xfe, 'c')]),
      pngWith([chunk('tEXt', 'a\0b')]),
      webpFile([vp8l()]),
      gifWith(),
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...bases),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 6,
        }),
        async (base, edits) => {
          const file = Buffer.from(base);
          for (const [at, value] of edits) file[at % file.length] = value;
          return wellBehaved(file);
        },
      ),
      { numRuns: 400, seed: 7 },
    );
  });

  it('a secret in any metadata part never reaches the clean copy', async () => {
    const secretAndPart = fc
      .stringMatching(/^[A-Z]{12}$/)
      .chain((secret) => fc.tuple(fc.constant(secret), metadata(secret)));
    await fc.assert(
      fc.asyncProperty(
        secretAndPart,
        fc.integer({ min: 1, max: 4 }),
        async ([secret, { format, part }], copies) => {
          const result = await strip(
            fileWith(
              format,
              Array.from({ length: copies }, () => part),
            ),
          );
          return !Buffer.from(result.bytes).includes(Buffer.from(secret));
        },
      ),
      { numRuns: 300, seed: 42 },
    );
  });

  it('cleaning a clean copy changes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(metadata('IDEMPOTENT'), async ({ format, part }) => {
        const once = await strip(fileWith(format, [part]));
        const twice = await strip(once.bytes);
        expect(Buffer.from(twice.bytes)).toEqual(Buffer.from(once.bytes));
        expect(twice.removed).toEqual([]);
      }),
      { numRuns: 100, seed: 3 },
    );
  });
});
