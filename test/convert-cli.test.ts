/** The command-line contract of `convert` and `strip --rewrite`: forms, JSON, exit codes, names. */
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { ConvertRecord } from '../src/cli/convert-command.js';
import { CASES, CLI, CORPUS, exiftool, runCli } from './helpers.js';

const PHOTO = path.join(CASES, 'inputs', '01-exif-thumb-uncropped.jpg');
const SVG = path.join(CASES, 'inputs', '14-svg-script.svg');
const temp = (): string => mkdtempSync(path.join(tmpdir(), 'pixwarden-convert-'));

/** A folder with a JPEG (with EXIF), a PNG in a subfolder, and an SVG. */
async function inputs(): Promise<string> {
  const dir = temp();
  mkdirSync(path.join(dir, 'sub'));
  writeFileSync(path.join(dir, 'photo.jpg'), readFileSync(PHOTO));
  await sharp({ create: { width: 300, height: 100, channels: 4, background: '#10a0f080' } })
    .png()
    .toFile(path.join(dir, 'sub', 'logo.png'));
  writeFileSync(path.join(dir, 'drawing.svg'), readFileSync(SVG));
  return dir;
}

function convert(args: readonly string[]): { status: number | null; records: ConvertRecord[] } {
  const run = runCli(['convert', ...args, '--json']);
  return { status: run.status, records: JSON.parse(run.stdout) as ConvertRecord[] };
}

