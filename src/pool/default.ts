/**
 * The pool that the library uses when a caller gives none: started on first use, one worker
 * per core, sandboxed where bubblewrap works. Its idle workers do not keep the process alive.
 */
import { WorkerPool } from './pool.js';
import type { PoolOptions } from './pool.js';

let shared: WorkerPool | undefined;
let sharedOptions: PoolOptions = {};

/** The shared pool, started now if it is not running. */
export function defaultPool(): WorkerPool {
  if (shared === undefined) {
    shared = new WorkerPool(sharedOptions);
    // When nothing else is left to do, the workers are stopped and reaped before the process
    // ends: left to exit after it, they would be reaped by the machine's init, which in some
    // containers never does, and stay as zombies.
    process.once('beforeExit', () => {
      void closeDefaultPool();
    });
  }
  return shared;
}

/**
 * Sets the options of the shared pool (size, limits, sandbox), for a caller that wants other
 * than the defaults; a running shared pool is stopped, and the next job starts a new one.
 */
export async function configureDefaultPool(options: PoolOptions): Promise<void> {
  sharedOptions = options;
  const running = shared;
  shared = undefined;
  await running?.close();
}

/** Stops the shared pool, if it runs. */
export async function closeDefaultPool(): Promise<void> {
  const running = shared;
  shared = undefined;
  await running?.close();
}
