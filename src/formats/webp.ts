/**
 * WebP (RFC 9649).
 *
 * Layout: "RIFF", a 32-bit little-endian size of what follows, "WEBP", then chunks: a fourcc,
 * a 32-bit little-endian data size, the data and a pad byte when the size is odd. A simple file
 * holds one VP8 (lossy) or VP8L (lossless) chunk. An extended file starts with VP8X, whose
 * flags announce ICC (0x20), alpha (0x10), EXIF (0x08), XMP (0x04) and animation (0x02), then
 * ICCP, ANIM, ANMF frames or ALPH + VP8/VP8L, and EXIF and XMP last. Bytes past the RIFF size
 * are not part of the file.
 *
 * Kept: VP8, VP8L, ALPH, ANIM, ANMF; ICCP scrubbed per policy; EXIF only as a minimal
 * Orientation block. The VP8X flags and the RIFF size are rewritten to match what is left.
 */
import { ByteView, ascii, concat } from '../bounds.js';
import { malformed, truncated } from '../errors.js';
import { DEFAULT_LIMITS, SegmentCounter, checkFrameCount, checkLosslessPixels } from '../limits.js';
import type { Limits } from '../limits.js';
import type { Finding } from '../types.js';
import { oversizedProfile } from './profile-limit.js';
import { trailerAt } from './trailer.js';
import type {
  Carry,
  FormatHandler,
  MetadataBlock,
  ParseOptions,
  ParsedImage,
  Part,
} from './types.js';

const IMAGE_CHUNKS = new Set(['VP8 ', 'VP8L', 'ALPH', 'ANIM', 'ANMF']);
const FLAG_ICC = 0x20;
const FLAG_ALPHA = 0x10;
const FLAG_EXIF = 0x08;
const FLAG_XMP = 0x04;
const FLAG_ANIMATION = 0x02;
const EXIF_PREFIX = ascii('Exif\0\0');

