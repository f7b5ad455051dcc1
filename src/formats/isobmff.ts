/**
 * ISOBMFF (ISO/IEC 14496-12) as AVIF and HEIF still images use it (ISO/IEC 23008-12, MIAF).
 *
 * Layout: a sequence of boxes, each a 32-bit big-endian size (of the whole box), a four-char
 * type, then the payload. Size 1 means a 64-bit size follows the type; size 0 means the box
 * runs to the end of the file (only the last top-level box may say so); a 'uuid' box has a
 * 16-byte extended type after the header. A "full box" starts its payload with an 8-bit
 * version and 24-bit flags. A still image is:
 *
 *   ftyp                 major brand, minor version, compatible brands ('avif', 'mif1', …)
 *   meta (full)          the items of the file
 *     hdlr               handler 'pict'
 *     pitm               the primary item
 *     iinf > infe…       one entry per item: id, type ('av01', 'grid', 'Exif', 'mime'), name
 *     iloc               where each item's bytes are: extents in the file or in idat
 *     iprp > ipco, ipma  properties (ispe, colr, av1C, pixi, …) and which item has which
 *     iref > <type>…     references between items (dimg tiles, auxl alpha, thmb, cdsc)
 *     idat               item data kept inside meta
 *   mdat                 the coded image data the extents point into
 *
 * This module only reads: it checks every size and offset, lists what is there, and says what
 * in an AVIF output would not be clean. It does not rewrite files.
 */
import { ByteView, latin1 } from '../bounds.js';
import { malformed, pixwardenError, truncated } from '../errors.js';
import { DEFAULT_LIMITS, SegmentCounter, checkLosslessPixels, over } from '../limits.js';
import type { Limits } from '../limits.js';

/** One item of the file-level meta box. */
export interface IsobmffItem {
  id: number;
  /** The item type: 'av01', 'hvc1', 'Exif', 'mime', 'grid', … */
  type: string;
  name: string;
  /** The content type of a 'mime' item, e.g. application/rdf+xml. */
  contentType?: string;
  /** The infe hidden flag: the item is not meant to be shown on its own. */
  hidden: boolean;
  /**
   * Where the item's bytes are, as absolute offsets in the file (data kept in idat is
   * resolved to its place in the file). Extents of construction method 2 (bytes of another
   * item) are not resolved and are recorded as offset 0, length 0.
   */
  extents: { offset: number; length: number }[];
  /** Box types of the associated properties in order, e.g. ['ispe', 'colr:nclx', 'av1C']. */
  properties: string[];
}

/** What `parseIsobmff` finds in a file. */
export interface IsobmffFile {
  majorBrand: string;
  compatibleBrands: string[];
  /** Box types at top level in order, e.g. ['ftyp', 'meta', 'mdat']. */
  topLevel: string[];
  /** The handler type of the file-level meta box ('pict' for images), null without one. */
  handler: string | null;
  primaryItem: number | null;
  items: IsobmffItem[];
  /** The size in the primary item's ispe property (0 × 0 when it has none). */
  width: number;
  height: number;
  /** Items that hold metadata, and how many bytes their extents cover. */
  metadataItems: { id: number; kind: 'exif' | 'xmp' | 'other-mime'; bytes: number }[];
  /** Every colr property; `data` is the ICC profile for the ICC kinds. */
  profiles: { kind: 'nclx' | 'rICC' | 'prof'; bytes: number; data?: Uint8Array }[];
  /** Item references (iref): cdsc (metadata describing an item), thmb, auxl, dimg, … */
  references: { type: string; from: number; to: number[] }[];
  /** Bytes after the last complete top-level box (0 normally). */
  trailer: number;
}

/** Brands that mark an AVIF or HEIF image or image sequence. */
const IMAGE_BRANDS = new Set(['avif', 'avis', 'heic', 'heix', 'mif1', 'msf1']);
const AVIF_BRANDS = new Set(['avif', 'avis']);

/**
 * Boxes whose payload is more boxes and that the walk descends into, wherever they are. Any
 * other box is a leaf: listed, bounded in size, never descended into.
 */
const CONTAINERS = new Set([
  'meta',
  'iinf',
  'iref',
  'iprp',
  'ipco',
  'dinf',
  'dref',
  'moov',
  'trak',
  'edts',
  'mdia',
  'minf',
  'stbl',
  'mvex',
  'grpl',
]);

/** Boxes of image data: bounded by the file size only, not by `maxSegmentBytes`. */
const DATA_BOXES = new Set(['mdat', 'idat']);

/** Nesting deeper than any real file needs; past it a file is refused, not recursed into. */
const MAX_DEPTH = 16;

/** Top-level boxes a clean AVIF may have. */
const CLEAN_TOP_LEVEL = new Set(['ftyp', 'meta', 'mdat', 'free', 'skip']);

