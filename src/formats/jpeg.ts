/**
 * JPEG (ITU-T T.81, JFIF 1.02, EXIF 2.32 APP1, ICC.1 Annex B for APP2 profiles).
 *
 * Layout: SOI (FFD8), then segments `FF xx` with a 16-bit big-endian length that counts itself
 * but not the marker. After each SOS header comes entropy-coded data, in which FF is followed
 * by 00 (a stuffed byte) or a restart marker D0..D7; any other FF xx ends the scan. EOI (FFD9)
 * ends the image; whatever follows is not part of it (appended archives, a second picture of an
 * MPO or gain-map file, leftovers).
 *
 * Kept: SOI, DQT, DHT, DAC, SOFn, DRI, DNL, EXP, SOS and scans, EOI, the Adobe APP14 marker
 * (it tells decoders how to convert colours), JFIF APP0 without its thumbnail, and the ICC
 * profile (APP2, possibly in several chunks) for the policy to keep scrubbed. Everything else
 * is dropped, known or not.
 */
import { ByteView, ascii, concat } from '../bounds.js';
import { malformed, truncated } from '../errors.js';
import { DEFAULT_LIMITS, SegmentCounter, checkLosslessPixels } from '../limits.js';
import type { Finding, PartCategory } from '../types.js';
import { findMarker, isMarkerCode } from './marker-scan.js';
import { oversizedProfile } from './profile-limit.js';
import { trailerAt } from './trailer.js';
import type {
  Carry,
  FormatHandler,
  MetadataBlock,
  ParseOptions,
  ParsedImage,
  Part,
  PartRole,
} from './types.js';

const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;
const APP0 = 0xe0;
const APP1 = 0xe1;
const APP2 = 0xe2;
const APP11 = 0xeb;
const APP13 = 0xed;
const APP14 = 0xee;
const COM = 0xfe;

const DHT = 0xc4;
const DAC = 0xcc;
const DQT = 0xdb;
const DNL = 0xdc;
const DRI = 0xdd;
/** Markers that carry decoding tables or parameters, besides SOFn and SOS. */
const TABLE_MARKERS = new Set([DHT, DAC, DQT, DNL, DRI]);
const SOF_MARKERS = new Set([
  0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf,
]);

const EXIF_ID = ascii('Exif\0');
const XMP_ID = ascii('http://ns.adobe.com/xap/1.0/\0');
const XMP_EXT_ID = ascii('http://ns.adobe.com/xmp/extension/\0');
const ICC_ID = ascii('ICC_PROFILE\0');
const MPF_ID = ascii('MPF\0');
const JFIF_ID = ascii('JFIF\0');
const JFXX_ID = ascii('JFXX\0');
const ADOBE_ID = ascii('Adobe');
const PHOTOSHOP_ID = ascii('Photoshop 3.0\0');

/** ICC data per APP2 segment: 65535 minus the length field and the 14-byte chunk header. */
const iccChunkBytes = 65_519;
/** The fixed part of an Adobe APP14 payload: "Adobe", version, two flag words, transform. */
const adobePayloadBytes = 12;

interface Segment {
  marker: number;
  start: number;
  /** Start of the payload, after the length field. */
  payload: number;
  end: number;
}

const TABLE_NAMES: Record<number, string> = {
  0xc4: 'DHT',
  0xcc: 'DAC',
  0xdb: 'DQT',
  0xdc: 'DNL',
  0xdd: 'DRI',
  0xde: 'DHP',
  0xdf: 'EXP',
};

function markerName(marker: number): string {
  const table = TABLE_NAMES[marker];
  if (table !== undefined) return table;
  if (marker >= APP0 && marker <= 0xef) return `APP${marker - APP0}`;
  if (marker === COM) return 'COM';
  return `marker FF${marker.toString(16).toUpperCase().padStart(2, '0')}`;
}

function startsWith(view: ByteView, segment: Segment, id: Uint8Array): boolean {
  return segment.end - segment.payload >= id.length && view.startsWith(id, segment.payload);
}

