import { describe, expect, it } from 'vitest';
import { assemble } from '../../src/assemble.js';
import { findMarker, isMarkerCode, scannerBuffer } from '../../src/formats/marker-scan.js';

/** The marker search written the plain way, as the reference. */
function reference(bytes: Uint8Array, from: number): number {
  for (let i = from; i + 1 < bytes.length; i++) {
    if (bytes[i] === 0xff && isMarkerCode(bytes[i + 1] ?? 0)) return i;
  }
  return -1;
}

/** Deterministic bytes dense in FF, stuffed zeros, restart markers and real markers. */
function entropyLike(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    const r = x >>> 24;
    out[i] = r < 40 ? 0xff : r < 60 ? 0x00 : r < 66 ? 0xd0 + (r % 8) : r < 68 ? 0xd9 : r;
  }
  return out;
}

describe('JPEG marker search', () => {
  it('finds the same marker in scanner memory as in ordinary memory, at every offset', () => {
    for (const [length, seed] of [
      [1, 1],
      [2, 2],
      [15, 3],
      [16, 4],
      [17, 5],
      [33, 6],
      [4099, 7],
    ] as const) {
      const plain = entropyLike(length, seed);
      const inScanner = scannerBuffer(length);
      plain.copy(inScanner);
      for (let from = 0; from <= length; from++) {
        const expected = reference(plain, from);
        expect(findMarker(plain, from)).toBe(expected);
        expect(findMarker(inScanner, from)).toBe(expected);
      }
    }
  });

  it('ignores stuffed zeros, restart markers, fill bytes and an FF in the last byte', () => {
    const bytes = Buffer.from([0x12, 0xff, 0x00, 0xff, 0xd3, 0xff, 0xff, 0x01, 0xff]);
    const inScanner = scannerBuffer(bytes.length);
    bytes.copy(inScanner);
    expect(findMarker(bytes, 0)).toBe(-1);
    expect(findMarker(inScanner, 0)).toBe(-1);
    const withEoi = Buffer.concat([bytes, Buffer.from([0xd9])]);
    const eoiInScanner = scannerBuffer(withEoi.length);
    withEoi.copy(eoiInScanner);
    expect(findMarker(withEoi, 0)).toBe(8);
    expect(findMarker(eoiInScanner, 0)).toBe(8);
  });
});

describe('assembling a clean copy', () => {
  it('copies into new memory by default and leaves the input alone', () => {
    const input = Buffer.from('HEADxxxxIMAGEDATAtail');
    const result = assemble([Buffer.from('NEW'), input.subarray(8, 17)], input);
    expect(Buffer.from(result.bytes).toString()).toBe('NEWIMAGEDATA');
    expect(result.unchanged).toBeNull();
    expect(input.toString()).toBe('HEADxxxxIMAGEDATAtail');
  });

  it('lays the copy out around the image data in place when given room', () => {
    const memory = Buffer.from('....HEADxxxxIMAGEDATAtail....');
    const input = memory.subarray(4, memory.length - 4);
    const run = input.subarray(8, 17);
    const result = assemble(
      [input.subarray(0, 4), Buffer.from('NEW'), run, Buffer.from('!')],
      input,
      { before: 4, after: 4 },
    );
    expect(Buffer.from(result.bytes).toString()).toBe('HEADNEWIMAGEDATA!');
    expect(result.bytes.buffer).toBe(memory.buffer);
    expect(result.unchanged).toEqual({ start: 7, end: 16 });
  });

  it('falls back to a copy when the new bytes do not fit around the image data', () => {
    const input = Buffer.from('xIMAGEDATA');
    const result = assemble([Buffer.alloc(40, 0x41), input.subarray(1)], input, {
      before: 0,
      after: 0,
    });
    expect(result.unchanged).toBeNull();
    expect(result.bytes.length).toBe(49);
  });
});
