/** Shared test helpers: paths, the CLI, ExifTool and Pillow as independent judges, byte builders. */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const SHARED = path.resolve(ROOT, '..', 'shared');
export const CORPUS = path.join(SHARED, 'corpus');
export const CASES = path.join(SHARED, 'cases');
export const CLI = path.join(ROOT, 'dist', 'bin', 'main.js');

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
  stdoutBytes: Buffer;
}

/** Runs the built CLI. */
export function runCli(
  args: readonly string[],
  options: { input?: Uint8Array; cwd?: string; umask?: number; env?: NodeJS.ProcessEnv } = {},
): CliResult {
  const command =
    options.umask === undefined
      ? { file: process.execPath, args: [CLI, ...args] }
      : {
          file: 'sh',
          args: [
            '-c',
            `umask ${options.umask.toString(8)} && exec "$0" "$@"`,
            process.execPath,
            CLI,
            ...args,
          ],
        };
  const result = spawnSync(command.file, command.args, {
    cwd: options.cwd ?? ROOT,
    input: options.input,
    maxBuffer: 256 * 1024 * 1024,
    ...(options.env === undefined ? {} : { env: { ...process.env, ...options.env } }),
  });
  return {
    status: result.status,
    stdout: result.stdout.toString('utf8'),
    stderr: result.stderr.toString('utf8'),
    stdoutBytes: result.stdout,
  };
}

/** Every file of the corpus, in a stable order, without its licences and hidden files. */
export function corpusFiles(dir: string = CORPUS): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const full = path.join(dir, name);
      if (name.startsWith('.') || name === 'LICENSES') return [];
      return statSync(full).isDirectory() ? corpusFiles(full) : [full];
    });
}

export type ExifToolRecord = Record<string, unknown> & { SourceFile: string };

/** ExifTool's view of files or folders (recursive), grouped by family-1 group. */
export function exiftool(
  paths: readonly string[],
  extra: readonly string[] = [],
): ExifToolRecord[] {
  const result = spawnSync(
    'exiftool',
    ['-j', '-a', '-u', '-G1', '-r', '-q', '-q', ...extra, ...paths],
    {
      maxBuffer: 512 * 1024 * 1024,
    },
  );
  const text = result.stdout.toString('utf8').trim();
  return text === '' ? [] : (JSON.parse(text) as ExifToolRecord[]);
}

export interface PixelVerdict {
  input: string;
  loads: boolean;
  equal: boolean | null;
  upright: boolean | null;
  error?: string;
}

/** Pillow's verdict on pixel identity and orientation for input/output pairs. */
export function pillowJudge(
  pairs: readonly { input: string; output: string | null }[],
): PixelVerdict[] {
  const result = spawnSync('/usr/bin/python3', [path.join(ROOT, 'test', 'judge', 'pixels.py')], {
    input: JSON.stringify(pairs),
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0) throw new Error(`pixel judge failed: ${result.stderr.toString()}`);
  return JSON.parse(result.stdout.toString('utf8')) as PixelVerdict[];
}

// ---------------------------------------------------------------- byte builders

export const bytes = (...parts: (Uint8Array | string | number[])[]): Buffer =>
  Buffer.concat(
    parts.map((part) =>
      typeof part === 'string' ? Buffer.from(part, 'latin1') : Buffer.from(part as Uint8Array),
    ),
  );

/** A JPEG segment: FF, marker, 16-bit length, payload. */
export function seg(marker: number, payload: Uint8Array | string): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload, 'latin1') : Buffer.from(payload);
  const head = Buffer.alloc(4);
  head[0] = 0xff;
  head[1] = marker;
  head.writeUInt16BE(data.length + 2, 2);
  return Buffer.concat([head, data]);
}

/** A structurally complete baseline JPEG (8×8, one component) with extra segments after SOI. */
export function jpegWith(
  extra: readonly Uint8Array[] = [],
  after: Uint8Array = Buffer.alloc(0),
): Buffer {
  const dqt = seg(0xdb, Buffer.concat([Buffer.of(0), Buffer.alloc(64, 1)]));
  const sof = seg(0xc0, Buffer.of(8, 0, 8, 0, 8, 1, 1, 0x11, 0));
  const dht = seg(
    0xc4,
    Buffer.concat([Buffer.of(0x00), Buffer.of(1), Buffer.alloc(15), Buffer.of(0)]),
  );
  const sos = seg(0xda, Buffer.of(1, 1, 0, 0, 63, 0));
  const scan = Buffer.of(0x12, 0xff, 0x00, 0x34, 0xff, 0xd0, 0x56);
  return Buffer.concat([
    Buffer.of(0xff, 0xd8),
    ...extra,
    dqt,
    sof,
    dht,
    sos,
    scan,
    Buffer.of(0xff, 0xd9),
    after,
  ]);
}

/** A PNG chunk with a correct CRC (or a wrong one on request). */
export function chunk(
  type: string,
  data: Uint8Array | string = Buffer.alloc(0),
  badCrc = false,
): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data, 'latin1') : Buffer.from(data);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE((crc32(body, crc32(head.subarray(4))) ^ (badCrc ? 1 : 0)) >>> 0);
  return Buffer.concat([head, body, crc]);
}

export const PNG_SIG = Buffer.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