/** Item types that draw the picture in a clean AVIF. */
const IMAGE_ITEM_TYPES = new Set(['av01', 'grid', 'iden', 'iovl']);

const XMP_CONTENT_TYPE = 'application/rdf+xml';

/** One box: where its header starts, where its payload starts and where it ends. */
interface Box {
  readonly type: string;
  readonly start: number;
  readonly body: number;
  readonly end: number;
  /** Child boxes, for the container types. */
  readonly children: readonly Box[] | null;
}

/** What the whole parse shares: the bytes, the limits and the counters. */
interface Context {
  readonly bytes: Uint8Array;
  readonly limits: Limits;
  /** 'AVIF', 'HEIF' or 'ISOBMFF', from the brands, for messages. */
  readonly label: string;
  readonly boxes: SegmentCounter<string>;
  readonly items: SegmentCounter<string>;
  readonly properties: SegmentCounter<string>;
  readonly associations: SegmentCounter<string>;
  readonly references: SegmentCounter<string>;
  readonly extents: SegmentCounter<string>;
}

/**
 * Reads the fields of one box payload, refusing any field that would run past the box. A box
 * that fits in the file but is too short for its own fields is malformed, not truncated.
 */
class Cursor {
  pos: number;
  private readonly view: ByteView;

  constructor(
    private readonly ctx: Context,
    private readonly box: Box,
    start = box.body,
  ) {
    this.view = new ByteView(ctx.bytes.subarray(0, box.end), `${ctx.label} ${box.type}`);
    this.pos = start;
  }

  get left(): number {
    return this.box.end - this.pos;
  }

  private take(length: number, part: string): number {
    if (!this.view.has(this.pos, length)) {
      throw malformed(
        `${this.ctx.label} '${this.box.type}' box at offset ${this.box.start}: ${part} needs ${length} bytes at offset ${this.pos}, ${Math.max(0, this.left)} left in the box`,
        { value: length, limit: Math.max(0, this.left), unit: 'bytes' },
      );
    }
    const at = this.pos;
    this.pos += length;
    return at;
  }

  u8(part: string): number {
    return this.view.u8(this.take(1, part), part);
  }

  u16(part: string): number {
    return this.view.u16be(this.take(2, part), part);
  }

  u32(part: string): number {
    return this.view.u32be(this.take(4, part), part);
  }

  /** A 64-bit value; one past 2^53 cannot be an offset into any file and is refused. */
  u64(part: string): number {
    const high = this.u32(part);
    const low = this.u32(part);
    if (high > 0x1fffff) {
      throw malformed(
        `${this.ctx.label} '${this.box.type}' box at offset ${this.box.start}: ${part} is past 2^53`,
      );
    }
    return high * 0x1_0000_0000 + low;
  }

  /** An unsigned value of 0, 4 or 8 bytes (iloc field sizes; 0 reads as 0). */
  uint(size: number, part: string): number {
    if (size === 0) return 0;
    return size === 4 ? this.u32(part) : this.u64(part);
  }

  fourcc(part: string): string {
    return printable(this.view.latin1(this.take(4, part), 4, part));
  }

  /** The version and flags of a full box. */
  fullBox(): { version: number; flags: number } {
    const word = this.u32('version and flags');
    return { version: word >>> 24, flags: word & 0xffffff };
  }

  /**
   * A null-terminated UTF-8 string. One that runs to the end of the box without its null is
   * taken as it is: some writers leave the last null out, and nothing else follows it.
   */
  cstring(): string {
    const end = this.box.end;
    let stop = this.pos;
    while (stop < end && this.ctx.bytes[stop] !== 0) stop++;
    const text = Buffer.from(this.ctx.bytes.subarray(this.pos, stop)).toString('utf8');
    this.pos = Math.min(end, stop + 1);
    return text;
  }
}

/**
 * Parses an ISOBMFF file (an AVIF or HEIF image) far enough to list its boxes, items,
 * properties and references, checking every size and offset against the file and the limits.
 *
 * @throws ERR_MALFORMED when a size or offset does not hold together (the message names the
 *   box or item, the value and the room left), ERR_TRUNCATED when a box runs past the end of
 *   the file, ERR_SEGMENT_COUNT_LIMIT, ERR_SEGMENT_SIZE_LIMIT or ERR_PIXEL_LIMIT.
 */
