/**
 * The hostile-input suite: over two thousand inputs generated deterministically from corpus and
 * crafted seeds, each fed to strip, verifyClean, a second strip and inspect in a worker thread.
 * Every outcome must be a verified clean copy (that a second clean leaves unchanged) or a coded
 * error; nothing may crash, reject unhandled or hang: a watchdog fails any input still running
 * after one second. The suite prints its counts.
 */
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { hostileInputs } from './hostile/generate.js';

interface Outcome {
  status: 'clean' | 'refused' | 'failed';
  code?: string;
  detail?: string;
}

const watchdogMs = 1000;

async function runAll(
  inputs: readonly { name: string; bytes: Uint8Array }[],
): Promise<{ outcomes: Outcome[]; unhandled: number }> {
  const beat = new SharedArrayBuffer(8);
  const heartbeat = new Int32Array(beat);
  const worker = new Worker(new URL('./hostile/runner.mjs', import.meta.url), {
    workerData: { inputs: inputs.map((input) => ({ bytes: input.bytes })), beat },
  });
  return new Promise((resolve, reject) => {
    let lastBeat = -1;
    let since = performance.now();
    const timer = setInterval(() => {
      const count = Atomics.load(heartbeat, 1);
      if (count !== lastBeat) {
        lastBeat = count;
        since = performance.now();
      } else if (performance.now() - since > watchdogMs && lastBeat > 0) {
        clearInterval(timer);
        const index = Atomics.load(heartbeat, 0);
        void worker.terminate();
        reject(new Error(`still running after ${watchdogMs} ms: ${inputs[index]?.name ?? index}`));
      }
    }, 25);
    worker.once('message', (result: { outcomes: Outcome[]; unhandled: number }) => {
      clearInterval(timer);
      resolve(result);
    });
    worker.once('error', (error) => {
      clearInterval(timer);
      reject(error);
    });
  });
}

describe('hostile inputs, generated', () => {
  it('end in a verified clean copy or a coded error, without crash, rejection or hang', async () => {
    const inputs = hostileInputs();
    expect(inputs.length).toBeGreaterThanOrEqual(2000);
    const { outcomes, unhandled } = await runAll(inputs);
    expect(outcomes).toHaveLength(inputs.length);
    const byCode = new Map<string, number>();
    for (const outcome of outcomes)
      if (outcome.code !== undefined) byCode.set(outcome.code, (byCode.get(outcome.code) ?? 0) + 1);
    const failed = outcomes
      .map((outcome, i) => ({ outcome, name: inputs[i]?.name ?? '' }))
      .filter(({ outcome }) => outcome.status === 'failed');
    const cleaned = outcomes.filter((o) => o.status === 'clean').length;
    console.log(
      `hostile inputs: ${inputs.length}; cleaned and verified ${cleaned}; refused with a code ${outcomes.length - cleaned - failed.length} (` +
        [...byCode]
          .sort((a, b) => b[1] - a[1])
          .map(([code, n]) => `${code} ${n}`)
          .join(', ') +
        `); failed ${failed.length}; unhandled rejections ${unhandled}`,
    );
    expect(failed.map(({ name, outcome }) => `${name}: ${outcome.detail ?? ''}`)).toEqual([]);
    expect(unhandled).toBe(0);
    // The attacks reach the parsers' refusals, not only the signature check.
    expect(byCode.get('ERR_TRUNCATED') ?? 0).toBeGreaterThan(100);
    expect(byCode.get('ERR_MALFORMED') ?? 0).toBeGreaterThan(100);
    expect(byCode.get('ERR_PIXEL_LIMIT') ?? 0).toBeGreaterThan(10);
    expect(cleaned).toBeGreaterThan(200);
  });
});
