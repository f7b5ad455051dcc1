/**
 * GIF (GIF89a specification, with the NETSCAPE2.0 / ANIMEXTS1.0 looping extension).
 *
 * Layout: "GIF87a" or "GIF89a", a 7-byte logical screen descriptor (width, height, flags), an
 * optional global colour table, then blocks until the trailer byte 0x3B: image descriptors
 * (0x2C, 9 bytes, an optional local colour table, the LZW code size and data sub-blocks) and
 * extensions (0x21, a label, data sub-blocks). Sub-blocks are a length byte and that many
 * bytes, ended by a zero length.
 *
 * Kept: header, screen descriptor, colour tables, graphic-control extensions, images, and the
 * looping extension (rewritten to its three-byte loop count). Dropped: comments, plain text,
 * every other application extension (XMP, ICC, IPTC live there) and anything after the trailer.
 */
import { ByteView, concat, latin1 } from '../bounds.js';
import { malformed, truncated } from '../errors.js';
import { DEFAULT_LIMITS, SegmentCounter, checkFrameCount, checkLosslessPixels } from '../limits.js';
import type { Finding } from '../types.js';
import { trailerAt } from './trailer.js';
import type { FormatHandler, MetadataBlock, ParseOptions, ParsedImage, Part } from './types.js';

const EXTENSION = 0x21;
const IMAGE = 0x2c;
const TRAILER = 0x3b;
const GRAPHIC_CONTROL = 0xf9;
const COMMENT = 0xfe;
const PLAIN_TEXT = 0x01;
const APPLICATION = 0xff;
const LOOP_APPS = new Set(['NETSCAPE2.0', 'ANIMEXTS1.0']);
/** Introducer, label, id block (1 + 11), loop sub-block (1 + 3) and terminator. */
const loopExtensionBytes = 19;
/** Introducer, label, block size, 4 data bytes and terminator. */
const graphicControlBytes = 8;

/** Walks data sub-blocks from `pos`; returns the offset after the terminator. */
function skipSubBlocks(view: ByteView, pos: number): number {
  let at = pos;
  for (;;) {
    const size = view.u8(at, 'sub-block size');
    view.need(at + 1, size, 'sub-block');
    at += 1 + size;
    if (size === 0) return at;
  }
}

/** Concatenates the data of sub-blocks from `pos` (for comments and XMP). */
function subBlockData(view: ByteView, pos: number, end: number): Uint8Array {
  const pieces: Uint8Array[] = [];
  let at = pos;
  while (at < end) {
    const size = view.u8(at, 'sub-block size');
    if (size === 0) break;
    pieces.push(view.slice(at + 1, size, 'sub-block'));
    at += 1 + size;
  }
  return concat(pieces);
}

function extensionName(label: number): string {
  return `extension 0x${label.toString(16)}`;
}

export const gif: FormatHandler = {
  format: 'gif',

  parse(bytes: Uint8Array, options: ParseOptions = {}): ParsedImage {
    const { memo, limits = DEFAULT_LIMITS } = options;
    const counter = new SegmentCounter('GIF', limits, extensionName);
    let controls = 0;
    const view = new ByteView(bytes, 'GIF');
    const version = view.latin1(0, 6, 'header');
    if (version !== 'GIF87a' && version !== 'GIF89a') throw malformed('GIF header is missing');
    const width = view.u16le(6, 'screen width');
    const height = view.u16le(8, 'screen height');
    checkLosslessPixels('GIF screen', width, height, limits);
    let extentW = width;
    let extentH = height;
    const screenFlags = view.u8(10, 'screen flags');
    let pos = 13;
    if (screenFlags & 0x80) pos += 3 * (2 << (screenFlags & 7));
    view.need(0, pos, 'global colour table');
    const parts: Part[] = [
      { name: 'header', start: 0, end: pos, role: 'image', category: 'unknown' },
    ];
    const blocks: MetadataBlock[] = [];
    const findings: Finding[] = [];
    let frames = 0;
    let end = -1;

    while (end < 0) {
      if (pos >= bytes.length)
        throw truncated('GIF ends before its trailer', { value: bytes.length });
      const start = pos;
      const introducer = view.u8(pos, 'block introducer');
      if (introducer === TRAILER) {
        end = pos + 1;
        parts.push({ name: 'trailer', start, end, role: 'image', category: 'unknown' });
      } else if (introducer === IMAGE) {
        const imageFlags = view.u8(pos + 9, 'image flags');
        const imageW = view.u16le(pos + 5, 'image width');
        const imageH = view.u16le(pos + 7, 'image height');
        // Decoders draw a frame that reaches beyond the screen on a canvas grown to hold it:
        // the picture's size is the larger of the two.
        extentW = Math.max(extentW, view.u16le(pos + 1, 'image left') + imageW);
        extentH = Math.max(extentH, view.u16le(pos + 3, 'image top') + imageH);
        if (imageW === 0 || imageH === 0)
          throw malformed(`GIF frame ${frames + 1} is ${imageW} × ${imageH} pixels`);
        checkFrameCount('GIF', frames + 1, limits.maxLosslessFrames);
        checkLosslessPixels(`GIF frame ${frames + 1}`, imageW, imageH, limits);
        pos += 10;
        if (imageFlags & 0x80) pos += 3 * (2 << (imageFlags & 7));
        const codeSize = view.u8(pos, 'LZW code size');
        if (codeSize < 1 || codeSize > 11)
          throw malformed(`GIF LZW code size ${codeSize} is out of range`);
        const data = pos + 1;
        pos = memo?.lookup(bytes, data) ?? skipSubBlocks(view, data);
        memo?.record(bytes, data, pos);
        frames++;
        parts.push({ name: 'image', start, end: pos, role: 'image', category: 'unknown' });
      } else if (introducer === EXTENSION) {
        const label = view.u8(pos + 1, 'extension label');
        pos = skipSubBlocks(view, pos + 2);
        // One graphic control block per frame is frame structure; any other extension (and
        // extra control blocks) is counted, and bounded in size.
        if (label !== GRAPHIC_CONTROL || ++controls > frames + 1)
          counter.add(label, start, pos - start);
        else counter.bound(label, start, pos - start);
        classifyExtension(view, label, start, pos, parts, blocks);
      } else {
        throw malformed(`GIF has unknown block 0x${introducer.toString(16)} at offset ${pos}`);
      }
    }
    if (frames === 0) throw malformed('GIF holds no image');
    if (extentW !== width || extentH !== height)
      checkLosslessPixels('GIF canvas (frames beyond the screen)', extentW, extentH, limits);
    return {
      format: 'gif',
      width: extentW,
      height: extentH,
      frames,
      parts,
      exif: null,
      icc: null,
      trailer: trailerAt(bytes, end, findings),
      blocks,
      findings,
    };
  },

  build(bytes: Uint8Array, parsed: ParsedImage): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (const part of parsed.parts) {
      if (part.role !== 'image') continue;
      out.push(part.replacement ?? bytes.subarray(part.start, part.end));
    }
    return out;
  },
};