export const jpeg: FormatHandler = {
  format: 'jpeg',

  parse(bytes: Uint8Array, options: ParseOptions = {}): ParsedImage {
    const { memo, limits = DEFAULT_LIMITS } = options;
    const counter = new SegmentCounter('JPEG', limits, markerName);
    const view = new ByteView(bytes, 'JPEG');
    if (view.u16be(0, 'SOI') !== 0xffd8) throw malformed('JPEG does not start with SOI');
    const parts: Part[] = [{ name: 'SOI', start: 0, end: 2, role: 'image', category: 'unknown' }];
    const blocks: MetadataBlock[] = [];
    const findings: Finding[] = [];
    const iccChunks: { seq: number; count: number; data: Uint8Array }[] = [];
    let exif: Uint8Array | null = null;
    // Tables the frame and the scans refer to: quantisation ids, and Huffman class << 4 | id.
    const usedQuant = new Set<number>();
    const usedHuffman = new Set<number>();
    const tables: { part: number; entries: TableEntry[] }[] = [];
    let width = 0;
    let height = 0;
    let sawFrame = false;
    let arithmetic = false;
    let sawScan = false;
    let pos = 2;
    let end = -1;

    const add = (segment: Segment, name: string, role: PartRole, category: PartCategory): void => {
      parts.push({ name, start: segment.start, end: segment.end, role, category });
    };

    while (end < 0) {
      if (pos >= bytes.length) throw truncated('JPEG ends before EOI', { value: bytes.length });
      const code = bytes[pos + 1] ?? 0;
      if (bytes[pos] !== 0xff || (code !== 0xff && !isMarker(code, true))) {
        // Decoders skip stray bytes between segments up to the next marker; so do we, and the
        // skipped bytes are never copied.
        const next = findMarker(bytes, pos);
        if (next === -1)
          throw truncated(`JPEG has stray bytes at offset ${pos} and no marker after them`);
        findings.push({
          code: 'STRAY_BYTES',
          category: 'structure',
          source: 'container',
          name: 'bytes between segments',
          value: next - pos,
          risk: 'low',
        });
        pos = next;
      }
      // Any number of FF fill bytes may precede a marker.
      let markerAt = pos;
      while (bytes[markerAt + 1] === 0xff) markerAt++;
      const marker = view.u8(markerAt + 1, 'marker');
      if (marker === EOI) {
        parts.push({
          name: 'EOI',
          start: markerAt,
          end: markerAt + 2,
          role: 'image',
          category: 'unknown',
        });
        end = markerAt + 2;
        break;
      }
      if (marker === SOI) throw malformed(`JPEG has a second SOI at offset ${markerAt} before EOI`);
      if (marker === 0x00 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
        // Stray restart or TEM markers outside a scan carry no data; they are not copied.
        pos = markerAt + 2;
        continue;
      }
      const length = view.u16be(markerAt + 2, 'segment length');
      if (length < 2)
        throw malformed(`JPEG ${markerName(marker)} at offset ${markerAt} has length ${length}`);
      if (!view.has(markerAt + 2, length)) {
        const available = bytes.length - markerAt - 2;
        throw truncated(
          `JPEG ${markerName(marker)} segment at offset ${markerAt} needs ${length} bytes, ${available} available`,
          { value: length, limit: available, unit: 'bytes' },
        );
      }
      const segment: Segment = {
        marker,
        start: markerAt,
        payload: markerAt + 4,
        end: markerAt + 2 + length,
      };
      pos = segment.end;
      // Segments that hold metadata are bounded in size; all are counted. (JPEG segments are at
      // most 64 KiB, so only a lowered limit can refuse one for its size.)
      const metadata =
        (marker >= APP0 && marker <= 0xef) || marker === COM ? length - 2 : undefined;
      counter.add(marker, markerAt, metadata);

      if (SOF_MARKERS.has(marker)) {
        if (sawFrame) throw malformed('JPEG has more than one frame header');
        sawFrame = true;
        arithmetic = marker >= 0xc9;
        height = view.u16be(segment.payload + 1, 'frame height');
        width = view.u16be(segment.payload + 3, 'frame width');
        checkLosslessPixels('JPEG frame', width, height, limits);
        const components = view.u8(segment.payload + 5, 'frame component count');
        expectLength(segment, 6 + 3 * components, 'frame header');
        for (let c = 0; c < components; c++) {
          usedQuant.add(view.u8(segment.payload + 8 + c * 3, 'quantisation table') & 0x0f);
        }
        add(segment, `SOF${marker - 0xc0}`, 'image', 'unknown');
      } else if (marker === DQT || marker === DHT) {
        tables.push({ part: parts.length, entries: tableEntries(view, segment, marker) });
        add(segment, markerName(marker), 'image', 'unknown');
      } else if (TABLE_MARKERS.has(marker)) {
        if (marker === DRI || marker === DNL) expectLength(segment, 2, markerName(marker));
        else if (marker === DAC && (segment.end - segment.payload) % 2 !== 0) {
          throw malformed(`JPEG DAC segment at offset ${segment.start} has an odd length`);
        }
        add(segment, markerName(marker), 'image', 'unknown');
      } else if (marker === SOS) {
        if (!sawFrame) throw malformed('JPEG scan starts before any frame header');
        const components = view.u8(segment.payload, 'scan component count');
        expectLength(segment, 4 + 2 * components, 'scan header');
        for (let c = 0; c < components; c++) {
          const ids = view.u8(segment.payload + 2 + c * 2, 'scan tables');
          usedHuffman.add(ids >> 4);
          usedHuffman.add(0x10 | (ids & 0x0f));
        }
        sawScan = true;
        pos = memo?.lookup(bytes, segment.end) ?? scanEnd(bytes, segment.end);
        memo?.record(bytes, segment.end, pos);
        parts.push({
          name: 'SOS',
          start: segment.start,
          end: pos,
          role: 'image',
          category: 'unknown',
        });
      } else if (marker === APP0) {
        classifyApp0(view, segment, parts, findings, blocks);
      } else if (marker === APP1) {
        if (startsWith(view, segment, EXIF_ID)) {
          const tiff = bytes.subarray(segment.payload + 6, segment.end);
          if (exif === null) exif = tiff;
          blocks.push({ kind: 'exif', name: 'APP1 Exif', data: tiff });
          add(segment, 'APP1 Exif', 'exif', 'metadata');
        } else if (startsWith(view, segment, XMP_ID)) {
          blocks.push({
            kind: 'xmp',
            name: 'APP1 XMP',
            data: bytes.subarray(segment.payload + XMP_ID.length, segment.end),
          });
          add(segment, 'APP1 XMP', 'drop', 'metadata');
        } else if (startsWith(view, segment, XMP_EXT_ID)) {
          add(segment, 'APP1 extended XMP', 'drop', 'metadata');
        } else {
          add(segment, 'APP1', 'drop', 'unknown');
        }
      } else if (marker === APP2 && startsWith(view, segment, ICC_ID)) {
        const seq = view.u8(segment.payload + 12, 'ICC chunk number');
        const count = view.u8(segment.payload + 13, 'ICC chunk count');
        iccChunks.push({ seq, count, data: bytes.subarray(segment.payload + 14, segment.end) });
        add(segment, 'APP2 ICC_PROFILE', 'icc', 'colour');
      } else if (marker === APP2 && startsWith(view, segment, MPF_ID)) {
        add(segment, 'APP2 MPF', 'drop', 'metadata');
      } else if (marker === APP13) {
        if (startsWith(view, segment, PHOTOSHOP_ID)) {
          blocks.push({
            kind: 'iptc',
            name: 'APP13 Photoshop',
            data: bytes.subarray(segment.payload + PHOTOSHOP_ID.length, segment.end),
          });
        }
        add(segment, 'APP13 Photoshop', 'drop', 'metadata');
      } else if (
        marker === APP14 &&
        startsWith(view, segment, ADOBE_ID) &&
        segment.end - segment.payload >= adobePayloadBytes
      ) {
        add(segment, 'APP14 Adobe', 'image', 'unknown');
        if (segment.end - segment.payload !== adobePayloadBytes) {
          findings.push({
            code: 'EXTRA_DATA',
            category: 'structure',
            source: 'container',
            name: 'APP14 Adobe',
            value: segment.end - segment.payload - adobePayloadBytes,
            risk: 'low',
          });
        }
      } else if (marker === APP11) {
        findings.push({
          code: 'PROVENANCE_MANIFEST',
          category: 'provenance',
          source: 'container',
          name: 'APP11 JUMBF',
          value: segment.end - segment.start,
          risk: 'medium',
        });
        add(segment, 'APP11 JUMBF', 'drop', 'provenance');
      } else if (marker === COM) {
        blocks.push({
          kind: 'comment',
          name: 'COM',
          data: bytes.subarray(segment.payload, segment.end),
        });
        add(segment, 'COM', 'drop', 'text');
      } else if (marker > APP0 && marker <= 0xef) {
        add(segment, markerName(marker), 'drop', 'unknown');
      } else {
        // JPG extensions (F0..FD: JPEG-LS, JPEG XT) and reserved markers: not baseline JPEG.
        throw malformed(`JPEG has unsupported ${markerName(marker)} at offset ${markerAt}`);
      }
    }

    if (!sawFrame || !sawScan) throw malformed('JPEG has no frame header or no scan');
    // Arithmetic conditioning (DAC) means nothing to a Huffman-coded frame.
    if (!arithmetic) {
      for (const [i, part] of parts.entries()) {
        if (part.name === 'DAC')
          parts[i] = { ...part, role: 'drop', category: 'unknown', name: 'DAC (unused)' };
      }
    }
    for (const table of tables) {
      const part = parts[table.part];
      if (part !== undefined) {
        parts[table.part] = withReferencedTables(
          bytes,
          part,
          table.entries,
          usedQuant,
          usedHuffman,
        );
      }
    }
    if (width === 0 || height === 0) throw malformed(`JPEG frame is ${width} × ${height} pixels`);

    return {
      format: 'jpeg',
      width,
      height,
      frames: 1,
      parts,
      exif,
      icc: oversizedProfile(assembleIcc(iccChunks), limits),
      trailer: trailerAt(bytes, end, findings),
      blocks,
      findings,
    };
  },

  build(bytes: Uint8Array, parsed: ParsedImage, carry: Carry): Uint8Array[] {
    const out: Uint8Array[] = [Uint8Array.of(0xff, SOI)];
    const jfif = parsed.parts.find((part) => part.name === 'APP0 JFIF');
    if (jfif !== undefined) out.push(jfifWithoutThumbnail(bytes.subarray(jfif.start, jfif.end)));
    if (carry.exif !== null)
      out.push(...segmentPieces(APP1, [EXIF_ID, Uint8Array.of(0), carry.exif]));
    if (carry.icc !== null) {
      const count = Math.ceil(carry.icc.length / iccChunkBytes);
      for (let i = 0; i < count; i++) {
        const data = carry.icc.subarray(i * iccChunkBytes, (i + 1) * iccChunkBytes);
        out.push(...segmentPieces(APP2, [ICC_ID, Uint8Array.of(i + 1, count), data]));
      }
    }
    for (const part of parsed.parts) {
      if (part.role !== 'image' || part === parsed.parts[0] || part === jfif) continue;
      if (part.name === 'APP14 Adobe') {
        out.push(
          ...segmentPieces(APP14, [
            bytes.subarray(part.start + 4, part.start + 4 + adobePayloadBytes),
          ]),
        );
      } else {
        out.push(part.replacement ?? bytes.subarray(part.start, part.end));
      }
    }
    return out;
  },
};

