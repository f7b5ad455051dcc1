/**
 * The pixel work of a transform, run inside a pool worker: decode (only the four allowed
 * loaders open, the decode pixel limit passed to libvips, the strictest failure setting),
 * turn upright, convert to sRGB, resize, draw the watermark, encode with the presets. No
 * metadata of the input is written: sharp writes none unless asked, and the caller strips and
 * verifies every output again.
 *
 * One output without a watermark goes through a single streaming pipeline, as bare sharp
 * would. Several outputs share one decode: the picture is decoded once, upright and in sRGB,
 * at the largest size any output needs, and each output is resized from those pixels.
 */
import type { Sharp as SharpImage } from 'sharp';
import { decoderRefusal, requireDecoder } from '../pixels.js';
import { inputBytes } from '../pool/pool.js';
import type { Sharp } from '../pixels.js';
import type { ResolvedOutput, ResolvedWatermark } from './spec.js';

export interface RenderJob {
  /**
   * The input, already stripped of everything but the picture, orientation and profile: its
   * bytes, or the file they were handed over in.
   */
  readonly input: { readonly bytes?: Uint8Array; readonly file?: string };
  /** Keep every frame (the caller checked that each output can hold an animation). */
  readonly animated: boolean;
  readonly outputs: readonly ResolvedOutput[];
  readonly watermark: ResolvedWatermark | null;
  /** Pixels libvips may decode in all (0: no limit). */
  readonly maxPixels: number;
}

export interface RenderedOutput {
  readonly variant: string | null;
  readonly format: ResolvedOutput['format'];
  readonly width: number;
  /** Of one frame. */
  readonly height: number;
  readonly frames: number;
  readonly bytes: Uint8Array;
}

interface Timing {
  readonly delay?: number[];
  readonly loop?: number;
}

const transparent = { r: 0, g: 0, b: 0, alpha: 0 };
const white = { r: 255, g: 255, b: 255, alpha: 1 };

/** Renders every output of a job. */
export async function render(job: RenderJob): Promise<RenderedOutput[]> {
  const sharp = await requireDecoder();
  const bytes = inputBytes(job.input);
  const open = (): SharpImage =>
    sharp(bytes, {
      limitInputPixels: job.maxPixels === 0 ? false : job.maxPixels,
      failOn: 'warning',
      animated: job.animated,
    });
  try {
    const [only] = job.outputs;
    if (job.animated) return await animation(sharp, open, job);
    if (job.outputs.length === 1 && only !== undefined && job.watermark === null)
      return [await direct(open(), only, null)];
    return await shared(sharp, open, job);
  } catch (error: unknown) {
    throw decoderRefusal(error, job.maxPixels);
  }
}

/** The frame delays and loop count of an animation, to write back as they were. */
function timingOf(meta: { delay?: number[] | undefined; loop?: number | undefined }): Timing {
  return {
    ...(meta.delay === undefined ? {} : { delay: meta.delay }),
    ...(meta.loop === undefined ? {} : { loop: meta.loop }),
  };
}

/** One output, one streaming pipeline. */
async function direct(
  image: SharpImage,
  output: ResolvedOutput,
  timing: Timing | null,
): Promise<RenderedOutput> {
  const sized = resize(image.autoOrient(), output).toColourspace('srgb');
  return encode(sized, output, timing);
}

/**
 * Several outputs (or a watermark) of a still picture from one decode: upright, in sRGB, at
 * the largest size any output needs, then each output resized from those pixels.
 */
async function shared(
  sharp: Sharp,
  open: () => SharpImage,
  job: RenderJob,
): Promise<RenderedOutput[]> {
  const upright = (await open().metadata()).autoOrient;
  const scale = Math.max(...job.outputs.map((output) => scaleFor(output, upright)));
  const decoded = open().autoOrient();
  const sized = scale < 1 ? decoded.resize({ width: Math.ceil(upright.width * scale) }) : decoded;
  const { data, info } = await sized.toColourspace('srgb').raw().toBuffer({
    resolveWithObject: true,
  });
  const results: RenderedOutput[] = [];
  for (const output of job.outputs) {
    const resized = resize(fromRaw(sharp, data, info), output);
    const image =
      job.watermark === null ? resized : await withWatermark(sharp, resized, job.watermark, job);
    results.push(await encode(image, output, null));
  }
  return results;
}

/**
 * The outputs of an animation, each from its own decode: sharp resizes the frames of an
 * animation it decoded itself, not of raw pixels it is handed. A watermark is drawn on a
 * transparent frame-sized canvas that sharp tiles down the frames, one copy on each; the frame
 * size comes from a first pass of the same resize.
 */
async function animation(
  sharp: Sharp,
  open: () => SharpImage,
  job: RenderJob,
): Promise<RenderedOutput[]> {
  const meta = await open().metadata();
  const timing = timingOf(meta);
  const results: RenderedOutput[] = [];
  for (const output of job.outputs) {
    if (job.watermark === null) {
      results.push(await direct(open(), output, timing));
      continue;
    }
    const sized = (): SharpImage => resize(open().autoOrient(), output).toColourspace('srgb');
    const { info } = await sized().raw().toBuffer({ resolveWithObject: true });
    const frameHeight = Math.round(info.height / (meta.pages ?? 1));
    const overlay = await watermarkImage(sharp, job.watermark, info.width, frameHeight, true, job);
    const marked = sized().composite([{ input: overlay, tile: true, gravity: 'northwest' }]);
    results.push(await encode(marked, output, timing));
  }
  return results;
}

