/** The ISOBMFF reader: AVIF files sharp writes, and hostile boxes built byte by byte. */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { PixwardenError } from '../../src/errors.js';
import { avifProblems, isIsobmffImage, parseIsobmff } from '../../src/formats/isobmff.js';
import { resolveLimits } from '../../src/limits.js';

// ---------------------------------------------------------------- byte builders

const u8 = (n: number): Buffer => Buffer.of(n);
const u16 = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
};
const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const text = (s: string): Buffer => Buffer.from(s, 'latin1');
const cstr = (s: string): Buffer => Buffer.concat([text(s), u8(0)]);

/** A box: 32-bit size, type, payload. */
function box(type: string, ...parts: Uint8Array[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([u32(8 + body.length), text(type), body]);
}

/** A full box: a box whose payload starts with version and 24-bit flags. */
function full(type: string, version: number, flags: number, ...parts: Uint8Array[]): Buffer {
  return box(type, u32(((version << 24) | flags) >>> 0), ...parts);
}

const FTYP = box('ftyp', text('avif'), u32(0), text('mif1'), text('avif'), text('miaf'));

function infe(id: number, type: string, options: { hidden?: boolean; mime?: string } = {}) {
  const mime = options.mime === undefined ? [] : [cstr(options.mime)];
  return full(
    'infe',
    2,
    options.hidden === true ? 1 : 0,
    u16(id),
    u16(0),
    text(type),
    cstr(''),
    ...mime,
  );
}

interface Location {
  id: number;
  extents: readonly (readonly [number, number])[];
  method?: number;
}

/** iloc version 1 with 4-byte offsets and lengths and no base offset. */
function iloc(entries: readonly Location[]): Buffer {
  const parts = [u8(0x44), u8(0x00), u16(entries.length)];
  for (const entry of entries) {
    parts.push(u16(entry.id), u16(entry.method ?? 0), u16(0), u16(entry.extents.length));
    for (const [offset, length] of entry.extents) parts.push(u32(offset), u32(length));
  }
  return full('iloc', 1, 0, ...parts);
}

const ispe = (width: number, height: number): Buffer => full('ispe', 0, 0, u32(width), u32(height));

function ipma(entries: readonly (readonly [number, readonly number[]])[]): Buffer {
  const parts = [u32(entries.length)];
  for (const [id, indices] of entries) {
    parts.push(u16(id), u8(indices.length), ...indices.map((index) => u8(0x80 | index)));
  }
  return full('ipma', 0, 0, ...parts);
}

function iref(refs: readonly (readonly [string, number, readonly number[]])[]): Buffer {
  return full(
    'iref',
    0,
    0,
    ...refs.map(([type, from, to]) => box(type, u16(from), u16(to.length), ...to.map(u16))),
  );
}

interface Layout {
  handler?: string;
  items?: Buffer[];
  /** The iinf box, when the test writes its own. */
  iinf?: Buffer;
  /** iloc entries, given where the mdat payload starts. */
  locations?: (dataAt: number) => Location[];
  properties?: Buffer[];
  associations?: (readonly [number, readonly number[]])[];
  references?: Buffer;
  /** More boxes at the end of meta (idat, …). */
  metaExtra?: Buffer[];
  /** The mdat header; its payload follows it. */
  mdatHeader?: (payload: Buffer) => Buffer;
  data?: Buffer;
  /** Top-level boxes after mdat. */
  after?: Buffer[];
}

/** An AVIF of one av01 item (id 1, 64 × 48) whose bytes are the whole mdat payload. */
function avifFile(layout: Layout = {}): Buffer {
  const data = layout.data ?? text('AV1 coded bytes');
  const mdatHeader =
    layout.mdatHeader ?? ((payload: Buffer) => box('mdat', payload).subarray(0, 8));
  const locations =
    layout.locations ?? ((at: number) => [{ id: 1, extents: [[at, data.length]] as const }]);
  const items = layout.items ?? [infe(1, 'av01')];
  const meta = (dataAt: number): Buffer =>
    full(
      'meta',
      0,
      0,
      full('hdlr', 0, 0, u32(0), text(layout.handler ?? 'pict'), Buffer.alloc(12), cstr('')),
      full('pitm', 0, 0, u16(1)),
      layout.iinf ?? full('iinf', 0, 0, u16(items.length), ...items),
      iloc(locations(dataAt)),
      box(
        'iprp',
        box('ipco', ...(layout.properties ?? [ispe(64, 48)])),
        ipma(layout.associations ?? [[1, [1]]]),
      ),
      ...(layout.references === undefined ? [] : [layout.references]),
      ...(layout.metaExtra ?? []),
    );
  const header = mdatHeader(data);
  // The iloc fields have fixed sizes, so the offset does not change the length of meta.
  const dataAt = FTYP.length + meta(0).length + header.length;
  return Buffer.concat([FTYP, meta(dataAt), header, data, ...(layout.after ?? [])]);
}

/** The PixwardenError `run` throws (any other outcome fails the test). */
function errorOf(run: () => unknown): PixwardenError {
  try {
    run();
  } catch (error) {
    if (error instanceof PixwardenError) return error;
    throw error;
  }
  throw new Error('expected a PixwardenError, nothing was thrown');
}

const base = () => sharp({ create: { width: 64, height: 48, channels: 3, background: '#c04080' } });

// ---------------------------------------------------------------- AVIF from sharp

describe('AVIF files sharp writes', () => {
  it('parses a plain AVIF as one av01 primary item of 64 × 48 with nothing to report', async () => {
    const file = await base().avif({ effort: 0 }).toBuffer();
    expect(isIsobmffImage(file)).toBe(true);
    const parsed = parseIsobmff(file);
    expect(parsed.majorBrand).toBe('avif');
    expect(parsed.compatibleBrands).toContain('avif');
    expect(parsed.topLevel).toEqual(['ftyp', 'meta', 'mdat']);
    expect(parsed.handler).toBe('pict');
    const primary = parsed.items.find((item) => item.id === parsed.primaryItem);
    expect(primary?.type).toBe('av01');
    expect(primary?.properties).toEqual(expect.arrayContaining(['av1C', 'ispe']));
    expect([parsed.width, parsed.height]).toEqual([64, 48]);
    expect(parsed.metadataItems).toEqual([]);
    expect(parsed.profiles).toEqual([]);
    expect(parsed.trailer).toBe(0);
    expect(avifProblems(parsed)).toEqual([]);
  });

  it('points the primary item extents into the mdat payload', async () => {
    const file = await base().avif({ effort: 0 }).toBuffer();
    const parsed = parseIsobmff(file);
    const mdatAt = file.indexOf('mdat') - 4;
    const extents = parsed.items[0]?.extents ?? [];
    expect(extents.length).toBeGreaterThan(0);
    for (const extent of extents) {
      expect(extent.offset).toBeGreaterThanOrEqual(mdatAt + 8);
      expect(extent.offset + extent.length).toBeLessThanOrEqual(file.length);
    }
  });

  it('finds the Exif item withExif writes and reports it', async () => {
    const file = await base()
      .withExif({ IFD0: { Artist: 'Jane Example' } })
      .avif({ effort: 0 })
      .toBuffer();
    const parsed = parseIsobmff(file);
    const exif = parsed.metadataItems.find((entry) => entry.kind === 'exif');
    expect(exif?.bytes).toBeGreaterThan(0);
    const item = parsed.items.find((entry) => entry.id === exif?.id);
    const extent = item?.extents[0] ?? { offset: 0, length: 0 };
    const payload = file.subarray(extent.offset, extent.offset + extent.length);
    expect(payload.includes(text('Jane Example'))).toBe(true);
    expect(parsed.references).toContainEqual({
      type: 'cdsc',
      from: exif?.id,
      to: [parsed.primaryItem],
    });
    expect(avifProblems(parsed)).toContain(
      `holds an Exif item (id ${exif?.id}, ${exif?.bytes} bytes)`,
    );
  });

  it('finds the XMP item withXmp writes as a mime item of application/rdf+xml', async () => {
    const xmp =
      '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/></x:xmpmeta>';
    const parsed = parseIsobmff(await base().withXmp(xmp).avif({ effort: 0 }).toBuffer());
    const entry = parsed.metadataItems.find((item) => item.kind === 'xmp');
    expect(parsed.items.find((item) => item.id === entry?.id)?.contentType).toBe(
      'application/rdf+xml',
    );
    expect(avifProblems(parsed).some((problem) => problem.startsWith('holds an XMP item'))).toBe(
      true,
    );
  });

  it('keeps the ICC profile withIccProfile writes and reports it', async () => {
    const parsed = parseIsobmff(await base().withIccProfile('p3').avif({ effort: 0 }).toBuffer());
    const icc = parsed.profiles.find((profile) => profile.kind !== 'nclx');
    expect(icc?.data?.length).toBe(icc?.bytes);
    // Every ICC profile has the signature 'acsp' at offset 36.
    expect(Buffer.from(icc?.data ?? []).toString('latin1', 36, 40)).toBe('acsp');
    expect(parsed.items[0]?.properties).toContain(`colr:${icc?.kind}`);
    expect(avifProblems(parsed)).toContain(
      `holds an ICC profile (colr ${icc?.kind}, ${icc?.bytes} bytes)`,
    );
  });

  it('accepts the alpha item of an RGBA AVIF as part of the primary image', async () => {
    const file = await sharp({
      create: { width: 32, height: 32, channels: 4, background: { r: 1, g: 2, b: 3, alpha: 0.5 } },
    })
      .avif({ effort: 0 })
      .toBuffer();
    const parsed = parseIsobmff(file);
    expect(parsed.items.filter((item) => item.type === 'av01')).toHaveLength(2);
    expect(parsed.references.map((ref) => ref.type)).toEqual(['auxl']);
    expect(avifProblems(parsed)).toEqual([]);
  });

  it('parses or refuses with a PixwardenError every prefix of a sharp AVIF', async () => {
    const file = await base()
      .withExif({ IFD0: { Artist: 'x' } })
      .avif({ effort: 0 })
      .toBuffer();
    for (let length = 0; length < file.length; length++) {
      try {
        parseIsobmff(file.subarray(0, length));
      } catch (error) {
        expect(error).toBeInstanceOf(PixwardenError);
      }
    }
  });
});

// ---------------------------------------------------------------- built structures

describe('ISOBMFF structure', () => {
  it('parses the built file that the hostile cases start from', () => {
    const parsed = parseIsobmff(avifFile());
    expect(parsed.items).toEqual([
      {
        id: 1,
        type: 'av01',
        name: '',
        hidden: false,
        extents: [{ offset: parsed.items[0]?.extents[0]?.offset ?? -1, length: 15 }],
        properties: ['ispe'],
      },
    ]);
    expect([parsed.width, parsed.height, parsed.primaryItem]).toEqual([64, 48, 1]);
    expect(avifProblems(parsed)).toEqual([]);
  });

  it('resolves idat extents to their place in the file', () => {
    const payload = text('Exif in idat');
    const file = avifFile({
      items: [infe(1, 'av01'), infe(2, 'Exif', { hidden: true })],
      locations: (at) => [
        { id: 1, extents: [[at, 15]] },
        { id: 2, method: 1, extents: [[0, payload.length]] },
      ],
      metaExtra: [box('idat', payload)],
    });
    const parsed = parseIsobmff(file);
    const extent = parsed.items[1]?.extents[0] ?? { offset: 0, length: 0 };
    expect(file.subarray(extent.offset, extent.offset + extent.length)).toEqual(payload);
    expect(parsed.metadataItems).toEqual([{ id: 2, kind: 'exif', bytes: payload.length }]);
  });

  it('refuses an idat extent that runs past the idat box', () => {
    const file = avifFile({
      items: [infe(1, 'av01'), infe(2, 'Exif')],
      locations: (at) => [
        { id: 1, extents: [[at, 15]] },
        { id: 2, method: 1, extents: [[4, 10]] },
      ],
      metaExtra: [box('idat', text('short'))],
    });
    const error = errorOf(() => parseIsobmff(file));
    expect(error.code).toBe('ERR_MALFORMED');
    expect(error.message).toMatch(/item 2 extent 1 .* lies outside the idat box/);
  });

  it('records construction method 2 extents with length 0 and does not resolve them', () => {
    const parsed = parseIsobmff(
      avifFile({
        items: [infe(1, 'av01'), infe(2, 'av01', { hidden: true })],
        locations: (at) => [
          { id: 1, extents: [[at, 15]] },
          { id: 2, method: 2, extents: [[999_999, 5]] },
        ],
      }),
    );
    expect(parsed.items[1]?.extents).toEqual([{ offset: 0, length: 0 }]);
  });

  it('reads a box with a 64-bit largesize', () => {
    const large = Buffer.concat([u32(1), text('mdat'), u32(0), u32(16 + 15)]);
    const file = avifFile({ mdatHeader: () => large, after: [box('free', Buffer.alloc(4))] });
    const parsed = parseIsobmff(file);
    expect(parsed.topLevel).toEqual(['ftyp', 'meta', 'mdat', 'free']);
    expect(parsed.trailer).toBe(0);
  });

  it('lets the last top-level box run to the end of the file with size 0', () => {
    const file = avifFile({ mdatHeader: () => Buffer.concat([u32(0), text('mdat')]) });
    const parsed = parseIsobmff(file);
    expect(parsed.topLevel).toEqual(['ftyp', 'meta', 'mdat']);
    expect(parsed.items[0]?.extents[0]?.length).toBe(15);
  });

  it('refuses size 0 on a box inside meta', () => {
    const file = avifFile({ metaExtra: [Buffer.concat([u32(0), text('free')])] });
    expect(errorOf(() => parseIsobmff(file)).message).toMatch(/size 0, which only the last/);
  });

  it('accepts a grid whose tiles are referenced by dimg', () => {
    const parsed = parseIsobmff(
      avifFile({
        items: [
          infe(1, 'grid'),
          infe(2, 'av01', { hidden: true }),
          infe(3, 'av01', { hidden: true }),
        ],
        locations: (at) => [
          { id: 2, extents: [[at, 7]] },
          { id: 3, extents: [[at + 7, 8]] },
        ],
        references: iref([['dimg', 1, [2, 3]]]),
      }),
    );
    expect(parsed.references).toEqual([{ type: 'dimg', from: 1, to: [2, 3] }]);
    expect(parsed.items[0]?.extents).toEqual([]);
    expect(avifProblems(parsed)).toEqual([]);
  });

  it('tells AVIF and HEIF brands from other ISOBMFF files and from other formats', async () => {
    const heic = box('ftyp', text('heic'), u32(0), text('mif1'), text('heic'));
    const mp4 = box('ftyp', text('isom'), u32(512), text('isom'), text('iso2'), text('mp41'));
    const png = await base().png().toBuffer();
    expect(isIsobmffImage(heic)).toBe(true);
    expect(isIsobmffImage(mp4)).toBe(false);
    expect(isIsobmffImage(png)).toBe(false);
    expect(isIsobmffImage(Buffer.alloc(3))).toBe(false);
  });
});

// ---------------------------------------------------------------- hostile input

describe('ISOBMFF hostile input', () => {
  it('refuses a file that does not start with ftyp', () => {
    const error = errorOf(() => parseIsobmff(avifFile().subarray(FTYP.length)));
    expect(error.code).toBe('ERR_MALFORMED');
    expect(error.message).toContain("starts with box 'meta', not 'ftyp'");
  });

  it('refuses a box whose size is smaller than its header', () => {
    const file = avifFile({ after: [Buffer.concat([u32(4), text('free')])] });
    const error = errorOf(() => parseIsobmff(file));
    expect(error.code).toBe('ERR_MALFORMED');
    expect(error.message).toMatch(/'free' at offset \d+ has size 4, less than its 8-byte header/);
  });

  it('refuses a top-level box that runs past the end of the file as truncated', () => {
    const file = avifFile({
      mdatHeader: (payload) => Buffer.concat([u32(payload.length + 108), text('mdat')]),
    });
    const error = errorOf(() => parseIsobmff(file));
    expect(error.code).toBe('ERR_TRUNCATED');
    expect(error.message).toMatch(/'mdat' at offset \d+ has size 123, 23 bytes left in the file/);
  });

  it('refuses a property that runs past its ipco as malformed', () => {
    const file = avifFile({
      properties: [Buffer.concat([u32(200), text('ispe'), Buffer.alloc(12)])],
    });
    const error = errorOf(() => parseIsobmff(file));
    expect(error.code).toBe('ERR_MALFORMED');
    expect(error.message).toMatch(/'ispe' at offset \d+ has size 200, 20 bytes left in 'ipco'/);
  });

  it('refuses a huge declared item count past maxSegments before reading the items', () => {
    const file = avifFile({ iinf: full('iinf', 0, 0, u16(60_000), infe(1, 'av01')) });
    const error = errorOf(() => parseIsobmff(file, resolveLimits({ maxSegments: 100 })));
    expect(error.code).toBe('ERR_SEGMENT_COUNT_LIMIT');
    expect(error.message).toContain('declares 60000 items, limit 100');
  });

  it('refuses a declared item count that does not match the entries', () => {
    const file = avifFile({ iinf: full('iinf', 0, 0, u16(5), infe(1, 'av01')) });
    expect(errorOf(() => parseIsobmff(file)).message).toContain('declares 5 items and holds 1');
  });

  it('refuses more items than maxSegments, counted one by one', () => {
    const items = Array.from({ length: 30 }, (_, i) => infe(i + 1, 'av01'));
    const error = errorOf(() =>
      parseIsobmff(avifFile({ items }), resolveLimits({ maxSegments: 20 })),
    );
    expect(error.code).toBe('ERR_SEGMENT_COUNT_LIMIT');
  });

  it('refuses an item extent outside the file, naming the item', () => {
    const file = avifFile({ locations: (at) => [{ id: 1, extents: [[at, 10_000]] }] });
    const error = errorOf(() => parseIsobmff(file));
    expect(error.code).toBe('ERR_MALFORMED');
    expect(error.message).toMatch(
      /item 1 extent 1 \(offset \d+, 10000 bytes\) lies outside the file/,
    );
  });

  it('refuses an iloc entry for an item iinf does not list', () => {
    const file = avifFile({ locations: (at) => [{ id: 7, extents: [[at, 1]] }] });
    expect(errorOf(() => parseIsobmff(file)).message).toContain(
      'iloc names item 7, which iinf does not list',
    );
  });

  it('refuses many extents that take no bytes each', () => {
    const zeroSized = full('iloc', 0, 0, u8(0), u8(0), u16(1), u16(1), u16(0), u16(60_000));
    const file = avifFile({ metaExtra: [] });
    // Swap the built iloc for one whose extents have offset, length and index size 0.
    const at = file.indexOf('iloc') - 4;
    const size = file.readUInt32BE(at);
    const patched = Buffer.concat([file.subarray(0, at), zeroSized, file.subarray(at + size)]);
    const metaAt = patched.indexOf('meta') - 4;
    patched.writeUInt32BE(patched.readUInt32BE(metaAt) - size + zeroSized.length, metaAt);
    const error = errorOf(() => parseIsobmff(patched, resolveLimits({ maxSegments: 0 })));
    expect(error.message).toContain('declares 60000 extents of 0 bytes each');
  });

  it('refuses boxes nested deeper than 16', () => {
    let nested = box('free');
    for (let i = 0; i < 40; i++) nested = box('moov', nested);
    const error = errorOf(() => parseIsobmff(avifFile({ after: [nested] })));
    expect(error.code).toBe('ERR_MALFORMED');
    expect(error.message).toContain('nest more than 16 deep');
  });

  it('walks boxes nested less deep than the limit', () => {
    let nested = box('free');
    for (let i = 0; i < 10; i++) nested = box('moov', nested);
    expect(parseIsobmff(avifFile({ after: [nested] })).topLevel).toContain('moov');
  });

  it('refuses a box larger than maxSegmentBytes but not an mdat as large', () => {
    const limits = resolveLimits({ maxSegmentBytes: 1000 });
    const big = Buffer.alloc(2000);
    expect(parseIsobmff(avifFile({ data: big }), limits).items[0]?.extents[0]?.length).toBe(2000);
    const error = errorOf(() => parseIsobmff(avifFile({ after: [box('free', big)] }), limits));
    expect(error.code).toBe('ERR_SEGMENT_SIZE_LIMIT');
  });

  it('refuses a primary image whose ispe claims too many pixels', () => {
    const file = avifFile({ properties: [ispe(100_000, 100_000)] });
    const error = errorOf(() => parseIsobmff(file));
    expect(error.code).toBe('ERR_PIXEL_LIMIT');
    expect(error.message).toMatch(/^AVIF image is 100000 × 100000 = /);
  });

  it('refuses a property index past the end of ipco', () => {
    const file = avifFile({ associations: [[1, [1, 5]]] });
    expect(errorOf(() => parseIsobmff(file)).message).toContain(
      'associates item 1 with property 5; ipco holds 1',
    );
  });

  it('refuses a second file-level meta box', () => {
    const file = avifFile({ after: [full('meta', 0, 0)] });
    expect(errorOf(() => parseIsobmff(file)).message).toContain("2 top-level 'meta' boxes");
  });

  it('throws only PixwardenError on a file cut short or too small', () => {
    expect(errorOf(() => parseIsobmff(Buffer.alloc(4))).code).toBe('ERR_TRUNCATED');
    expect(errorOf(() => parseIsobmff(avifFile().subarray(0, 40))).code).toBe('ERR_TRUNCATED');
  });
});

// ---------------------------------------------------------------- avifProblems

describe('avifProblems', () => {
  it('names a top-level uuid box', () => {
    const uuid = box('uuid', Buffer.alloc(16, 0xab), text('hidden data'));
    const parsed = parseIsobmff(avifFile({ after: [uuid] }));
    expect(parsed.topLevel).toEqual(['ftyp', 'meta', 'mdat', 'uuid']);
    expect(avifProblems(parsed)).toEqual(["has a top-level 'uuid' box"]);
  });

  it('counts trailing bytes that do not form a box', () => {
    const parsed = parseIsobmff(
      avifFile({ after: [Buffer.of(0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0, 0, 0, 0)] }),
    );
    expect(parsed.trailer).toBe(10);
    expect(avifProblems(parsed)).toEqual(['has 10 bytes after its last box']);
  });

  it('names a thumbnail item', () => {
    const parsed = parseIsobmff(
      avifFile({
        items: [infe(1, 'av01'), infe(2, 'av01')],
        locations: (at) => [
          { id: 1, extents: [[at, 10]] },
          { id: 2, extents: [[at + 10, 5]] },
        ],
        references: iref([['thmb', 2, [1]]]),
      }),
    );
    expect(avifProblems(parsed)).toEqual(["holds a thumbnail: item 2 is a 'thmb' of item 1"]);
  });

  it('names an item of another coding and an image item outside the primary image', () => {
    const parsed = parseIsobmff(
      avifFile({ items: [infe(1, 'av01'), infe(2, 'hvc1'), infe(3, 'av01', { hidden: true })] }),
    );
    expect(avifProblems(parsed)).toEqual([
      "holds an item of type 'hvc1' (id 2)",
      "holds a 'av01' item (id 3) that is not part of the primary image",
    ]);
  });

  it('names a mime item that is not XMP with its content type', () => {
    const parsed = parseIsobmff(
      avifFile({
        items: [infe(1, 'av01'), infe(2, 'mime', { mime: 'text/plain' })],
        locations: (at) => [
          { id: 1, extents: [[at, 10]] },
          { id: 2, extents: [[at + 10, 5]] },
        ],
      }),
    );
    expect(parsed.metadataItems).toEqual([{ id: 2, kind: 'other-mime', bytes: 5 }]);
    expect(avifProblems(parsed)).toEqual([
      "holds a mime item of type 'text/plain' (id 2, 5 bytes)",
    ]);
  });

  it('names a handler other than pict', () => {
    const parsed = parseIsobmff(avifFile({ handler: 'vide' }));
    expect(avifProblems(parsed)).toEqual(["has handler 'vide', not 'pict'"]);
  });

  it('names an ICC profile in a colr prof property', () => {
    const profile = Buffer.alloc(128, 7);
    const parsed = parseIsobmff(
      avifFile({
        properties: [ispe(64, 48), box('colr', text('prof'), profile)],
        associations: [[1, [1, 2]]],
      }),
    );
    expect(parsed.profiles.map(({ kind, bytes }) => ({ kind, bytes }))).toEqual([
      { kind: 'prof', bytes: 128 },
    ]);
    expect(Buffer.from(parsed.profiles[0]?.data ?? []).equals(profile)).toBe(true);
    expect(avifProblems(parsed)).toEqual(['holds an ICC profile (colr prof, 128 bytes)']);
  });

  it('accepts an nclx colr property', () => {
    const nclx = box('colr', text('nclx'), u16(1), u16(13), u16(6), u8(0x80));
    const parsed = parseIsobmff(
      avifFile({ properties: [ispe(64, 48), nclx], associations: [[1, [1, 2]]] }),
    );
    expect(parsed.profiles).toEqual([{ kind: 'nclx', bytes: 7 }]);
    expect(parsed.items[0]?.properties).toEqual(['ispe', 'colr:nclx']);
    expect(avifProblems(parsed)).toEqual([]);
  });

  it('names a file without meta: no handler and no primary item', () => {
    const parsed = parseIsobmff(Buffer.concat([FTYP, box('mdat', text('x'))]));
    expect(avifProblems(parsed)).toEqual([
      "has no hdlr handler (expected 'pict')",
      'has no primary item (pitm)',
    ]);
  });
});