export function parseIsobmff(bytes: Uint8Array, limits: Limits = DEFAULT_LIMITS): IsobmffFile {
  if (bytes.length < 8) {
    throw truncated(`ISOBMFF file is ${bytes.length} bytes, too short for a box header`, {
      value: bytes.length,
      limit: 8,
      unit: 'bytes',
    });
  }
  if (latin1(bytes.subarray(4, 8)) !== 'ftyp') {
    throw malformed(
      `ISOBMFF file starts with box '${printable(latin1(bytes.subarray(4, 8)))}', not 'ftyp'`,
    );
  }
  // The brands name the format in every later message, so ftyp is read once on its own first.
  const probe = context(bytes, limits, 'ISOBMFF');
  const ctx = context(bytes, limits, labelOf(readFtyp(probe, readBox(probe, 0, bytes.length))));

  const top: Box[] = [];
  let trailer = 0;
  let pos = 0;
  while (pos < bytes.length) {
    // Bytes that cannot start a box (too few, or no four-character type) after a complete box
    // are a trailer, reported rather than refused; a box that looks real but is cut is refused.
    if (top.length > 0 && (bytes.length - pos < 8 || !isFourcc(bytes, pos + 4))) {
      trailer = bytes.length - pos;
      break;
    }
    const box = readBox(ctx, pos, bytes.length);
    top.push(box);
    pos = box.end;
  }
  const ftyp = top[0];
  if (ftyp === undefined) throw malformed('ISOBMFF file holds no ftyp box');
  const { majorBrand, compatibleBrands } = readFtyp(ctx, ftyp);

  for (const [type, count] of countTypes(top)) {
    if ((type === 'ftyp' || type === 'meta') && count > 1) {
      throw malformed(`${ctx.label} holds ${count} top-level '${type}' boxes; one is allowed`);
    }
  }
  const meta = top.find((box) => box.type === 'meta');
  const parsed = meta === undefined ? emptyMeta() : readMeta(ctx, meta);

  return {
    majorBrand,
    compatibleBrands,
    topLevel: top.map((box) => box.type),
    ...parsed,
    trailer,
  };
}

/**
 * Whether `bytes` start with an ftyp box naming an AVIF or HEIF brand (avif, avis, heic, heix,
 * mif1, msf1) as major or compatible brand. Never throws.
 */
export function isIsobmffImage(bytes: Uint8Array): boolean {
  if (bytes.length < 12 || latin1(bytes.subarray(4, 8)) !== 'ftyp') return false;
  const view = new ByteView(bytes, 'ISOBMFF');
  const size = view.u32be(0, 'ftyp size');
  let body = 8;
  let end = size === 0 ? bytes.length : size;
  if (size === 1) {
    if (!view.has(8, 8) || view.u32be(8, 'ftyp size') !== 0) return false;
    body = 16;
    end = view.u32be(12, 'ftyp size');
  }
  if (end < body + 8) return false;
  end = Math.min(end, bytes.length);
  for (let at = body; at + 4 <= end; at += 4) {
    // The minor version sits between the major brand and the compatible brands.
    if (at === body + 4) continue;
    if (IMAGE_BRANDS.has(latin1(bytes.subarray(at, at + 4)))) return true;
  }
  return false;
}

/**
 * What makes an AVIF output not clean, one sentence each naming what was found; empty when
 * clean. Our outputs are sRGB without a profile, so any ICC profile is a problem; so are
 * metadata items, thumbnails, image items that are not part of the primary image, top-level
 * boxes other than ftyp, meta, mdat, free and skip, a handler other than 'pict', a missing
 * primary item, a missing avif brand and trailing bytes.
 */
export function avifProblems(file: IsobmffFile): string[] {
  const problems: string[] = [];
  const brands = [file.majorBrand, ...file.compatibleBrands];
  if (!brands.includes('avif')) {
    problems.push(`is not branded avif (brands ${brands.map((b) => `'${b}'`).join(', ')})`);
  }
  for (const [type, count] of countTypes(file.topLevel.map((type) => ({ type })))) {
    if (CLEAN_TOP_LEVEL.has(type)) continue;
    problems.push(
      count === 1 ? `has a top-level '${type}' box` : `has ${count} top-level '${type}' boxes`,
    );
  }
  if (file.handler === null) problems.push("has no hdlr handler (expected 'pict')");
  else if (file.handler !== 'pict') problems.push(`has handler '${file.handler}', not 'pict'`);
  if (file.primaryItem === null) problems.push('has no primary item (pitm)');

  const byId = new Map(file.items.map((item) => [item.id, item]));
  for (const { id, kind, bytes } of file.metadataItems) {
    if (kind === 'exif') problems.push(`holds an Exif item (id ${id}, ${bytes} bytes)`);
    else if (kind === 'xmp') problems.push(`holds an XMP item (id ${id}, ${bytes} bytes)`);
    else {
      const type = byId.get(id)?.contentType ?? '';
      problems.push(`holds a mime item of type '${type}' (id ${id}, ${bytes} bytes)`);
    }
  }
  for (const profile of file.profiles) {
    if (profile.kind !== 'nclx') {
      problems.push(`holds an ICC profile (colr ${profile.kind}, ${profile.bytes} bytes)`);
    }
  }

  const thumbnails = new Set<number>();
  for (const ref of file.references) {
    if (ref.type !== 'thmb') continue;
    thumbnails.add(ref.from);
    problems.push(`holds a thumbnail: item ${ref.from} is a 'thmb' of item ${ref.to.join(', ')}`);
  }
  const part = partsOfPrimary(file);
  const metadata = new Set(file.metadataItems.map((entry) => entry.id));
  for (const item of file.items) {
    if (metadata.has(item.id) || thumbnails.has(item.id)) continue;
    if (!IMAGE_ITEM_TYPES.has(item.type)) {
      problems.push(`holds an item of type '${item.type}' (id ${item.id})`);
    } else if (!part.has(item.id)) {
      problems.push(
        `holds a '${item.type}' item (id ${item.id}) that is not part of the primary image`,
      );
    }
  }
  if (file.trailer > 0) problems.push(`has ${file.trailer} bytes after its last box`);
  return problems;
}

