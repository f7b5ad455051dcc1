/**
 * Turning metadata blocks into findings. exifr decodes EXIF, XMP and IPTC values; it only ever
 * sees blocks that the container code has located and bounded. Each decoded field is sorted
 * into what it reveals (location, device, time, identity, …) by the tables below.
 */
import exifr from 'exifr';
import { ByteView, latin1 } from '../bounds.js';
import type { MetadataBlock } from '../formats/types.js';
import type { Category, Finding, FindingValue, GpsValue, Risk, Source } from '../types.js';

type Rule = readonly [code: string, category: Category, risk: Risk];

const SERIAL: Rule = ['SERIAL_NUMBER', 'device', 'high'];
const DEVICE: Rule = ['DEVICE', 'device', 'medium'];
const SOFTWARE: Rule = ['SOFTWARE', 'software', 'low'];
const TIME: Rule = ['TIMESTAMP', 'time', 'medium'];
const IDENTITY: Rule = ['IDENTITY', 'identity', 'high'];
const TEXT: Rule = ['FREE_TEXT', 'text', 'medium'];
const PLACE: Rule = ['LOCATION_NAME', 'location', 'high'];
const GENERATION: Rule = ['GENERATION_PARAMETERS', 'generation', 'medium'];

const EXIF_RULES: Record<string, Rule> = {
  Make: DEVICE,
  Model: DEVICE,
  LensMake: DEVICE,
  LensModel: DEVICE,
  HostComputer: DEVICE,
  UniqueCameraModel: DEVICE,
  LocalizedCameraModel: DEVICE,
  BodySerialNumber: SERIAL,
  SerialNumber: SERIAL,
  CameraSerialNumber: SERIAL,
  LensSerialNumber: SERIAL,
  InternalSerialNumber: SERIAL,
  ImageUniqueID: ['UNIQUE_ID', 'device', 'high'],
  Software: SOFTWARE,
  ProcessingSoftware: SOFTWARE,
  DateTimeOriginal: TIME,
  CreateDate: TIME,
  ModifyDate: TIME,
  DateTime: TIME,
  DateTimeDigitized: TIME,
  OffsetTime: TIME,
  OffsetTimeOriginal: TIME,
  OffsetTimeDigitized: TIME,
  Artist: IDENTITY,
  Copyright: IDENTITY,
  CameraOwnerName: IDENTITY,
  OwnerName: IDENTITY,
  XPAuthor: IDENTITY,
  ImageDescription: TEXT,
  UserComment: TEXT,
  XPComment: TEXT,
  XPTitle: TEXT,
  XPSubject: TEXT,
  XPKeywords: TEXT,
  DocumentName: TEXT,
  PageName: TEXT,
};

/** EXIF fields that only describe the structure; not worth a finding of their own. */
const EXIF_STRUCTURAL = new Set([
  'ExifIFDPointer',
  'GPSInfoIFDPointer',
  'InteropIFDPointer',
  'XResolution',
  'YResolution',
  'ResolutionUnit',
  'YCbCrPositioning',
  'ExifVersion',
  'FlashpixVersion',
  'ColorSpace',
  'ComponentsConfiguration',
  'ExifImageWidth',
  'ExifImageHeight',
  'Orientation',
  'ImageWidth',
  'ImageHeight',
  'BitsPerSample',
  'Compression',
  'PhotometricInterpretation',
  'SamplesPerPixel',
  'PlanarConfiguration',
  'YCbCrSubSampling',
  'InteropIndex',
  'InteropVersion',
]);

