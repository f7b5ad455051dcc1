/**
 * The cases in ../shared/cases reproduce faults people reported against image tools. Each is
 * cleaned through the CLI, judged by its own independent check script, and held to assertions
 * of our own.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { inspect } from '../src/index.js';
import { handlerFor } from '../src/formats/index.js';
import type { Report } from '../src/index.js';
import type { ConvertRecord } from '../src/cli/convert-command.js';
import { CASES, CLI, exiftool, runCli } from './helpers.js';

interface StripJson {
  input: string;
  output: string | null;
  status: string;
  removed: { category: string; name: string; bytes: number }[];
  kept: { category: string; name: string; bytes: number }[];
  verified: boolean;
  error?: { code: string; message: string };
}

const input = (name: string): string => path.join(CASES, 'inputs', name);

function checkScript(
  id: string,
  output: string,
  env: Record<string, string> = {},
): { status: number | null; line: string } {
  const script = readdirSync(path.join(CASES, 'check')).find((f) => f.startsWith(`${id}-`));
  if (script === undefined) throw new Error(`no check script for case ${id}`);
  const result = spawnSync('bash', [path.join(CASES, 'check', script), output], {
    env: { ...process.env, ...env },
  });
  return { status: result.status, line: result.stdout.toString().trim() };
}

/** Runs `pixwarden strip --json` on a case under a parent that reports its peak memory. */
function stripMeasured(name: string): {
  record: StripJson;
  outPath: string;
  rssKiB: number;
  seconds: number;
} {
  const dir = mkdtempSync(path.join(tmpdir(), 'pixwarden-case-'));
  const script =
    'import resource,subprocess,sys,time; t=time.time(); r=subprocess.run(sys.argv[1:], capture_output=True); sys.stdout.write(r.stdout.decode()); sys.stderr.write("%d %f" % (resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, time.time()-t))';
  const run = spawnSync('/usr/bin/python3', [
    '-c',
    script,
    process.execPath,
    CLI,
    'strip',
    input(name),
    '-o',
    dir,
    '--json',
  ]);
  const [rss = '0', seconds = '0'] = run.stderr.toString().trim().split(' ');
  const [record] = JSON.parse(run.stdout.toString()) as StripJson[];
  if (record === undefined) throw new Error(run.stderr.toString());
  return { record, outPath: path.join(dir, name), rssKiB: Number(rss), seconds: Number(seconds) };
}

function stripCase(name: string): { record: StripJson; out: Buffer; outPath: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'pixwarden-case-'));
  const run = runCli(['strip', input(name), '-o', dir, '--json']);
  const [record] = JSON.parse(run.stdout) as StripJson[];
  if (record === undefined) throw new Error(run.stderr);
  const outPath = path.join(dir, name);
  return { record, out: record.output === null ? Buffer.alloc(0) : readFileSync(outPath), outPath };
}

const names = (record: StripJson): string[] => record.removed.map((part) => part.name);
const categories = (report: Report): string[] => report.findings.map((f) => f.category);

