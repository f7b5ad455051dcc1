/**
 * The worker-process pool: a job that crashes its worker, one that hangs and one that allocates
 * past the memory limit each get their code within the time limit plus a second, the pool stays
 * up and the next job succeeds; no worker is left behind after a thousand jobs.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { WorkerPool, residentBytes } from '../dist/pool/pool.js';
import { CASES } from './helpers.js';

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
    const svg = readFileSync(path.join(CASES, 'inputs', '14-svg-script.svg'));
    await expect(pool.run('describe', { bytes: svg, maxPixels: 0 })).rejects.toMatchObject({
      code: 'ERR_MALFORMED',
    });
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
      for (const pid of pool.pids) seen.add(pid);
    }
    // Workers were recycled along the way; the old ones are gone, not even left as zombies.
    expect(seen.size).toBeGreaterThan(2);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const left = [...seen].filter((pid) => existsSync(`/proc/${pid}`));
    expect(left.sort()).toEqual([...pool.pids].sort());
    expect(pool.pids.every((pid) => (residentBytes(pid) ?? 0) > 0)).toBe(true);
  });
});
