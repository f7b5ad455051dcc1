/**
 * Every JPEG, PNG, WebP and GIF of ../shared/corpus converted to each output format, at most
 * 1024 pixels wide (AVIF at the lowest effort, to keep the suite fast): ExifTool finds no
 * metadata in any output (one run per format folder), Pillow finds each output upright and in
 * the colours of its original (a colour-managed rendering of it, compared at 16 × 16), or the
 * input was refused with a code.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PixwardenError } from '../src/errors.js';
import { sniffImage } from '../src/detect.js';
import { WorkerPool } from '../src/pool/pool.js';
import { transform } from '../src/transform/transform.js';
import type { OutputFormat } from '../src/transform/spec.js';
import { CORPUS, corpusFiles, ROOT, exiftool } from './helpers.js';
import type { ExifToolRecord } from './helpers.js';
import { NEUTRAL_GROUPS, STRUCTURE_TAGS } from './structure-tags.js';

const FORMATS: readonly OutputFormat[] = ['jpeg', 'png', 'webp', 'avif'];
const WIDTH = 1024;
/** Mean difference per channel (0–255) at 16 × 16 that still counts as the same colours. */
const MAX_DIFF = 12;
/**
 * The same for a picture under 64 pixels on a side (the PNG test suite's 4 × 4 to 32 × 32
 * patterns of saturated colours): there a lossy encoder's 8 × 8 blocks and halved colour
 * resolution are a large part of the whole picture.
 */
const MAX_DIFF_TINY = 16;

/** Refusals a person would accept: the input is broken, or not an image we read. */
const ACCEPTABLE = new Set(['ERR_MALFORMED', 'ERR_TRUNCATED', 'ERR_CRC_MISMATCH']);

/** What an AVIF that holds nothing but its picture shows ExifTool. */
const AVIF_STRUCTURE = new Set([
  'MajorBrand',
  'MinorVersion',
  'CompatibleBrands',
  'HandlerType',
  'PrimaryItemReference',
  'ImageSpatialExtent',
  'ImagePixelDepth',
  'AV1ConfigurationVersion',
  'ChromaFormat',
  'ChromaSamplePosition',
  'MediaDataSize',
  'MediaDataOffset',
  'AuxiliaryImageType',
  'SeqProfile',
  'SeqLevelIdx0',
  'SeqTier0',
  'HighBitDepth',
  'TwelveBit',
  'Monochrome',
  'ChromaSubsamplingX',
  'ChromaSubsamplingY',
  'InitialDelaySamples',
  'MediaData',
]);

interface Converted {
  input: string;
  output: string | null;
  /** A file Pillow reads: the output, or for AVIF a PNG decoded from it. */
  judged: string | null;
  width: number;
  code: string | null;
}

interface Verdict {
  input: string;
  output: string;
  reference?: [number, number];
  size?: [number, number];
  aspect?: number;
  diff?: number;
  unreadable: string | null;
  error: string | null;
}

function metadataOf(record: ExifToolRecord): string[] {
  return Object.keys(record).filter((key) => {
    const [group = '', tag = ''] = key.includes(':') ? key.split(':', 2) : ['SourceFile', key];
    if (NEUTRAL_GROUPS.has(group))
      return key === 'File:Comment' || (group === 'Composite' && tag.startsWith('GPS'));
    if (group === 'QuickTime' || group === 'Meta') return !AVIF_STRUCTURE.has(tag);
    if (group === 'IFD0') return true;
    return !(STRUCTURE_TAGS[group]?.has(tag) ?? false);
  });
}

