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
import type { Finding } from '../types.js';
import { trailerAt } from './trailer.js';
import type { Carry, FormatHandler, MetadataBlock, ParsedImage, Part } from './types.js';

const IMAGE_CHUNKS = new Set(['VP8 ', 'VP8L', 'ALPH', 'ANIM', 'ANMF']);
const FLAG_ICC = 0x20;
const FLAG_ALPHA = 0x10;
const FLAG_EXIF = 0x08;
const FLAG_XMP = 0x04;
const FLAG_ANIMATION = 0x02;
const EXIF_PREFIX = ascii('Exif\0\0');

export const webp: FormatHandler = {
  format: 'webp',

  parse(bytes: Uint8Array): ParsedImage {
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
    let pos = 12;

    while (pos < end) {
      const fourcc = body.latin1(pos, 4, 'chunk fourcc');
      const size = body.u32le(pos + 4, `chunk ${fourcc} size`);
      const padded = size + (size % 2);
      body.need(pos + 8, padded, `chunk ${fourcc}`);
      const data = bytes.subarray(pos + 8, pos + 8 + size);
      const part = { start: pos, end: pos + 8 + padded };
      pos = part.end;

      if (fourcc === 'VP8X') {
        if (parts.length > 0 || size < 10) throw malformed('WebP VP8X chunk is misplaced or short');
        const vp8x = new ByteView(data, 'WebP VP8X');
        flags = vp8x.u8(0, 'flags');
        width = vp8x.u24le(4, 'canvas width') + 1;
        height = vp8x.u24le(7, 'canvas height') + 1;
        parts.push({ name: 'VP8X', ...part, role: 'image', category: 'unknown' });
      } else if (IMAGE_CHUNKS.has(fourcc)) {
        if (fourcc === 'VP8 ' || fourcc === 'VP8L') {
          bitstream = true;
          if (flags === null) {
            const size2 = bitstreamSize(fourcc, data);
            width = size2.width;
            height = size2.height;
          }
        }
        if (fourcc === 'ANMF') {
          frames++;
          bitstream = true;
        }
        parts.push({ name: fourcc.trim(), ...part, role: 'image', category: 'unknown' });
      } else if (fourcc === 'ICCP') {
        icc ??= data;
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
    if (!bitstream) throw malformed('WebP holds no image data');
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
      for (const part of image) chunks.push(bytes.subarray(part.start, part.end));
    } else {
      const header = Buffer.from(bytes.subarray(vp8x.start, vp8x.start + 18));
      let flags = (header[8] ?? 0) & (FLAG_ALPHA | FLAG_ANIMATION);
      if (carry.icc !== null) flags |= FLAG_ICC;
      if (carry.exif !== null) flags |= FLAG_EXIF;
      header[8] = flags;
      header.writeUInt32LE(10, 4);
      chunks.push(header);
      if (carry.icc !== null) chunks.push(chunkBytes('ICCP', carry.icc));
      for (const part of image) {
        if (part !== vp8x) chunks.push(bytes.subarray(part.start, part.end));
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
