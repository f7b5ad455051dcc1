import { describe, expect, it } from 'vitest';
import { inspect, strip, verifyClean } from '../../src/index.js';
import { handlerFor } from '../../src/formats/index.js';
import { bytes, jpegWith, seg, tiff } from '../helpers.js';

const jfif = (thumbW = 0, thumbH = 0): Buffer =>
  seg(
    0xe0,
    bytes('JFIF\0', [1, 2, 0, 0, 1, 0, 1, thumbW, thumbH], Buffer.alloc(thumbW * thumbH * 3, 7)),
  );
const exif = (entries: Parameters<typeof tiff>[0]): Buffer =>
  seg(0xe1, bytes('Exif\0\0', tiff(entries)));

function markers(file: Uint8Array): string[] {
  return handlerFor('jpeg')
    .parse(file)
    .parts.map((part) => part.name);
}

describe('JPEG strip', () => {
  it.each([
    ['APP1 Exif', exif([{ tag: 0x010f, value: 'ExampleCam' }])],
    ['APP1 XMP', seg(0xe1, 'http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>Jane</x:xmpmeta>')],
    ['APP1 extended XMP', seg(0xe1, 'http://ns.adobe.com/xmp/extension/\0' + 'A'.repeat(40))],
    ['APP13 Photoshop', seg(0xed, 'Photoshop 3.0\0' + '8BIM\x04\x04\0\0\0\0\0\0')],
    ['APP2 MPF', seg(0xe2, 'MPF\0MM\0*\0\0\0\x08')],
    ['APP11 JUMBF', seg(0xeb, 'JP\0\0\0\0\0\x01jumb')],
    ['APP0 JFXX', seg(0xe0, 'JFXX\0\x10thumbnail')],
    ['COM', seg(0xfe, 'taken by Jane')],
    ['APP5', seg(0xe5, 'vendor private data')],
    ['APP15', seg(0xef, 'unknown')],
  ])('removes %s', async (name, segment) => {
    const input = jpegWith([jfif(), segment]);
    const result = await strip(input);
    expect(result.removed.map((part) => part.name)).toContain(name);
    expect(markers(result.bytes)).not.toContain(name);
    expect(Buffer.from(result.bytes).includes(segment.subarray(4))).toBe(false);
  });

  it('keeps the decoding markers in order and copies the scan unchanged', async () => {
    const input = jpegWith([jfif(), seg(0xee, bytes('Adobe', [0, 100, 0, 0, 0, 0, 1]))]);
    const result = await strip(input);
    expect(markers(result.bytes)).toEqual([
      'SOI',
      'APP0 JFIF',
      'APP14 Adobe',
      'DQT',
      'SOF0',
      'DHT',
      'SOS',
      'EOI',
    ]);
    expect(Buffer.from(result.bytes).equals(input)).toBe(true);
  });

  it('removes a JFIF thumbnail but keeps JFIF itself', async () => {
    const result = await strip(jpegWith([jfif(2, 2)]));
    const out = Buffer.from(result.bytes);
    expect(out.subarray(2, 20).toString('latin1')).toContain('JFIF');
    expect(out.readUInt16BE(4)).toBe(16);
    expect(out[18]).toBe(0);
    expect(out[19]).toBe(0);
    expect((await inspect(out)).findings.filter((f) => f.category === 'thumbnail')).toEqual([]);
  });

  it('drops everything after EOI and names it', async () => {
    const zip = bytes([0x50, 0x4b, 0x03, 0x04], 'secret.txt');
    const result = await strip(jpegWith([], zip));
    expect(result.removed.at(-1)).toEqual({
      category: 'hidden-data',
      name: 'trailing ZIP',
      bytes: zip.length,
    });
    expect(Buffer.from(result.bytes).subarray(-2)).toEqual(Buffer.of(0xff, 0xd9));
  });

  it('keeps a non-normal orientation as a minimal EXIF and nothing else', async () => {
    const input = jpegWith([
      exif([
        { tag: 0x0112, value: 6 },
        { tag: 0x013b, value: 'Jane Example' },
      ]),
    ]);
    const result = await strip(input);
    expect(result.kept).toContainEqual(
      expect.objectContaining({ category: 'orientation', name: 'Orientation 6' }),
    );
    expect(Buffer.from(result.bytes).includes(Buffer.from('Jane'))).toBe(false);
    expect((await verifyClean(result.bytes, { keep: ['orientation'] })).clean).toBe(true);
    const dropped = await strip(input, { keep: [] });
    expect(Buffer.from(dropped.bytes).includes(Buffer.from('Exif'))).toBe(false);
  });

  it('writes no EXIF when the orientation is normal', async () => {
    const result = await strip(jpegWith([exif([{ tag: 0x0112, value: 1 }])]));
    expect(Buffer.from(result.bytes).includes(Buffer.from('Exif'))).toBe(false);
  });

  it('keeps copyright and artist only when the policy asks', async () => {
    const input = jpegWith([
      exif([
        { tag: 0x8298, value: '(c) Jane Example' },
        { tag: 0x013b, value: 'Jane Example' },
        { tag: 0x010f, value: 'ExampleCam' },
      ]),
    ]);
    const kept = Buffer.from((await strip(input, { keep: ['copyright'] })).bytes);
    expect(kept.includes(Buffer.from('(c) Jane Example'))).toBe(true);
    expect(kept.includes(Buffer.from('ExampleCam'))).toBe(false);
    const dropped = Buffer.from((await strip(input)).bytes);
    expect(dropped.includes(Buffer.from('Jane'))).toBe(false);
  });

  it('skips stray bytes between segments without copying them', async () => {
    const input = jpegWith([jfif(), Buffer.from('GARBAGE', 'latin1')]);
    const result = await strip(input);
    expect(Buffer.from(result.bytes).includes(Buffer.from('GARBAGE'))).toBe(false);
  });

  it.each([
    ['a file without SOI', Buffer.from('\xff\xd9', 'latin1'), 'ERR_FORMAT_NOT_ALLOWED'],
    [
      'a segment whose length runs past the end',
      Buffer.concat([
        Buffer.of(0xff, 0xd8),
        Buffer.of(0xff, 0xe1, 0x40, 0x00),
        Buffer.from('Exif'),
      ]),
      'ERR_TRUNCATED',
    ],
    [
      'a segment length below 2',
      Buffer.concat([Buffer.of(0xff, 0xd8, 0xff, 0xe1, 0x00, 0x01)]),
      'ERR_MALFORMED',
    ],
    ['a file that ends before EOI', jpegWith().subarray(0, -2), 'ERR_TRUNCATED'],
    [
      'a scan before any frame header',
      Buffer.concat([
        Buffer.of(0xff, 0xd8),
        seg(0xda, Buffer.of(1, 1, 0, 0, 63, 0)),
        Buffer.of(1, 2, 0xff, 0xd9),
      ]),
      'ERR_MALFORMED',
    ],
    ['a JPEG-LS marker', jpegWith([seg(0xf7, Buffer.alloc(6))]), 'ERR_MALFORMED'],
    ['a second SOI inside the file', jpegWith([Buffer.of(0xff, 0xd8)]), 'ERR_MALFORMED'],
    [
      'a frame of zero width',
      Buffer.concat([
        Buffer.of(0xff, 0xd8),
        seg(0xc0, Buffer.of(8, 0, 8, 0, 0, 1, 1, 0x11, 0)),
        seg(0xda, Buffer.of(1, 1, 0, 0, 63, 0)),
        Buffer.of(0xff, 0xd9),
      ]),
      'ERR_MALFORMED',
    ],
  ])('refuses %s with %s', async (_name, input, code) => {
    await expect(strip(input)).rejects.toMatchObject({ code });
  });
});