export function ihdr(width = 1, height = 1): Buffer {
  const data = Buffer.alloc(13);
  data.writeUInt32BE(width, 0);
  data.writeUInt32BE(height, 4);
  data[8] = 8; // bit depth
  data[9] = 0; // greyscale
  return chunk('IHDR', data);
}

/** A PNG: IHDR, the given chunks, one IDAT, IEND, then `after`. */
export function pngWith(
  extra: readonly Uint8Array[] = [],
  after: Uint8Array = Buffer.alloc(0),
  tail: readonly Uint8Array[] = [],
): Buffer {
  const idat = chunk('IDAT', Buffer.of(0x78, 0x9c, 0x63, 0x60, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01));
  return Buffer.concat([PNG_SIG, ihdr(), ...extra, idat, ...tail, chunk('IEND'), after]);
}

/** A RIFF chunk with padding. */
export function riff(fourcc: string, data: Uint8Array | string): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data, 'latin1') : Buffer.from(data);
  const head = Buffer.alloc(8);
  head.write(fourcc, 0, 'latin1');
  head.writeUInt32LE(body.length, 4);
  return Buffer.concat([head, body, body.length % 2 === 1 ? Buffer.of(0) : Buffer.alloc(0)]);
}

export function webpFile(
  chunks: readonly Uint8Array[],
  after: Uint8Array = Buffer.alloc(0),
): Buffer {
  const body = Buffer.concat(chunks.map((c) => Buffer.from(c)));
  const head = Buffer.alloc(12);
  head.write('RIFF', 0, 'latin1');
  head.writeUInt32LE(body.length + 4, 4);
  head.write('WEBP', 8, 'latin1');
  return Buffer.concat([head, body, after]);
}

/** A VP8L bitstream header for a w×h image (not decodable beyond the header). */
export function vp8l(width = 2, height = 2): Buffer {
  const data = Buffer.alloc(6);
  data[0] = 0x2f;
  data.writeUInt32LE(((width - 1) & 0x3fff) | (((height - 1) & 0x3fff) << 14), 1);
  return riff('VP8L', data);
}

export function vp8x(flags: number, width = 2, height = 2): Buffer {
  const data = Buffer.alloc(10);
  data[0] = flags;
  data.writeUIntLE(width - 1, 4, 3);
  data.writeUIntLE(height - 1, 7, 3);
  return riff('VP8X', data);
}

/** GIF sub-blocks for a payload, with the terminator. */
export function subBlocks(payload: Uint8Array | string): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload, 'latin1') : Buffer.from(payload);
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += 255) {
    const piece = data.subarray(i, i + 255);
    out.push(Buffer.of(piece.length), piece);
  }
  return Buffer.concat([...out, Buffer.of(0)]);
}

export const GIF_IMAGE = Buffer.concat([
  Buffer.of(0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0), // image descriptor 1×1, no local table
  Buffer.of(2), // LZW minimum code size
  subBlocks(Buffer.of(0x44, 0x01)),
]);

/** A GIF89a 1×1 with a 2-colour global table, the given blocks, one image, the trailer. */
export function gifWith(
  blocks: readonly Uint8Array[] = [],
  after: Uint8Array = Buffer.alloc(0),
): Buffer {
  const header = Buffer.concat([
    Buffer.from('GIF89a', 'latin1'),
    Buffer.of(1, 0, 1, 0, 0x80, 0, 0),
    Buffer.alloc(6),
  ]);
  return Buffer.concat([header, ...blocks, GIF_IMAGE, Buffer.of(0x3b), after]);
}

/** A minimal big-endian TIFF with the given IFD0 SHORT/ASCII entries. */
export function tiff(entries: readonly { tag: number; value: number | string }[]): Buffer {
  const sorted = [...entries].sort((a, b) => a.tag - b.tag);
  const ifdSize = 2 + sorted.length * 12 + 4;
  const head = Buffer.alloc(8 + ifdSize);
  head.write('MM', 0, 'latin1');
  head.writeUInt16BE(42, 2);
  head.writeUInt32BE(8, 4);
  head.writeUInt16BE(sorted.length, 8);
  const extra: Buffer[] = [];
  let offset = 8 + ifdSize;
  sorted.forEach((entry, i) => {
    const at = 10 + i * 12;
    head.writeUInt16BE(entry.tag, at);
    if (typeof entry.value === 'number') {
      head.writeUInt16BE(3, at + 2);
      head.writeUInt32BE(1, at + 4);
      head.writeUInt16BE(entry.value, at + 8);
    } else {
      const text = Buffer.from(`${entry.value}\0`, 'latin1');
      head.writeUInt16BE(2, at + 2);
      head.writeUInt32BE(text.length, at + 4);
      if (text.length <= 4) text.copy(head, at + 8);
      else {
        head.writeUInt32BE(offset, at + 8);
        extra.push(text);
        offset += text.length;
      }
    }
  });
  return Buffer.concat([head, ...extra]);
}

/** Refusals of a real file that a person would accept: it is broken, or not an image we read. */
export const ACCEPTABLE_REFUSALS: ReadonlySet<string> = new Set([
  'ERR_MALFORMED',
  'ERR_TRUNCATED',
  'ERR_CRC_MISMATCH',
  'ERR_UNSUPPORTED_FORMAT',
  'ERR_FORMAT_NOT_ALLOWED',
  'ERR_EMPTY_INPUT',
]);