export const webp: FormatHandler = {
  format: 'webp',

  parse(bytes: Uint8Array, options: ParseOptions = {}): ParsedImage {
    const { limits = DEFAULT_LIMITS } = options;
    const counter = new SegmentCounter('WebP', limits, printableFourcc);
    const view = new ByteView(bytes, 'WebP');
    if (view.latin1(0, 4, 'RIFF') !== 'RIFF' || view.latin1(8, 4, 'WEBP') !== 'WEBP') {
      throw malformed('WebP does not start with RIFF....WEBP');
    }
    const riffSize = view.u32le(4, 'RIFF size');
    const end = 8 + riffSize;
    if (riffSize % 2 === 1) throw malformed(`WebP RIFF size ${riffSize} is odd`);
    if (end > bytes.length) {
      throw truncated(`WebP RIFF size says ${end} bytes, the file has ${bytes.length}`, {
        value: bytes.length,
        limit: end,
      });
    }
    const body = new ByteView(bytes.subarray(0, end), 'WebP');
    const parts: Part[] = [];
    const blocks: MetadataBlock[] = [];
    const findings: Finding[] = [];
    let exif: Uint8Array | null = null;
    let icc: ParsedImage['icc'] = null;
    let width = 0;
    let height = 0;
    let frames = 0;
    let flags: number | null = null;
    let bitstream = false;
    const counts = new Map<string, number>();
    let pos = 12;

    while (pos < end) {
      const fourcc = body.latin1(pos, 4, 'chunk fourcc');
      const size = body.u32le(pos + 4, `chunk ${fourcc} size`);
      const padded = size + (size % 2);
      body.need(pos + 8, padded, `chunk ${fourcc}`);
      const data = bytes.subarray(pos + 8, pos + 8 + size);
      const part = { start: pos, end: pos + 8 + padded };
      // Bitstreams and frames are image data, bounded by the file size and the frame limit;
      // every other chunk is counted, and those that carry metadata are bounded in size.
      if (fourcc === 'ANMF') checkFrameCount('WebP', frames + 1, limits.maxLosslessFrames);
      else if (fourcc === 'VP8X' || fourcc === 'ANIM') counter.add(fourcc, pos);
      else if (!IMAGE_CHUNKS.has(fourcc)) counter.add(fourcc, pos, size);
      pos = part.end;

      if (fourcc === 'VP8X') {
        if (parts.length > 0 || size !== 10) {
          throw malformed(`WebP VP8X chunk is misplaced or ${size} bytes, not 10`);
        }
        const vp8x = new ByteView(data, 'WebP VP8X');
        flags = vp8x.u8(0, 'flags');
        width = vp8x.u24le(4, 'canvas width') + 1;
        height = vp8x.u24le(7, 'canvas height') + 1;
        checkLosslessPixels('WebP canvas', width, height, limits);
        parts.push({ name: 'VP8X', ...part, role: 'image', category: 'unknown' });
      } else if (IMAGE_CHUNKS.has(fourcc)) {
        counts.set(fourcc, (counts.get(fourcc) ?? 0) + 1);
        if (fourcc === 'VP8 ' || fourcc === 'VP8L') {
          if (bitstream) throw malformed('WebP holds more than one image bitstream');
          bitstream = true;
          const drawn = bitstreamSize(fourcc, data);
          checkLosslessPixels('WebP image', drawn.width, drawn.height, limits);
          if (flags === null) {
            width = drawn.width;
            height = drawn.height;
          } else if (drawn.width > width || drawn.height > height) {
            throw malformed(
              `WebP bitstream of ${drawn.width} × ${drawn.height} is larger than its ${width} × ${height} canvas`,
            );
          }
        }
        let replacement = padOf(bytes, part, size);
        if (fourcc === 'ANMF') {
          frames++;
          const frame = new ByteView(data, 'WebP ANMF');
          const frameW = frame.u24le(6, 'frame width') + 1;
          const frameH = frame.u24le(9, 'frame height') + 1;
          checkLosslessPixels(`WebP frame ${frames}`, frameW, frameH, limits);
          const x = 2 * frame.u24le(0, 'frame x');
          const y = 2 * frame.u24le(3, 'frame y');
          if (x + frameW > width || y + frameH > height) {
            throw malformed(
              `WebP frame ${frames} (${frameW} × ${frameH} at ${x}, ${y}) does not fit the ${width} × ${height} canvas`,
            );
          }
          replacement =
            frameReplacement(bytes, part, data, { counter, limits, frameW, frameH }) ?? replacement;
        }
        parts.push({
          name: fourcc.trim(),
          ...part,
          role: 'image',
          category: 'unknown',
          ...(replacement === undefined ? {} : { replacement }),
        });
      } else if (fourcc === 'ICCP') {
        icc ??= oversizedProfile(data, limits);
        parts.push({ name: 'ICCP', ...part, role: 'icc', category: 'colour' });
      } else if (fourcc === 'EXIF') {
        const tiff = Buffer.from(data.subarray(0, 6)).equals(EXIF_PREFIX)
          ? data.subarray(EXIF_PREFIX.length)
          : data;
        exif ??= tiff;
        blocks.push({ kind: 'exif', name: 'EXIF', data: tiff });
        parts.push({ name: 'EXIF', ...part, role: 'exif', category: 'metadata' });
      } else if (fourcc === 'XMP ') {
        blocks.push({ kind: 'xmp', name: 'XMP', data });
        parts.push({ name: 'XMP', ...part, role: 'drop', category: 'metadata' });
      } else {
        parts.push({
          name: printableFourcc(fourcc),
          ...part,
          role: 'drop',
          category: 'unknown',
        });
      }
      if (flags === null && parts.length === 1 && !bitstream) {
        throw malformed(`WebP starts with chunk ${fourcc}, not VP8, VP8L or VP8X`);
      }
    }
    checkLayout(flags, counts, bitstream);
    if (width === 0 || height === 0) throw malformed(`WebP is ${width} × ${height} pixels`);

    if (flags !== null) {
      const has = (name: string): boolean => parts.some((p) => p.name === name);
      const announced: [number, boolean, string][] = [
        [FLAG_EXIF, has('EXIF'), 'EXIF'],
        [FLAG_XMP, has('XMP'), 'XMP'],
        [FLAG_ICC, has('ICCP'), 'ICC'],
      ];
      for (const [flag, present, name] of announced) {
        if (((flags & flag) !== 0) !== present) {
          findings.push({
            code: 'FLAG_MISMATCH',
            category: 'structure',
            source: 'container',
            name: `VP8X ${name} flag`,
            value: present ? 'chunk present, flag clear' : 'flag set, no chunk',
            risk: 'low',
          });
        }
      }
    }
    return {
      format: 'webp',
      width,
      height,
      frames: Math.max(1, frames),
      parts,
      exif,
      icc,
      trailer: trailerAt(bytes, end, findings),
      blocks,
      findings,
    };
  },

  build(bytes: Uint8Array, parsed: ParsedImage, carry: Carry): Uint8Array[] {
    const image = parsed.parts.filter((part) => part.role === 'image');
    const vp8x = image.find((part) => part.name === 'VP8X');
    const chunks: Uint8Array[] = [];
    if (vp8x === undefined) {
      // A simple file has nowhere to put EXIF or ICC: it stays simple (it had neither).
      for (const part of image)
        chunks.push(part.replacement ?? bytes.subarray(part.start, part.end));
    } else {
      const header = Buffer.from(bytes.subarray(vp8x.start, vp8x.start + 18));
      let flags = (header[8] ?? 0) & (FLAG_ALPHA | FLAG_ANIMATION);
      if (carry.icc !== null) flags |= FLAG_ICC;
      if (carry.exif !== null) flags |= FLAG_EXIF;
      header[8] = flags;
      header.fill(0, 9, 12); // reserved bytes
      header.writeUInt32LE(10, 4);
      chunks.push(header);
      if (carry.icc !== null) chunks.push(chunkBytes('ICCP', carry.icc));
      for (const part of image) {
        if (part !== vp8x) chunks.push(part.replacement ?? bytes.subarray(part.start, part.end));
      }
      if (carry.exif !== null) chunks.push(chunkBytes('EXIF', carry.exif));
    }
    const size = chunks.reduce((sum, chunk) => sum + chunk.length, 4);
    const head = Buffer.alloc(12);
    head.write('RIFF', 0, 'latin1');
    head.writeUInt32LE(size, 4);
    head.write('WEBP', 8, 'latin1');
    return [head, ...chunks];
  },
};

