/**
 * The transform: sizes and fits, formats, variants from one decode, orientation, animation,
 * the watermark, rewrite, and its refusals. Inputs are made here with sharp and ImageMagick;
 * outputs are read back by our parsers, by sharp and by ExifTool.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { sniffImage } from '../src/detect.js';
import { avifProblems, isIsobmffImage, parseIsobmff } from '../src/formats/isobmff.js';
import { handlerFor } from '../src/formats/index.js';
import { inspect, verifyClean } from '../src/index.js';
import { WorkerPool } from '../src/pool/pool.js';
import { rewrite, transform } from '../src/transform/transform.js';
import type { TransformOptions } from '../src/transform/transform.js';
import { CASES, CORPUS, exiftool } from './helpers.js';

const pool = new WorkerPool({ size: 2 });
afterAll(async () => pool.close());

const run = (bytes: Uint8Array, options: TransformOptions = {}) =>
  transform(bytes, { pool, ...options });

/** A 400 × 200 picture: red on the left half, blue on the right. */
const halves = await sharp({
  create: { width: 400, height: 200, channels: 3, background: '#d02020' },
})
  .composite([
    {
      input: await sharp({
        create: { width: 200, height: 200, channels: 3, background: '#2040d0' },
      })
        .png()
        .toBuffer(),
      left: 200,
      top: 0,
    },
  ])
  .jpeg({ quality: 95 })
  .withExif({ IFD0: { Artist: 'Jane Roe', Copyright: 'Jane Roe 2026' } })
  .toBuffer();

