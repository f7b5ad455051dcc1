/**
 * Every JPEG, PNG, WebP and GIF in ../shared/corpus is cleaned or refused for a reason a person
 * would accept. ExifTool judges what each clean copy still holds, Pillow judges its pixels and
 * how it displays, and the personal values of each original must not survive in its copy.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PixwardenError, strip } from '../src/index.js';
import { sniffImage } from '../src/detect.js';
import {
  ACCEPTABLE_REFUSALS,
  CORPUS,
  corpusFiles,
  exiftool,
  pillowJudge,
  runCli,
} from './helpers.js';
import type { ExifToolRecord, PixelVerdict } from './helpers.js';
import { problemsOf } from './structure-tags.js';

interface Outcome {
  input: string;
  output: string | null;
  format: string | null;
  code: string | null;
}

/** Personal values looked for in the bytes of each clean copy. */
const PERSONAL_TAGS =
  /^(IFD0|ExifIFD|GPS|XMP-[a-z]+|IPTC|MakerNotes|Canon|Nikon|Sony|Olympus|Panasonic|Pentax|FujiFilm|Samsung|Apple):(Make|Model|.*SerialNumber|Artist|Copyright|OwnerName|CameraOwnerName|By-line|Creator|Rights|GPSLatitude|GPSLongitude|City|Country|ImageUniqueID|LensModel)$/;

describe('the real-photo corpus', () => {
  const outcomes: Outcome[] = [];
  let outputs = new Map<string, ExifToolRecord>();
  let originals = new Map<string, ExifToolRecord>();
  let verdicts = new Map<string, PixelVerdict>();
  let outDir = '';

  beforeAll(async () => {
    outDir = mkdtempSync(path.join(tmpdir(), 'pixwarden-corpus-'));
    for (const file of corpusFiles()) {
      if (file.endsWith('.tsv') || file.endsWith('.md')) continue;
      const bytes = readFileSync(file);
      const format = sniffImage(bytes);
      try {
        const result = await strip(bytes);
        const output = path.join(outDir, path.relative(CORPUS, file));
        mkdirSync(path.dirname(output), { recursive: true });
        writeFileSync(output, result.bytes);
        outcomes.push({ input: file, output, format, code: null });
      } catch (error: unknown) {
        if (!(error instanceof PixwardenError)) throw error;
        outcomes.push({ input: file, output: null, format, code: error.code });
      }
    }
    outputs = new Map(exiftool([outDir]).map((r) => [r.SourceFile, r]));
    const cleanedInputs = outcomes.filter((o) => o.output !== null).map((o) => o.input);
    originals = new Map(exiftool(cleanedInputs, ['-n']).map((r) => [r.SourceFile, r]));
    const judged = outcomes.filter((o) => o.format !== null);
    verdicts = new Map(
      pillowJudge(judged.map((o) => ({ input: o.input, output: o.output }))).map((v) => [
        v.input,
        v,
      ]),
    );
  }, 600_000);

  it('refuses only for reasons a person would accept, and never crashes', () => {
    const bad = outcomes.filter((o) => o.code !== null && !ACCEPTABLE_REFUSALS.has(o.code));
    expect(bad).toEqual([]);
    expect(outcomes.filter((o) => o.output !== null).length).toBeGreaterThan(350);
  });

  it('refuses at most 1% of the images that Pillow reads without error', () => {
    const readable = [...verdicts.values()].filter((v) => v.loads);
    const refused = readable.filter(
      (v) => outcomes.find((o) => o.input === v.input)?.output === null,
    );
    expect(readable.length).toBeGreaterThan(300);
    expect(refused.length / readable.length).toBeLessThanOrEqual(0.01);
  });

  it('leaves ExifTool nothing but structure, the scrubbed profile and the orientation', () => {
    const dirty = [...outputs.values()]
      .map((r) => ({ file: r.SourceFile, problems: problemsOf(r) }))
      .filter((r) => r.problems.length > 0);
    expect(dirty).toEqual([]);
    expect(outputs.size).toBe(outcomes.filter((o) => o.output !== null).length);
  });

  it('decodes every clean copy to exactly the pixels of its original', () => {
    const differing = outcomes
      .filter((o) => o.output !== null && verdicts.get(o.input)?.loads === true)
      .filter((o) => verdicts.get(o.input)?.equal !== true)
      .map((o) => o.input);
    expect(differing).toEqual([]);
  });

  it('displays every clean copy the way its original displays, upright', () => {
    const turned = outcomes
      .filter((o) => o.output !== null && verdicts.get(o.input)?.loads === true)
      .filter((o) => verdicts.get(o.input)?.upright !== true)
      .map((o) => o.input);
    expect(turned).toEqual([]);
    const rotated = outcomes.filter((o) => {
      const orientation = Number(originals.get(o.input)?.['IFD0:Orientation'] ?? 1);
      return o.output !== null && orientation > 1 && orientation <= 8;
    });
    expect(rotated.length).toBeGreaterThan(20);
    for (const o of rotated) {
      expect(outputs.get(o.output ?? '')?.['IFD0:Orientation'], o.input).toBeDefined();
    }
  });

  it('writes the same bytes from the CLI (in place, vector scan) as from the library', () => {
    const cliDir = mkdtempSync(path.join(tmpdir(), 'pixwarden-corpus-cli-'));
    const run = runCli(['strip', CORPUS, '-o', cliDir, '--json']);
    const records = JSON.parse(run.stdout) as {
      input: string;
      status: string;
      error?: { code: string };
    }[];
    // The CLI also walks the corpus's README, manifest and licences, and refuses them.
    expect(records.length).toBeGreaterThanOrEqual(outcomes.length);
    const differing: string[] = [];
    for (const o of outcomes) {
      const record = records.find((r) => r.input === o.input);
      const cliOutput = path.join(cliDir, path.relative(CORPUS, o.input));
      if (o.output === null) {
        if (record?.status !== 'refused' || record.error?.code !== o.code) differing.push(o.input);
      } else if (
        record?.status !== 'clean' ||
        !readFileSync(cliOutput).equals(readFileSync(o.output))
      ) {
        differing.push(o.input);
      }
    }
    expect(differing).toEqual([]);
  });

  it('keeps no personal value of the original anywhere in the bytes of its copy', () => {
    const leaks: string[] = [];
    for (const o of outcomes) {
      if (o.output === null) continue;
      const original = originals.get(o.input);
      const copy = readFileSync(o.output);
      for (const [key, value] of Object.entries(original ?? {})) {
        if (!PERSONAL_TAGS.test(key)) continue;
        const text = String(value).trim();
        if (text.length < 6 || (/^[\d.\s-]+$/.test(text) && text.length < 9)) continue;
        if (copy.includes(Buffer.from(text, 'utf8'))) leaks.push(`${o.input}: ${key}=${text}`);
      }
    }
    expect(leaks).toEqual([]);
  });
});
