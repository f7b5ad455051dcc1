import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { inspect, strip } from '../../src/index.js';
import { handlerFor } from '../../src/formats/index.js';
import { PNG_SIG, chunk, ihdr, pngWith, tiff } from '../helpers.js';

const names = (file: Uint8Array): string[] =>
  handlerFor('png')
    .parse(file)
    .parts.map((part) => part.name);

describe('PNG strip', () => {
  it.each([
    ['tEXt', chunk('tEXt', 'Author\0Jane Example')],
    [
      'zTXt',
      chunk('zTXt', Buffer.concat([Buffer.from('Comment\0\0'), deflateSync('Jane Example')])),
    ],
    ['iTXt', chunk('iTXt', 'XML:com.adobe.xmp\0\0\0\0\0<x:xmpmeta>Jane Example</x:xmpmeta>')],
    ['tIME', chunk('tIME', Buffer.of(0x07, 0xe5, 3, 4, 10, 20, 30))],
    ['pHYs', chunk('pHYs', Buffer.alloc(9))],
    ['bKGD', chunk('bKGD', Buffer.alloc(2))],
    ['eXIf', chunk('eXIf', tiff([{ tag: 0x013b, value: 'Jane Example' }]))],
    ['prVt', chunk('prVt', 'private vendor data')],
    ['caBX', chunk('caBX', 'c2pa manifest')],
  ])('removes %s', async (name, extra) => {
    const result = await strip(pngWith([extra]));
    expect(result.removed.map((part) => part.name)).toContain(name);
    expect(names(result.bytes)).not.toContain(name);
    expect(Buffer.from(result.bytes).includes(Buffer.from('Jane'))).toBe(false);
  });

  it.each([
    ['gAMA', 4],
    ['cHRM', 32],
    ['sRGB', 1],
    ['sBIT', 1],
    ['cICP', 4],
    ['tRNS', 2],
    ['cLLI', 8],
    ['mDCV', 24],
  ])('keeps %s of %i bytes, which changes how pixels render', async (type, size) => {
    const input = pngWith([chunk(type, Buffer.alloc(size, 1))]);
    const result = await strip(input);
    expect(Buffer.from(result.bytes).equals(input)).toBe(true);
  });

  it.each([
    ['gAMA', Buffer.from('\0\0\0\x01SECRET-1234', 'latin1')],
    ['sRGB', Buffer.from('\0SECRET-1234', 'latin1')],
    ['tRNS', Buffer.from('\0\x01SECRET-1234', 'latin1')],
    ['PLTE', Buffer.from('SECRET-1234!', 'latin1')],
    ['fcTL', Buffer.concat([Buffer.alloc(26), Buffer.from('SECRET-1234')])],
  ])(
    'drops a %s that decoders ignore (wrong size, unused palette, no animation)',
    async (type, data) => {
      const result = await strip(pngWith([chunk(type, data)]));
      expect(Buffer.from(result.bytes).includes(Buffer.from('SECRET-1234'))).toBe(false);
      expect(result.removed.map((part) => part.name.split(' ')[0])).toContain(type);
    },
  );

  it('writes an empty IEND in place of one that carries data', async () => {
    const input = Buffer.concat([pngWith().subarray(0, -12), chunk('IEND', 'SECRET-1234')]);
    const result = await strip(input);
    expect(Buffer.from(result.bytes).includes(Buffer.from('SECRET-1234'))).toBe(false);
    expect(Buffer.from(result.bytes).subarray(-12)).toEqual(chunk('IEND'));
  });

  it('keeps APNG animation chunks', async () => {
    const actl = chunk('acTL', Buffer.of(0, 0, 0, 2, 0, 0, 0, 0));
    const fctl = chunk('fcTL', Buffer.alloc(26));
    const fdat = chunk('fdAT', Buffer.alloc(8));
    const input = pngWith([actl, fctl], Buffer.alloc(0), [fctl, fdat]);
    const result = await strip(input);
    expect(names(result.bytes)).toEqual(['IHDR', 'acTL', 'fcTL', 'IDAT', 'fcTL', 'fdAT', 'IEND']);
    expect((await inspect(input)).frames).toBe(2);
  });

  it('drops bytes after IEND and reports them', async () => {
    const input = pngWith([], Buffer.from('leftover IDAT tail of an older picture'));
    const report = await inspect(input);
    expect(report.findings).toContainEqual(
      expect.objectContaining({ category: 'hidden-data', source: 'trailer' }),
    );
    const result = await strip(input);
    expect(Buffer.from(result.bytes).subarray(-8, -4).toString('latin1')).toBe('IEND');
  });

  it('writes an eXIf holding only the orientation', async () => {
    const result = await strip(
      pngWith([
        chunk(
          'eXIf',
          tiff([
            { tag: 0x0112, value: 8 },
            { tag: 0x010f, value: 'ExampleCam' },
          ]),
        ),
      ]),
    );
    expect(names(result.bytes)).toEqual(['IHDR', 'eXIf', 'IDAT', 'IEND']);
    expect(Buffer.from(result.bytes).includes(Buffer.from('ExampleCam'))).toBe(false);
  });

  it('reports a bad CRC on a dropped chunk and still cleans the file', async () => {
    const input = pngWith([chunk('tEXt', 'Comment\0hello', true)]);
    expect((await inspect(input)).findings).toContainEqual(
      expect.objectContaining({ code: 'CRC_MISMATCH', name: 'tEXt' }),
    );
    expect(names((await strip(input)).bytes)).toEqual(['IHDR', 'IDAT', 'IEND']);
  });

  it('never inflates compressed text past the cap', async () => {
    const bomb = chunk(
      'zTXt',
      Buffer.concat([Buffer.from('Comment\0\0'), deflateSync(Buffer.alloc(8 * 1024 * 1024))]),
    );
    const report = await inspect(pngWith([bomb]));
    expect(report.findings).toContainEqual(expect.objectContaining({ code: 'TEXT_OVER_LIMIT' }));
  });

  it.each([
    [
      'a bad CRC on IDAT',
      Buffer.concat([PNG_SIG, ihdr(), chunk('IDAT', 'x', true), chunk('IEND')]),
      'ERR_CRC_MISMATCH',
    ],
    [
      'a bad CRC on IHDR',
      Buffer.concat([
        PNG_SIG,
        chunk('IHDR', Buffer.alloc(13, 1), true),
        chunk('IDAT', 'x'),
        chunk('IEND'),
      ]),
      'ERR_CRC_MISMATCH',
    ],
    [
      'a chunk longer than the file',
      Buffer.concat([PNG_SIG, ihdr(), Buffer.from([0, 0, 0x10, 0]), Buffer.from('IDAT')]),
      'ERR_TRUNCATED',
    ],
    [
      'a length above 2^31-1',
      Buffer.concat([PNG_SIG, ihdr(), Buffer.from([0x80, 0, 0, 0]), Buffer.from('IDAT')]),
      'ERR_MALFORMED',
    ],
    [
      'a first chunk that is not IHDR',
      Buffer.concat([PNG_SIG, chunk('IDAT', 'x'), chunk('IEND')]),
      'ERR_MALFORMED',
    ],
    ['an unknown critical chunk', pngWith([chunk('CgBI', Buffer.alloc(4))]), 'ERR_MALFORMED'],
    ['two IHDR chunks', pngWith([ihdr()]), 'ERR_MALFORMED'],
    ['no IDAT', Buffer.concat([PNG_SIG, ihdr(), chunk('IEND')]), 'ERR_MALFORMED'],
    [
      'an invalid chunk type',
      Buffer.concat([PNG_SIG, ihdr(), chunk('ID@T', 'x'), chunk('IEND')]),
      'ERR_MALFORMED',
    ],
    ['a file cut inside a chunk', pngWith().subarray(0, 40), 'ERR_TRUNCATED'],
  ])('refuses %s with %s', async (_name, input, code) => {
    await expect(strip(input)).rejects.toMatchObject({ code });
  });

  it('gives the clean copy its IEND when the input stopped after a chunk that follows the image data', async () => {
    const input = Buffer.concat([pngWith().subarray(0, -12), chunk('tEXt', 'Comment\0x')]);
    expect(names((await strip(input)).bytes).at(-1)).toBe('IEND');
  });

  it('refuses a file that stops right after an IDAT as truncated', async () => {
    await expect(strip(pngWith().subarray(0, -12))).rejects.toMatchObject({
      code: 'ERR_TRUNCATED',
    });
  });

  it('decodes text chunks into findings, including generation parameters', async () => {
    const report = await inspect(
      pngWith([
        chunk('tEXt', 'Author\0Jane Example'),
        chunk('tEXt', 'parameters\0a castle, Steps: 20, Sampler: Euler'),
        chunk('tIME', Buffer.of(0x07, 0xe5, 3, 4, 10, 20, 30)),
      ]),
    );
    expect(report.findings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          category: 'identity',
          source: 'png-text',
          value: 'Jane Example',
          risk: 'high',
        }),
        expect.objectContaining({ category: 'generation', source: 'png-text' }),
        expect.objectContaining({ category: 'time', value: '2021-03-04T10:20:30Z' }),
      ]),
    );
  });
});