const XMP_RULES: Record<string, Rule> = {
  'tiff:Make': DEVICE,
  'tiff:Model': DEVICE,
  'aux:Lens': DEVICE,
  'exifEX:LensModel': DEVICE,
  'exifEX:LensMake': DEVICE,
  'aux:LensInfo': DEVICE,
  'aux:SerialNumber': SERIAL,
  'exifEX:BodySerialNumber': SERIAL,
  'aux:LensSerialNumber': SERIAL,
  'exifEX:LensSerialNumber': SERIAL,
  'exifEX:CameraOwnerName': IDENTITY,
  'aux:OwnerName': IDENTITY,
  'xmp:CreatorTool': SOFTWARE,
  'tiff:Software': SOFTWARE,
  'photoshop:History': SOFTWARE,
  'xmpMM:History': SOFTWARE,
  'xmpMM:DerivedFrom': SOFTWARE,
  'xmpMM:DocumentID': SOFTWARE,
  'xmpMM:InstanceID': SOFTWARE,
  'xmpMM:OriginalDocumentID': SOFTWARE,
  'xmp:CreateDate': TIME,
  'xmp:ModifyDate': TIME,
  'xmp:MetadataDate': TIME,
  'exif:DateTimeOriginal': TIME,
  'exif:DateTimeDigitized': TIME,
  'photoshop:DateCreated': TIME,
  'tiff:DateTime': TIME,
  'dc:creator': IDENTITY,
  'dc:rights': IDENTITY,
  'dc:contributor': IDENTITY,
  'dc:publisher': IDENTITY,
  'xmpRights:Owner': IDENTITY,
  'xmpRights:UsageTerms': IDENTITY,
  'xmpRights:WebStatement': IDENTITY,
  'photoshop:AuthorsPosition': IDENTITY,
  'photoshop:Credit': IDENTITY,
  'photoshop:CaptionWriter': IDENTITY,
  'Iptc4xmpCore:CreatorContactInfo': IDENTITY,
  'Iptc4xmpExt:PersonInImage': IDENTITY,
  'mwg-rs:Regions': IDENTITY,
  'MP:RegionInfo': IDENTITY,
  'tiff:Artist': IDENTITY,
  'tiff:Copyright': IDENTITY,
  'dc:description': TEXT,
  'dc:title': TEXT,
  'dc:subject': TEXT,
  'photoshop:Headline': TEXT,
  'photoshop:Instructions': TEXT,
  'lr:hierarchicalSubject': TEXT,
  'tiff:ImageDescription': TEXT,
  'exif:UserComment': TEXT,
  'photoshop:City': PLACE,
  'photoshop:State': PLACE,
  'photoshop:Country': PLACE,
  'Iptc4xmpCore:Location': PLACE,
  'Iptc4xmpCore:CountryCode': PLACE,
  'Iptc4xmpExt:LocationShown': PLACE,
  'Iptc4xmpExt:LocationCreated': PLACE,
  'xmp:Thumbnails': ['EMBEDDED_THUMBNAIL', 'thumbnail', 'high'],
};

const IPTC_RULES: Record<string, Rule> = {
  Byline: IDENTITY,
  BylineTitle: IDENTITY,
  Credit: IDENTITY,
  Source: IDENTITY,
  CopyrightNotice: IDENTITY,
  Contact: IDENTITY,
  Writer: IDENTITY,
  City: PLACE,
  Sublocation: PLACE,
  State: PLACE,
  Country: PLACE,
  CountryCode: PLACE,
  ContentLocationName: PLACE,
  ContentLocationCode: PLACE,
  DateCreated: TIME,
  TimeCreated: TIME,
  DigitalCreationDate: TIME,
  DigitalCreationTime: TIME,
  ReleaseDate: TIME,
  ReleaseTime: TIME,
  Caption: TEXT,
  Headline: TEXT,
  Keywords: TEXT,
  ObjectName: TEXT,
  SpecialInstructions: TEXT,
  OriginatingProgram: SOFTWARE,
  ProgramVersion: SOFTWARE,
};