describe('pixwarden convert', () => {
  it('writes DIR/NAME.FORMAT at the relative paths and prints the JSON contract', async () => {
    const from = await inputs();
    const out = temp();
    const { status, records } = convert([from, '-o', out, '--to', 'webp', '--width', '200']);
    expect(status).toBe(1);
    const byName = new Map(records.map((record) => [path.basename(record.input), record]));
    const photo = byName.get('photo.jpg');
    expect(Object.keys(photo ?? {}).sort()).toEqual(
      ['input', 'outputs', 'status', 'removed', 'kept', 'verified'].sort(),
    );
    expect(photo).toMatchObject({ status: 'clean', verified: true, kept: [] });
    expect(photo?.removed.map((part) => part.name)).toContain('APP1 Exif');
    const [output] = photo?.outputs ?? [];
    expect(Object.keys(output ?? {}).sort()).toEqual(
      ['variant', 'path', 'format', 'width', 'height', 'bytes'].sort(),
    );
    expect(output).toMatchObject({ variant: null, format: 'webp', width: 200 });
    const file = path.join(out, 'photo.webp');
    expect(readFileSync(file).length).toBe(output?.bytes);
    const meta = await sharp(file).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['webp', 200, output?.height]);
    expect(byName.get('logo.png')?.outputs[0]?.path).toMatch(/sub\/logo\.webp$/);
    expect(existsSync(path.join(out, 'sub', 'logo.webp'))).toBe(true);
    expect(byName.get('drawing.svg')).toMatchObject({
      status: 'refused',
      outputs: [],
      error: { code: 'ERR_FORMAT_NOT_ALLOWED' },
    });
  });

  it('keeps the input format without --to, and names variants NAME.VARIANT.FORMAT', () => {
    const out = temp();
    const { status, records } = convert([PHOTO, '-o', out, '--variants', 'thumb,medium']);
    expect(status).toBe(0);
    expect(records[0]?.outputs.map((o) => [o.variant, o.format, path.basename(o.path)])).toEqual([
      ['thumb', 'jpeg', '01-exif-thumb-uncropped.thumb.jpg'],
      ['medium', 'jpeg', '01-exif-thumb-uncropped.medium.jpg'],
    ]);
    expect(readdirSync(out).sort()).toEqual([
      '01-exif-thumb-uncropped.medium.jpg',
      '01-exif-thumb-uncropped.thumb.jpg',
    ]);
    const thumb = records[0]?.outputs[0];
    expect(Math.max(thumb?.width ?? 0, thumb?.height ?? 0)).toBeLessThanOrEqual(256);
  });

  it('takes variants from a configuration file', () => {
    const dir = temp();
    const config = path.join(dir, 'pixwarden.json');
    writeFileSync(
      config,
      JSON.stringify({ variants: [{ name: 'tiny', width: 32, format: 'png' }] }),
    );
    const out = path.join(dir, 'out');
    const { status, records } = convert([
      PHOTO,
      '-o',
      out,
      '--variants',
      'tiny,thumb',
      '--config',
      config,
    ]);
    expect(status).toBe(0);
    // Configured variants join the built-in ones.
    expect(records[0]?.outputs.map((o) => o.variant)).toEqual(['tiny', 'thumb']);
    expect(records[0]?.outputs[0]).toMatchObject({ variant: 'tiny', format: 'png', width: 32 });
    writeFileSync(config, JSON.stringify({ variants: [{ name: 'tiny', widht: 32 }] }));
    const bad = runCli(['convert', PHOTO, '-o', out, '--variants', 'tiny', '--config', config]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/variant 1: unknown field "widht"/);
  });

  it('refuses an input whose output exists, writing none of its outputs, unless --overwrite', () => {
    const out = temp();
    writeFileSync(path.join(out, '01-exif-thumb-uncropped.medium.jpg'), 'mine');
    const first = convert([PHOTO, '-o', out, '--variants', 'thumb,medium']);
    expect(first.status).toBe(1);
    expect(first.records[0]?.error?.code).toBe('ERR_OUTPUT_EXISTS');
    expect(readdirSync(out)).toEqual(['01-exif-thumb-uncropped.medium.jpg']);
    expect(readFileSync(path.join(out, '01-exif-thumb-uncropped.medium.jpg'), 'utf8')).toBe('mine');
    const again = convert([PHOTO, '-o', out, '--variants', 'thumb,medium', '--overwrite']);
    expect(again.status).toBe(0);
    expect(
      readFileSync(path.join(out, '01-exif-thumb-uncropped.medium.jpg')).subarray(0, 2),
    ).toEqual(Buffer.of(0xff, 0xd8));
  });

  it('refuses inputs whose outputs would share a name', async () => {
    const dir = temp();
    writeFileSync(path.join(dir, 'a.jpg'), readFileSync(PHOTO));
    await sharp(PHOTO).png().toFile(path.join(dir, 'a.png'));
    const { status, records } = convert([dir, '-o', temp(), '--to', 'webp']);
    expect(status).toBe(1);
    expect(records.map((r) => r.error?.code)).toEqual([
      'ERR_OUTPUT_CONFLICT',
      'ERR_OUTPUT_CONFLICT',
    ]);
  });

  it('draws the image at a --watermark path, and --watermark text otherwise', async () => {
    const dir = temp();
    const logo = path.join(dir, 'logo.png');
    await sharp({ create: { width: 50, height: 50, channels: 3, background: '#00ff00' } })
      .png()
      .toFile(logo);
    const base = path.join(dir, 'grey.png');
    await sharp({ create: { width: 400, height: 300, channels: 3, background: '#404040' } })
      .png()
      .toFile(base);
    const marked = path.join(dir, 'marked');
    expect(convert([base, '-o', marked, '--watermark', logo]).status).toBe(0);
    const corner = await sharp(path.join(marked, 'grey.png'))
      .extract({ left: 340, top: 250, width: 1, height: 1 })
      .raw()
      .toBuffer();
    // Half-opaque green over grey.
    expect(corner[1]).toBeGreaterThan(120);
    expect(corner[0]).toBeLessThan(60);
    const text = path.join(dir, 'text');
    expect(convert([base, '-o', text, '--watermark', '© Jane']).status).toBe(0);
    const { data } = await sharp(path.join(text, 'grey.png'))
      .extract({ left: 300, top: 225, width: 100, height: 75 })
      .greyscale()
      .raw()
      .toBuffer({ resolveWithObject: true });
    expect(Math.max(...data)).toBeGreaterThan(120);
  });

  it('refuses a watermark that is no image, or a path to none, before reading any input', () => {
    const out = temp();
    const svg = runCli(['convert', PHOTO, PHOTO, '-o', out, '--watermark', SVG]);
    expect(svg.status).toBe(1);
    expect(svg.stderr.match(/the watermark image: .*SVG/g)).toHaveLength(1);
    expect(svg.stderr).not.toMatch(/^refused/m);
    expect(readdirSync(out)).toEqual([]);
    const typo = runCli(['convert', PHOTO, '-o', out, '--watermark', '/nowhere/logo.png']);
    expect(typo.status).toBe(2);
    expect(typo.stderr).toMatch(/--watermark \/nowhere\/logo\.png: no such image file/);
  });

  it.each([
    [['-o'], /Option '-o, --output <value>' argument missing/],
    [[], /convert needs -o DIR/],
    [['-o', '-'], /-o - is not possible/],
    [['-o', 'x', '--to', 'bmp'], /--to takes jpeg, png, webp, avif, gif, not "bmp"/],
    [['-o', 'x', '--width', '0'], /--width takes a whole number from 1 to 16383, not "0"/],
    [['-o', 'x', '--quality', 'high'], /--quality takes a whole number from 1 to 100/],
    [
      ['-o', 'x', '--variants', 'huge'],
      /no variant "huge": the configured ones are thumb, medium, large/,
    ],
  ])('exits 2 on the usage error %j', (args, message) => {
    const run = runCli(['convert', PHOTO, ...args]);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(message);
  });

  it('lists each output and a summary in plain words', () => {
    const run = runCli(['convert', PHOTO, SVG, '-o', temp(), '--to', 'png', '--width', '64']);
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(
      /^clean {3}.*01-exif-thumb-uncropped\.jpg -> .*01-exif-thumb-uncropped\.png \(PNG 64 × \d+, [\d.]+ K?B\)\n {8}removed: APP1 Exif/,
    );
    expect(run.stderr).toMatch(/refused .*14-svg-script\.svg: ERR_FORMAT_NOT_ALLOWED/);
    expect(run.stderr).toMatch(/1 converted \(1 files written\), 1 refused/);
  });
});

