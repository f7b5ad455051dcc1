/**
 * `pixwarden convert` against bare sharp doing the same resize on the same files, in one run:
 * throughput, peak memory (of the whole process tree: pixwarden's workers count), and the
 * start-up cost of the worker pool.
 *
 * The set: 100 phone-size photos (12 megapixels, with GPS, camera, serial, XMP, a thumbnail
 * and an ICC profile), fitted inside 1024 × 1024, to WebP and to JPEG. Both sides run one
 * decode per core: pixwarden in sandboxed worker processes, sharp in its own thread pool.
 *
 * `npm run bench:convert` (builds first); `npm run bench` runs it after the strip benchmark.
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as PoolModule from '../src/pool/pool.js';
import { CLI, ROOT, files, makePhotos, median, outputRoot } from './inputs.js';

// The built pool, as the command line uses it.
const { WorkerPool, processTree, residentBytes } = (await import(
  pathToFileURL(path.join(ROOT, 'dist', 'pool', 'pool.js')).href
)) as typeof PoolModule;

const BARE = path.join(ROOT, 'build-bench', 'bench', 'bare-sharp.js');
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const WIDTH = 1024;
const OUT_ROOT = outputRoot();

interface Measured {
  seconds: number;
  /** The largest sum of resident memory over the command's process tree, in bytes. */
  peakBytes: number;
}

/** Runs a command, sampling the resident memory of its whole process tree every 10 ms. */
function measure(command: string, args: readonly string[]): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let peak = 0;
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const sampler = setInterval(() => {
      if (child.pid === undefined) return;
      const sum = processTree(child.pid).reduce(
        (total, pid) => total + (residentBytes(pid) ?? 0),
        0,
      );
      peak = Math.max(peak, sum);
    }, 10);
    child.on('exit', (code) => {
      clearInterval(sampler);
      if (code !== 0) reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr}`));
      else resolve({ seconds: (performance.now() - start) / 1000, peakBytes: peak });
    });
  });
}

interface Tool {
  name: string;
  args: (input: string, output: string, format: string) => string[];
}

const TOOLS: readonly Tool[] = [
  { name: 'bare sharp', args: (i, o, f) => [BARE, i, o, f, String(WIDTH)] },
  {
    name: 'pixwarden convert',
    args: (i, o, f) => [
      CLI,
      'convert',
      i,
      '-o',
      o,
      '--to',
      f,
      '--width',
      String(WIDTH),
      '--height',
      String(WIDTH),
    ],
  },
];

async function benchFormat(input: string, format: string): Promise<void> {
  const count = files(input).length;
  const results = new Map<string, Measured[]>(TOOLS.map((tool) => [tool.name, []]));
  for (let r = 0; r < RUNS; r++) {
    // Interleaved, so that a slow moment of the machine falls on both.
    for (const tool of TOOLS) {
      const output = path.join(OUT_ROOT, 'out');
      rmSync(output, { recursive: true, force: true });
      results
        .get(tool.name)
        ?.push(await measure(process.execPath, tool.args(input, output, format)));
    }
  }
  const [bare, ours] = TOOLS.map((tool) => results.get(tool.name) ?? []);
  const rate = (runs: Measured[]) => count / median(runs.map((m) => m.seconds));
  const peak = (runs: Measured[]) => median(runs.map((m) => m.peakBytes)) / 1024 / 1024;
  console.log(`\n${count} photos to ${format} within ${WIDTH} × ${WIDTH}, median of ${RUNS} runs`);
  console.log('| tool | seconds | files/s | peak memory (MiB) |');
  console.log('|---|---|---|---|');
  for (const [tool, runs] of [
    [TOOLS[0], bare],
    [TOOLS[1], ours],
  ] as const) {
    console.log(
      `| ${tool?.name ?? ''} | ${median((runs ?? []).map((m) => m.seconds)).toFixed(2)} | ${rate(runs ?? []).toFixed(1)} | ${peak(runs ?? []).toFixed(0)} |`,
    );
  }
  console.log(
    `pixwarden throughput: ${((rate(ours ?? []) / rate(bare ?? [])) * 100).toFixed(0)}% of bare sharp`,
  );
}

/** How long a pool takes from creation to its first finished job, sandboxed and not. */
async function startup(): Promise<void> {
  for (const sandbox of ['bubblewrap', 'none'] as const) {
    const times: number[] = [];
    for (let r = 0; r < 5; r++) {
      const start = performance.now();
      const pool = new WorkerPool({ sandbox });
      await Promise.all(
        pool.pids.map(() =>
          pool.run('describe', { bytes: new Uint8Array(0), maxPixels: 0 }).catch(() => undefined),
        ),
      );
      times.push(performance.now() - start);
      await pool.close();
    }
    console.log(
      `pool start-up (${sandbox === 'none' ? 'no sandbox' : 'bubblewrap'}), every worker's first job done: ${median(times).toFixed(0)} ms`,
    );
  }
}

try {
  const photos = makePhotos();
  await startup();
  for (const format of ['webp', 'jpeg']) await benchFormat(photos, format);
} finally {
  rmSync(OUT_ROOT, { recursive: true, force: true });
}