/**
 * The layouts RFC 9649 allows: a simple file holds one VP8 or VP8L bitstream and nothing else
 * that draws; a still extended file one bitstream and at most one ALPH before it; an animated
 * file ANIM and ANMF frames only. Anything else could carry a second picture.
 */
function checkLayout(
  flags: number | null,
  counts: ReadonlyMap<string, number>,
  bitstream: boolean,
): void {
  const count = (fourcc: string): number => counts.get(fourcc) ?? 0;
  const frames = count('ANMF');
  if (flags === null) {
    if (counts.size !== 1 || !bitstream)
      throw malformed('WebP simple file holds more than one bitstream chunk');
    return;
  }
  if (frames > 0) {
    if (bitstream || count('ALPH') > 0)
      throw malformed('WebP animation also holds a still bitstream');
    if (count('ANIM') !== 1) throw malformed(`WebP animation has ${count('ANIM')} ANIM chunks`);
    return;
  }
  if (!bitstream) throw malformed('WebP holds no image data');
  if (count('ANIM') > 0 || count('ALPH') > 1)
    throw malformed('WebP still image holds animation or repeated alpha chunks');
}

/** A copy of a chunk with its pad byte zeroed, when the input's pad byte is not zero. */
function padOf(
  bytes: Uint8Array,
  part: { start: number; end: number },
  size: number,
): Uint8Array | undefined {
  if (size % 2 === 0 || bytes[part.end - 1] === 0) return undefined;
  const copy = Uint8Array.from(bytes.subarray(part.start, part.end));
  copy[copy.length - 1] = 0;
  return copy;
}

