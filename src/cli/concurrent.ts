/**
 * Running a batch whose pixel work happens in the worker pool: a few inputs in flight at a
 * time, so that every worker stays busy while the main thread reads, strips and writes. Stops
 * taking inputs once a signal asks; the inputs in flight are finished.
 */
import type { StopSignal } from './stop.js';

/**
 * Runs `work` on every item, at most `inFlight` at once, in input order of starting.
 * `work` must not throw: a failure is its own record.
 */
export async function runConcurrently<T>(
  items: readonly T[],
  inFlight: number,
  work: (item: T) => Promise<void>,
  stop: StopSignal,
): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (!stop.requested && next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(inFlight, items.length)) }, lane));
}
