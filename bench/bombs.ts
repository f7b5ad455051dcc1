/**
 * Bombs: inputs whose headers or compressed data promise far more than their size (pixels,
 * frames, inflated text). Each runs in a fresh process that loads the library, cleans a small
 * ordinary photo once (so that the figures are those of a warm service, not of start-up), then
 * hands the bomb to `strip` and to `inspect`. Printed: the time each took to refuse or clean it,
 * measured in-process, and the peak memory above the same process before the bomb.
 *
 * `npm run bench:bombs` (builds first). Targets: under 50 ms each, under 100 MB above idle.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32, deflateSync } from 'node:zlib';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CACHE = path.join(ROOT, 'bench', '.cache', 'bombs');
const CASES = path.resolve(ROOT, '..', 'shared', 'cases', 'inputs');
const LIBRARY = path.join(ROOT, 'dist', 'index.js');
const WARM_UP = path.join(CASES, '02-orientation-rotate90.jpg');

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0);
  return Buffer.concat([head, data, crc]);
}

function png(width: number, height: number, extra: Buffer[] = []): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  return Buffer.concat([
    Buffer.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a),
    chunk('IHDR', ihdr),
    ...extra,
    chunk('IDAT', deflateSync(Buffer.alloc(4 * 1024 * 1024))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function gif(width: number, height: number, frames: number): Buffer {
  const image = Buffer.of(0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 2, 0x44, 0x01, 0);
  const header = Buffer.concat([
    Buffer.from('GIF89a', 'latin1'),
    Buffer.of(width & 0xff, width >> 8, height & 0xff, height >> 8, 0x80, 0, 0),
    Buffer.alloc(6),
  ]);
  return Buffer.concat([header, ...Array.from({ length: frames }, () => image), Buffer.of(0x3b)]);
}

function bombs(): [string, string][] {
  mkdirSync(CACHE, { recursive: true });
  const textBomb = deflateSync(Buffer.alloc(128 * 1024 * 1024), { level: 9 });
  const actl = Buffer.alloc(8);
  actl.writeUInt32BE(1_000_000, 0);
  const made: [string, Buffer][] = [
    ['PNG header of 100000 × 100000 pixels', png(100_000, 100_000)],
    ['GIF screen of 65535 × 65535 pixels', gif(65535, 65535, 1)],
    ['GIF of 100000 frames', gif(10, 10, 100_000)],
    ['APNG announcing 1000000 frames', png(10, 10, [chunk('acTL', actl)])],
    [
      'PNG with 20 zTXt chunks of 128 MiB each',
      png(
        10,
        10,
        Array.from({ length: 20 }, () =>
          chunk('zTXt', Buffer.concat([Buffer.from('Comment\0\0', 'latin1'), textBomb])),
        ),
      ),
    ],
    [
      'PNG with an iCCP profile of 128 MiB',
      png(10, 10, [chunk('iCCP', Buffer.concat([Buffer.from('icc\0\0', 'latin1'), textBomb]))]),
    ],
    [
      'PNG of 200000 text chunks',
      png(
        10,
        10,
        Array.from({ length: 200_000 }, () => chunk('tEXt', Buffer.from('a\0b', 'latin1'))),
      ),
    ],
  ];
  const list: [string, string][] = [
    ['case 12: JPEG header of 64250 × 64250 pixels', path.join(CASES, '12-lottapixel.jpg')],
    ['case 11: zTXt of 130 KB inflating to 128 MiB', path.join(CASES, '11-png-ztxt-bomb.png')],
  ];
  for (const [name, bytes] of made) {
    const file = path.join(CACHE, `${name.replace(/[^a-z0-9]+/gi, '-')}.bin`);
    writeFileSync(file, bytes);
    list.push([name, file]);
  }
  return list;
}

/** The child: warm up, then measure one bomb. Prints one JSON line. */
const CHILD = `
const { strip, inspect } = await import(process.argv[1]);
const { readFileSync } = await import('node:fs');
await strip(readFileSync(process.argv[2]));
const bomb = readFileSync(process.argv[3]);
globalThis.gc?.();
const idle = process.resourceUsage().maxRSS;
const outcome = async (run) => {
  const start = performance.now();
  try { await run(); return { ms: performance.now() - start, result: 'cleaned' }; }
  catch (error) { return { ms: performance.now() - start, result: error.code ?? String(error) }; }
};
const s = await outcome(() => strip(bomb));
const i = await outcome(() => inspect(bomb));
const peak = process.resourceUsage().maxRSS;
console.log(JSON.stringify({ strip: s, inspect: i, aboveIdleKiB: peak - idle, bytes: bomb.length }));
`;

console.log('| bomb | file size | strip | inspect | peak memory above idle |');
console.log('|---|---|---|---|---|');
let worstMs = 0;
let worstMb = 0;
for (const [name, file] of bombs()) {
  const run = spawnSync(
    process.execPath,
    ['--expose-gc', '--input-type=module', '-e', CHILD, LIBRARY, WARM_UP, file],
    { encoding: 'utf8' },
  );
  const line = run.stdout.trim().split('\n').at(-1) ?? '';
  if (run.status !== 0 || line === '') {
    console.log(`| ${name} | - | failed: ${run.stderr.slice(0, 200)} | | |`);
    continue;
  }
  const r = JSON.parse(line) as {
    strip: { ms: number; result: string };
    inspect: { ms: number; result: string };
    aboveIdleKiB: number;
    bytes: number;
  };
  const mb = (r.aboveIdleKiB * 1024) / 1e6;
  worstMs = Math.max(worstMs, r.strip.ms, r.inspect.ms);
  worstMb = Math.max(worstMb, mb);
  const size =
    r.bytes >= 1e6 ? `${(r.bytes / 1e6).toFixed(1)} MB` : `${(r.bytes / 1e3).toFixed(0)} KB`;
  console.log(
    `| ${name} | ${size} | ${r.strip.result} in ${r.strip.ms.toFixed(1)} ms | ${r.inspect.result} in ${r.inspect.ms.toFixed(1)} ms | ${mb.toFixed(1)} MB |`,
  );
}
console.log(
  `\nslowest: ${worstMs.toFixed(1)} ms (target 50); most memory: ${worstMb.toFixed(1)} MB above idle (target 100)`,
);
