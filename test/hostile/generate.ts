/**
 * Hostile inputs, generated deterministically from seeds (real corpus files and crafted ones):
 * truncation at every structural boundary, byte flips, length fields that lie, huge counts and
 * dimensions, duplicated and reordered parts, nested and bomb compression.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import { sniffImage } from '../../src/detect.js';
import { handlerFor } from '../../src/formats/index.js';
import type { Part } from '../../src/formats/types.js';
import {
  CORPUS,
  GIF_IMAGE,
  chunk,
  gifWith,
  jpegWith,
  pngWith,
  riff,
  seg,
  subBlocks,
  tiff,
  vp8l,
  vp8x,
  webpFile,
} from '../helpers.js';

export interface HostileInput {
  /** What was done to which seed, to name a failure. */
  readonly name: string;
  readonly bytes: Uint8Array;
}

/** A small deterministic generator (mulberry32). */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const seedsPerFormat = 8;
const maxSeedBytes = 60 * 1024;

function corpusSeeds(): { name: string; bytes: Buffer }[] {
  const files = readdirSync(CORPUS, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort();
  const picked = new Map<string, { name: string; bytes: Buffer }[]>();
  for (const file of files) {
    const bytes = readFileSync(file);
    if (bytes.length > maxSeedBytes) continue;
    const format = sniffImage(bytes);
    if (format === null) continue;
    try {
      handlerFor(format).parse(bytes);
    } catch {
      continue; // Seeds are files that parse; the broken ones of the corpus are tested as they are.
    }
    const list = picked.get(format) ?? [];
    if (list.length < seedsPerFormat) list.push({ name: path.relative(CORPUS, file), bytes });
    picked.set(format, list);
  }
  return [...picked.values()].flat();
}

function craftedSeeds(): { name: string; bytes: Buffer }[] {
  const exif = Buffer.concat([
    Buffer.from('Exif\0\0'),
    tiff([
      { tag: 0x0112, value: 6 },
      { tag: 0x013b, value: 'Jane Example' },
    ]),
  ]);
  const profile = Buffer.alloc(600, 3);
  return [
    {
      name: 'crafted JPEG',
      bytes: jpegWith([
        seg(0xe1, exif),
        seg(0xfe, 'comment'),
        seg(0xe2, 'ICC_PROFILE\0\x01\x01' + 'p'.repeat(200)),
      ]),
    },
    {
      name: 'crafted PNG',
      bytes: pngWith([
        chunk('tEXt', 'Author\0Jane'),
        chunk(
          'zTXt',
          Buffer.concat([Buffer.from('Comment\0\0'), deflateSync('hello '.repeat(50))]),
        ),
        chunk('iCCP', Buffer.concat([Buffer.from('name\0\0'), deflateSync(profile)])),
        chunk('eXIf', exif.subarray(6)),
      ]),
    },
    {
      name: 'crafted WebP',
      bytes: webpFile([
        vp8x(0x2c, 2, 2),
        riff('ICCP', profile),
        vp8l(),
        riff('EXIF', exif),
        riff('XMP ', '<x/>'),
      ]),
    },
    {
      name: 'crafted GIF',
      bytes: gifWith([
        Buffer.concat([Buffer.of(0x21, 0xfe), subBlocks('a comment')]),
        Buffer.concat([
          Buffer.of(0x21, 0xff, 11),
          Buffer.from('NETSCAPE2.0'),
          Buffer.of(3, 1, 0, 0, 0),
        ]),
        Buffer.concat([Buffer.of(0x21, 0xf9, 4, 0, 0, 0, 0, 0)]),
        GIF_IMAGE,
      ]),
    },
  ];
}

function partsOf(bytes: Uint8Array): readonly Part[] {
  const format = sniffImage(bytes);
  if (format === null) return [];
  return handlerFor(format).parse(bytes).parts;
}

function copy(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes);
}

