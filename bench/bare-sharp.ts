/**
 * The baseline for `pixwarden convert`: bare sharp doing the same work on the same files, as
 * a careful service would without pixwarden: upright, fit inside WIDTH × WIDTH without
 * enlarging, encoded with the same presets, one file in flight per core.
 * `node bare-sharp.js IN OUT FORMAT WIDTH`
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';

const [input, output, format = 'webp', width = '1024'] = process.argv.slice(2);
if (input === undefined || output === undefined) {
  process.stderr.write('usage: bare-sharp.js IN OUT FORMAT WIDTH\n');
  process.exit(2);
}
const size = Number(width);
const names = readdirSync(input).filter((name) => !name.startsWith('.'));
mkdirSync(output, { recursive: true });

async function convert(name: string): Promise<void> {
  const image = sharp(readFileSync(path.join(input ?? '', name)))
    .autoOrient()
    .resize({ width: size, height: size, fit: 'inside', withoutEnlargement: true });
  const encoded =
    format === 'jpeg'
      ? image.jpeg({ quality: 85, progressive: true })
      : format === 'avif'
        ? image.avif({ quality: 50 })
        : image.webp({ quality: 80 });
  const stem = path.parse(name).name;
  writeFileSync(path.join(output ?? '', `${stem}.${format}`), await encoded.toBuffer());
}

let next = 0;
async function lane(): Promise<void> {
  while (next < names.length) await convert(names[next++] ?? '');
}
await Promise.all(Array.from({ length: availableParallelism() }, lane));
