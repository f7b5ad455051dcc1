import { describe, expect, it } from 'vitest';
import {
  creditsFromXmp,
  minimalExifProblem,
  orientationFromXmp,
  readCarriedTags,
  tiffFromRawProfile,
  writeMinimalExif,
} from '../../src/metadata/exif.js';
import { tiff } from '../helpers.js';

describe('minimal EXIF', () => {
  it('reads the carried tags from a little-endian TIFF', () => {
    const le = Buffer.from([
      0x49, 0x49, 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0,
      0,
    ]);
    expect(readCarriedTags(le)).toEqual({ orientation: 6 });
  });

  it('writes only Orientation, Artist and Copyright, and nothing for a normal orientation', () => {
    expect(writeMinimalExif({ orientation: 1 })).toBeNull();
    const written = writeMinimalExif({
      orientation: 8,
      artist: 'Jane Example',
      copyright: '(c) Jane',
    });
    expect(written).not.toBeNull();
    expect(readCarriedTags(written as Uint8Array)).toEqual({
      orientation: 8,
      artist: 'Jane Example',
      copyright: '(c) Jane',
    });
  });

  it('accepts its own output and refuses anything more', () => {
    const own = writeMinimalExif({ orientation: 3 }) as Uint8Array;
    expect(minimalExifProblem(own, { orientation: true, credits: false })).toBeNull();
    expect(minimalExifProblem(own, { orientation: false, credits: false })).toMatch(/policy drops/);
    const extra = tiff([
      { tag: 0x0112, value: 3 },
      { tag: 0x010f, value: 'ExampleCam' },
    ]);
    expect(minimalExifProblem(extra, { orientation: true, credits: true })).toMatch(/more than/);
    const trailing = Buffer.concat([own, Buffer.from('hidden')]);
    expect(minimalExifProblem(trailing, { orientation: true, credits: true })).toMatch(/more than/);
  });

  it.each([
    [Buffer.from('MM\0*\0\0\xff\xff', 'latin1')],
    [Buffer.from('not a tiff')],
    [Buffer.alloc(0)],
    [tiff([{ tag: 0x0112, value: 99 }])],
  ])('carries nothing from a broken or out-of-range IFD', (input) => {
    expect(readCarriedTags(input)).toEqual({});
  });

  it('finds an orientation in XMP, attribute or element form', () => {
    expect(orientationFromXmp('<rdf:Description tiff:Orientation="6"/>')).toBe(6);
    expect(orientationFromXmp('<tiff:Orientation>3</tiff:Orientation>')).toBe(3);
    expect(orientationFromXmp('<tiff:Orientation>12</tiff:Orientation>')).toBeUndefined();
  });

  it('decodes the hex EXIF ImageMagick writes into PNG text', () => {
    const payload = Buffer.concat([
      Buffer.from('Exif\0\0', 'latin1'),
      tiff([{ tag: 0x0112, value: 5 }]),
    ]);
    const text = `\nexif\n      ${payload.length}\n${payload.toString('hex')}\n`;
    const decoded = tiffFromRawProfile(text);
    expect(decoded && readCarriedTags(decoded)).toEqual({ orientation: 5 });
  });

  it('reads copyright and creator credits from XMP', () => {
    const xml =
      '<dc:rights><rdf:Alt><rdf:li xml:lang="x-default">&#169; Jane &amp; Co</rdf:li></rdf:Alt></dc:rights><dc:creator><rdf:Seq><rdf:li>Jane Example</rdf:li></rdf:Seq></dc:creator>';
    expect(creditsFromXmp(xml)).toEqual({ copyright: '© Jane & Co', artist: 'Jane Example' });
  });
});