/**
 * Whether `code` after an FF byte is a marker that ends a scan or starts a segment (see
 * marker-scan.ts). `standalone` also accepts the restart and TEM markers that need no length.
 */
function isMarker(code: number, standalone = false): boolean {
  if (standalone && (code === 0x01 || (code >= 0xd0 && code <= 0xd7))) return true;
  return isMarkerCode(code);
}

interface TableEntry {
  /** Quantisation: 0..3; Huffman: class << 4 | id. */
  readonly key: number;
  readonly start: number;
  readonly end: number;
}

function expectLength(segment: Segment, payload: number, what: string): void {
  const actual = segment.end - segment.payload;
  if (actual !== payload) {
    throw malformed(
      `JPEG ${what} at offset ${segment.start} is ${actual} bytes, expected ${payload}`,
      {
        value: actual,
        limit: payload,
        unit: 'bytes',
      },
    );
  }
}

/**
 * The tables a DQT or DHT segment defines, each checked against the layout of T.81 B.2.4:
 * a DQT entry is a precision and id byte then 64 values of 8 or 16 bits; a DHT entry is a class
 * and id byte, 16 code-length counts and as many symbols as they add up to (at most 256).
 * Bytes that no entry accounts for make the segment malformed.
 */
function tableEntries(view: ByteView, segment: Segment, marker: number): TableEntry[] {
  const entries: TableEntry[] = [];
  const name = markerName(marker);
  let pos = segment.payload;
  while (pos < segment.end) {
    const head = view.u8(pos, 'table id');
    if (head >> 4 > 1 || (head & 0x0f) > 3) {
      throw malformed(
        `JPEG ${name} at offset ${segment.start} defines table 0x${head.toString(16)}`,
      );
    }
    let size: number;
    if (marker === DQT) {
      size = 1 + 64 * ((head >> 4) + 1);
    } else {
      const counts = view.slice(pos + 1, 16, 'code length counts');
      let symbols = 0;
      for (const count of counts) symbols += count;
      if (symbols > 256) {
        throw malformed(
          `JPEG DHT at offset ${segment.start} lists ${symbols} symbols, at most 256`,
        );
      }
      size = 17 + symbols;
    }
    if (pos + size > segment.end) {
      throw malformed(`JPEG ${name} at offset ${segment.start} ends inside a table`);
    }
    const key = marker === DQT ? head & 0x0f : head;
    entries.push({ key, start: pos, end: pos + size });
    pos += size;
  }
  return entries;
}

