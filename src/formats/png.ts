/**
 * PNG (ISO/IEC 15948, PNG Third Edition for cICP, mDCV and cLLI; APNG for acTL, fcTL, fdAT).
 *
 * Layout: an 8-byte signature, then chunks: a 32-bit big-endian data length (at most 2^31-1),
 * a four-letter type, the data, and a CRC-32 over type and data. IHDR comes first, IEND last;
 * bytes after IEND are not part of the image (a buggy editor once left the tail of a longer,
 * older picture there). A chunk whose type starts with an upper-case letter is critical: a
 * decoder that does not know it must refuse the file, and so do we.
 *
 * Kept: IHDR, PLTE, IDAT, IEND and the chunks that change how pixels render (tRNS, gAMA, cHRM,
 * sRGB, sBIT, cICP, mDCV, cLLI, acTL, fcTL, fdAT). iCCP is kept scrubbed when the policy keeps
 * colour, eXIf only as a minimal Orientation block. Everything else goes: text, tIME, pHYs,
 * bKGD, private chunks.
 */
import buffer from 'node:buffer';
import { ByteView, ascii, concat, latin1 } from '../bounds.js';
import { malformed, pixwardenError, truncated } from '../errors.js';
import { DEFAULT_LIMITS, SegmentCounter, checkFrameCount, checkLosslessPixels } from '../limits.js';
import type { Limits } from '../limits.js';
import type { Finding } from '../types.js';
import { inflateCapped, zlib } from './inflate.js';
import type { InflateResult } from './inflate.js';
import { oversizedProfile } from './profile-limit.js';
import { trailerAt } from './trailer.js';
import type {
  Carry,
  FormatHandler,
  MetadataBlock,
  ParseDetail,
  ParseOptions,
  ParsedImage,
  Part,
} from './types.js';

export const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

const RENDERING_CHUNKS = new Set([
  'IHDR',
  'PLTE',
  'IDAT',
  'IEND',
  'tRNS',
  'gAMA',
  'cHRM',
  'sRGB',
  'sBIT',
  'cICP',
  'mDCV',
  'cLLI',
  'acTL',
  'fcTL',
  'fdAT',
]);
const TEXT_CHUNKS = new Set(['tEXt', 'zTXt', 'iTXt']);
/** Text chunks that may hold an orientation (XMP, or EXIF written as hex by ImageMagick). */
const ORIENTATION_KEYWORDS = /^(XML:com\.adobe\.xmp|Raw profile type (exif|APP1))$/i;
/** All text of one file is never inflated past this many times the per-chunk cap in total. */
const textChunksPerFile = 8;
/** The fixed data sizes of rendering chunks (tRNS and sBIT depend on the colour type). */
const FIXED_SIZES: Record<string, number> = {
  gAMA: 4,
  cHRM: 32,
  sRGB: 1,
  cICP: 4,
  cLLI: 8,
  mDCV: 24,
  acTL: 8,
  fcTL: 26,
};
/** sBIT sizes by colour type: grey, -, RGB, palette, grey and alpha, -, RGBA. */
const SBIT_SIZES = [1, 0, 3, 3, 2, 0, 4];

interface TextBudget {
  readonly detail: ParseDetail;
  /** Bytes one chunk may inflate to. */
  readonly perChunk: number;
  inflateLeft: number;
}

/**
 * Why a rendering chunk is not needed by decoders (and so dropped), or null when it is: a size
 * other than its fixed one, a palette in an image that has no use for one (greyscale, or the
 * suggested palette of a truecolour image), a second palette, animation chunks without acTL.
 */