/** Every part boundary, and the bytes just inside each part's header. */
function truncations(name: string, bytes: Uint8Array, parts: readonly Part[]): HostileInput[] {
  const cuts = new Set<number>();
  for (const part of parts) {
    for (const delta of [0, 1, 2, 3, 4, 5, 8, 9]) cuts.add(part.start + delta);
    cuts.add(part.end - 1);
  }
  return [...cuts]
    .filter((cut) => cut > 0 && cut < bytes.length)
    .sort((a, b) => a - b)
    .slice(0, 40)
    .map((cut) => ({ name: `${name}: cut at ${cut}`, bytes: bytes.subarray(0, cut) }));
}

function flips(name: string, bytes: Uint8Array, next: () => number, count: number): HostileInput[] {
  const out: HostileInput[] = [];
  for (let i = 0; i < count; i++) {
    const file = copy(bytes);
    const n = 1 + Math.floor(next() * 8);
    // Most flips land in the first kilobytes, where the structure is.
    const span = next() < 0.7 ? Math.min(file.length, 2048) : file.length;
    for (let k = 0; k < n; k++) file[Math.floor(next() * span)] = Math.floor(next() * 256);
    out.push({ name: `${name}: ${n} bytes flipped (#${i})`, bytes: file });
  }
  return out;
}

/** Overwrites the length field of parts with lies: 0, 1, one off, the largest values. */
function lyingLengths(name: string, bytes: Uint8Array, parts: readonly Part[]): HostileInput[] {
  const format = sniffImage(bytes);
  const out: HostileInput[] = [];
  for (const part of parts.slice(0, 12)) {
    const field =
      format === 'jpeg'
        ? { at: part.start + 2, size: 2, le: false }
        : format === 'png'
          ? { at: part.start, size: 4, le: false }
          : format === 'webp'
            ? { at: part.start + 4, size: 4, le: true }
            : null;
    if (field === null || field.at + field.size > bytes.length) continue;
    const current =
      field.size === 2
        ? Buffer.from(bytes).readUInt16BE(field.at)
        : field.le
          ? Buffer.from(bytes).readUInt32LE(field.at)
          : Buffer.from(bytes).readUInt32BE(field.at);
    const max = field.size === 2 ? 0xffff : 0xffffffff;
    for (const lie of [0, 1, current + 1, current - 1, max, max >>> 1]) {
      if (lie < 0 || lie === current) continue;
      const file = copy(bytes);
      if (field.size === 2) file.writeUInt16BE(lie & 0xffff, field.at);
      else if (field.le) file.writeUInt32LE(lie >>> 0, field.at);
      else file.writeUInt32BE(lie >>> 0, field.at);
      out.push({ name: `${name}: ${part.name} length ${current} -> ${lie}`, bytes: file });
    }
  }
  return out;
}

/** Duplicates, drops and swaps parts. */
function reorderings(
  name: string,
  bytes: Uint8Array,
  parts: readonly Part[],
  next: () => number,
): HostileInput[] {
  const out: HostileInput[] = [];
  const pieces = parts.map((part) => bytes.subarray(part.start, part.end));
  const tail = bytes.subarray(parts.at(-1)?.end ?? bytes.length);
  const head = bytes.subarray(0, parts[0]?.start ?? 0);
  const build = (list: readonly Uint8Array[]): Buffer => Buffer.concat([head, ...list, tail]);
  for (let i = 0; i < Math.min(parts.length, 8); i++) {
    const a = Math.floor(next() * parts.length);
    const b = Math.floor(next() * parts.length);
    const dup = [...pieces];
    dup.splice(a, 0, pieces[a] ?? new Uint8Array(0));
    out.push({ name: `${name}: ${parts[a]?.name ?? '?'} twice`, bytes: build(dup) });
    const swapped = [...pieces];
    [swapped[a], swapped[b]] = [swapped[b] ?? new Uint8Array(0), swapped[a] ?? new Uint8Array(0)];
    out.push({
      name: `${name}: ${parts[a]?.name ?? '?'} and ${parts[b]?.name ?? '?'} swapped`,
      bytes: build(swapped),
    });
    const dropped = pieces.filter((_, k) => k !== a);
    out.push({ name: `${name}: ${parts[a]?.name ?? '?'} dropped`, bytes: build(dropped) });
  }
  return out;
}