async function pixel(bytes: Uint8Array, x: number, y: number): Promise<number[]> {
  const { data, info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
  const at = (y * info.width + x) * info.channels;
  return [...data.subarray(at, at + info.channels)];
}

function near(actual: number[], expected: number[], tolerance = 24): boolean {
  return expected.every((value, i) => Math.abs((actual[i] ?? -999) - value) <= tolerance);
}

function animatedGif(frames: number): Buffer {
  const dir = mkdtempSync(path.join(tmpdir(), 'pixwarden-anim-'));
  const file = path.join(dir, 'anim.gif');
  const colours = ['red', 'blue', 'lime', 'yellow', 'black'];
  const args = ['-delay', '10', '-size', '40x30'];
  for (let i = 0; i < frames; i++) args.push(`xc:${colours[i % colours.length] ?? 'red'}`);
  const made = spawnSync('convert', [...args, '-loop', '0', file]);
  if (made.status !== 0) throw new Error(made.stderr.toString());
  return readFileSync(file);
}

describe('transform', () => {
  it.each([
    [{ width: 100 }, [100, 50]],
    [{ height: 50 }, [100, 50]],
    [{ width: 100, height: 100 }, [100, 50]],
    [{ width: 100, height: 100, fit: 'cover' as const }, [100, 100]],
    [{ width: 100, height: 100, fit: 'contain' as const }, [100, 100]],
    [{ width: 1000 }, [400, 200]],
  ])('sizes %j as %j, never enlarging', async (options, size) => {
    const [output] = (await run(halves, options)).outputs;
    expect([output?.width, output?.height]).toEqual(size);
    const meta = await sharp(output?.bytes).metadata();
    expect([meta.width, meta.height]).toEqual(size);
  });

  it('pads a contained picture with white in JPEG and transparency in PNG', async () => {
    const box = { width: 100, height: 100, fit: 'contain' as const };
    const [jpeg] = (await run(halves, box)).outputs;
    expect(near(await pixel(jpeg?.bytes ?? new Uint8Array(), 50, 2), [255, 255, 255])).toBe(true);
    const [png] = (await run(halves, { ...box, format: 'png' })).outputs;
    expect((await pixel(png?.bytes ?? new Uint8Array(), 50, 2))[3]).toBe(0);
    expect(near(await pixel(png?.bytes ?? new Uint8Array(), 20, 50), [208, 32, 32, 255])).toBe(
      true,
    );
  });

  it.each(['jpeg', 'png', 'webp', 'avif', 'gif'] as const)(
    'writes %s that holds no metadata and keeps the colours',
    async (format) => {
      const result = await run(halves, { format, width: 200, effort: format === 'avif' ? 0 : 4 });
      const [output] = result.outputs;
      if (output === undefined) throw new Error('no output');
      expect(output.format).toBe(format);
      if (format === 'avif') {
        expect(isIsobmffImage(output.bytes)).toBe(true);
        expect(avifProblems(parseIsobmff(output.bytes))).toEqual([]);
      } else {
        expect(sniffImage(output.bytes)).toBe(format);
        expect(await verifyClean(output.bytes, { keep: [] })).toMatchObject({ clean: true });
      }
      expect(Buffer.from(output.bytes).includes('Jane Roe')).toBe(false);
      expect(near(await pixel(output.bytes, 20, 50), [208, 32, 32])).toBe(true);
      expect(near(await pixel(output.bytes, 180, 50), [32, 64, 208])).toBe(true);
      expect(result.removed.map((part) => part.name)).toContain('APP1 Exif');
    },
  );

  it('makes named variants, in order, each with its own size and format', async () => {
    const result = await run(halves, {
      format: 'webp',
      variants: [
        { name: 'thumb', width: 64, height: 64 },
        { name: 'square', width: 50, height: 50, fit: 'cover', format: 'png' },
        { name: 'full' },
      ],
    });
    expect(
      result.outputs.map((o) => [o.variant, o.format, o.width, o.height, sniffImage(o.bytes)]),
    ).toEqual([
      ['thumb', 'webp', 64, 32, 'webp'],
      ['square', 'png', 50, 50, 'png'],
      ['full', 'webp', 400, 200, 'webp'],
    ]);
  });

  it('turns the pixels of a photo that carries an orientation, and writes no orientation', async () => {
    const input = readFileSync(path.join(CASES, 'inputs', '02-orientation-rotate90.jpg'));
    const stored = await sharp(input).metadata();
    expect([stored.width, stored.height, stored.orientation]).toEqual([240, 120, 6]);
    const [output] = (await run(input, { format: 'png' })).outputs;
    const dir = mkdtempSync(path.join(tmpdir(), 'pixwarden-orient-'));
    const file = path.join(dir, 'out.png');
    writeFileSync(file, output?.bytes ?? new Uint8Array());
    const seen: Record<string, unknown> = exiftool([file])[0] ?? {};
    expect([seen['PNG:ImageWidth'], seen['PNG:ImageHeight']]).toEqual([120, 240]);
    expect(Object.keys(seen).filter((key) => key.includes('Orientation'))).toEqual([]);
  });

  it('keeps an animation as GIF and WebP, frame for frame', async () => {
    const gif = animatedGif(3);
    for (const format of ['gif', 'webp'] as const) {
      const result = await run(gif, { format, width: 20 });
      const [output] = result.outputs;
      expect(result.notes).toEqual([]);
      expect([output?.frames, output?.width, output?.height]).toEqual([3, 20, 15]);
      expect(handlerFor(format).parse(output?.bytes ?? new Uint8Array()).frames).toBe(3);
      const meta = await sharp(output?.bytes, { animated: true }).metadata();
      expect(meta.pages).toBe(3);
      expect(meta.delay).toEqual([100, 100, 100]);
    }
  });

  it('keeps every frame in each variant of an animation, and under a watermark', async () => {
    const gif = await sharp(animatedGif(4), { animated: true }).resize(80).gif().toBuffer();
    const variants = await run(gif, {
      format: 'webp',
      variants: [
        { name: 'small', width: 20 },
        { name: 'large', width: 60 },
      ],
    });
    expect(variants.outputs.map((o) => [o.variant, o.frames, o.width, o.height])).toEqual([
      ['small', 4, 20, 15],
      ['large', 4, 60, 45],
    ]);
    const marked = await run(gif, {
      format: 'gif',
      width: 40,
      watermark: { text: 'X', opacity: 1, scale: 0.5, gravity: 'center' },
    });
    const [output] = marked.outputs;
    expect([output?.frames, output?.width, output?.height]).toEqual([4, 40, 30]);
    // The mark is on every frame: the centre of each frame is brighter than its corner.
    const { data, info } = await sharp(output?.bytes, { animated: true })
      .raw()
      .toBuffer({ resolveWithObject: true });
    for (let frame = 0; frame < 4; frame++) {
      let brightest = 0;
      for (let y = frame * 30 + 8; y < frame * 30 + 22; y++)
        for (let x = 10; x < 30; x++) {
          const at = (y * info.width + x) * info.channels;
          brightest = Math.max(
            brightest,
            Math.min(data[at] ?? 0, data[at + 1] ?? 0, data[at + 2] ?? 0),
          );
        }
      expect(brightest, `frame ${frame}`).toBeGreaterThan(200);
    }
  });

  it('takes the first frame, and says so, for a still format, on request, and past the limits', async () => {
    const gif = animatedGif(5);
    const still = await run(gif, { format: 'png' });
    expect(still.outputs[0]?.frames).toBe(1);
    expect(still.notes).toEqual([
      'only the first of its 5 frames was kept: PNG output holds no animation here',
    ]);
    const asked = await run(gif, { animation: 'first-frame' });
    expect(asked.notes).toEqual(['only the first of its 5 frames was kept, as asked']);
    expect(handlerFor('gif').parse(asked.outputs[0]?.bytes ?? new Uint8Array()).frames).toBe(1);
    const limited = await run(gif, { limits: { maxFrames: 4 } });
    expect(limited.outputs[0]?.frames).toBe(1);
    expect(limited.notes[0]).toMatch(/past the decode limits .*5 frames.*4/);
  });

  it('draws a text watermark where its gravity says, and leaves the rest alone', async () => {
    const grey = await sharp({
      create: { width: 300, height: 200, channels: 3, background: '#404040' },
    })
      .png()
      .toBuffer();
    const plain = (await run(grey, { format: 'png' })).outputs[0]?.bytes ?? new Uint8Array();
    const marked =
      (
        await run(grey, {
          format: 'png',
          watermark: { text: 'PIXWARDEN', gravity: 'southeast', opacity: 1, scale: 0.5 },
        })
      ).outputs[0]?.bytes ?? new Uint8Array();
    /** The brightest red value in a quarter of the picture. */
    const region = async (bytes: Uint8Array, left: number, top: number) => {
      const { data, info } = await sharp(bytes)
        .extract({ left, top, width: 150, height: 100 })
        .raw()
        .toBuffer({ resolveWithObject: true });
      let brightest = 0;
      for (let i = 0; i < data.length; i += info.channels)
        brightest = Math.max(brightest, data[i] ?? 0);
      return brightest;
    };
    // White text in the bottom-right quarter; the top-left quarter unchanged.
    expect(await region(marked, 150, 100)).toBeGreaterThan(200);
    expect(await region(marked, 0, 0)).toEqual(await region(plain, 0, 0));
    const faint =
      (
        await run(grey, {
          format: 'png',
          watermark: { text: 'PIXWARDEN', opacity: 0 },
        })
      ).outputs[0]?.bytes ?? new Uint8Array();
    expect(await region(faint, 150, 100)).toEqual(await region(plain, 150, 100));
  });

  it('draws an image watermark, stripped and decoded like any input', async () => {
    const logo = await sharp({
      create: { width: 40, height: 40, channels: 3, background: '#00ff00' },
    })
      .png()
      .toBuffer();
    const [output] = (
      await run(halves, {
        format: 'png',
        watermark: { image: logo, gravity: 'northwest', opacity: 1, scale: 0.5 },
      })
    ).outputs;
    expect(near(await pixel(output?.bytes ?? new Uint8Array(), 30, 30), [0, 255, 0])).toBe(true);
    const svg = readFileSync(path.join(CASES, 'inputs', '14-svg-script.svg'));
    await expect(run(halves, { watermark: { image: svg } })).rejects.toMatchObject({
      code: 'ERR_FORMAT_NOT_ALLOWED',
      message: expect.stringMatching(/^the watermark image: .*SVG/) as unknown,
    });
  });

  it.each([
    [{ quality: 0 }, /quality must be a whole number from 1 to 100, not 0/],
    [{ width: 0 }, /width must be a whole number from 1 to 16383, not 0/],
    [{ fit: 'stretch' }, /fit must be one of inside, cover, contain, not "stretch"/],
    [{ format: 'bmp' }, /format must be one of jpeg, png, webp, avif, gif, not "bmp"/],
    [{ variants: [{ name: 'a' }, { name: 'a' }] }, /the variant "a" is named twice/],
    [{ variants: [{ name: '../x' }] }, /variant name must be 1–32 letters/],
    [{ watermark: { text: 'x', image: new Uint8Array(1) } }, /exactly one of text and image/],
    [{ watermark: { text: 'x', opacity: 2 } }, /opacity must be from 0 to 1, not 2/],
  ])('refuses the options %j with a usage error', async (options, message) => {
    await expect(run(halves, options as TransformOptions)).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
      message: expect.stringMatching(message) as unknown,
    });
  });

  it('refuses a picture past the decode limits before any worker sees it', async () => {
    await expect(run(halves, { limits: { maxPixels: 10_000 } })).rejects.toMatchObject({
      code: 'ERR_PIXEL_LIMIT',
      value: 80_000,
      limit: 10_000,
    });
    await expect(run(halves, { limits: { maxDimension: 300 } })).rejects.toMatchObject({
      code: 'ERR_DIMENSION_LIMIT',
    });
  });

  it('gives a picture the decoder refuses a coded error naming the decoder', async () => {
    const corrupt = readFileSync(path.join(CORPUS, 'exif-samples', 'jpg', 'corrupted.jpg'));
    await expect(run(corrupt)).rejects.toMatchObject({
      code: 'ERR_MALFORMED',
      message: expect.stringMatching(/^the decoder refused the image: /) as unknown,
    });
  });

  it('gives a job whose worker is stopped its code, and the next job goes on', async () => {
    const strict = new WorkerPool({ size: 1, jobTimeoutMs: 1 });
    try {
      await expect(transform(halves, { pool: strict })).rejects.toMatchObject({
        code: 'ERR_WORKER_TIMEOUT',
      });
    } finally {
      await strict.close();
    }
    await expect(run(halves, { width: 10 })).resolves.toMatchObject({ verified: true });
  });
});

