/**
 * Lossless strip speed and memory, as whole processes, against two baselines measured in the
 * same run: ExifTool (`exiftool -all=` in batch mode, the usual lossless cleaner) and a minimal
 * Node program that reads and writes the same files unchanged (the floor for a Node cleaner).
 *
 * pixwarden runs twice: as it comes (a batch is shared between threads, one per core) and on
 * one thread.
 *
 * Sets: 100 phone-size photos generated here with ImageMagick and ExifTool (GPS, camera,
 * serial, dates, XMP, thumbnail, ICC profile), and the corpus's real JPEGs repeated to about a
 * thousand files. Memory: the peak resident size of `pixwarden strip` on a 50 MB file, above
 * the same command on a tiny file.
 *
 * `npm run bench` (builds first). Generated inputs are cached in bench/.cache.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import {
  CACHE,
  CLI,
  CONVERT,
  CORPUS,
  ROOT,
  files,
  makePhotos,
  median,
  megabytes,
  outputRoot,
  run,
} from './inputs.js';

const FLOOR = path.join(ROOT, 'build-bench', 'bench', 'floor.js');
const RUNS = Number(process.env.BENCH_RUNS ?? 9);
const corpusTarget = 1000;

function makeCorpusSet(): string {
  const dir = path.join(CACHE, 'corpus-jpegs');
  // Real JPEGs by their bytes (some files named .jpg are not JPEGs at all), broken ones included.
  const sources = files(CORPUS).filter((file) => {
    const head = readFileSync(file).subarray(0, 3);
    return head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff;
  });
  const copies = Math.ceil(corpusTarget / sources.length);
  if (existsSync(dir) && readdirSync(dir).length === sources.length * copies) return dir;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  sources.forEach((file, i) => {
    for (let c = 0; c < copies; c++)
      copyFileSync(file, path.join(dir, `${String(i).padStart(4, '0')}-${c}.jpg`));
  });
  return dir;
}

interface Tool {
  name: string;
  command: (input: string, output: string) => [string, string[]];
}

const TOOLS: readonly Tool[] = [
  { name: 'read+write floor (node)', command: (i, o) => [process.execPath, [FLOOR, i, o]] },
  {
    name: 'exiftool -all=',
    command: (i, o) => ['exiftool', ['-q', '-q', '-m', '-all=', '-o', `${o}/`, i]],
  },
  { name: 'pixwarden strip', command: (i, o) => [process.execPath, [CLI, 'strip', i, '-o', o]] },
  {
    name: 'pixwarden strip --jobs 1',
    command: (i, o) => [process.execPath, [CLI, 'strip', i, '-o', o, '--jobs', '1']],
  },
];

const OUT_ROOT = outputRoot();

function timeTool(tool: Tool, input: string): number {
  const output = path.join(OUT_ROOT, 'out');
  rmSync(output, { recursive: true, force: true });
  const [command, args] = tool.command(input, output);
  const start = performance.now();
  run(command, args);
  return (performance.now() - start) / 1000;
}

function benchSet(label: string, input: string): void {
  const count = files(input).length;
  const times = new Map<string, number[]>(TOOLS.map((tool) => [tool.name, []]));
  timeTool(TOOLS[0] as Tool, input); // warm the page cache
  for (let r = 0; r < RUNS; r++) {
    for (const tool of TOOLS) times.get(tool.name)?.push(timeTool(tool, input));
  }
  const floor = median(times.get(TOOLS[0]?.name ?? '') ?? []);
  console.log(
    `\n${label}: ${count} files, ${megabytes(input).toFixed(0)} MB, median of ${RUNS} runs`,
  );
  console.log('| tool | seconds | × floor |');
  console.log('|---|---|---|');
  for (const tool of TOOLS) {
    const t = median(times.get(tool.name) ?? []);
    console.log(`| ${tool.name} | ${t.toFixed(3)} | ${(t / floor).toFixed(2)} |`);
  }
}

/** Peak resident size (KiB) of a command, read from the kernel's accounting of children. */
function peakRssKiB(command: string, args: readonly string[]): number {
  const script =
    'import resource,subprocess,sys; subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)';
  const result = spawnSync('/usr/bin/python3', ['-c', script, command, ...args]);
  return Number(result.stdout.toString().trim());
}

function memory(): void {
  // 4096 × 4096 random RGB pixels, stored uncompressed: a 50 MB PNG.
  const big = path.join(CACHE, 'noise-50mb.png');
  if (!existsSync(big)) {
    const raw = path.join(CACHE, 'noise.rgb');
    writeFileSync(raw, randomBytes(4096 * 4096 * 3));
    run(CONVERT, [
      '-size',
      '4096x4096',
      '-depth',
      '8',
      `rgb:${raw}`,
      '-define',
      'png:compression-level=0',
      big,
    ]);
    rmSync(raw);
  }
  const tiny = path.join(CACHE, 'tiny.png');
  if (!existsSync(tiny)) run(CONVERT, ['-size', '8x8', 'xc:gray', tiny]);
  const size = statSync(big).size;
  const measure = (file: string): number => {
    const out = path.join(OUT_ROOT, 'mem-out');
    rmSync(out, { recursive: true, force: true });
    return peakRssKiB(process.execPath, [CLI, 'strip', file, '-o', out]);
  };
  const idle = median([measure(tiny), measure(tiny), measure(tiny)]);
  const peak = median([measure(big), measure(big), measure(big)]);
  const above = (peak - idle) * 1024;
  console.log(
    `\nmemory: ${(size / 1e6).toFixed(1)} MB input, peak RSS ${(peak / 1024).toFixed(0)} MiB, idle ${(idle / 1024).toFixed(0)} MiB,` +
      ` ${(above / 1e6).toFixed(1)} MB above idle = ${(above / size).toFixed(2)} × the input`,
  );
}

mkdirSync(CACHE, { recursive: true });
try {
  benchSet('phone-size photos', makePhotos());
  benchSet('corpus JPEGs, repeated', makeCorpusSet());
  memory();
} finally {
  if (OUT_ROOT !== CACHE) rmSync(OUT_ROOT, { recursive: true, force: true });
}
