/** Inputs and helpers the benchmarks share: generated phone-size photos, timing, medians. */
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CACHE = path.join(ROOT, 'bench', '.cache');
export const CORPUS = path.resolve(ROOT, '..', 'shared', 'corpus');
export const CLI = path.join(ROOT, 'dist', 'bin', 'main.js');
export const CONVERT = existsSync('/usr/bin/convert') ? '/usr/bin/convert' : 'convert';
const distinctPhotos = 10;
const photoCopies = 10;

export function run(command: string, args: readonly string[]): void {
  const result = spawnSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  if (result.status !== 0 && result.status !== 1) {
    throw new Error(
      `${command} ${args.join(' ')} failed: ${result.stderr.toString().slice(0, 400)}`,
    );
  }
}

export function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name));
}

export function megabytes(dir: string): number {
  return files(dir).reduce((sum, file) => sum + statSync(file).size, 0) / 1e6;
}

export function makePhotos(): string {
  const dir = path.join(CACHE, 'photos');
  if (existsSync(dir) && readdirSync(dir).length === distinctPhotos * photoCopies) return dir;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const base = path.join(CACHE, 'base');
  mkdirSync(base, { recursive: true });
  const thumb = path.join(base, 'thumb.jpg');
  run(CONVERT, ['-size', '160x120', 'gradient:navy-gold', thumb]);
  const icc = path.join(base, 'profile.icc');
  const profileSource = path.resolve(
    ROOT,
    '..',
    'shared',
    'cases',
    'inputs',
    '03-icc-wide-gamut.jpg',
  );
  const extracted = spawnSync('exiftool', ['-b', '-ICC_Profile', profileSource]);
  writeFileSync(icc, extracted.stdout);
  for (let i = 0; i < distinctPhotos; i++) {
    const photo = path.join(base, `base-${i}.jpg`);
    if (!existsSync(photo)) {
      run(CONVERT, [
        '-size',
        '4032x3024',
        `gradient:hsb(${i * 36},60%,80%)-hsb(${(i * 36 + 120) % 360},70%,40%)`,
        '-attenuate',
        '0.35',
        '-seed',
        String(i + 1),
        '+noise',
        'Gaussian',
        '-quality',
        '92',
        photo,
      ]);
    }
    for (let c = 0; c < photoCopies; c++)
      copyFileSync(
        photo,
        path.join(dir, `IMG_2025${String(i).padStart(2, '0')}${String(c).padStart(2, '0')}.jpg`),
      );
  }
  run('exiftool', [
    '-q',
    '-overwrite_original',
    '-Make=ExampleCam',
    '-Model=Model X-1',
    '-SerialNumber=SN-0042-FAKE',
    '-LensSerialNumber=LS-77',
    '-DateTimeOriginal=2025:06:01 10:20:30',
    '-OffsetTimeOriginal=+02:00',
    '-GPSLatitude=48.8584',
    '-GPSLatitudeRef=N',
    '-GPSLongitude=2.2945',
    '-GPSLongitudeRef=E',
    '-GPSAltitude=35',
    '-Artist=Jane Example',
    '-XMP-dc:Creator=Jane Example',
    '-Orientation#=6',
    `-ThumbnailImage<=${thumb}`,
    `-ICC_Profile<=${icc}`,
    dir,
  ]);
  return dir;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** Outputs go to memory-backed storage when there is some, so that disk writeback (which
 * starts at unpredictable moments) does not blur the comparison. */
export function outputRoot(): string {
  return existsSync('/dev/shm') ? mkdtempSync('/dev/shm/pixwarden-bench-') : CACHE;
}