describe('pixwarden strip --rewrite', () => {
  it('re-encodes in the same format and prints strip’s JSON', () => {
    const out = temp();
    const run = runCli(['strip', '--rewrite', PHOTO, '-o', out, '--json']);
    expect(run.status).toBe(0);
    const [record] = JSON.parse(run.stdout) as Record<string, unknown>[];
    expect(Object.keys(record ?? {}).sort()).toEqual(
      ['input', 'output', 'status', 'removed', 'kept', 'verified'].sort(),
    );
    const file = path.join(out, '01-exif-thumb-uncropped.jpg');
    expect(record).toMatchObject({ status: 'clean', verified: true, kept: [] });
    const seen = exiftool([file])[0] ?? {};
    expect(Object.keys(seen).filter((key) => /^(IFD0|IFD1|ExifIFD|GPS|XMP)/.test(key))).toEqual([]);
    // Re-encoded, not copied: the entropy-coded data differs from the original's.
    expect(readFileSync(file).equals(readFileSync(PHOTO))).toBe(false);
  });

  it('rewrites in place, at the quality given', () => {
    const dir = temp();
    const file = path.join(dir, 'photo.jpg');
    writeFileSync(file, readFileSync(PHOTO));
    expect(runCli(['strip', '--rewrite', '--quality', '40', '--in-place', file]).status).toBe(0);
    const low = readFileSync(file).length;
    writeFileSync(file, readFileSync(PHOTO));
    expect(runCli(['strip', '--rewrite', '--in-place', file]).status).toBe(0);
    expect(low).toBeLessThan(readFileSync(file).length);
  });

  it.each([
    [['--quality', '50'], /--quality is for --rewrite/],
    [['--rewrite', '--keep', 'icc'], /--keep cannot be combined with it/],
    [['--rewrite', '--quality', '0'], /--quality takes a whole number from 1 to 100/],
  ])('exits 2 on the usage error %j', (args, message) => {
    const run = runCli(['strip', PHOTO, '-o', temp(), ...args]);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(message);
  });
});

