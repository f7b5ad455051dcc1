/**
 * The worker-process pool: a job that crashes its worker, one that hangs and one that allocates
 * past the memory limit each get their code within the time limit plus a second, the pool stays
 * up and the next job succeeds; no worker is left behind after a thousand jobs.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { WorkerPool, processTree, residentBytes } from '../dist/pool/pool.js';
import { bubblewrapWorks } from '../dist/pool/sandbox.js';
import { CASES, CORPUS, ROOT } from './helpers.js';

const script = new URL('./pool/test-worker.mjs', import.meta.url);
const timeout = 1500;
const pool = new WorkerPool({
  size: 2,
  jobTimeoutMs: timeout,
  maxWorkerBytes: 200 * 1024 * 1024,
  workerScript: script,
  jobsPerWorker: 300,
});
afterAll(async () => pool.close());

async function outcome(task: string): Promise<{ code: string; ms: number }> {
  const started = performance.now();
  const code = await pool.run(task, null).then(
    () => 'none',
    (error: unknown) => (error as { code?: string }).code ?? 'uncoded',
  );
  return { code, ms: performance.now() - started };
}

describe('the worker pool', () => {
  it('runs a production task in a worker', async () => {
    const bytes = readFileSync(path.join(CASES, 'inputs', '02-orientation-rotate90.jpg'));
    await expect(pool.run('describe', { bytes, maxPixels: 40_000_000 })).resolves.toMatchObject({
      format: 'jpeg',
    });
    await expect(pool.run('describe', { bytes, maxPixels: 10 })).rejects.toMatchObject({
      code: 'ERR_PIXEL_LIMIT',
      limit: 10,
    });
    // A worker's sharp has only the JPEG, PNG, WebP and GIF loaders open: an SVG or a TIFF
    // that reached it anyway is not decoded.
    const svg = readFileSync(path.join(CASES, 'inputs', '14-svg-script.svg'));
    const tif = readFileSync(path.join(CORPUS, 'exiftool-t-images', 'ExifTool.tif'));
    for (const bytes of [svg, tif]) {
      await expect(pool.run('describe', { bytes, maxPixels: 0 })).rejects.toMatchObject({
        code: 'ERR_MALFORMED',
        message: expect.stringMatching(/^the decoder refused the image: /) as unknown,
      });
    }
  });

  it.each([
    ['crash', 'ERR_WORKER_CRASHED'],
    ['hang', 'ERR_WORKER_TIMEOUT'],
    ['allocate', 'ERR_WORKER_MEMORY'],
  ])('gives a job that does %s its code in time, and goes on', async (task, code) => {
    const before = pool.pids;
    const result = await outcome(task);
    expect(result.code).toBe(code);
    expect(result.ms).toBeLessThan(timeout + 1000);
    await expect(pool.run('echo', 42)).resolves.toBe(42);
    expect(pool.pids).toHaveLength(2);
    expect(pool.pids).not.toEqual(before);
  });

  it('leaves no worker behind after a thousand jobs', async () => {
    const seen = new Set<number>();
    for (let i = 0; i < 1000; i += 50) {
      const batch = Array.from({ length: 50 }, (_, k) => pool.run('echo', i + k));
      expect(await Promise.all(batch)).toEqual(Array.from({ length: 50 }, (_, k) => i + k));
      // A sandboxed worker is bubblewrap with Node beneath it: all of them must go.
      for (const pid of pool.pids) for (const member of processTree(pid)) seen.add(member);
    }
    // Workers were recycled along the way; the old ones are gone, not even left as zombies.
    expect(seen.size).toBeGreaterThan(2);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const left = [...seen].filter((pid) => existsSync(`/proc/${pid}`));
    const current = new Set(pool.pids.flatMap((pid) => processTree(pid)));
    expect(left.filter((pid) => !current.has(pid))).toEqual([]);
    expect(pool.pids.every((pid) => (residentBytes(pid) ?? 0) > 0)).toBe(true);
  });
});

describe('worker recycling', () => {
  it('replaces a worker that holds more memory than the recycling cap after a job', async () => {
    const small = new WorkerPool({ size: 1, workerScript: script, recycleWorkerBytes: 1 });
    try {
      const first = small.pids;
      await expect(small.run('echo', 1)).resolves.toBe(1);
      await expect(small.run('echo', 2)).resolves.toBe(2);
      expect(small.pids).toHaveLength(1);
      expect(small.pids).not.toEqual(first);
    } finally {
      await small.close();
    }
  });
});

describe('the worker sandbox', () => {
  const sandboxed = bubblewrapWorks(fileURLToPath(script));

  async function probe(mode: 'bubblewrap' | 'none') {
    const server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    process.env.PIXWARDEN_TEST_SECRET = 'from the parent';
    const probed = new WorkerPool({ size: 1, workerScript: script, sandbox: mode });
    try {
      return {
        sandboxed: probed.sandboxed,
        seen: await probed.run('probe', {
          port,
          file: mode === 'none' ? '/etc/passwd' : path.join(ROOT, 'src', 'index.ts'),
          variable: 'PIXWARDEN_TEST_SECRET',
          writable: path.join(ROOT, 'dist', 'probe-was-here'),
        }),
      };
    } finally {
      delete process.env.PIXWARDEN_TEST_SECRET;
      await probed.close();
      server.close();
    }
  }

  it('is available on this machine (the test command installs bubblewrap)', () => {
    expect(sandboxed).toBe(true);
  });

  it('gives a worker no network, no other process, no view of the system, and no parent variable', async () => {
    const { sandboxed: inside, seen } = await probe('bubblewrap');
    expect(inside).toBe(true);
    const { network, ...rest } = seen as { network: string };
    // No capabilities (as root, bubblewrap would keep them all), the application read-only,
    // its sources out of sight.
    expect(rest).toEqual({
      pid: 1,
      capabilities: '0000000000000000',
      write: 'EROFS',
      file: false,
      variable: null,
    });
    // The namespace has no interface but a loopback that is down: nothing can be reached.
    expect(network).not.toBe('connected');
  });

  it('shows what the probe sees without the sandbox: the same machine, the same network', async () => {
    const { sandboxed: inside, seen } = await probe('none');
    expect(inside).toBe(false);
    // Even unsandboxed, a worker gets an environment of its own.
    const { pid, capabilities, write, ...rest } = seen as {
      pid: number;
      capabilities: string;
      write: string;
    };
    expect(pid).not.toBe(1);
    if (process.getuid?.() === 0) expect(capabilities).not.toBe('0000000000000000');
    expect(write).toBe('written');
    rmSync(path.join(ROOT, 'dist', 'probe-was-here'), { force: true });
    expect(rest).toEqual({ file: true, variable: null, network: 'connected' });
  });

  it('warns with a code when it falls back to workers without the sandbox', async () => {
    const warnings: { code: string; message: string }[] = [];
    const saved = process.env.PATH;
    // No bwrap on the search path: the probe fails as it would in a locked-down container.
    process.env.PATH = '/nonexistent';
    try {
      const fallback = new WorkerPool({
        size: 1,
        workerScript: script,
        onWarning: (w) => warnings.push(w),
      });
      expect(fallback.sandboxed).toBe(false);
      await expect(fallback.run('echo', 7)).resolves.toBe(7);
      await fallback.close();
      expect(
        () => new WorkerPool({ size: 1, workerScript: script, sandbox: 'bubblewrap' }),
      ).toThrow(expect.objectContaining({ code: 'ERR_SANDBOX_UNAVAILABLE' }));
    } finally {
      process.env.PATH = saved;
    }
    expect(warnings).toEqual([expect.objectContaining({ code: 'PIXWARDEN_NO_SANDBOX' })]);
  });
});