/**
 * The items that make up the primary image: the primary item, the inputs of derived items
 * (dimg: grid tiles, iden, iovl layers), and auxiliary items (auxl: alpha) of any of them.
 */
function partsOfPrimary(file: IsobmffFile): Set<number> {
  const part = new Set<number>(file.primaryItem === null ? [] : [file.primaryItem]);
  // Each pass adds at least one item or stops, so this ends within items.length passes.
  for (let grew = true; grew;) {
    grew = false;
    for (const ref of file.references) {
      const add: number[] = [];
      if (ref.type === 'dimg' && part.has(ref.from)) add.push(...ref.to);
      if ((ref.type === 'auxl' || ref.type === 'prem') && ref.to.some((id) => part.has(id))) {
        add.push(ref.from);
      }
      for (const id of add) {
        if (!part.has(id)) {
          part.add(id);
          grew = true;
        }
      }
    }
  }
  return part;
}

function context(bytes: Uint8Array, limits: Limits, label: string): Context {
  const named = (kind: string) => (key: string) => `${kind} ${key}`;
  return {
    bytes,
    limits,
    label,
    // Each kind has its own count: a tiled photo has an item, an extent and a few property
    // associations per tile, and one shared count would refuse real HEIC files.
    boxes: new SegmentCounter(label, limits, named('box')),
    items: new SegmentCounter(label, limits, named('item')),
    properties: new SegmentCounter(label, limits, named('property')),
    associations: new SegmentCounter(label, limits, named('property association')),
    references: new SegmentCounter(label, limits, named('reference')),
    extents: new SegmentCounter(label, limits, named('extent')),
  };
}

function labelOf(brands: { majorBrand: string; compatibleBrands: string[] }): string {
  const all = [brands.majorBrand, ...brands.compatibleBrands];
  if (all.some((brand) => AVIF_BRANDS.has(brand))) return 'AVIF';
  if (all.some((brand) => IMAGE_BRANDS.has(brand))) return 'HEIF';
  return 'ISOBMFF';
}

/**
 * Reads the box header at `pos` and, for containers, its children. `parent` is null at top
 * level, where size 0 (to the end of the file) is allowed.
 */
function readBox(
  ctx: Context,
  pos: number,
  end: number,
  parent: Box | null = null,
  depth = 0,
): Box {
  const { bytes, label } = ctx;
  const where = parent === null ? 'the file' : `'${parent.type}'`;
  const room = end - pos;
  const view = new ByteView(bytes, label);
  if (room < 8) {
    const message = `${label} box header at offset ${pos} needs 8 bytes, ${room} left in ${where}`;
    if (pos + 8 > bytes.length) throw truncated(message, { value: 8, limit: room, unit: 'bytes' });
    throw malformed(message, { value: 8, limit: room, unit: 'bytes' });
  }
  const type = printable(latin1(bytes.subarray(pos + 4, pos + 8)));
  let size = view.u32be(pos, 'box size');
  let header = 8;
  if (size === 1) {
    if (room < 16) {
      throw malformed(
        `${label} box '${type}' at offset ${pos} has a 64-bit size that needs 16 header bytes, ${room} left in ${where}`,
      );
    }
    const high = view.u32be(pos + 8, 'box largesize');
    size = high * 0x1_0000_0000 + view.u32be(pos + 12, 'box largesize');
    header = 16;
  } else if (size === 0) {
    if (parent !== null) {
      throw malformed(
        `${label} box '${type}' at offset ${pos} in ${where} has size 0, which only the last top-level box may have`,
      );
    }
    size = room;
  }
  if (type === 'uuid') header += 16;
  if (size < header) {
    throw malformed(
      `${label} box '${type}' at offset ${pos} has size ${size}, less than its ${header}-byte header`,
      { value: size, limit: header, unit: 'bytes' },
    );
  }
  if (size > room) {
    const message = `${label} box '${type}' at offset ${pos} has size ${size}, ${room} bytes left in ${where}`;
    const details = { value: size, limit: room, unit: 'bytes' };
    if (pos + size > bytes.length && parent === null) throw truncated(message, details);
    throw malformed(message, details);
  }

  const box: Box = { type, start: pos, body: pos + header, end: pos + size, children: null };
  const first = CONTAINERS.has(type) ? childrenStart(ctx, box) : null;
  ctx.boxes.add(`'${type}'`, pos, first === null && !DATA_BOXES.has(type) ? size : undefined);
  if (first === null) return box;
  if (depth >= MAX_DEPTH) {
    throw malformed(
      `${label} boxes nest more than ${MAX_DEPTH} deep: '${type}' at offset ${pos} is at depth ${depth + 1}`,
      { value: depth + 1, limit: MAX_DEPTH },
    );
  }
  const children: Box[] = [];
  for (let at = first; at < box.end;) {
    const child = readBox(ctx, at, box.end, box, depth + 1);
    children.push(child);
    at = child.end;
  }
  return { ...box, children };
}