function unneededReason(
  type: string,
  length: number,
  image: {
    colourType: number;
    paletteEntries: number;
    repeatedPalette: boolean;
    animated: boolean;
  },
): string | null {
  const fixed = FIXED_SIZES[type];
  if (fixed !== undefined && length !== fixed) return `${length} bytes, not ${fixed}`;
  if (type === 'sBIT' && length !== SBIT_SIZES[image.colourType]) return `${length} bytes`;
  if (type === 'tRNS') {
    const limit =
      image.colourType === 0
        ? 2
        : image.colourType === 2
          ? 6
          : image.colourType === 3
            ? image.paletteEntries
            : 0;
    if (image.colourType === 3 ? length > limit : length !== limit) return `${length} bytes`;
  }
  if (type === 'PLTE') {
    if (image.repeatedPalette) return 'a second palette';
    if (image.colourType !== 3) return 'a palette the image does not use';
    if (length === 0 || length % 3 !== 0 || length > 768) return `${length} bytes`;
  }
  if ((type === 'fcTL' || type === 'fdAT') && !image.animated) return 'no acTL';
  return null;
}

const maxChunkDataBytes = 0x7fffffff;
/** IDAT and fdAT chunks smaller than this count against the segment limit. */
const minImageDataChunk = 1024;
/** The keyword written into a kept iCCP chunk: the original may name a device or a person. */
const ICCP_KEYWORD = 'ICC Profile';

interface Chunk {
  type: string;
  start: number;
  data: number;
  length: number;
  end: number;
}

function readChunk(view: ByteView, pos: number): Chunk {
  const length = view.u32be(pos, 'chunk length');
  if (length > maxChunkDataBytes)
    throw malformed(`PNG chunk at offset ${pos} declares ${length} bytes, more than PNG allows`);
  const type = view.latin1(pos + 4, 4, 'chunk type');
  if (!/^[A-Za-z]{4}$/.test(type))
    throw malformed(`PNG chunk at offset ${pos} has an invalid type`);
  view.need(pos + 8, length + 4, `chunk ${type}`);
  return { type, start: pos, data: pos + 8, length, end: pos + 12 + length };
}

function crcMatches(bytes: Uint8Array, chunk: Chunk): boolean {
  const stored = new ByteView(bytes, 'PNG').u32be(chunk.end - 4, 'chunk CRC');
  return zlib().crc32(bytes.subarray(chunk.start + 4, chunk.end - 4)) === stored;
}