/** PNG text keywords, lower-cased. Unknown keywords count as free text. */
const PNG_TEXT_RULES: Record<string, Rule> = {
  author: IDENTITY,
  copyright: IDENTITY,
  artist: IDENTITY,
  disclaimer: TEXT,
  'creation time': TIME,
  'date:create': TIME,
  'date:modify': TIME,
  'date:timestamp': TIME,
  time: TIME,
  timestamp: TIME,
  tIME: TIME,
  software: SOFTWARE,
  source: DEVICE,
  comment: TEXT,
  description: TEXT,
  title: TEXT,
  warning: TEXT,
  location: PLACE,
  parameters: GENERATION,
  prompt: GENERATION,
  workflow: GENERATION,
  dream: GENERATION,
  'sd-metadata': GENERATION,
  invokeai_metadata: GENERATION,
  generation_data: GENERATION,
  invokeai_graph: GENERATION,
  negative_prompt: GENERATION,
};

/** Longest value a finding shows; reports are for reading, not for copying metadata out. */
const maxValueChars = 200;

function finding(rule: Rule, source: Source, name: string, value: unknown): Finding {
  const [code, category, risk] = rule;
  return { code, category, source, name, value: displayValue(value), risk };
}

// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/g;

function itemText(item: unknown): string {
  const value = displayValue(item);
  return typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
}

function displayValue(value: unknown): FindingValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  let text: string;
  if (typeof value === 'string') text = value;
  else if (value instanceof Uint8Array) text = `${value.length} bytes`;
  else if (value instanceof Date)
    text = Number.isNaN(value.getTime()) ? 'invalid date' : value.toISOString();
  else if (Array.isArray(value)) text = value.map(itemText).join(', ');
  else if (typeof value === 'object' && 'value' in value) return displayValue(value.value);
  else text = JSON.stringify(value);
  // Line breaks and tabs become spaces and other control characters go, so that a value can
  // neither fake a line of the report nor send escape codes to a terminal.
  text = text
    .replace(/[\t\n\r]+/g, ' ')
    .replace(CONTROL_CHARACTERS, '')
    .trim();
  return text.length > maxValueChars ? `${text.slice(0, maxValueChars - 1)}…` : text;
}

function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** Whether a decoded value says anything at all (empty text and blank fields do not). */
function meaningful(finding: Finding): boolean {
  return finding.value !== null && finding.value !== '';
}

/**
 * Decodes every block into findings, leaving out fields that are present but empty. Blocks
 * exifr cannot read become structure findings.
 */
export async function decodeBlocks(blocks: readonly MetadataBlock[]): Promise<Finding[]> {
  return (await decodeAll(blocks)).filter(meaningful);
}

async function decodeAll(blocks: readonly MetadataBlock[]): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const block of blocks) {
    try {
      if (block.kind === 'exif') findings.push(...(await decodeExif(block.data)));
      else if (block.kind === 'xmp')
        findings.push(...(await decodeXmp(Buffer.from(block.data).toString('utf8'))));
      else if (block.kind === 'iptc') findings.push(...(await decodePhotoshop(block.data)));
      else if (block.kind === 'comment')
        findings.push(finding(TEXT, 'comment', block.name, block.text ?? latin1(block.data)));
      else if (block.kind === 'text') findings.push(...(await decodePngText(block)));
    } catch {
      findings.push({
        code: 'UNREADABLE_METADATA',
        category: 'structure',
        source: sourceOf(block),
        name: block.name,
        value: block.data.length,
        risk: 'low',
      });
    }
  }
  return findings;
}

function sourceOf(block: MetadataBlock): Source {
  if (block.kind === 'text') return 'png-text';
  if (block.kind === 'comment') return 'comment';
  if (block.kind === 'thumbnail') return 'container';
  return block.kind;
}

interface ExifOutput {
  ifd0?: Record<string, unknown>;
  exif?: Record<string, unknown>;
  gps?: Record<string, unknown>;
  ifd1?: Record<string, unknown>;
  interop?: Record<string, unknown>;
  makerNote?: unknown;
  userComment?: unknown;
}