function classifyExtension(
  view: ByteView,
  label: number,
  start: number,
  end: number,
  parts: Part[],
  blocks: MetadataBlock[],
): void {
  if (label === GRAPHIC_CONTROL) {
    // One 4-byte sub-block (flags, delay, transparent index), then the terminator. Anything
    // more is not read by decoders and is not copied.
    const canonical = end - start === graphicControlBytes && view.u8(start + 2, 'block size') === 4;
    if (!canonical && view.u8(start + 2, 'block size') < 4) {
      parts.push({
        name: 'graphic control (short)',
        start,
        end,
        role: 'drop',
        category: 'unknown',
      });
      return;
    }
    parts.push({
      name: 'graphic control',
      start,
      end,
      role: 'image',
      category: 'unknown',
      ...(canonical
        ? {}
        : {
            replacement: concat([
              Uint8Array.of(EXTENSION, GRAPHIC_CONTROL, 4),
              view.slice(start + 3, 4, 'graphic control'),
              Uint8Array.of(0),
            ]),
          }),
    });
  } else if (label === COMMENT) {
    const data = subBlockData(view, start + 2, end);
    blocks.push({ kind: 'comment', name: 'comment extension', data });
    parts.push({ name: 'comment extension', start, end, role: 'drop', category: 'text' });
  } else if (label === PLAIN_TEXT) {
    // The first sub-block is the 12-byte text grid; the text follows.
    const data = subBlockData(view, start + 2 + 13, end);
    blocks.push({ kind: 'comment', name: 'plain-text extension', data });
    parts.push({ name: 'plain-text extension', start, end, role: 'drop', category: 'text' });
  } else if (label === APPLICATION) {
    const idSize = view.u8(start + 2, 'application id size');
    const app = idSize === 11 ? view.latin1(start + 3, 11, 'application id') : '';
    if (LOOP_APPS.has(app) && loopCount(view, start) !== null) {
      parts.push({
        name: 'loop extension',
        start,
        end,
        role: 'image',
        category: 'unknown',
        // Only the loop count is kept: further sub-blocks could carry anything.
        ...(end - start === loopExtensionBytes
          ? {}
          : { replacement: loopExtension(view.bytes, start) }),
      });
    } else if (app === 'XMP DataXMP') {
      // XMP's sub-blocks are raw text followed by a 258-byte "magic trailer"; the whole run of
      // bytes up to the terminator is the packet.
      const data = view.slice(start + 14, Math.max(0, end - start - 14 - 258), 'XMP data');
      blocks.push({ kind: 'xmp', name: 'XMP application extension', data });
      parts.push({
        name: 'XMP application extension',
        start,
        end,
        role: 'drop',
        category: 'metadata',
      });
    } else {
      const name =
        app === ''
          ? 'application extension'
          : `application extension ${app.replace(/[^\x20-\x7e]/g, '?')}`;
      parts.push({
        name,
        start,
        end,
        role: 'drop',
        category: app === 'ICCRGBG1012' ? 'colour' : 'metadata',
      });
    }
  } else {
    parts.push({
      name: `extension 0x${label.toString(16)}`,
      start,
      end,
      role: 'drop',
      category: 'unknown',
    });
  }
}

/** The loop count of a NETSCAPE2.0 extension, or null when its sub-block is not a loop block. */
function loopCount(view: ByteView, start: number): number | null {
  const size = view.u8(start + 14, 'loop sub-block size');
  if (size < 3 || view.u8(start + 15, 'loop sub-block id') !== 1) return null;
  return view.u16le(start + 16, 'loop count');
}

/** The looping extension with only its loop count: other sub-blocks could carry data. */
function loopExtension(bytes: Uint8Array, start: number): Uint8Array {
  const view = new ByteView(bytes, 'GIF');
  const count = loopCount(view, start) ?? 0;
  const out = Buffer.alloc(loopExtensionBytes);
  out[0] = EXTENSION;
  out[1] = APPLICATION;
  out[2] = 11;
  out.write(latin1(bytes.subarray(start + 3, start + 14)), 3, 'latin1');
  out[14] = 3;
  out[15] = 1;
  out.writeUInt16LE(count, 16);
  out[18] = 0;
  return out;
}
