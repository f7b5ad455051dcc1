/**
 * Embedded thumbnails compared with the main picture: one that shows the same picture passes,
 * one that shows another (the uncropped original of case 01, or an edited-away part) is found.
 * ExifTool writes the thumbnails into real JPEGs that sharp makes.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { inspect, strip } from '../src/index.js';
import { pixelDecoder } from '../src/pixels.js';
import { WorkerPool } from '../src/pool/pool.js';
import { CASES } from './helpers.js';

const codes = async (file: Uint8Array, limits = {}): Promise<string[]> =>
  (await inspect(file, { limits })).findings.map((f) => f.code);

/** A 640 × 480 picture with structure (a gradient and a block), as a JPEG. */
async function picture(flip: boolean): Promise<Buffer> {
  const width = 640;
  const height = 480;
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const gx = flip ? width - 1 - x : x;
      const block = gx > 400 && y > 100 && y < 300;
      raw[i] = block ? 250 : (gx * 255) / width;
      raw[i + 1] = (y * 255) / height;
      raw[i + 2] = block ? 20 : 128;
    }
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

async function withThumbnail(main: Buffer, thumbnailOf: Buffer): Promise<Buffer> {
  const dir = mkdtempSync(path.join(tmpdir(), 'pixwarden-thumb-'));
  const mainPath = path.join(dir, 'main.jpg');
  const thumbPath = path.join(dir, 'thumb.jpg');
  writeFileSync(mainPath, main);
  writeFileSync(thumbPath, await sharp(thumbnailOf).resize(160, 120).jpeg().toBuffer());
  const run = spawnSync('exiftool', [
    '-q',
    '-overwrite_original',
    `-ThumbnailImage<=${thumbPath}`,
    mainPath,
  ]);
  expect(run.status).toBe(0);
  return readFileSync(mainPath);
}

describe('the pixel decoder', () => {
  it('opens only the JPEG, PNG, WebP and GIF loaders', async () => {
    const decoder = await pixelDecoder();
    if (decoder === null) throw new Error('sharp is not installed');
    const small = { create: { width: 4, height: 4, channels: 3 as const, background: 'red' } };
    for (const format of ['jpeg', 'png', 'webp', 'gif'] as const) {
      const file = await sharp(small).toFormat(format).toBuffer();
      const pixels = await decoder(file).removeAlpha().raw().toBuffer();
      expect(pixels).toHaveLength(48);
    }
    const tiff = await sharp(small).tiff().toBuffer();
    await expect(decoder(tiff).raw().toBuffer()).rejects.toThrow(/unsupported image format/);
    const svg = readFileSync(path.join(CASES, 'inputs', '14-svg-script.svg'));
    await expect(decoder(svg).raw().toBuffer()).rejects.toThrow(/unsupported image format/);
  });
});

describe('embedded thumbnails', () => {
  it('finds the uncropped original in case 01', async () => {
    const file = readFileSync(path.join(CASES, 'inputs', '01-exif-thumb-uncropped.jpg'));
    const report = await inspect(file);
    expect(report.findings).toContainEqual(
      expect.objectContaining({ code: 'THUMBNAIL_MISMATCH', category: 'thumbnail', risk: 'high' }),
    );
    // And the clean copy holds no thumbnail at all.
    expect(await codes((await strip(file)).bytes)).not.toContain('EMBEDDED_THUMBNAIL');
  });

  it('reports the thumbnail as found, without decoding, when told not to compare', async () => {
    const file = readFileSync(path.join(CASES, 'inputs', '01-exif-thumb-uncropped.jpg'));
    // A closed pool would refuse any decoding job: none is sent.
    const pool = new WorkerPool({ size: 1 });
    await pool.close();
    const found = (await inspect(file, { compareThumbnails: false, pool })).findings;
    expect(found.map((f) => f.code)).toContain('EMBEDDED_THUMBNAIL');
    expect(found.map((f) => f.code)).not.toContain('THUMBNAIL_MISMATCH');
    expect(found.map((f) => f.code)).not.toContain('THUMBNAIL_NOT_COMPARED');
    await expect(
      inspect(file, { compareThumbnails: 'no' as unknown as boolean }),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
  });

  it('passes a thumbnail of the picture itself, and finds one of another picture', async () => {
    const main = await picture(false);
    const same = await withThumbnail(main, main);
    expect(await codes(same)).toContain('EMBEDDED_THUMBNAIL');
    expect(await codes(same)).not.toContain('THUMBNAIL_MISMATCH');
    const other = await withThumbnail(main, await picture(true));
    expect(await codes(other)).toContain('THUMBNAIL_MISMATCH');
  });

  it('compares a JFIF thumbnail (raw RGB) the same way', async () => {
    const withJfif = async (main: Buffer, of: Buffer): Promise<Buffer> => {
      const rgb = await sharp(of).resize(16, 12, { fit: 'fill' }).removeAlpha().raw().toBuffer();
      const payload = Buffer.concat([
        Buffer.from('JFIF\0', 'latin1'),
        Buffer.of(1, 2, 0, 0, 1, 0, 1, 16, 12),
        rgb,
      ]);
      const app0 = Buffer.concat([Buffer.of(0xff, 0xe0, 0, 0), payload]);
      app0.writeUInt16BE(payload.length + 2, 2);
      // Replace the encoder's own APP0 (right after SOI) with one that carries a thumbnail.
      const rest = main[3] === 0xe0 ? main.subarray(4 + main.readUInt16BE(4)) : main.subarray(2);
      return Buffer.concat([Buffer.of(0xff, 0xd8), app0, rest]);
    };
    const main = await picture(false);
    const same = await codes(await withJfif(main, main));
    expect(same).toContain('EMBEDDED_THUMBNAIL');
    expect(same).not.toContain('THUMBNAIL_MISMATCH');
    const other = (await inspect(await withJfif(main, await picture(true)))).findings;
    expect(other).toContainEqual(
      expect.objectContaining({
        code: 'THUMBNAIL_MISMATCH',
        source: 'jfif',
        name: 'JFIF thumbnail',
      }),
    );
  });

  it('does not decode a picture over the decode limits: it says it did not compare', async () => {
    const main = await picture(false);
    const file = await withThumbnail(main, main);
    const found = await codes(file, { maxPixels: 1000 });
    expect(found).toContain('THUMBNAIL_NOT_COMPARED');
    expect(found).not.toContain('THUMBNAIL_MISMATCH');
  });
});