export const png: FormatHandler = {
  format: 'png',

  parse(bytes: Uint8Array, options: ParseOptions = {}): ParsedImage {
    const { memo, detail = 'strip', limits = DEFAULT_LIMITS } = options;
    const counter = new SegmentCounter('PNG', limits, (type: string) => `chunk ${type}`);
    const view = new ByteView(bytes, 'PNG');
    const text: TextBudget = {
      detail,
      perChunk: inflateCap(limits),
      inflateLeft: limits.maxInflateBytes === 0 ? Infinity : textChunksPerFile * inflateCap(limits),
    };
    let fcTLs = 0;
    let colourType = -1;
    let paletteEntries = 0;
    let lastType = '';
    if (!view.startsWith(PNG_SIGNATURE)) throw malformed('PNG signature is missing');
    const parts: Part[] = [];
    const blocks: MetadataBlock[] = [];
    const findings: Finding[] = [];
    let exif: Uint8Array | null = null;
    let icc: ParsedImage['icc'] = null;
    let width = 0;
    let height = 0;
    let frames = 1;
    let end = -1;
    let pos = PNG_SIGNATURE.length;
    const seen = new Set<string>();

    while (end < 0) {
      if (pos === bytes.length && seen.has('IDAT') && lastType !== 'IDAT') {
        // Some writers stop after their last chunk without IEND. When a chunk came after the
        // image data, the image data was complete; the clean copy gets its IEND. A file that
        // stops right after an IDAT is truncated.
        findings.push({
          code: 'MISSING_IEND',
          category: 'structure',
          source: 'container',
          name: 'IEND',
          value: 'missing',
          risk: 'low',
        });
        end = pos;
        break;
      }
      if (pos >= bytes.length) throw truncated('PNG ends before IEND', { value: bytes.length });
      const chunk = readChunk(view, pos);
      pos = chunk.end;
      const { type } = chunk;
      lastType = type;
      if (seen.size === 0 && type !== 'IHDR') throw malformed(`PNG starts with ${type}, not IHDR`);
      const critical = type.charCodeAt(0) < 0x61;
      const rendering = RENDERING_CHUNKS.has(type);
      // A chunk whose CRC was checked before at the same place in unchanged memory is not
      // checked again (see WalkMemo).
      const goodCrc = memo?.lookup(bytes, chunk.start) === chunk.end || crcMatches(bytes, chunk);
      if (goodCrc) memo?.record(bytes, chunk.start, chunk.end);
      const data = bytes.subarray(chunk.data, chunk.data + chunk.length);
      const add = (role: Part['role'], category: Part['category'], name: string = type): void => {
        parts.push({ name, start: chunk.start, end: chunk.end, role, category });
      };

      if ((rendering || type === 'iCCP' || type === 'eXIf') && !goodCrc) {
        throw pixwardenError(
          'ERR_CRC_MISMATCH',
          `PNG chunk ${type} at offset ${chunk.start} fails its CRC check`,
        );
      }
      if (!goodCrc) {
        findings.push({
          code: 'CRC_MISMATCH',
          category: 'structure',
          source: 'container',
          name: type,
          value: chunk.start,
          risk: 'low',
        });
      }
      if (critical && !rendering) throw malformed(`PNG has unknown critical chunk ${type}`);
      if ((type === 'IHDR' || type === 'acTL') && seen.has(type)) {
        throw malformed(`PNG has more than one ${type} chunk`);
      }
      const repeatedPalette = type === 'PLTE' && seen.has(type);
      seen.add(type);
      // Image data is bounded by the file size only, frame headers by the frame limit; every
      // other chunk is counted, and those that carry metadata are bounded in size.
      // Image data chunks of a real size are not counted (a large picture is written in many of
      // them); small ones are, or a file of millions of empty IDATs would pass.
      if (type === 'fcTL') {
        checkFrameCount('PNG', ++fcTLs, limits.maxLosslessFrames);
      } else if ((type !== 'IDAT' && type !== 'fdAT') || chunk.length < minImageDataChunk) {
        counter.add(type, chunk.start, rendering ? undefined : chunk.length);
      }

      if (type === 'IHDR') {
        if (chunk.length !== 13) throw malformed(`PNG IHDR is ${chunk.length} bytes, not 13`);
        width = view.u32be(chunk.data, 'width');
        height = view.u32be(chunk.data + 4, 'height');
        colourType = view.u8(chunk.data + 9, 'colour type');
        if (width === 0 || height === 0) throw malformed(`PNG is ${width} × ${height} pixels`);
        checkLosslessPixels('PNG image', width, height, limits);
      } else if (type === 'acTL') {
        frames = Math.max(1, view.u32be(chunk.data, 'acTL frame count'));
        checkFrameCount('PNG', frames, limits.maxLosslessFrames);
      } else if (type === 'fcTL' && chunk.length >= 20) {
        const frameW = view.u32be(chunk.data + 4, 'frame width');
        const frameH = view.u32be(chunk.data + 8, 'frame height');
        checkLosslessPixels(`PNG frame ${fcTLs}`, frameW, frameH, limits);
        const x = view.u32be(chunk.data + 12, 'frame x offset');
        const y = view.u32be(chunk.data + 16, 'frame y offset');
        if (x + frameW > width || y + frameH > height) {
          throw malformed(
            `PNG frame ${fcTLs} (${frameW} × ${frameH} at ${x}, ${y}) does not fit the ${width} × ${height} canvas`,
          );
        }
      }

      if (type === 'PLTE' && !repeatedPalette) paletteEntries = chunk.length / 3;
      const unneeded = rendering
        ? unneededReason(type, chunk.length, {
            colourType,
            paletteEntries,
            repeatedPalette,
            animated: seen.has('acTL'),
          })
        : null;
      if (type === 'IEND') {
        end = chunk.end;
        parts.push({
          name: type,
          start: chunk.start,
          end: chunk.end,
          role: 'image',
          category: 'unknown',
          // IEND is empty; data in it is dropped.
          ...(chunk.length === 0 ? {} : { replacement: chunkBytes('IEND', new Uint8Array(0)) }),
        });
      } else if (rendering && unneeded !== null) {
        // Decoders ignore such a chunk, so dropping it changes no pixel.
        add('drop', 'unknown', `${type} (${unneeded})`);
      } else if (rendering) {
        add('image', 'unknown');
      } else if (type === 'iCCP') {
        icc ??= oversizedProfile(readIccp(data, findings, limits), limits);
        add('icc', 'colour');
      } else if (type === 'eXIf') {
        exif ??= data;
        blocks.push({ kind: 'exif', name: 'eXIf', data });
        add('exif', 'metadata');
      } else if (TEXT_CHUNKS.has(type)) {
        const block = readText(type, data, findings, text);
        if (block !== null) blocks.push(block);
        add('drop', 'text');
      } else if (type === 'tIME') {
        blocks.push({ kind: 'text', name: 'tIME', keyword: 'tIME', data, text: readTime(data) });
        add('drop', 'time');
      } else if (type === 'caBX') {
        findings.push({
          code: 'PROVENANCE_MANIFEST',
          category: 'provenance',
          source: 'container',
          name: 'caBX C2PA',
          value: chunk.length,
          risk: 'medium',
        });
        add('drop', 'provenance');
      } else {
        add('drop', 'unknown');
      }
    }

    if (!seen.has('IDAT')) throw malformed('PNG has no IDAT chunk');
    return {
      format: 'png',
      width,
      height,
      frames: Math.max(frames, fcTLs),
      parts,
      exif,
      icc,
      trailer: trailerAt(bytes, end, findings),
      blocks,
      findings,
    };
  },

  build(bytes: Uint8Array, parsed: ParsedImage, carry: Carry): Uint8Array[] {
    const out: Uint8Array[] = [PNG_SIGNATURE];
    const last = parsed.parts.filter((part) => part.role === 'image').at(-1);
    for (const part of parsed.parts) {
      if (part.role !== 'image') continue;
      out.push(part.replacement ?? bytes.subarray(part.start, part.end));
      if (part.name === 'IHDR') {
        // iCCP and eXIf must come before PLTE and IDAT: right after IHDR is always valid.
        if (carry.icc !== null) out.push(iccpChunk(carry.icc));
        if (carry.exif !== null) out.push(chunkBytes('eXIf', carry.exif));
      }
    }
    if (last?.name !== 'IEND') out.push(chunkBytes('IEND', new Uint8Array(0)));
    return out;
  },
};