/** Headers rewritten to claim huge dimensions and counts. */
function hugeClaims(name: string, bytes: Uint8Array, parts: readonly Part[]): HostileInput[] {
  const format = sniffImage(bytes);
  const out: HostileInput[] = [];
  const claim = (what: string, edit: (file: Buffer) => void): void => {
    const file = copy(bytes);
    edit(file);
    out.push({ name: `${name}: ${what}`, bytes: file });
  };
  for (const value of [0, 1, 0x7fff, 0xffff]) {
    if (format === 'jpeg') {
      const sof = parts.find((part) => part.name.startsWith('SOF'));
      if (sof === undefined) continue;
      claim(`frame ${value} × ${value}`, (f) => {
        f.writeUInt16BE(value, sof.start + 5);
        f.writeUInt16BE(value, sof.start + 7);
      });
      claim(`frame with ${value & 0xff} components`, (f) => {
        f[sof.start + 9] = value & 0xff;
      });
    } else if (format === 'png') {
      claim(`IHDR ${value * 0x10001} wide`, (f) => {
        f.writeUInt32BE((value * 0x10001) >>> 0, 16);
        f.writeUInt32BE((value * 0x10001) >>> 0, 20);
      });
    } else if (format === 'gif') {
      claim(`screen ${value} × ${value} with a huge colour table`, (f) => {
        f.writeUInt16LE(value, 6);
        f.writeUInt16LE(value, 8);
        f[10] = 0xf7;
      });
    } else if (format === 'webp') {
      const x = parts.find((part) => part.name === 'VP8X');
      if (x === undefined) continue;
      claim(`canvas ${value * 0x100} wide`, (f) => {
        f.writeUIntLE((value * 0x100) & 0xffffff, x.start + 12, 3);
        f.writeUIntLE((value * 0x100) & 0xffffff, x.start + 15, 3);
      });
    }
  }
  return out;
}

/** Compression inside compression, and bombs, in PNG text and profiles. */
function compressionAttacks(): HostileInput[] {
  const zeros = Buffer.alloc(64 * 1024 * 1024);
  const bomb = deflateSync(zeros, { level: 9 });
  const nested = deflateSync(deflateSync(deflateSync(Buffer.alloc(8 * 1024 * 1024))));
  const out: HostileInput[] = [];
  const variants: [string, Buffer][] = [
    ['zTXt bomb', chunk('zTXt', Buffer.concat([Buffer.from('Comment\0\0'), bomb]))],
    ['iTXt bomb', chunk('iTXt', Buffer.concat([Buffer.from('Comment\0\x01\0\0\0'), bomb]))],
    ['iCCP bomb', chunk('iCCP', Buffer.concat([Buffer.from('icc\0\0'), bomb]))],
    ['nested zTXt', chunk('zTXt', Buffer.concat([Buffer.from('Comment\0\0'), nested]))],
    [
      'XMP iTXt bomb',
      chunk('iTXt', Buffer.concat([Buffer.from('XML:com.adobe.xmp\0\x01\0\0\0'), bomb])),
    ],
    [
      'corrupt zTXt',
      chunk('zTXt', Buffer.concat([Buffer.from('Comment\0\0'), bomb.subarray(0, 100)])),
    ],
  ];
  for (const [name, attack] of variants) {
    out.push({ name: `PNG with ${name}`, bytes: pngWith([attack]) });
    out.push({
      name: `PNG with ${name} ×20`,
      bytes: pngWith(Array.from({ length: 20 }, () => attack)),
    });
  }
  return out;
}

/** All the hostile inputs, in a fixed order. */
export function hostileInputs(): HostileInput[] {
  const inputs: HostileInput[] = [...compressionAttacks()];
  for (const [index, seed] of [...craftedSeeds(), ...corpusSeeds()].entries()) {
    const next = random(0x5eed + index);
    const parts = partsOf(seed.bytes);
    inputs.push({ name: `${seed.name}: as it is`, bytes: seed.bytes });
    inputs.push(...truncations(seed.name, seed.bytes, parts));
    inputs.push(...flips(seed.name, seed.bytes, next, 20));
    inputs.push(...lyingLengths(seed.name, seed.bytes, parts));
    inputs.push(...reorderings(seed.name, seed.bytes, parts, next));
    inputs.push(...hugeClaims(seed.name, seed.bytes, parts));
  }
  return inputs;
}
