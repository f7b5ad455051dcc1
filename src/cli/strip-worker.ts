/** A helper thread of `pixwarden strip` (see `threads.ts`): cleans inputs until none is left. */
import { once } from 'node:events';
import { workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { cleanFile } from './clean-file.js';
import { ReadBuffer } from './files.js';
import { stopRequested } from './stop.js';
import type { HelperJob, HelperReport } from './threads.js';

const port = workerData as MessagePort;
const [{ items, plan, next, stop }] = (await once(port, 'message')) as [HelperJob];
port.unref();
const reader = new ReadBuffer();
const claimed = new Map<string, string>();
while (!stopRequested(stop)) {
  const position = Atomics.add(next, 0, 1);
  const item = items[position];
  if (item === undefined) break;
  const report: HelperReport = [
    position,
    await cleanFile(item.entry, item.index, plan, reader, claimed),
  ];
  port.postMessage(report);
}