async function decodeExif(tiff: Uint8Array): Promise<Finding[]> {
  const out = (await exifr.parse(Buffer.from(tiff), {
    tiff: true,
    ifd0: true,
    exif: true,
    gps: true,
    interop: true,
    ifd1: true,
    makerNote: true,
    userComment: true,
    xmp: false,
    icc: false,
    iptc: false,
    jfif: false,
    ihdr: false,
    mergeOutput: false,
    reviveValues: false,
    translateValues: true,
    sanitize: true,
    silentErrors: true,
  } as never)) as ExifOutput | undefined;
  if (out === undefined) return [];
  const findings: Finding[] = [];
  let settings = 0;
  for (const section of [out.ifd0, out.exif]) {
    for (const [tag, value] of Object.entries(section ?? {})) {
      const rule = EXIF_RULES[tag];
      if (rule !== undefined) findings.push(finding(rule, 'exif', tag, textOf(value)));
      else if (!EXIF_STRUCTURAL.has(tag) && typeof tag === 'string' && !/^\d+$/.test(tag))
        settings++;
    }
  }
  if (out.userComment !== undefined) {
    const comment = textOf(out.userComment);
    if (comment !== '') findings.push(finding(TEXT, 'exif', 'UserComment', comment));
  }
  if (settings > 0)
    findings.push({
      code: 'CAMERA_SETTINGS',
      category: 'device',
      source: 'exif',
      name: 'camera settings',
      value: plural(settings, 'field', 'fields'),
      risk: 'low',
    });
  if (out.makerNote !== undefined || out.exif?.MakerNote !== undefined) {
    findings.push({
      code: 'MAKER_NOTES',
      category: 'device',
      source: 'exif',
      name: 'MakerNote',
      value: 'present (often holds serial numbers)',
      risk: 'high',
    });
  }
  if (out.gps !== undefined) findings.push(...gpsFindings(out.gps));
  const thumbLength = out.ifd1?.ThumbnailLength ?? out.ifd1?.JPEGInterchangeFormatLength;
  if (typeof thumbLength === 'number' && thumbLength > 0) {
    findings.push({
      code: 'EMBEDDED_THUMBNAIL',
      category: 'thumbnail',
      source: 'exif',
      name: 'IFD1 thumbnail',
      value: `${thumbLength} bytes`,
      risk: 'high',
    });
  }
  return findings.map((f) =>
    f.category === 'time' && typeof f.value === 'string'
      ? { ...f, value: exifDate(f.value, f.name, out.exif) }
      : f,
  );
}

/** EXIF strings may be padded with NULs or be UCS-2 byte arrays (XP* tags). */
function textOf(value: unknown): unknown {
  if (value instanceof Uint8Array) {
    const bytes = Buffer.from(value);
    const ascii = bytes.subarray(0, 8).toString('latin1');
    if (/^(ASCII|UNICODE|JIS)\0/.test(ascii))
      return bytes.subarray(8).toString(ascii.startsWith('UNICODE') ? 'utf16le' : 'utf8');
    return bytes.length % 2 === 0 && bytes.length > 0 && bytes.includes(0)
      ? bytes.toString('utf16le')
      : bytes.toString('utf8');
  }
  if (
    Array.isArray(value) &&
    value.every((item) => typeof item === 'number' && item >= 0 && item < 256)
  ) {
    return textOf(Uint8Array.from(value as number[]));
  }
  return value;
}

/** "2021:03:04 10:20:30" plus an EXIF offset tag becomes ISO 8601 with that offset. */
function exifDate(value: string, tag: string, exif: Record<string, unknown> | undefined): string {
  const match = /^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})/.exec(value);
  if (match === null) return value;
  const offsetTag =
    tag === 'DateTimeOriginal'
      ? 'OffsetTimeOriginal'
      : tag === 'CreateDate'
        ? 'OffsetTimeDigitized'
        : 'OffsetTime';
  const offset = exif?.[offsetTag];
  const zone =
    typeof offset === 'string' && /^[+-]\d{2}:\d{2}$/.test(offset.trim()) ? offset.trim() : '';
  return `${match[1]}-${match[2]}-${match[3]}T${match[4]}:${match[5]}:${match[6]}${zone}`;
}

