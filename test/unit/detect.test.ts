import { describe, expect, it } from 'vitest';
import { detectFormat } from '../../src/index.js';
import { gifWith, jpegWith, pngWith, vp8l, webpFile } from '../helpers.js';

describe('detection by bytes', () => {
  it.each([
    ['jpeg', jpegWith()],
    ['png', pngWith()],
    ['webp', webpFile([vp8l()])],
    ['gif', gifWith()],
  ])('recognises %s', async (format, input) => {
    await expect(detectFormat(input)).resolves.toBe(format);
  });

  it.each([
    [
      'SVG',
      '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
      'ERR_FORMAT_NOT_ALLOWED',
      /SVG/,
    ],
    ['HTML', '<!DOCTYPE html><html><body>hi</body></html>', 'ERR_FORMAT_NOT_ALLOWED', /HTML/],
    [
      'an MVG drawing script',
      'push graphic-context\nviewbox 0 0 640 480\nfill \'url(https://example.invalid/x.jpg"|ls "-la)\'\npop graphic-context\n',
      'ERR_FORMAT_NOT_ALLOWED',
      /MVG/,
    ],
    ['PostScript', '%!PS-Adobe-3.0\n', 'ERR_FORMAT_NOT_ALLOWED', /PostScript/],
    ['a PDF', '%PDF-1.7\n1 0 obj\n<<>>\nendobj\n', 'ERR_FORMAT_NOT_ALLOWED', /PDF/],
    [
      'a ZIP archive',
      Buffer.concat([
        Buffer.from('PK\x03\x04\x14\x00\x00\x00\x08\x00', 'latin1'),
        Buffer.alloc(40),
      ]),
      'ERR_FORMAT_NOT_ALLOWED',
      /ZIP/,
    ],
    [
      'a TIFF',
      Buffer.concat([Buffer.from('II*\0\x08\0\0\0', 'latin1'), Buffer.alloc(64)]),
      'ERR_UNSUPPORTED_FORMAT',
      /TIFF is not supported yet/,
    ],
    [
      'a HEIC',
      Buffer.concat([
        Buffer.from('\0\0\0\x18ftypheic\0\0\0\0mif1heic', 'latin1'),
        Buffer.alloc(64),
      ]),
      'ERR_UNSUPPORTED_FORMAT',
      /HEIC is not supported yet/,
    ],
    [
      'an AVIF',
      Buffer.concat([
        Buffer.from('\0\0\0\x1cftypavif\0\0\0\0avifmif1miaf', 'latin1'),
        Buffer.alloc(64),
      ]),
      'ERR_UNSUPPORTED_FORMAT',
      /AVIF is not supported yet/,
    ],
    [
      'random bytes',
      Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]),
      'ERR_FORMAT_NOT_ALLOWED',
      /not a recognised image/,
    ],
    ['nothing', Buffer.alloc(0), 'ERR_EMPTY_INPUT', /empty/],
  ])('refuses %s by name', async (_name, input, code, message) => {
    const error = await detectFormat(typeof input === 'string' ? Buffer.from(input) : input).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code });
    expect((error as Error).message).toMatch(message);
  });
});