/** Builds a chunk with its length and CRC. */
export function chunkBytes(type: string, data: Uint8Array): Uint8Array {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  const { crc32 } = zlib();
  crc.writeUInt32BE(crc32(data, crc32(head.subarray(4))));
  return concat([head, data, crc]);
}

function iccpChunk(profile: Uint8Array): Uint8Array {
  return chunkBytes(
    'iCCP',
    concat([ascii(ICCP_KEYWORD), Uint8Array.of(0, 0), zlib().deflateSync(profile)]),
  );
}

/** What one compressed chunk may inflate to (0 in the limits: as much as a buffer holds). */
function inflateCap(limits: Limits): number {
  return limits.maxInflateBytes === 0 ? buffer.constants.MAX_LENGTH : limits.maxInflateBytes;
}

/** Reads an iCCP chunk: keyword, NUL, method 0, zlib data inflated under the cap. */
function readIccp(data: Uint8Array, findings: Finding[], limits: Limits): ParsedImage['icc'] {
  const nul = data.indexOf(0);
  if (nul < 1 || nul > 79 || nul + 2 > data.length)
    return { problem: 'iCCP chunk has no valid keyword' };
  const keyword = latin1(data.subarray(0, nul));
  if (keyword !== ICCP_KEYWORD) {
    // The profile name is free text chosen by whoever made the file.
    findings.push({
      code: 'ICC_PROFILE_NAME',
      category: 'colour',
      source: 'icc',
      name: 'iCCP profile name',
      value: keyword,
      risk: 'low',
    });
  }
  if (data[nul + 1] !== 0) return { problem: 'iCCP chunk uses an unknown compression method' };
  const inflated = inflateCapped(data.subarray(nul + 2), inflateCap(limits));
  if (!inflated.ok) {
    return {
      problem:
        inflated.reason === 'over-limit'
          ? 'iCCP profile inflates past the limit'
          : 'iCCP profile data is corrupt',
    };
  }
  return inflated.data;
}

