import { describe, expect, it } from 'vitest';
import {
  isScrubbed,
  isStandardProfileName,
  parseIcc,
  readText,
  scrubIcc,
} from '../../src/metadata/icc.js';
import type { ParsedIcc } from '../../src/metadata/icc.js';

/** A v2 profile with a header and the given tags (signature, data). */
function profile(
  tags: readonly [string, Buffer][],
  header: (b: Buffer) => void = () => undefined,
): Buffer {
  const table = Buffer.alloc(4 + tags.length * 12);
  table.writeUInt32BE(tags.length, 0);
  let offset = 128 + table.length;
  const datas: Buffer[] = [];
  tags.forEach(([sig, data], i) => {
    table.write(sig, 4 + i * 12, 'latin1');
    table.writeUInt32BE(offset, 8 + i * 12);
    table.writeUInt32BE(data.length, 12 + i * 12);
    const padded = Buffer.concat([data, Buffer.alloc((4 - (data.length % 4)) % 4)]);
    datas.push(padded);
    offset += padded.length;
  });
  const head = Buffer.alloc(128);
  head.writeUInt32BE(offset, 0);
  head.write('lcms', 4, 'latin1');
  head[8] = 2;
  head.write('mntrRGB XYZ ', 12, 'latin1');
  head.writeUInt16BE(2021, 24);
  head.write('acsp', 36, 'latin1');
  head.write('APPL', 48, 'latin1');
  head.write('MBP1', 52, 'latin1');
  head.write('jane', 80, 'latin1');
  head.fill(0xab, 84, 100);
  header(head);
  return Buffer.concat([head, table, ...datas]);
}

const desc = (text: string): Buffer => {
  const out = Buffer.alloc(12 + text.length + 1 + 8 + 3 + 67);
  out.write('desc', 0, 'latin1');
  out.writeUInt32BE(text.length + 1, 8);
  out.write(text, 12, 'latin1');
  return out;
};
const textTag = (text: string): Buffer =>
  Buffer.concat([Buffer.from('text\0\0\0\0', 'latin1'), Buffer.from(`${text}\0`, 'latin1')]);
const xyz = Buffer.concat([Buffer.from('XYZ \0\0\0\0', 'latin1'), Buffer.alloc(12, 3)]);

function scrubbed(icc: ParsedIcc): Buffer {
  const result = scrubIcc(icc);
  if (typeof result === 'string') throw new Error(result);
  return Buffer.from(result);
}

function parsed(bytes: Buffer): ParsedIcc {
  const result = parseIcc(bytes);
  if (typeof result === 'string') throw new Error(result);
  return result;
}

describe('ICC scrub', () => {
  const personal = profile([
    ['desc', desc("Jane's MacBook Pro")],
    ['cprt', textTag('Copyright Jane Example')],
    ['wtpt', xyz],
    ['rXYZ', xyz],
    ['meta', Buffer.from('dict jane-laptop serial 1234', 'latin1')],
    ['mmod', Buffer.from('mmod private model data', 'latin1')],
    ['calt', Buffer.from('dtim 2021 03 04', 'latin1')],
  ]);

  it('blanks text, zeroes identifying header fields and drops private tags', () => {
    const clean = scrubbed(parsed(personal));
    for (const secret of ['Jane', 'jane', 'APPL', 'MBP1', 'meta', 'mmod', 'calt', 'dtim']) {
      expect(clean.includes(Buffer.from(secret)), secret).toBe(false);
    }
    expect(clean.subarray(24, 36).every((b) => b === 0)).toBe(true);
    expect(clean.subarray(84, 100).every((b) => b === 0)).toBe(true);
    const result = parsed(clean);
    expect(result.tags.map((tag) => tag.signature)).toEqual(['desc', 'cprt', 'wtpt', 'rXYZ']);
    expect(result.description).toBe('');
    const wtpt = result.tags.find((tag) => tag.signature === 'wtpt');
    expect(
      wtpt && Buffer.from(clean.subarray(wtpt.offset, wtpt.offset + wtpt.size)).equals(xyz),
    ).toBe(true);
  });

  it('is canonical: a scrubbed profile scrubs to the same bytes', () => {
    const once = scrubbed(parsed(personal));
    expect(isScrubbed(once)).toBe(true);
    expect(isScrubbed(personal)).toBe(false);
  });

  it('rewrites the description of a standard profile from its name and blanks the other text', () => {
    const srgb = profile([
      ['desc', desc('sRGB IEC61966-2.1\0Jane Example')],
      ['cprt', textTag('Copyright Jane Example')],
      ['dmnd', desc('Jane laptop maker')],
      ['wtpt', Buffer.concat([xyz, Buffer.from('Jane Example slack')])],
    ]);
    const clean = scrubbed(parsed(srgb));
    expect(clean.includes(Buffer.from('Jane'))).toBe(false);
    const result = parsed(clean);
    expect(result.description).toBe('sRGB IEC61966-2.1');
    const cprt = result.tags.find((tag) => tag.signature === 'cprt');
    expect(cprt && readText(result.bytes, cprt)).toBe('');
    expect(result.tags.find((tag) => tag.signature === 'wtpt')?.size).toBe(20);
  });

  it('keeps only the fields of the header that define colour', () => {
    const noisy = profile([['wtpt', xyz]], (head) => {
      head.write('SECR', 4, 'latin1');
      head.write('ET-1', 40, 'latin1');
      head.fill(0x41, 100, 128);
    });
    const clean = scrubbed(parsed(noisy));
    expect(clean.subarray(0, 128).includes(Buffer.from('SECR'))).toBe(false);
    expect(clean.subarray(100, 128).every((b) => b === 0)).toBe(true);
    expect(clean.subarray(12, 24).toString('latin1')).toBe('mntrRGB XYZ ');
  });

  it('refuses to scrub a profile whose tags partly overlap', () => {
    const base = profile([
      ['rTRC', Buffer.alloc(64)],
      ['gTRC', Buffer.alloc(64)],
    ]);
    base.writeUInt32BE(base.readUInt32BE(136) + 4, 148); // gTRC starts inside rTRC
    expect(scrubIcc(parsed(base))).toMatch(/overlap/);
  });

  it.each([
    ['sRGB IEC61966-2.1', true],
    ['Display P3', true],
    ['Adobe RGB (1998)', true],
    ['Generic Gray Gamma 2.2 Profile', true],
    ['ProPhoto RGB', true],
    ["Jane's MacBook Pro", false],
    ['DELL U2720Q calibrated 2021-03-04', false],
    ['', false],
  ])('treats "%s" as standard: %s', (name, standard) => {
    expect(isStandardProfileName(name)).toBe(standard);
  });

  it.each([
    [
      'a declared size that disagrees',
      (b: Buffer) => {
        b.writeUInt32BE(b.length + 4, 0);
      },
    ],
    [
      'a missing acsp signature',
      (b: Buffer) => {
        b.write('xxxx', 36, 'latin1');
      },
    ],
    [
      'a tag that points past the end',
      (b: Buffer) => {
        b.writeUInt32BE(0xffff, 136);
      },
    ],
    [
      'a tag count past the table',
      (b: Buffer) => {
        b.writeUInt32BE(10_000, 128);
      },
    ],
  ])('rejects a profile with %s', (_name, damage) => {
    const bad = Buffer.from(personal);
    damage(bad);
    expect(typeof parseIcc(bad)).toBe('string');
  });
});