describe('pixwarden convert, against mistakes and signals', () => {
  it('refuses a configuration that is not a small regular file', () => {
    for (const config of ['/dev/zero', temp()]) {
      const run = runCli(['convert', PHOTO, '-o', temp(), '--config', config]);
      expect(run.status, config).toBe(2);
      expect(run.stderr).toMatch(/is not a regular file/);
    }
  });

  it('refuses a watermark path that is not a regular file, and standard input twice', () => {
    const folder = runCli(['convert', PHOTO, '-o', temp(), '--watermark', temp()]);
    expect(folder.status).toBe(2);
    expect(folder.stderr).toMatch(/not a regular file/);
    const twice = runCli(['convert', '-', '-', '-o', temp()]);
    expect(twice.status).toBe(2);
    expect(twice.stderr).toMatch(/standard input \(-\) can be given only once/);
  });

  it('replaces nothing when one output of an input cannot be replaced', () => {
    const out = temp();
    writeFileSync(path.join(out, '01-exif-thumb-uncropped.thumb.jpg'), 'old thumb');
    mkdirSync(path.join(out, '01-exif-thumb-uncropped.medium.jpg'));
    const { status, records } = convert([
      PHOTO,
      '-o',
      out,
      '--variants',
      'thumb,medium',
      '--overwrite',
    ]);
    expect(status).toBe(1);
    expect(records[0]?.error?.code).toBe('ERR_OUTPUT_CONFLICT');
    expect(readFileSync(path.join(out, '01-exif-thumb-uncropped.thumb.jpg'), 'utf8')).toBe(
      'old thumb',
    );
  });

  it('sees through a symbolic link to the output folder: it neither walks nor replaces inputs', async () => {
    const from = await inputs();
    const link = path.join(temp(), 'link');
    symlinkSync(from, link);
    const first = convert([from, '-o', path.join(link, 'out'), '--to', 'png']);
    expect(first.records.filter((r) => r.status === 'clean')).toHaveLength(2);
    const again = convert([from, '-o', path.join(link, 'out'), '--to', 'png', '--overwrite']);
    // The outputs are not read back as inputs.
    expect(again.records.map((r) => r.input).filter((input) => input.includes('/out/'))).toEqual(
      [],
    );
    // An output that would land on an input, reached through the link, is refused.
    const onto = convert([
      path.join(from, 'sub', 'logo.png'),
      '-o',
      path.join(link, 'sub'),
      '--overwrite',
    ]);
    expect(onto.records[0]?.error?.code).toBe('ERR_OUTPUT_CONFLICT');
  });

  it('finishes the files in flight when Ctrl-C reaches the whole process group', async () => {
    const from = temp();
    const photo = readFileSync(
      path.join(CORPUS, 'metadata-extractor-images', 'jpg', 'Sony Cybershot (4).jpg'),
    );
    for (let i = 0; i < 40; i++)
      writeFileSync(path.join(from, `p${String(i).padStart(2, '0')}.jpg`), photo);
    const out = temp();
    const child = spawn(
      process.execPath,
      [CLI, 'convert', from, '-o', out, '--to', 'avif', '--json'],
      {
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    while (readdirSync(out).filter((name) => name.endsWith('.avif')).length < 3)
      await new Promise((resolve) => setTimeout(resolve, 20));
    process.kill(-(child.pid ?? 0), 'SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(130);
    const records = JSON.parse(stdout) as ConvertRecord[];
    expect(records.length).toBeGreaterThan(0);
    expect(records.length).toBeLessThan(40);
    expect(records.filter((r) => r.status !== 'clean')).toEqual([]);
    expect(readdirSync(out).sort()).toEqual(
      records.map((r) => path.basename(r.outputs[0]?.path ?? '')).sort(),
    );
  });
});