/**
 * A DQT or DHT part keeps only the tables that the frame or a scan refers to: a table nothing
 * uses plays no part in decoding and could carry anything.
 */
function withReferencedTables(
  bytes: Uint8Array,
  part: Part,
  entries: readonly TableEntry[],
  usedQuant: ReadonlySet<number>,
  usedHuffman: ReadonlySet<number>,
): Part {
  const used = part.name === 'DQT' ? usedQuant : usedHuffman;
  const kept = entries.filter((entry) => used.has(entry.key));
  if (kept.length === entries.length) return part;
  if (kept.length === 0) {
    return { ...part, role: 'drop', category: 'unknown', name: `${part.name} (unused tables)` };
  }
  const marker = part.name === 'DQT' ? DQT : DHT;
  const payload = concat(kept.map((entry) => bytes.subarray(entry.start, entry.end)));
  return { ...part, replacement: concat(segmentPieces(marker, [payload])) };
}

/** Finds where the entropy-coded data after an SOS header ends: at the next real marker. */
function scanEnd(bytes: Uint8Array, from: number): number {
  const end = findMarker(bytes, from);
  if (end === -1) throw truncated('JPEG scan data runs to the end of the file without EOI');
  return end;
}

/**
 * APP0 holds JFIF (kept, with any thumbnail removed), JFXX (an extension segment whose only
 * use is a thumbnail: dropped) or something else (dropped).
 */