const CLEANED: readonly [
  string,
  string,
  (r: StripJson, out: Buffer, outPath: string) => void | Promise<void>,
][] = [
  [
    '01',
    '01-exif-thumb-uncropped.jpg',
    async (r, out, outPath) => {
      expect(
        categories(await inspect(readFileSync(input('01-exif-thumb-uncropped.jpg')))),
      ).toContain('thumbnail');
      expect(out.toString('latin1').split('\xff\xd8\xff').length - 1).toBe(1);
      expect(
        Object.keys(exiftool([outPath])[0] ?? {}).filter((k) => k.startsWith('IFD1:')),
      ).toEqual([]);
      expect(names(r)).toContain('APP1 Exif');
    },
  ],
  [
    '02',
    '02-orientation-rotate90.jpg',
    (r) => {
      expect(r.kept).toContainEqual(
        expect.objectContaining({ category: 'orientation', name: 'Orientation 6' }),
      );
    },
  ],
  [
    '03',
    '03-icc-wide-gamut.jpg',
    async (r, out) => {
      expect(r.kept).toContainEqual(
        expect.objectContaining({ category: 'colour', name: 'ICC profile (scrubbed)' }),
      );
      const report = await inspect(out);
      expect(report.findings.map((f) => f.code)).toEqual(['COLOUR_PROFILE']);
    },
  ],
  [
    '04',
    '04-webp-exif-xmp.webp',
    (r, out) => {
      expect(names(r)).toEqual(expect.arrayContaining(['EXIF', 'XMP']));
      expect(out.readUInt32LE(4)).toBe(out.length - 8);
      expect((out[20] ?? 0) & 0x0c).toBe(0);
    },
  ],
  [
    '05',
    '05-png-exif-chunk.png',
    async (r) => {
      const report = await inspect(readFileSync(input('05-png-exif-chunk.png')));
      expect(report.findings).toContainEqual(
        expect.objectContaining({ code: 'GPS_POSITION', category: 'location' }),
      );
      expect(names(r)).toEqual(expect.arrayContaining(['eXIf', 'iTXt']));
    },
  ],
  [
    '06',
    '06-png-time-text.png',
    (r, out) => {
      expect(names(r)).toEqual(expect.arrayContaining(['tIME', 'tEXt']));
      const kept = handlerFor('png')
        .parse(out)
        .parts.map((p) => p.name);
      expect(
        kept.every((type) =>
          ['IHDR', 'PLTE', 'IDAT', 'IEND', 'gAMA', 'cHRM', 'sRGB', 'tRNS', 'sBIT'].includes(type),
        ),
      ).toBe(true);
    },
  ],
  [
    '08',
    '08-gif-comment-xmp.gif',
    (r) => {
      expect(names(r)).toEqual(
        expect.arrayContaining([
          'comment extension',
          'plain-text extension',
          'XMP application extension',
        ]),
      );
    },
  ],
  [
    '09',
    '09-jpeg-zip-polyglot.jpg',
    async (r, out) => {
      const report = await inspect(readFileSync(input('09-jpeg-zip-polyglot.jpg')));
      expect(report.findings).toContainEqual(
        expect.objectContaining({ category: 'hidden-data', name: 'trailing ZIP', risk: 'high' }),
      );
      expect(r.removed.at(-1)).toMatchObject({ category: 'hidden-data', name: 'trailing ZIP' });
      expect(out.subarray(-2)).toEqual(Buffer.of(0xff, 0xd9));
    },
  ],
  [
    '10',
    '10-png-acropalypse.png',
    async (r) => {
      const report = await inspect(readFileSync(input('10-png-acropalypse.png')));
      expect(report.findings).toContainEqual(
        expect.objectContaining({ category: 'hidden-data', source: 'trailer' }),
      );
      expect(r.removed.at(-1)?.category).toBe('hidden-data');
    },
  ],
];

describe('cases from real bug reports', () => {
  it.each(CLEANED)('case %s (%s) is cleaned and passes its check', async (id, name, extra) => {
    const { record, out, outPath } = stripCase(name);
    expect(record.status).toBe('clean');
    expect(record.verified).toBe(true);
    const check = checkScript(id, outPath);
    expect(check.line).toMatch(/^PASS/);
    expect(check.status).toBe(0);
    await extra(record, out, outPath);
  });

  it('case 11 (a compressed text that inflates to 128 MiB) is cleaned without inflating it', async () => {
    const { record, outPath, rssKiB, seconds } = stripMeasured('11-png-ztxt-bomb.png');
    expect(record).toMatchObject({ status: 'clean', verified: true });
    expect(names(record)).toContain('zTXt');
    // Far below the 128 MiB the text would take: it was never inflated past the cap.
    expect(rssKiB).toBeLessThan(100 * 1024);
    const check = checkScript('11', outPath, {
      ANCHOR_MAXRSS_KB: String(rssKiB),
      ANCHOR_SECS: String(seconds),
    });
    expect(check.line).toMatch(/^PASS/);
    const report = await inspect(readFileSync(input('11-png-ztxt-bomb.png')));
    expect(report.findings).toContainEqual(
      expect.objectContaining({ code: 'TEXT_OVER_LIMIT', value: 'compressed text over the limit' }),
    );
  });

  it('case 12 (a header claiming 64250 × 64250 pixels) is refused from the header', () => {
    const { record, outPath, rssKiB, seconds } = stripMeasured('12-lottapixel.jpg');
    expect(record).toMatchObject({ status: 'refused', output: null, verified: false });
    expect(record.error).toMatchObject({
      code: 'ERR_PIXEL_LIMIT',
      value: 64250 * 64250,
      limit: 268_402_689,
    });
    expect(record.error?.message).toContain('64250 × 64250 = 4128 megapixels, limit 268');
    const check = checkScript('12', outPath, {
      ANCHOR_MAXRSS_KB: String(rssKiB),
      ANCHOR_SECS: String(seconds),
    });
    expect(check.line).toMatch(/^PASS/);
    expect(existsSync(outPath)).toBe(false);
  });

  it.each([
    ['14', '14-svg-script.svg', 'ERR_FORMAT_NOT_ALLOWED', /SVG/],
    ['15', '15-imagetragick-mvg.jpg', 'ERR_FORMAT_NOT_ALLOWED', /MVG/],
    ['17', '17-heic-gps-icc.heic', 'ERR_UNSUPPORTED_FORMAT', /HEIC/],
  ])('case %s (%s) is refused by name and writes nothing', (id, name, code, message) => {
    const { record, outPath } = stripCase(name);
    expect(record).toMatchObject({ status: 'refused', output: null, verified: false });
    expect(record.error?.code).toBe(code);
    expect(record.error?.message).toMatch(message);
    expect(checkScript(id, outPath).status).toBe(0);
  });
});