describe('rewrite', () => {
  it('re-encodes a JPEG at quality 92 by default, and at the quality given', async () => {
    const photo = readFileSync(path.join(CASES, 'inputs', '01-exif-thumb-uncropped.jpg'));
    const high = await rewrite(photo, { pool });
    const low = await rewrite(photo, { pool, quality: 30 });
    const [best, worst] = [high.outputs[0], low.outputs[0]];
    const size = await sharp(photo).metadata();
    expect([best?.format, best?.width, best?.height]).toEqual(['jpeg', size.width, size.height]);
    expect(worst?.bytes.length ?? 0).toBeLessThan(best?.bytes.length ?? 0);
    const report = await inspect(best?.bytes ?? new Uint8Array(), { pool });
    expect(report.findings).toEqual([]);
  });

  it('keeps a lossless WebP lossless, pixel for pixel', async () => {
    const lossless = await sharp(halves).webp({ lossless: true }).toBuffer();
    const [output] = (await rewrite(lossless, { pool })).outputs;
    const parts = handlerFor('webp').parse(output?.bytes ?? new Uint8Array()).parts;
    expect(parts.map((part) => part.name)).toContain('VP8L');
    const before = await sharp(lossless).raw().toBuffer();
    const after = await sharp(output?.bytes).raw().toBuffer();
    expect(after.equals(before)).toBe(true);
  });

  it('rewrites a PNG to exactly its pixels', async () => {
    const png = await sharp(halves).png().toBuffer();
    const [output] = (await rewrite(png, { pool })).outputs;
    expect(sniffImage(output?.bytes ?? new Uint8Array())).toBe('png');
    expect(
      (await sharp(output?.bytes).raw().toBuffer()).equals(await sharp(png).raw().toBuffer()),
    ).toBe(true);
  });
});