/** Where the child boxes of a container start: after its full-box header and count, if any. */
function childrenStart(ctx: Context, box: Box): number {
  const cursor = new Cursor(ctx, box);
  switch (box.type) {
    case 'meta': {
      const { version } = cursor.fullBox();
      if (version !== 0) throw unsupportedVersion(ctx, box, version);
      return cursor.pos;
    }
    case 'iinf': {
      const { version } = cursor.fullBox();
      if (version === 0) cursor.u16('entry_count');
      else cursor.u32('entry_count');
      return cursor.pos;
    }
    case 'iref':
      cursor.fullBox();
      return cursor.pos;
    case 'dref':
      cursor.fullBox();
      cursor.u32('entry_count');
      return cursor.pos;
    default:
      return box.body;
  }
}

function readFtyp(ctx: Context, box: Box): { majorBrand: string; compatibleBrands: string[] } {
  const cursor = new Cursor(ctx, box);
  const majorBrand = cursor.fourcc('major_brand');
  cursor.u32('minor_version');
  if (cursor.left % 4 !== 0) {
    throw malformed(
      `${ctx.label} ftyp box has ${cursor.left} bytes of compatible brands, not a multiple of 4`,
    );
  }
  const compatibleBrands: string[] = [];
  while (cursor.left > 0) compatibleBrands.push(cursor.fourcc('compatible brand'));
  return { majorBrand, compatibleBrands };
}

type MetaFields = Omit<IsobmffFile, 'majorBrand' | 'compatibleBrands' | 'topLevel' | 'trailer'>;

function emptyMeta(): MetaFields {
  return {
    handler: null,
    primaryItem: null,
    items: [],
    width: 0,
    height: 0,
    metadataItems: [],
    profiles: [],
    references: [],
  };
}

/** An extent as iloc gives it, before it is resolved against the file or idat. */
interface RawLocation {
  readonly id: number;
  readonly method: number;
  readonly extents: readonly { offset: number; length: number }[];
}

/** A property of ipco: its label and what this module reads from it. */
interface Property {
  readonly label: string;
  readonly size?: { width: number; height: number };
}