/**
 * An ANMF frame rebuilt from what draws it: the 16-byte frame header, then only its ALPH, VP8
 * and VP8L sub-chunks. Undefined when the frame is already exactly that.
 * @throws ERR_MALFORMED when a sub-chunk runs past the frame or the frame has no bitstream.
 */
function frameReplacement(
  bytes: Uint8Array,
  part: { start: number; end: number },
  data: Uint8Array,
  frame: {
    counter: SegmentCounter<string>;
    limits: Limits;
    frameW: number;
    frameH: number;
  },
): Uint8Array | undefined {
  const view = new ByteView(data, 'WebP ANMF');
  view.need(0, 16, 'frame header');
  const keep: Uint8Array[] = [];
  let pos = 16;
  let changed = false;
  let drawn = false;
  while (pos + 8 <= data.length) {
    const fourcc = view.latin1(pos, 4, 'frame chunk fourcc');
    const size = view.u32le(pos + 4, 'frame chunk size');
    const padded = size + (size % 2);
    view.need(pos + 8, padded, `frame chunk ${fourcc}`);
    if (fourcc === 'ALPH' || fourcc === 'VP8 ' || fourcc === 'VP8L') {
      if (fourcc !== 'ALPH') {
        if (drawn) throw malformed('WebP ANMF frame holds more than one bitstream');
        drawn = true;
        const size = bitstreamSize(fourcc, data.subarray(pos + 8, pos + 8 + padded));
        checkLosslessPixels('WebP frame bitstream', size.width, size.height, frame.limits);
        if (size.width > frame.frameW || size.height > frame.frameH) {
          throw malformed(
            `WebP frame bitstream of ${size.width} × ${size.height} is larger than its ${frame.frameW} × ${frame.frameH} frame`,
          );
        }
      }
      const piece = data.subarray(pos, pos + 8 + padded);
      if (size % 2 === 1 && piece[piece.length - 1] !== 0) {
        const copy = Uint8Array.from(piece);
        copy[copy.length - 1] = 0;
        keep.push(copy);
        changed = true;
      } else {
        keep.push(piece);
      }
    } else {
      // Anything else inside a frame is dropped, but counted and bounded like any chunk.
      frame.counter.add(fourcc, part.start + 8 + pos, size);
      changed = true;
    }
    pos += 8 + padded;
  }
  if (!drawn) throw malformed('WebP ANMF frame holds no bitstream');
  if (pos !== data.length) changed = true;
  if (!changed && bytes[part.end - 1] === 0) return undefined;
  const body = concat([data.subarray(0, 16), ...keep]);
  return chunkBytes('ANMF', body);
}

/** A chunk name fit for a report: unprintable bytes become "?". */
function printableFourcc(fourcc: string): string {
  return fourcc.replace(/ +$/, '').replace(/[^\x20-\x7e]/g, '?') || 'unnamed chunk';
}

function chunkBytes(fourcc: string, data: Uint8Array): Uint8Array {
  const head = Buffer.alloc(8);
  head.write(fourcc, 0, 'latin1');
  head.writeUInt32LE(data.length, 4);
  return concat(data.length % 2 === 1 ? [head, data, Uint8Array.of(0)] : [head, data]);
}

/** Dimensions from a VP8 key-frame header or a VP8L header, for simple files. */
function bitstreamSize(fourcc: string, data: Uint8Array): { width: number; height: number } {
  const view = new ByteView(data, `WebP ${fourcc.trim()}`);
  if (fourcc === 'VP8L') {
    if (view.u8(0, 'VP8L signature') !== 0x2f) throw malformed('WebP VP8L signature is missing');
    const bits = view.u32le(1, 'VP8L size');
    return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  if (
    view.u8(3, 'VP8 start code') !== 0x9d ||
    view.u8(4, 'VP8 start code') !== 0x01 ||
    view.u8(5, 'VP8 start code') !== 0x2a
  ) {
    throw malformed('WebP VP8 key frame start code is missing');
  }
  return {
    width: view.u16le(6, 'VP8 width') & 0x3fff,
    height: view.u16le(8, 'VP8 height') & 0x3fff,
  };
}