function gpsFindings(gps: Record<string, unknown>): Finding[] {
  const latitude = degrees(gps.GPSLatitude, gps.GPSLatitudeRef, 'S');
  const longitude = degrees(gps.GPSLongitude, gps.GPSLongitudeRef, 'W');
  if (latitude === null || longitude === null) {
    const fields = Object.keys(gps).filter((key) => key !== 'GPSVersionID');
    if (fields.length === 0) return [];
    return [
      {
        code: 'GPS_FIELDS',
        category: 'location',
        source: 'exif',
        name: 'GPS',
        value: fields.join(', '),
        risk: 'medium',
      },
    ];
  }
  const value: GpsValue = { latitude: round(latitude), longitude: round(longitude) };
  if (typeof gps.GPSAltitude === 'number' && Number.isFinite(gps.GPSAltitude)) {
    const below = gps.GPSAltitudeRef === 1 || gps.GPSAltitudeRef === 'Below Sea Level';
    value.altitude = round(below ? -gps.GPSAltitude : gps.GPSAltitude);
  }
  const time = gpsTime(gps.GPSDateStamp, gps.GPSTimeStamp);
  if (time !== undefined) value.time = time;
  return [
    {
      code: 'GPS_POSITION',
      category: 'location',
      source: 'exif',
      name: 'GPS position',
      value,
      risk: 'high',
    },
  ];
}

function degrees(parts: unknown, ref: unknown, negative: string): number | null {
  let value: number | null = null;
  if (typeof parts === 'number') value = parts;
  else if (Array.isArray(parts) && parts.every((p) => typeof p === 'number')) {
    const [d = 0, m = 0, s = 0] = parts;
    value = d + m / 60 + s / 3600;
  }
  if (value === null || !Number.isFinite(value)) return null;
  return typeof ref === 'string' && ref.trim().toUpperCase().startsWith(negative) ? -value : value;
}

function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

function gpsTime(date: unknown, time: unknown): string | undefined {
  if (typeof date !== 'string') return undefined;
  const d = /^(\d{4}):(\d{2}):(\d{2})/.exec(date);
  if (d === null) return undefined;
  if (!Array.isArray(time) || time.length < 3) return `${d[1]}-${d[2]}-${d[3]}`;
  const [h, m, s] = (time as number[]).map((n) => String(Math.floor(n)).padStart(2, '0'));
  return `${d[1]}-${d[2]}-${d[3]}T${h}:${m}:${s}Z`;
}

type XmpTree = Record<string, unknown>;

async function decodeXmp(xml: string): Promise<Finding[]> {
  const parser = exifr.segmentParsers.get('xmp') as {
    parse(input: string): Promise<XmpTree | undefined>;
  };
  const tree = await parser.parse(xml);
  if (tree === undefined) return [];
  const findings: Finding[] = [];
  let other = 0;
  for (const [namespace, properties] of Object.entries(tree)) {
    if (namespace === 'xmlns' || typeof properties !== 'object' || properties === null) continue;
    for (const [property, value] of Object.entries(properties as XmpTree)) {
      const key = `${namespace}:${property}`;
      if (key === 'exif:GPSLatitude' || key === 'exif:GPSLongitude') continue;
      const rule = XMP_RULES[key];
      if (rule !== undefined) findings.push(finding(rule, 'xmp', key, value));
      else if (namespace.startsWith('Iptc4xmpExt') || namespace === 'plus')
        findings.push(finding(IDENTITY, 'xmp', key, value));
      else other++;
    }
  }
  const exifNs = tree.exif as XmpTree | undefined;
  if (exifNs !== undefined) {
    const latitude = xmpDegrees(exifNs.GPSLatitude);
    const longitude = xmpDegrees(exifNs.GPSLongitude);
    if (latitude !== null && longitude !== null) {
      findings.push({
        code: 'GPS_POSITION',
        category: 'location',
        source: 'xmp',
        name: 'GPS position',
        value: { latitude: round(latitude), longitude: round(longitude) },
        risk: 'high',
      });
    }
  }
  if (other > 0)
    findings.push({
      code: 'XMP_PROPERTIES',
      category: 'text',
      source: 'xmp',
      name: 'other XMP properties',
      value: plural(other, 'property', 'properties'),
      risk: 'low',
    });
  return findings;
}