/** The file-level meta box: handler, primary item, items, properties and references. */
function readMeta(ctx: Context, meta: Box): MetaFields {
  const children = meta.children ?? [];
  for (const [type, count] of countTypes(children)) {
    const single = ['hdlr', 'pitm', 'iinf', 'iloc', 'iprp', 'iref', 'idat'];
    if (count > 1 && single.includes(type)) {
      throw malformed(`${ctx.label} meta holds ${count} '${type}' boxes; one is allowed`);
    }
  }
  const child = (type: string): Box | undefined => children.find((box) => box.type === type);

  const hdlr = child('hdlr');
  let handler: string | null = null;
  if (hdlr !== undefined) {
    const cursor = new Cursor(ctx, hdlr);
    cursor.fullBox();
    cursor.u32('pre_defined');
    handler = cursor.fourcc('handler_type');
  }

  const pitm = child('pitm');
  let primaryItem: number | null = null;
  if (pitm !== undefined) {
    const cursor = new Cursor(ctx, pitm);
    const { version } = cursor.fullBox();
    if (version > 1) throw unsupportedVersion(ctx, pitm, version);
    primaryItem = version === 0 ? cursor.u16('item_ID') : cursor.u32('item_ID');
  }

  const iinf = child('iinf');
  const items = iinf === undefined ? [] : readItemInfo(ctx, iinf);
  const byId = new Map<number, IsobmffItem>();
  for (const item of items) {
    if (byId.has(item.id)) throw malformed(`${ctx.label} iinf lists item ${item.id} twice`);
    byId.set(item.id, item);
  }
  const known = (id: number, what: string): IsobmffItem => {
    const item = byId.get(id);
    if (item === undefined) {
      throw malformed(`${ctx.label} ${what} names item ${id}, which iinf does not list`);
    }
    return item;
  };

  const iloc = child('iloc');
  const idat = child('idat') ?? null;
  for (const location of iloc === undefined ? [] : readItemLocations(ctx, iloc)) {
    const item = known(location.id, 'iloc');
    item.extents = resolveExtents(ctx, location, idat);
  }

  const iprp = child('iprp');
  const properties: Property[] = [];
  const profiles: IsobmffFile['profiles'] = [];
  const sizes = new Map<number, { width: number; height: number }>();
  let primarySize = { width: 0, height: 0 };
  if (iprp !== undefined) {
    const ipco = (iprp.children ?? []).find((box) => box.type === 'ipco');
    for (const box of ipco?.children ?? []) {
      ctx.properties.add(`${properties.length + 1} ('${box.type}')`, box.start);
      const property = readProperty(ctx, box, profiles);
      properties.push(property);
      if (property.size !== undefined) sizes.set(properties.length, property.size);
    }
    const seen = new Set<number>();
    for (const ipma of (iprp.children ?? []).filter((box) => box.type === 'ipma')) {
      for (const { id, indices } of readAssociations(ctx, ipma, properties.length)) {
        if (seen.has(id)) throw malformed(`${ctx.label} ipma associates item ${id} twice`);
        seen.add(id);
        const item = known(id, 'ipma');
        for (const index of indices) {
          const property = properties[index - 1];
          if (property !== undefined) item.properties.push(property.label);
        }
        if (id === primaryItem) {
          const found = indices.find((index) => sizes.has(index));
          if (found !== undefined) primarySize = sizes.get(found) ?? primarySize;
        }
      }
    }
  }

  const iref = child('iref');
  const references = iref === undefined ? [] : readReferences(ctx, iref);
  for (const ref of references) {
    known(ref.from, `iref '${ref.type}'`);
    for (const id of ref.to) known(id, `iref '${ref.type}'`);
  }

  if (primaryItem !== null) known(primaryItem, 'pitm');
  const { width, height } = primarySize;
  checkLosslessPixels(`${ctx.label} image`, width, height, ctx.limits);

  const metadataItems: IsobmffFile['metadataItems'] = [];
  for (const item of items) {
    const kind = metadataKind(item);
    if (kind === null) continue;
    const bytes = item.extents.reduce((sum, extent) => sum + extent.length, 0);
    metadataItems.push({ id: item.id, kind, bytes });
  }
  return { handler, primaryItem, items, width, height, metadataItems, profiles, references };
}

/** The infe entries of iinf, in order. */
function readItemInfo(ctx: Context, iinf: Box): IsobmffItem[] {
  const cursor = new Cursor(ctx, iinf);
  const { version } = cursor.fullBox();
  const count = version === 0 ? cursor.u16('entry_count') : cursor.u32('entry_count');
  declared(ctx, iinf, count, 'items');
  const entries = iinf.children ?? [];
  if (entries.length !== count) {
    throw malformed(
      `${ctx.label} iinf at offset ${iinf.start} declares ${count} items and holds ${entries.length} boxes`,
      { value: entries.length, limit: count },
    );
  }
  return entries.map((box) => {
    if (box.type !== 'infe') {
      throw malformed(`${ctx.label} iinf holds a '${box.type}' box at offset ${box.start}`);
    }
    ctx.items.add(`entry at offset ${box.start}`, box.start);
    return readItemEntry(ctx, box);
  });
}

function readItemEntry(ctx: Context, infe: Box): IsobmffItem {
  const cursor = new Cursor(ctx, infe);
  const { version, flags } = cursor.fullBox();
  // Versions 0 and 1 have no item type; HEIF and MIAF require version 2 or 3.
  if (version !== 2 && version !== 3) throw unsupportedVersion(ctx, infe, version);
  const id = version === 2 ? cursor.u16('item_ID') : cursor.u32('item_ID');
  cursor.u16('item_protection_index');
  const type = cursor.fourcc('item_type');
  const name = cursor.left > 0 ? cursor.cstring() : '';
  const item: IsobmffItem = {
    id,
    type,
    name,
    hidden: (flags & 1) !== 0,
    extents: [],
    properties: [],
  };
  if (type === 'mime') item.contentType = cursor.left > 0 ? cursor.cstring() : '';
  return item;
}