describe('cases from real bug reports, re-encoded from pixels', () => {
  it('passes every cleanable case through strip --rewrite, each output passing its check', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pixwarden-case-rewrite-'));
    const names = CLEANED.map(([, name]) => input(name));
    const run = runCli(['strip', '--rewrite', ...names, '-o', dir, '--json']);
    expect(run.status).toBe(0);
    const records = JSON.parse(run.stdout) as StripJson[];
    expect(records.map((r) => r.status)).toEqual(CLEANED.map(() => 'clean'));
    for (const [id, name] of CLEANED) {
      const outPath = path.join(dir, name);
      const check = checkScript(id, outPath);
      expect(`${id}: ${check.line}`).toMatch(/^\d+: PASS/);
      // Nothing is kept: the orientation is in the pixels, the colours are in sRGB.
      const tags = Object.keys(exiftool([outPath])[0] ?? {});
      expect(tags.filter((tag) => /^(IFD0|ExifIFD|XMP|ICC_Profile|ICC-header):/.test(tag))).toEqual(
        [],
      );
    }
    // The sideways photo's pixels were turned: 240 × 120 stored, 120 × 240 written.
    const turned = exiftool([path.join(dir, '02-orientation-rotate90.jpg')])[0];
    expect([turned?.['File:ImageWidth'], turned?.['File:ImageHeight']]).toEqual([120, 240]);
  });

  it.each(['jpeg', 'png', 'webp', 'avif'])(
    'converts cases 02 and 03 to %s upright and in their colours',
    async (format) => {
      const dir = mkdtempSync(path.join(tmpdir(), 'pixwarden-case-convert-'));
      const run = runCli([
        'convert',
        input('02-orientation-rotate90.jpg'),
        input('03-icc-wide-gamut.jpg'),
        '-o',
        dir,
        '--to',
        format,
        '--effort',
        '0',
        '--json',
      ]);
      expect(run.status).toBe(0);
      const records = JSON.parse(run.stdout) as ConvertRecord[];
      for (const [id, record] of [
        ['02', records[0]],
        ['03', records[1]],
      ] as const) {
        expect(record?.status).toBe('clean');
        const [output] = record?.outputs ?? [];
        expect(output?.format).toBe(format);
        let judged = path.join(dir, path.basename(output?.path ?? ''));
        if (format === 'avif') {
          // The check scripts read what Pillow reads; the AVIF is decoded to PNG for them.
          const { default: sharp } = await import('sharp');
          const png = `${judged}.png`;
          await sharp(judged).png().toFile(png);
          judged = png;
        }
        const check = checkScript(id, judged);
        expect(`${id}: ${check.line}`).toMatch(/^\d+: PASS/);
      }
    },
  );
});