/** XMP GPS coordinates are "DDD,MM.mmmmN" or "DDD,MM,SSN". */
function xmpDegrees(value: unknown): number | null {
  if (typeof value !== 'string') return null;
  const match = /^(\d+),(\d+(?:\.\d+)?)(?:,(\d+(?:\.\d+)?))?([NSEW])$/i.exec(value.trim());
  if (match === null) return null;
  const result = Number(match[1]) + Number(match[2]) / 60 + Number(match[3] ?? 0) / 3600;
  return /[SW]/i.test(match[4] ?? '') ? -result : result;
}

/** Photoshop image resources: "8BIM", id, Pascal name padded to even, size, data padded. */
async function decodePhotoshop(data: Uint8Array): Promise<Finding[]> {
  const view = new ByteView(data, 'Photoshop resources');
  const findings: Finding[] = [];
  let pos = 0;
  while (view.has(pos, 12) && view.latin1(pos, 4, 'resource signature') === '8BIM') {
    const id = view.u16be(pos + 4, 'resource id');
    const nameLength = view.u8(pos + 6, 'resource name length');
    const namePadded = nameLength + 1 + ((nameLength + 1) % 2);
    const size = view.u32be(pos + 6 + namePadded, 'resource size');
    const start = pos + 6 + namePadded + 4;
    const body = view.slice(start, size, 'resource data');
    if (id === 0x0404) findings.push(...(await decodeIptc(body)));
    if (id === 0x0409 || id === 0x040c) {
      findings.push({
        code: 'EMBEDDED_THUMBNAIL',
        category: 'thumbnail',
        source: 'iptc',
        name: 'Photoshop thumbnail',
        value: `${size} bytes`,
        risk: 'high',
      });
    }
    pos = start + size + (size % 2);
  }
  return findings;
}

async function decodeIptc(data: Uint8Array): Promise<Finding[]> {
  const parser = exifr.segmentParsers.get('iptc') as {
    parse(input: Uint8Array): Promise<Record<string, unknown> | undefined>;
  };
  const tree = (await parser.parse(data)) ?? {};
  const findings: Finding[] = [];
  let other = 0;
  for (const [field, value] of Object.entries(tree)) {
    const rule = IPTC_RULES[field];
    if (rule !== undefined) findings.push(finding(rule, 'iptc', field, value));
    else if (field !== 'ApplicationRecordVersion') other++;
  }
  if (other > 0)
    findings.push({
      code: 'IPTC_FIELDS',
      category: 'text',
      source: 'iptc',
      name: 'other IPTC fields',
      value: plural(other, 'field', 'fields'),
      risk: 'low',
    });
  return findings;
}

async function decodePngText(block: MetadataBlock): Promise<Finding[]> {
  const keyword = block.keyword ?? '';
  const text = block.text ?? '';
  if (keyword === 'XML:com.adobe.xmp') return decodeXmp(text);
  if (keyword === 'tIME') return [finding(TIME, 'png-text', 'tIME', text)];
  if (/^Raw profile type (exif|app1)$/i.test(keyword)) {
    return [
      {
        code: 'EMBEDDED_EXIF',
        category: 'device',
        source: 'png-text',
        name: `${block.name} ${keyword}`,
        value: `${text.length} characters of hex-encoded EXIF`,
        risk: 'high',
      },
    ];
  }
  const rule =
    PNG_TEXT_RULES[keyword.toLowerCase()] ?? (looksLikeGeneration(text) ? GENERATION : TEXT);
  return [finding(rule, 'png-text', `${block.name} ${keyword}`, text)];
}

/** Prompts written by image generators: "Steps: 20, Sampler: …" or a ComfyUI JSON graph. */
function looksLikeGeneration(text: string): boolean {
  return (
    /\bSteps: \d+, Sampler: /.test(text) ||
    /"class_type"\s*:/.test(text) ||
    /negative prompt:/i.test(text)
  );
}