interface RawInfo {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 2 | 3 | 4;
}

function fromRaw(sharp: Sharp, data: Buffer, info: RawInfo): SharpImage {
  return sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } });
}

/**
 * Draws the watermark onto resized pixels of a still picture. The overlay is made for the size
 * the output comes out at, which only the resize knows, so the resized pixels are taken first.
 */
async function withWatermark(
  sharp: Sharp,
  resized: SharpImage,
  mark: ResolvedWatermark,
  job: RenderJob,
): Promise<SharpImage> {
  const { data, info } = await resized.raw().toBuffer({ resolveWithObject: true });
  const overlay = await watermarkImage(sharp, mark, info.width, info.height, false, job);
  return fromRaw(sharp, data, info).composite([{ input: overlay, gravity: mark.gravity }]);
}

/** How much of the upright picture an output needs, as a factor of at most 1. */
function scaleFor(output: ResolvedOutput, size: { width: number; height: number }): number {
  const across = output.width === null ? null : output.width / size.width;
  const down = output.height === null ? null : output.height / size.height;
  const factors = [across, down].filter((factor): factor is number => factor !== null);
  if (factors.length === 0) return 1;
  const scale = output.fit === 'cover' ? Math.max(...factors) : Math.min(...factors);
  return Math.min(1, scale);
}

function resize(image: SharpImage, output: ResolvedOutput): SharpImage {
  if (output.width === null && output.height === null) return image;
  return image.resize({
    ...(output.width === null ? {} : { width: output.width }),
    ...(output.height === null ? {} : { height: output.height }),
    fit: output.fit,
    withoutEnlargement: true,
    background: output.format === 'jpeg' ? white : transparent,
  });
}

async function encode(
  image: SharpImage,
  output: ResolvedOutput,
  timing: Timing | null,
): Promise<RenderedOutput> {
  const effort = output.effort === null ? {} : { effort: output.effort };
  const animation = timing ?? {};
  let encoder: SharpImage;
  switch (output.format) {
    case 'jpeg':
      encoder = image.flatten({ background: white }).jpeg({
        quality: output.quality,
        progressive: true,
      });
      break;
    case 'png':
      encoder = image.png({ compressionLevel: 9 });
      break;
    case 'webp':
      encoder = image.webp({
        quality: output.quality,
        lossless: output.lossless,
        ...effort,
        ...animation,
      });
      break;
    case 'avif':
      encoder = image.avif({ quality: output.quality, ...effort });
      break;
    case 'gif':
      encoder = image.gif({ ...animation });
      break;
  }
  const { data, info } = await encoder.toBuffer({ resolveWithObject: true });
  const frames = timing === null ? 1 : (info.pages ?? 1);
  return {
    variant: output.variant,
    format: output.format,
    width: info.width,
    height: timing === null ? info.height : (info.pageHeight ?? info.height),
    frames,
    bytes: new Uint8Array(data.buffer, data.byteOffset, data.length),
  };
}

/**
 * The watermark, drawn at most `scale` of the frame in each direction, with its opacity
 * applied. For an animation it is placed on a transparent frame-sized canvas, which sharp then
 * tiles down the frames, one copy per frame.
 */
async function watermarkImage(
  sharp: Sharp,
  mark: ResolvedWatermark,
  frameWidth: number,
  frameHeight: number,
  animated: boolean,
  job: RenderJob,
): Promise<Buffer> {
  const boxWidth = Math.max(1, Math.round(frameWidth * mark.scale));
  const boxHeight = Math.max(1, Math.round(frameHeight * mark.scale));
  const source =
    mark.text !== null
      ? sharp({
          text: {
            text: `<span foreground="${mark.colour}">${escapeMarkup(mark.text)}</span>`,
            rgba: true,
            width: boxWidth,
            height: boxHeight,
            wrap: 'none',
          },
        })
      : sharp(mark.image ?? new Uint8Array(0), {
          limitInputPixels: job.maxPixels === 0 ? false : job.maxPixels,
          failOn: 'warning',
          animated: false,
        }).autoOrient();
  // Kept off the very edge, by a margin of 2% of the frame's shorter side.
  const margin = Math.round(Math.min(frameWidth, frameHeight) * 0.02);
  const faded = await source
    .resize(Math.max(1, boxWidth - 2 * margin), Math.max(1, boxHeight - 2 * margin), {
      fit: 'inside',
    })
    .toColourspace('srgb')
    .ensureAlpha()
    .linear([1, 1, 1, mark.opacity], [0, 0, 0, 0])
    .extend({ top: margin, bottom: margin, left: margin, right: margin, background: transparent })
    .png()
    .toBuffer();
  if (!animated) return faded;
  return sharp({
    create: { width: frameWidth, height: frameHeight, channels: 4, background: transparent },
  })
    .composite([{ input: faded, gravity: mark.gravity }])
    .png()
    .toBuffer();
}

function escapeMarkup(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&apos;');
}