/**
 * Decodes a text chunk for inspect. tEXt is Latin-1; zTXt and iTXt may be compressed and are
 * inflated only up to the cap: a larger one is reported, never inflated in full.
 */
function readText(
  type: string,
  data: Uint8Array,
  findings: Finding[],
  budget: TextBudget,
): MetadataBlock | null {
  const nul = data.indexOf(0);
  if (nul < 1) {
    findings.push({
      code: 'MALFORMED_TEXT',
      category: 'structure',
      source: 'png-text',
      name: type,
      value: data.length,
      risk: 'low',
    });
    return null;
  }
  const keyword = latin1(data.subarray(0, nul));
  // Stripping drops text anyway: only the text that may hold an orientation is decoded then.
  if (budget.detail === 'strip' && !ORIENTATION_KEYWORDS.test(keyword)) {
    return { kind: 'text', name: type, keyword, data };
  }
  let body: Uint8Array;
  let encoding: BufferEncoding = 'latin1';
  if (type === 'tEXt') {
    body = data.subarray(nul + 1);
  } else if (type === 'zTXt') {
    const inflated = inflateWithin(data.subarray(nul + 2), budget);
    if (!inflated.ok) return textProblem(type, keyword, inflated.reason, findings);
    body = inflated.data;
  } else {
    const compressed = data[nul + 1] === 1;
    const langEnd = data.indexOf(0, nul + 3);
    const translatedEnd = langEnd === -1 ? -1 : data.indexOf(0, langEnd + 1);
    if (translatedEnd === -1) {
      findings.push({
        code: 'MALFORMED_TEXT',
        category: 'structure',
        source: 'png-text',
        name: `${type} ${keyword}`,
        value: data.length,
        risk: 'low',
      });
      return null;
    }
    encoding = 'utf8';
    body = data.subarray(translatedEnd + 1);
    if (compressed) {
      const inflated = inflateWithin(body, budget);
      if (!inflated.ok) return textProblem(type, keyword, inflated.reason, findings);
      body = inflated.data;
    }
  }
  const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString(encoding);
  return { kind: 'text', name: type, keyword, data: body, text };
}

/** Inflates under both the per-chunk cap and what is left of the per-file budget. */
function inflateWithin(data: Uint8Array, budget: TextBudget): InflateResult {
  if (budget.inflateLeft <= 0) return { ok: false, reason: 'over-limit' };
  const inflated = inflateCapped(data, Math.min(budget.perChunk, budget.inflateLeft));
  if (inflated.ok) budget.inflateLeft -= inflated.data.length;
  return inflated;
}

function textProblem(
  type: string,
  keyword: string,
  reason: 'over-limit' | 'corrupt',
  findings: Finding[],
): null {
  findings.push({
    code: reason === 'over-limit' ? 'TEXT_OVER_LIMIT' : 'MALFORMED_TEXT',
    category: 'structure',
    source: 'png-text',
    name: `${type} ${keyword}`,
    value:
      reason === 'over-limit' ? 'compressed text over the limit' : 'compressed text is corrupt',
    risk: reason === 'over-limit' ? 'medium' : 'low',
  });
  return null;
}

/** tIME: year (2 bytes), month, day, hour, minute, second, as UTC. */
function readTime(data: Uint8Array): string {
  if (data.length !== 7) return 'invalid';
  const view = new ByteView(data, 'PNG tIME');
  const year = view.u16be(0, 'year');
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${year}-${pad(data[2] ?? 0)}-${pad(data[3] ?? 0)}T${pad(data[4] ?? 0)}:${pad(data[5] ?? 0)}:${pad(data[6] ?? 0)}Z`;
}