/** The entries of iloc, with the base offset already added to each extent offset. */
function readItemLocations(ctx: Context, iloc: Box): RawLocation[] {
  const cursor = new Cursor(ctx, iloc);
  const { version } = cursor.fullBox();
  if (version > 2) throw unsupportedVersion(ctx, iloc, version);
  const sizes = cursor.u8('offset_size and length_size');
  const more = cursor.u8('base_offset_size and index_size');
  const offsetSize = sizes >>> 4;
  const lengthSize = sizes & 0xf;
  const baseSize = more >>> 4;
  const indexSize = version === 0 ? 0 : more & 0xf;
  for (const [field, size] of [
    ['offset_size', offsetSize],
    ['length_size', lengthSize],
    ['base_offset_size', baseSize],
    ['index_size', indexSize],
  ] as const) {
    if (size !== 0 && size !== 4 && size !== 8) {
      throw malformed(`${ctx.label} iloc ${field} is ${size}; 0, 4 or 8 bytes are allowed`);
    }
  }
  const count = version < 2 ? cursor.u16('item_count') : cursor.u32('item_count');
  declared(ctx, iloc, count, 'items');
  const locations: RawLocation[] = [];
  const seen = new Set<number>();
  for (let i = 0; i < count; i++) {
    const id = version < 2 ? cursor.u16('item_ID') : cursor.u32('item_ID');
    if (seen.has(id)) throw malformed(`${ctx.label} iloc locates item ${id} twice`);
    seen.add(id);
    const method = version === 0 ? 0 : cursor.u16('construction_method') & 0xf;
    if (method > 2) {
      throw malformed(`${ctx.label} iloc item ${id} has construction method ${method}`);
    }
    const dataReference = cursor.u16('data_reference_index');
    // Another index names data in another file, which no self-contained image has and which
    // this reader cannot check.
    if (dataReference !== 0) {
      throw malformed(
        `${ctx.label} iloc item ${id} refers to data outside the file (data_reference_index ${dataReference})`,
      );
    }
    const base = cursor.uint(baseSize, 'base_offset');
    const extentCount = cursor.u16('extent_count');
    declared(ctx, iloc, extentCount, `extents for item ${id}`);
    // With all field sizes 0 each extent takes no bytes, and a count alone would set the work.
    if (extentCount > 1 && offsetSize + lengthSize + indexSize === 0) {
      throw malformed(
        `${ctx.label} iloc item ${id} declares ${extentCount} extents of 0 bytes each`,
      );
    }
    const extents: { offset: number; length: number }[] = [];
    for (let j = 0; j < extentCount; j++) {
      ctx.extents.add(`${j + 1} of item ${id}`, iloc.start);
      cursor.uint(indexSize, 'extent_index');
      const offset = base + cursor.uint(offsetSize, 'extent_offset');
      const length = cursor.uint(lengthSize, 'extent_length');
      extents.push({ offset, length });
    }
    locations.push({ id, method, extents });
  }
  if (cursor.left !== 0) {
    throw malformed(
      `${ctx.label} iloc at offset ${iloc.start} has ${cursor.left} bytes after its ${count} items`,
    );
  }
  return locations;
}

/**
 * Extents as absolute offsets in the file. Method 0 offsets are in the file, method 1 offsets
 * in the idat payload; method 2 (bytes of another item) is not resolved. Length 0 means "to the
 * end of the data" (ISO/IEC 14496-12 8.11.3.3).
 * @throws ERR_MALFORMED naming the item when an extent lies outside the file or the idat.
 */
function resolveExtents(
  ctx: Context,
  location: RawLocation,
  idat: Box | null,
): { offset: number; length: number }[] {
  const { id, method } = location;
  if (method === 2) return location.extents.map(() => ({ offset: 0, length: 0 }));
  if (method === 1 && idat === null) {
    throw malformed(`${ctx.label} item ${id} is stored in idat, but meta holds no idat box`);
  }
  const start = method === 1 && idat !== null ? idat.body : 0;
  const end = method === 1 && idat !== null ? idat.end : ctx.bytes.length;
  const where = method === 1 ? 'the idat box' : 'the file';
  return location.extents.map((extent, j) => {
    const offset = start + extent.offset;
    const length = extent.length === 0 ? end - offset : extent.length;
    if (offset > end || length < 0 || offset + length > end) {
      throw malformed(
        `${ctx.label} item ${id} extent ${j + 1} (offset ${extent.offset}, ${extent.length} bytes) lies outside ${where} (${end - start} bytes)`,
        { value: extent.offset + extent.length, limit: end - start, unit: 'bytes' },
      );
    }
    return { offset, length };
  });
}

/** One ipco property: ispe gives a size, colr a profile; the rest are only named. */
function readProperty(ctx: Context, box: Box, profiles: IsobmffFile['profiles']): Property {
  const cursor = new Cursor(ctx, box);
  if (box.type === 'ispe') {
    const { version } = cursor.fullBox();
    if (version !== 0) throw unsupportedVersion(ctx, box, version);
    const width = cursor.u32('image_width');
    const height = cursor.u32('image_height');
    return { label: 'ispe', size: { width, height } };
  }
  if (box.type !== 'colr') return { label: box.type };
  const kind = cursor.fourcc('colour_type');
  if (kind === 'nclx') {
    cursor.u16('colour_primaries');
    cursor.u16('transfer_characteristics');
    cursor.u16('matrix_coefficients');
    cursor.u8('full_range_flag');
    profiles.push({ kind, bytes: box.end - box.body - 4 });
  } else if (kind === 'rICC' || kind === 'prof') {
    const data = ctx.bytes.subarray(cursor.pos, box.end);
    profiles.push({ kind, bytes: data.length, data });
  } else {
    // ISO/IEC 14496-12 defines no other colour type; unknown bytes here are not passed on.
    throw malformed(`${ctx.label} colr property at offset ${box.start} has colour type '${kind}'`);
  }
  return { label: `colr:${kind}` };
}

