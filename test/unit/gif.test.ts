import { describe, expect, it } from 'vitest';
import { inspect, strip } from '../../src/index.js';
import { handlerFor } from '../../src/formats/index.js';
import { GIF_IMAGE, bytes, gifWith, subBlocks } from '../helpers.js';

const names = (file: Uint8Array): string[] =>
  handlerFor('gif')
    .parse(file)
    .parts.map((p) => p.name);
const app = (id: string, payload: string): Buffer =>
  bytes([0x21, 0xff, 11], id, subBlocks(payload));
const loop = (extra = ''): Buffer =>
  bytes(
    [0x21, 0xff, 11],
    'NETSCAPE2.0',
    [3, 1, 0, 0],
    extra === '' ? [] : [extra.length],
    extra,
    [0],
  );
const gce = bytes([0x21, 0xf9, 4, 0, 10, 0, 0, 0]);
/** XMP's GIF convention: raw packet text, then a 258-byte "magic trailer" that ends the sub-blocks. */
const xmpExtension = (packet: string): Buffer =>
  bytes([0x21, 0xff, 11], 'XMP DataXMP', packet, [
    1,
    ...Array.from({ length: 256 }, (_, i) => 255 - i),
    0,
  ]);

describe('GIF strip', () => {
  it('removes comments, plain text and foreign application extensions', async () => {
    const input = gifWith([
      bytes([0x21, 0xfe], subBlocks('taken by Jane Example')),
      bytes([0x21, 0x01], subBlocks('\x00'.repeat(12) + 'Jane Example')),
      xmpExtension('<x:xmpmeta>Jane Example</x:xmpmeta>'),
      app('MGK8BIM0000', 'iptc'),
      loop(),
      gce,
    ]);
    const result = await strip(input);
    expect(names(result.bytes)).toEqual([
      'header',
      'loop extension',
      'graphic control',
      'image',
      'trailer',
    ]);
    expect(Buffer.from(result.bytes).includes(Buffer.from('Jane'))).toBe(false);
    expect(result.removed.map((p) => p.name)).toEqual([
      'comment extension',
      'plain-text extension',
      'XMP application extension',
      'application extension MGK8BIM0000',
    ]);
  });

  it('rewrites the loop extension to its loop count alone', async () => {
    const result = await strip(gifWith([loop('hidden')]));
    expect(Buffer.from(result.bytes).includes(Buffer.from('hidden'))).toBe(false);
    expect(names(result.bytes)).toContain('loop extension');
  });

  it('drops everything after the trailer and counts frames', async () => {
    const input = gifWith([gce, GIF_IMAGE, gce], Buffer.from('<html><script>x</script>'));
    const report = await inspect(input);
    expect(report.frames).toBe(2);
    expect(report.findings).toContainEqual(
      expect.objectContaining({ category: 'hidden-data', name: 'trailing HTML' }),
    );
    const out = Buffer.from((await strip(input)).bytes);
    expect(out.at(-1)).toBe(0x3b);
  });

  it('warns that copyright credits cannot be kept in a GIF', async () => {
    const xmp = xmpExtension(
      '<dc:rights><rdf:Alt><rdf:li xml:lang="x-default">(c) Jane Example</rdf:li></rdf:Alt></dc:rights>',
    );
    const result = await strip(gifWith([xmp]), { keep: ['copyright'] });
    expect(result.warnings).toEqual([
      'GIF has nowhere to keep copyright credits: they were removed',
    ]);
    expect(Buffer.from(result.bytes).includes(Buffer.from('Jane'))).toBe(false);
  });

  it.each([
    ['a file cut inside a sub-block', gifWith().subarray(0, 24), 'ERR_TRUNCATED'],
    ['a file without a trailer', gifWith().subarray(0, -1), 'ERR_TRUNCATED'],
    [
      'an unknown block introducer',
      bytes(gifWith().subarray(0, 19), [0x99], gifWith().subarray(19)),
      'ERR_MALFORMED',
    ],
    [
      'an LZW code size above 11',
      bytes(gifWith().subarray(0, 19), [0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0, 12, 0], [0x3b]),
      'ERR_MALFORMED',
    ],
    ['no image at all', bytes(gifWith().subarray(0, 19), [0x3b]), 'ERR_MALFORMED'],
  ])('refuses %s with %s', async (_name, input, code) => {
    await expect(strip(input)).rejects.toMatchObject({ code });
  });
});