function classifyApp0(
  view: ByteView,
  segment: Segment,
  parts: Part[],
  findings: Finding[],
  blocks: MetadataBlock[],
): void {
  const size = segment.end - segment.start;
  if (startsWith(view, segment, JFIF_ID) && segment.end - segment.payload >= 14) {
    const thumbW = view.u8(segment.payload + 12, 'JFIF thumbnail width');
    const thumbH = view.u8(segment.payload + 13, 'JFIF thumbnail height');
    const first = !parts.some((part) => part.name === 'APP0 JFIF');
    if (first && segment.end - segment.payload !== 14 + thumbW * thumbH * 3) {
      findings.push({
        code: 'EXTRA_DATA',
        category: 'structure',
        source: 'jfif',
        name: 'APP0 JFIF',
        value: size,
        risk: 'low',
      });
    }
    const thumbBytes = thumbW * thumbH * 3;
    if (thumbBytes > 0 && segment.payload + 14 + thumbBytes <= segment.end) {
      // Uncompressed RGB, row by row: inspect compares it with the main picture.
      blocks.push({
        kind: 'thumbnail',
        name: 'JFIF thumbnail',
        keyword: `${thumbW}x${thumbH}`,
        data: view.bytes.subarray(segment.payload + 14, segment.payload + 14 + thumbBytes),
      });
    }
    if (thumbW * thumbH > 0) {
      findings.push({
        code: 'EMBEDDED_THUMBNAIL',
        category: 'thumbnail',
        source: 'jfif',
        name: 'JFIF thumbnail',
        value: `${thumbW}x${thumbH}`,
        risk: 'high',
      });
    }
    parts.push({
      name: first ? 'APP0 JFIF' : 'APP0 JFIF (repeated)',
      start: segment.start,
      end: segment.end,
      role: first ? 'image' : 'drop',
      category: 'metadata',
    });
    return;
  }
  if (startsWith(view, segment, JFXX_ID)) {
    findings.push({
      code: 'EMBEDDED_THUMBNAIL',
      category: 'thumbnail',
      source: 'jfif',
      name: 'JFXX thumbnail',
      value: size,
      risk: 'high',
    });
    parts.push({
      name: 'APP0 JFXX',
      start: segment.start,
      end: segment.end,
      role: 'drop',
      category: 'thumbnail',
    });
    return;
  }
  parts.push({
    name: 'APP0',
    start: segment.start,
    end: segment.end,
    role: 'drop',
    category: 'unknown',
  });
}

