import { describe, expect, it } from 'vitest';
import { inspect, strip } from '../../src/index.js';
import { handlerFor } from '../../src/formats/index.js';
import { riff, tiff, vp8l, vp8x, webpFile } from '../helpers.js';

const parse = (file: Uint8Array) => handlerFor('webp').parse(file);
const flagsOf = (file: Uint8Array): number => Buffer.from(file)[20] ?? -1;
const riffSizeOk = (file: Uint8Array): boolean =>
  Buffer.from(file).readUInt32LE(4) === file.length - 8;

/** An ANMF frame header for a frame of `width` × `height` at the canvas origin. */
function frameHeader(width = 2, height = 2): Buffer {
  const head = Buffer.alloc(16);
  head.writeUIntLE(width - 1, 6, 3);
  head.writeUIntLE(height - 1, 9, 3);
  return head;
}

describe('WebP strip', () => {
  it('removes EXIF and XMP, clears their flags and fixes the RIFF size', async () => {
    const input = webpFile([
      vp8x(0x08 | 0x04 | 0x10),
      riff('ALPH', Buffer.alloc(5)),
      vp8l(),
      riff('EXIF', tiff([{ tag: 0x013b, value: 'Jane Example' }])),
      riff('XMP ', '<x:xmpmeta>Jane Example</x:xmpmeta>'),
    ]);
    const result = await strip(input);
    expect(parse(result.bytes).parts.map((p) => p.name)).toEqual(['VP8X', 'ALPH', 'VP8L']);
    expect(flagsOf(result.bytes)).toBe(0x10);
    expect(riffSizeOk(result.bytes)).toBe(true);
    expect(Buffer.from(result.bytes).includes(Buffer.from('Jane'))).toBe(false);
  });

  it('keeps the orientation in an EXIF chunk announced by its flag', async () => {
    const input = webpFile([
      vp8x(0x08),
      vp8l(),
      riff(
        'EXIF',
        Buffer.concat([
          Buffer.from('Exif\0\0'),
          tiff([
            { tag: 0x0112, value: 3 },
            { tag: 0x010f, value: 'ExampleCam' },
          ]),
        ]),
      ),
    ]);
    const result = await strip(input);
    expect(parse(result.bytes).parts.map((p) => p.name)).toEqual(['VP8X', 'VP8L', 'EXIF']);
    expect(flagsOf(result.bytes) & 0x08).toBe(0x08);
    expect(result.kept).toContainEqual(
      expect.objectContaining({ category: 'orientation', name: 'Orientation 3' }),
    );
    expect(Buffer.from(result.bytes).includes(Buffer.from('ExampleCam'))).toBe(false);
    expect(riffSizeOk(result.bytes)).toBe(true);
  });

  it('keeps animation chunks and the animation flag', async () => {
    const frame = (): Buffer => riff('ANMF', Buffer.concat([frameHeader(), vp8l()]));
    const input = webpFile([vp8x(0x02), riff('ANIM', Buffer.alloc(6)), frame(), frame()]);
    const result = await strip(input);
    expect(Buffer.from(result.bytes).equals(input)).toBe(true);
    expect((await inspect(input)).frames).toBe(2);
  });

  it('leaves a simple file simple', async () => {
    const input = webpFile([vp8l(3, 5)]);
    const result = await strip(input);
    expect(Buffer.from(result.bytes).equals(input)).toBe(true);
    const report = await inspect(input);
    expect([report.width, report.height]).toEqual([3, 5]);
  });

  it('removes unknown chunks and bytes past the RIFF size', async () => {
    const input = webpFile(
      [vp8x(0), vp8l(), riff('ABCD', 'vendor')],
      Buffer.from('PK\x03\x04 archive', 'latin1'),
    );
    const result = await strip(input);
    expect(result.removed.map((p) => p.name)).toEqual(['ABCD', 'trailing ZIP']);
    expect(riffSizeOk(result.bytes)).toBe(true);
  });

  it('reports flags that announce chunks the file does not hold', async () => {
    const report = await inspect(webpFile([vp8x(0x08), vp8l()]));
    expect(report.findings).toContainEqual(expect.objectContaining({ code: 'FLAG_MISMATCH' }));
  });

  it.each([
    [
      'a RIFF size past the end',
      (() => {
        const f = webpFile([vp8l()]);
        f.writeUInt32LE(1000, 4);
        return f;
      })(),
      'ERR_TRUNCATED',
    ],
    [
      'a chunk size past the RIFF size',
      webpFile([vp8x(0), Buffer.from('VP8L\xff\x00\x00\x00', 'latin1')]),
      'ERR_TRUNCATED',
    ],
    ['no image data', webpFile([vp8x(0), riff('EXIF', 'x')]), 'ERR_MALFORMED'],
    ['a first chunk that is not an image', webpFile([riff('EXIF', 'xx'), vp8l()]), 'ERR_MALFORMED'],
    [
      'a VP8L chunk without its signature',
      webpFile([riff('VP8L', Buffer.alloc(6))]),
      'ERR_MALFORMED',
    ],
    [
      'an odd RIFF size',
      (() => {
        const f = webpFile([vp8l()]);
        f.writeUInt32LE(f.readUInt32LE(4) - 1, 4);
        return f;
      })(),
      'ERR_MALFORMED',
    ],
  ])('refuses %s with %s', async (_name, input, code) => {
    await expect(strip(input)).rejects.toMatchObject({ code });
  });

  it.each([
    ['a second bitstream in a simple file', webpFile([vp8l(), vp8l()])],
    [
      'a frame in a still image',
      webpFile([vp8x(0), vp8l(), riff('ANMF', Buffer.concat([frameHeader(), vp8l()]))]),
    ],
    ['a VP8X longer than 10 bytes', webpFile([riff('VP8X', Buffer.alloc(12)), vp8l()])],
    [
      'a frame without a bitstream',
      webpFile([vp8x(0x02), riff('ANIM', Buffer.alloc(6)), riff('ANMF', Buffer.alloc(16))]),
    ],
  ])('refuses %s', async (_name, input) => {
    await expect(strip(input)).rejects.toMatchObject({ code: 'ERR_MALFORMED' });
  });

  it('rebuilds an animation frame from what draws it', async () => {
    const hidden = riff('XMP ', 'SECRET-1234');
    const frame = riff(
      'ANMF',
      Buffer.concat([frameHeader(), vp8l(), hidden, Buffer.from('SECRT')]),
    );
    const result = await strip(webpFile([vp8x(0x02), riff('ANIM', Buffer.alloc(6)), frame]));
    expect(Buffer.from(result.bytes).includes(Buffer.from('SECRET-1234'))).toBe(false);
    expect(Buffer.from(result.bytes).includes(Buffer.from('SECRT'))).toBe(false);
    expect(riffSizeOk(result.bytes)).toBe(true);
  });
});