/** The entries of one ipma box: each item and its 1-based property indices (0 dropped). */
function readAssociations(
  ctx: Context,
  ipma: Box,
  propertyCount: number,
): { id: number; indices: number[] }[] {
  const cursor = new Cursor(ctx, ipma);
  const { version, flags } = cursor.fullBox();
  if (version > 1) throw unsupportedVersion(ctx, ipma, version);
  const wide = (flags & 1) !== 0;
  const count = cursor.u32('entry_count');
  declared(ctx, ipma, count, 'items');
  const entries: { id: number; indices: number[] }[] = [];
  for (let i = 0; i < count; i++) {
    const id = version === 0 ? cursor.u16('item_ID') : cursor.u32('item_ID');
    const associations = cursor.u8('association_count');
    const indices: number[] = [];
    for (let k = 0; k < associations; k++) {
      ctx.associations.add(`${k + 1} of item ${id}`, ipma.start);
      // The top bit is the essential flag; the rest is the index into ipco.
      const index = wide
        ? cursor.u16('property_index') & 0x7fff
        : cursor.u8('property_index') & 0x7f;
      if (index > propertyCount) {
        throw malformed(
          `${ctx.label} ipma associates item ${id} with property ${index}; ipco holds ${propertyCount}`,
          { value: index, limit: propertyCount },
        );
      }
      if (index !== 0) indices.push(index);
    }
    entries.push({ id, indices });
  }
  if (cursor.left !== 0) {
    throw malformed(
      `${ctx.label} ipma at offset ${ipma.start} has ${cursor.left} bytes after its ${count} entries`,
    );
  }
  return entries;
}

/** The reference boxes of iref: a type (the box type), one item and the items it refers to. */
function readReferences(ctx: Context, iref: Box): IsobmffFile['references'] {
  const { version } = new Cursor(ctx, iref).fullBox();
  if (version > 1) throw unsupportedVersion(ctx, iref, version);
  return (iref.children ?? []).map((box) => {
    const cursor = new Cursor(ctx, box);
    const id = (): number => (version === 0 ? cursor.u16('item_ID') : cursor.u32('item_ID'));
    const from = id();
    const count = cursor.u16('reference_count');
    declared(ctx, box, count, 'references');
    const to: number[] = [];
    for (let k = 0; k < count; k++) {
      ctx.references.add(`'${box.type}' ${k + 1} of item ${from}`, box.start);
      to.push(id());
    }
    if (cursor.left !== 0) {
      throw malformed(
        `${ctx.label} iref '${box.type}' at offset ${box.start} has ${cursor.left} bytes after its ${count} references`,
      );
    }
    return { type: box.type, from, to };
  });
}

function metadataKind(item: IsobmffItem): 'exif' | 'xmp' | 'other-mime' | null {
  if (item.type === 'Exif') return 'exif';
  if (item.type !== 'mime') return null;
  const type = (item.contentType ?? '').split(';')[0]?.trim().toLowerCase();
  return type === XMP_CONTENT_TYPE ? 'xmp' : 'other-mime';
}

/**
 * Refuses a declared count past `maxSegments` before reading its entries: the entries would
 * be refused one by one anyway, and the count alone says the file is hostile.
 * @throws ERR_SEGMENT_COUNT_LIMIT
 */
function declared(ctx: Context, box: Box, count: number, what: string): void {
  const limit = ctx.limits.maxSegments;
  if (over(count, limit)) {
    throw pixwardenError(
      'ERR_SEGMENT_COUNT_LIMIT',
      `${ctx.label} '${box.type}' box at offset ${box.start} declares ${count} ${what}, limit ${limit}`,
      { value: count, limit, unit: 'segments' },
    );
  }
}

function unsupportedVersion(ctx: Context, box: Box, version: number) {
  return malformed(
    `${ctx.label} '${box.type}' box at offset ${box.start} has version ${version}, which this reader does not know`,
  );
}

function countTypes(boxes: readonly { type: string }[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const { type } of boxes) counts.set(type, (counts.get(type) ?? 0) + 1);
  return counts;
}

/** A four-character code fit for a message: bytes outside printable ASCII become "?". */
function printable(fourcc: string): string {
  return fourcc.replace(/[^\x20-\x7e]/g, '?');
}

/** Whether the four bytes at `at` are printable ASCII, as every real box type is. */
function isFourcc(bytes: Uint8Array, at: number): boolean {
  for (let i = at; i < at + 4; i++) {
    const byte = bytes[i];
    if (byte === undefined || byte < 0x20 || byte > 0x7e) return false;
  }
  return true;
}
