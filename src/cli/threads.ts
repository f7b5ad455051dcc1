/**
 * Helper threads for `pixwarden strip`. On a machine with more than one core, a batch is shared
 * between the main thread and helpers, each taking the next input from one shared counter. A
 * helper reports each record as soon as its file is written; the main thread collects reports
 * between its own files, without waiting, so no thread idles while inputs remain.
 *
 * A thread takes tens of milliseconds to start, so helpers are started only once the main thread
 * has seen that the batch will take much longer than that.
 *
 * A helper that dies (it should not: every failure is a refused record) leaves the inputs it had
 * taken without a record; the caller cleans those itself afterwards, so nothing is lost.
 */
import { MessageChannel, Worker, receiveMessageOnPort } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import type { Plan, StripRecord } from './clean-file.js';
import type { InputFile } from './walk.js';

/** One input to clean: the file, and its position among all the run's inputs. */
export interface WorkItem {
  index: number;
  entry: InputFile;
}

/** The work a helper is given: all the inputs, and the counter that shares them out. */
export interface HelperJob {
  items: readonly WorkItem[];
  plan: Plan;
  /** `next[0]` is the position in `items` of the next input to take. */
  next: Int32Array;
  /** Non-zero once the run is to stop: no further input is taken. */
  stop: Int32Array;
}

/** A finished input: its position in `items`, and its record. */
export type HelperReport = [position: number, record: StripRecord];

interface Helper {
  worker: Worker;
  port: MessagePort;
  running: boolean;
}

export class HelperThreads {
  private readonly next = new Int32Array(new SharedArrayBuffer(4));
  private readonly helpers: Helper[] = [];
  private readonly total: number;
  private readonly stop: Int32Array;
  private received = 0;
  private wake: (() => void) | null = null;

  /**
   * Starts `count` helpers on `items`, from position `from` on (the caller has taken those
   * before it). Positions are then taken with `claim`, by the caller and the helpers alike.
   */
  constructor(
    items: readonly WorkItem[],
    plan: Plan,
    from: number,
    count: number,
    stop: Int32Array = new Int32Array(new SharedArrayBuffer(4)),
  ) {
    this.total = items.length;
    this.stop = stop;
    Atomics.store(this.next, 0, from);
    const job: HelperJob = { items, plan, next: this.next, stop };
    for (let i = 0; i < count; i++) {
      const { port1, port2 } = new MessageChannel();
      let worker: Worker;
      try {
        worker = new Worker(new URL('./strip-worker.js', import.meta.url), {
          workerData: port2,
          transferList: [port2],
        });
      } catch {
        // No thread to be had (a limit on processes or threads): the others, or the caller
        // alone, do the work.
        port1.close();
        break;
      }
      // Helpers never hold the process open: the main thread waits for the work it hands out.
      worker.unref();
      const helper: Helper = { worker, port: port1, running: true };
      // An error in a helper is not fatal to the run: its inputs are cleaned again here.
      worker.on('error', () => undefined);
      worker.on('exit', () => {
        helper.running = false;
        this.wake?.();
      });
      port1.postMessage(job);
      this.helpers.push(helper);
    }
  }

  /** Takes the next input for the calling thread: a position in `items`, or -1 when none is left. */
  claim(): number {
    const position = Atomics.add(this.next, 0, 1);
    return position < this.total ? position : -1;
  }

  /** The reports that have arrived, without waiting. */
  poll(): HelperReport[] {
    const reports: HelperReport[] = [];
    for (const helper of this.helpers) {
      for (;;) {
        const message = receiveMessageOnPort(helper.port);
        if (message === undefined) break;
        reports.push(message.message as HelperReport);
      }
    }
    this.received += reports.length;
    return reports;
  }

  /**
   * Waits until every input the helpers took has been reported (`ownCount` inputs were cleaned
   * by the caller) or the helpers have stopped, then stops them. Returns the last reports.
   */
  async finish(ownCount: number): Promise<HelperReport[]> {
    const reports = this.poll();
    // Every position is cleaned by someone, unless the run was stopped: then only those taken.
    const taken = (): number =>
      Atomics.load(this.stop, 0) === 0
        ? this.total
        : Math.min(this.total, Atomics.load(this.next, 0));
    while (ownCount + this.received < taken() && this.helpers.some((h) => h.running)) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        // Reports are polled rather than listened for; the caller has nothing else to do.
        setTimeout(resolve, 2);
      });
      this.wake = null;
      reports.push(...this.poll());
    }
    await Promise.all(this.helpers.map((helper) => helper.worker.terminate()));
    reports.push(...this.poll());
    for (const helper of this.helpers) helper.port.close();
    return reports;
  }
}