describe('inspect', () => {
  it('compares thumbnails in the pool it is given', async () => {
    const closed = new WorkerPool({ size: 1 });
    await closed.close();
    const input = readFileSync(path.join(CASES, 'inputs', '01-exif-thumb-uncropped.jpg'));
    const report = await inspect(input, { pool: closed });
    expect(report.findings).toContainEqual(
      expect.objectContaining({
        code: 'THUMBNAIL_NOT_COMPARED',
        value: expect.stringMatching(/pool is closed/) as unknown,
      }),
    );
    const open = await inspect(input, { pool });
    expect(open.findings.map((finding) => finding.code)).toContain('THUMBNAIL_MISMATCH');
  });
});

describe('transform refusals found by attack', () => {
  it('judges a GIF by its frames when they reach beyond its screen', async () => {
    const { subBlocks } = await import('./helpers.js');
    const header = Buffer.concat([
      Buffer.from('GIF89a', 'latin1'),
      Buffer.of(10, 0, 10, 0, 0x80, 0, 0),
      Buffer.alloc(6),
    ]);
    // One 300 × 20 frame on a 10 × 10 screen.
    const frame = Buffer.concat([
      Buffer.of(0x2c, 0, 0, 0, 0, 0x2c, 0x01, 20, 0, 0),
      Buffer.of(2),
      subBlocks(Buffer.of(0x44, 0x01)),
    ]);
    const gif = Buffer.concat([header, frame, Buffer.of(0x3b)]);
    const parsed = handlerFor('gif').parse(gif);
    expect([parsed.width, parsed.height]).toEqual([300, 20]);
    await expect(run(gif, { limits: { maxDimension: 100 } })).rejects.toMatchObject({
      code: 'ERR_DIMENSION_LIMIT',
      value: 300,
    });
  });

  it('refuses an animated PNG whose default image is not a frame of its animation', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pixwarden-apng-'));
    const made = spawnSync('/usr/bin/python3', [
      '-c',
      [
        'import sys',
        'from PIL import Image',
        "frames = [Image.new('RGB', (16, 16), c) for c in ('red', 'lime', 'blue')]",
        "frames[0].save(sys.argv[1] + '/hidden.png', save_all=True, append_images=frames[1:], default_image=True)",
        "frames[1].save(sys.argv[1] + '/shown.png', save_all=True, append_images=frames[2:], default_image=False)",
      ].join('\n'),
      dir,
    ]);
    expect(made.status, made.stderr.toString()).toBe(0);
    await expect(run(readFileSync(path.join(dir, 'hidden.png')))).rejects.toMatchObject({
      code: 'ERR_UNSUPPORTED_FORMAT',
      value: 'APNG',
    });
    // One whose default image is its first frame: that frame, with a note, in any format.
    for (const format of ['png', 'webp'] as const) {
      const shown = await run(readFileSync(path.join(dir, 'shown.png')), { format });
      expect(shown.notes).toEqual([
        'only the first of its 2 frames was kept: animated PNG frames are not decoded here',
      ]);
      expect(
        near(await pixel(shown.outputs[0]?.bytes ?? new Uint8Array(), 8, 8), [0, 255, 0]),
      ).toBe(true);
    }
  });

  it.each([
    [{ variants: [null] }, /each variant must be an object/],
    [{ variants: [{ name: 'a', widht: 3 }] }, /a variant has no field "widht"/],
    [{ animation: 'bogus' }, /animation must be keep or first-frame/],
    [{ watermark: null }, /a watermark must be an object/],
    [{ watermark: { text: 'a\u0000b' } }, /1–200 printable characters/],
    [{ watermark: { text: 'x', colour: 'transparent' } }, /colour must be #rrggbb or one of/],
  ])('refuses the library options %j with a coded usage error', async (options, message) => {
    await expect(run(halves, options as unknown as TransformOptions)).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
      message: expect.stringMatching(message) as unknown,
    });
  });
});