function renderJudge(pairs: readonly { input: string; output: string }[]): Verdict[] {
  const result = spawnSync('/usr/bin/python3', [path.join(ROOT, 'test', 'judge', 'render.py')], {
    input: JSON.stringify(pairs),
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0) throw new Error(`render judge failed: ${result.stderr.toString()}`);
  return JSON.parse(result.stdout.toString('utf8')) as Verdict[];
}

const inputs = corpusFiles().filter((file) => sniffImage(readFileSync(file)) !== null);

describe('the corpus, converted', () => {
  const pool = new WorkerPool();
  const results = new Map<OutputFormat, Converted[]>();
  const metadata = new Map<OutputFormat, ExifToolRecord[]>();
  const verdicts = new Map<OutputFormat, Verdict[]>();

  beforeAll(async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'pixwarden-convert-corpus-'));
    for (const format of FORMATS) {
      const outDir = path.join(root, format);
      const converted: Converted[] = [];
      let next = 0;
      const lane = async (): Promise<void> => {
        while (next < inputs.length) {
          const input = inputs[next++] as string;
          try {
            const result = await transform(readFileSync(input), {
              format,
              width: WIDTH,
              pool,
              ...(format === 'avif' ? { effort: 0 } : {}),
            });
            const [output] = result.outputs;
            if (output === undefined) throw new Error(`no output for ${input}`);
            const file = path.join(outDir, `${path.relative(CORPUS, input)}.${format}`);
            mkdirSync(path.dirname(file), { recursive: true });
            writeFileSync(file, output.bytes);
            let judged = file;
            if (format === 'avif') {
              judged = path.join(root, 'avif-as-png', `${path.relative(CORPUS, input)}.png`);
              mkdirSync(path.dirname(judged), { recursive: true });
              await sharp(output.bytes).png().toFile(judged);
            }
            converted.push({ input, output: file, judged, width: output.width, code: null });
          } catch (error: unknown) {
            if (!(error instanceof PixwardenError)) throw error;
            converted.push({ input, output: null, judged: null, width: 0, code: error.code });
          }
        }
      };
      await Promise.all([lane(), lane(), lane()]);
      results.set(format, converted);
      metadata.set(format, exiftool([outDir]));
      verdicts.set(
        format,
        renderJudge(
          converted.flatMap((c) =>
            c.judged === null ? [] : [{ input: c.input, output: c.judged }],
          ),
        ),
      );
    }
  }, 900_000);
  afterAll(async () => pool.close());

  it.each(FORMATS)(
    'converts the corpus to %s, refusing only broken files with a code',
    (format) => {
      const converted = results.get(format) ?? [];
      expect(converted).toHaveLength(inputs.length);
      const refusals = converted.filter((c) => c.code !== null && !ACCEPTABLE.has(c.code));
      expect(refusals).toEqual([]);
      expect(converted.filter((c) => c.output !== null).length).toBeGreaterThan(330);
      expect(converted.filter((c) => c.width > WIDTH)).toEqual([]);
    },
  );

  it.each(FORMATS)('leaves ExifTool no metadata in any %s output', (format) => {
    const records = metadata.get(format) ?? [];
    const written = (results.get(format) ?? []).filter((c) => c.output !== null);
    expect(records).toHaveLength(written.length);
    const dirty = records
      .map((record) => ({ file: record.SourceFile, tags: metadataOf(record) }))
      .filter((record) => record.tags.length > 0);
    expect(dirty).toEqual([]);
  });

  it.each(FORMATS)(
    'writes every %s output upright and in the colours of its original',
    (format) => {
      // Pillow reads a few broken PNGs less forgivingly than libvips: those are not judged.
      const judged = (verdicts.get(format) ?? []).filter((v) => v.unreadable === null);
      expect(judged.length).toBeGreaterThan(330);
      const unreadable = judged.filter((v) => v.error !== null);
      expect(unreadable).toEqual([]);
      // A sideways output has the inverse aspect; rounding a side to whole pixels moves it a
      // little on a small picture.
      const turned = judged.filter((v) => {
        const [width = 1, height = 1] = v.size ?? [];
        return (v.aspect ?? 1) > Math.max(0.02, 2 / Math.min(width, height));
      });
      expect(turned.map((v) => [v.input, v.reference, v.size])).toEqual([]);
      const shifted = judged.filter((v) => {
        const side = Math.min(...(v.reference ?? [0]));
        return (v.diff ?? 255) > (side < 64 ? MAX_DIFF_TINY : MAX_DIFF);
      });
      expect(shifted.map((v) => [v.input, v.diff])).toEqual([]);
    },
  );
});