/** A JFIF APP0 segment with version, units and densities, and no thumbnail. */
function jfifWithoutThumbnail(segment: Uint8Array): Uint8Array {
  const out = Buffer.from(segment.subarray(0, 18));
  out.writeUInt16BE(16, 2);
  out[16] = 0;
  out[17] = 0;
  return out;
}

/** A segment as pieces (marker and length, then the payload pieces), joined by the caller. */
function segmentPieces(marker: number, pieces: readonly Uint8Array[]): Uint8Array[] {
  const length = pieces.reduce((sum, piece) => sum + piece.length, 2);
  const head = Buffer.alloc(4);
  head[0] = 0xff;
  head[1] = marker;
  head.writeUInt16BE(length, 2);
  return [head, ...pieces];
}

/**
 * Joins APP2 ICC chunks in sequence order. Chunks must number 1..count exactly once with one
 * agreed count; anything else is a broken profile, reported and dropped.
 */
function assembleIcc(
  chunks: readonly { seq: number; count: number; data: Uint8Array }[],
): ParsedImage['icc'] {
  if (chunks.length === 0) return null;
  const count = chunks[0]?.count ?? 0;
  const sorted = [...chunks].sort((a, b) => a.seq - b.seq);
  const ordered = sorted.every((chunk, i) => chunk.seq === i + 1 && chunk.count === count);
  if (!ordered || sorted.length !== count) {
    return {
      problem: `ICC profile chunks are numbered ${sorted.map((c) => `${c.seq}/${c.count}`).join(', ')}`,
    };
  }
  const [only] = sorted;
  if (sorted.length === 1 && only !== undefined) return only.data;
  return concat(sorted.map((chunk) => chunk.data));
}
