/** Hostile inputs found by attacking the stripper: each was once copied, crashed or hung. */
import { describe, expect, it } from 'vitest';
import { detectFormat, inspect, strip } from '../../src/index.js';
import { bytes, gifWith, jpegWith, seg, subBlocks } from '../helpers.js';

const SECRET = Buffer.from('SECRET-1234');
const holds = (file: Uint8Array): boolean => Buffer.from(file).includes(SECRET);

describe('hostile inputs', () => {
  it('names a file of many comments quickly, without regular-expression blow-up', async () => {
    const started = performance.now();
    const error = await detectFormat(Buffer.from('<!---->'.repeat(40) + 'x')).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'ERR_FORMAT_NOT_ALLOWED' });
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('refuses a DNL segment that carries more than its line count', async () => {
    await expect(
      strip(jpegWith([seg(0xdc, Buffer.concat([Buffer.of(0, 8), SECRET]))])),
    ).rejects.toMatchObject({ code: 'ERR_MALFORMED' });
  });

  it('drops Huffman tables that no scan refers to, and arithmetic conditioning in a Huffman file', async () => {
    const unused = seg(
      0xc4,
      Buffer.concat([
        Buffer.of(0x13),
        Buffer.of(0, 0, 0, 0, 0, 0, 0, SECRET.length),
        Buffer.alloc(8),
        SECRET,
      ]),
    );
    const dac = seg(0xcc, Buffer.concat([SECRET, Buffer.of(0)]));
    const result = await strip(jpegWith([unused, dac]));
    expect(holds(result.bytes)).toBe(false);
    expect(result.removed.map((part) => part.name)).toEqual(
      expect.arrayContaining(['DHT (unused tables)', 'DAC (unused)']),
    );
  });

  it('keeps only the four bytes of a graphic-control block', async () => {
    const gce = bytes([0x21, 0xf9, 4, 0, 10, 0, 0], subBlocks(SECRET));
    const result = await strip(gifWith([gce]));
    expect(holds(result.bytes)).toBe(false);
  });

  it('carries credits with control characters and long text in the form they read back', async () => {
    const rights = `(c) Jane\u0001\u200b ${'€'.repeat(400)} &#x110000; &#99999999999;`;
    const xmp = seg(
      0xe1,
      `http://ns.adobe.com/xap/1.0/\0<dc:rights><rdf:Alt><rdf:li>${rights}</rdf:li></rdf:Alt></dc:rights>`,
    );
    const result = await strip(jpegWith([xmp]), { keep: ['copyright'] });
    expect(result.kept.map((part) => part.name)).toEqual(['Copyright']);
  });

  it('inflates at most a bounded total of PNG text when inspecting many compressed chunks', async () => {
    const { deflateSync } = await import('node:zlib');
    const { chunk, pngWith } = await import('../helpers.js');
    const bomb = chunk(
      'zTXt',
      Buffer.concat([Buffer.from('Comment\0\0'), deflateSync(Buffer.alloc(1024 * 1024))]),
    );
    const started = performance.now();
    const report = await inspect(pngWith(Array.from({ length: 40 }, () => bomb)));
    expect(report.findings.filter((f) => f.code === 'TEXT_OVER_LIMIT').length).toBeGreaterThan(25);
    expect(performance.now() - started).toBeLessThan(5000);
  });
});
