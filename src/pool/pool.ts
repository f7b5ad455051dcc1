/**
 * A pool of pre-started child processes for work on untrusted pixels. A decoder bug must take
 * down one worker, never the caller: each job runs in a separate process, with a time limit
 * (enforced by SIGKILL, since libvips cannot be interrupted) and a memory limit (the parent reads
 * each worker's resident size from /proc every few tens of milliseconds and kills it past the
 * cap). A worker that dies is replaced; the job it held gets a coded error; other jobs go on.
 * Workers are recycled after a number of jobs.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ERROR_CATALOGUE, pixwardenError } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import { launchFor } from './sandbox.js';
import type { Launch, SandboxMode } from './sandbox.js';
import { processAlive } from '../processes.js';

export interface PoolOptions {
  /** Worker processes. Default: one per core. */
  readonly size?: number;
  /** Milliseconds a job may run before its worker is killed. Default 30,000. */
  readonly jobTimeoutMs?: number;
  /**
   * Resident bytes a worker may use before it is killed. Default 2 GiB: encoding a picture at
   * the default decode limit (40 megapixels) to WebP or AVIF takes over a gigabyte.
   */
  readonly maxWorkerBytes?: number;
  /** Jobs a worker runs before it is replaced by a fresh one. Default 500. */
  readonly jobsPerWorker?: number;
  /**
   * Resident bytes above which a worker that has finished a job is replaced (memory that
   * fragmentation or a leak keeps after the job). Default 512 MiB.
   */
  readonly recycleWorkerBytes?: number;
  /** How often resident memory is read, in milliseconds. Default 25. */
  readonly memoryCheckMs?: number;
  /** The worker program (tests give one with test-only tasks). Default: the pool's own. */
  readonly workerScript?: string | URL;
  /** Whether workers run under bubblewrap. Default `auto`: when a probe run of it works. */
  readonly sandbox?: SandboxMode;
  /**
   * Told when workers run without the sandbox in `auto` mode. Default: a process warning with
   * the code `PIXWARDEN_NO_SANDBOX`.
   */
  readonly onWarning?: (warning: { code: string; message: string }) => void;
}

interface Job {
  readonly id: number;
  readonly task: string;
  readonly payload: unknown;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

interface Worker {
  readonly child: ChildProcess;
  job: Job | null;
  jobsDone: number;
  timer: NodeJS.Timeout | null;
  /** Why the parent killed it, if it did. */
  killedFor: ErrorCode | null;
  /** Done its share of jobs and asked to stop: it takes no more. */
  retiring: boolean;
  /** The end of what it wrote to standard error. */
  stderr: string;
}

const stderrTailChars = 4096;

/** The last line a worker wrote that says what went wrong, shortened. */
function lastWords(stderr: string): string | null {
  const lines = stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('at ') && !/^-+ .* -+$/.test(line));
  const line =
    lines.find((candidate) => /error|abort|fatal|can't|cannot/i.test(candidate)) ?? lines.at(-1);
  if (line === undefined) return null;
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

/** The message a worker sends back. */
export type WorkerReply =
  | { id: number; ok: true; value: unknown }
  | {
      id: number;
      ok: false;
      error: { code?: string; message: string; value?: unknown; limit?: unknown };
    };

/**
 * The production worker beside this module; from the TypeScript sources (in tests) or from the
 * bundled command line, the built one.
 */
function defaultWorker(): string {
  for (const candidate of ['./worker.js', '../pool/worker.js', '../../dist/pool/worker.js']) {
    const file = fileURLToPath(new URL(candidate, import.meta.url));
    if (existsSync(file)) return file;
  }
  throw pixwardenError(
    'ERR_WORKER_CRASHED',
    'the pool worker program is not built (npm run build)',
  );
}

/** Exchange folders of pools not yet closed: removed when the process exits. */
const exchanges = new Set<string>();
let exitHandlerInstalled = false;

/**
 * Removes the exchange folders of processes that are gone: one killed before it could clean
 * up leaves the inputs it had in flight there (in memory, in /dev/shm).
 */
function sweepExchanges(parent: string): void {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return;
  }
  for (const name of names) {
    const match = /^pixwarden-pool-(\d+)-/.exec(name);
    if (match === null) continue;
    const pid = Number(match[1]);
    if (pid === process.pid || processAlive(pid)) continue;
    const folder = path.join(parent, name);
    try {
      if (statSync(folder).uid !== process.getuid?.()) continue;
      rmSync(folder, { recursive: true, force: true });
    } catch {
      // Another process swept it first.
    }
  }
}

/** A new private folder for handing inputs to workers: in memory (/dev/shm) where there is one. */
function exchangeFolder(): string {
  const parent = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  sweepExchanges(parent);
  let folder: string;
  try {
    folder = mkdtempSync(path.join(parent, `pixwarden-pool-${process.pid}-`));
  } catch {
    folder = mkdtempSync(path.join(tmpdir(), `pixwarden-pool-${process.pid}-`));
  }
  if (!exitHandlerInstalled) {
    exitHandlerInstalled = true;
    process.once('exit', () => {
      for (const left of exchanges) rmSync(left, { recursive: true, force: true });
    });
  }
  exchanges.add(folder);
  return folder;
}

/** The bytes a task was handed: sent over the channel, or left in a file of the exchange. */
export function inputBytes(input: { bytes?: Uint8Array; file?: string }): Uint8Array {
  if (input.file !== undefined) return readFileSync(input.file);
  if (input.bytes instanceof Uint8Array) return input.bytes;
  throw pixwardenError('ERR_INVALID_ARGUMENT', 'the job carries no input');
}

/** Process ids of a process and its descendants (a sandboxed worker runs under bubblewrap). */
export function processTree(pid: number, depth = 0): number[] {
  if (depth > 4) return [pid];
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'latin1')
      .trim()
      .split(' ')
      .filter((word) => word !== '')
      .map(Number);
  } catch {
    // No children file (an old kernel, or the process is gone): the process alone.
  }
  return [pid, ...children.flatMap((child) => processTree(child, depth + 1))];
}

/** Resident bytes of a process with its descendants; null when the process is gone. */
export function treeResidentBytes(pid: number): number | null {
  const own = residentBytes(pid);
  if (own === null) return null;
  return processTree(pid)
    .slice(1)
    .reduce((sum, child) => sum + (residentBytes(child) ?? 0), own);
}

/** Resident bytes of a process, from /proc; null when it cannot be read (the process is gone). */
export function residentBytes(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'latin1');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match === null ? null : Number(match[1]) * 1024;
  } catch {
    return null;
  }
}

export class WorkerPool {
  private readonly size: number;
  private readonly jobTimeoutMs: number;
  private readonly maxWorkerBytes: number;
  private readonly jobsPerWorker: number;
  private readonly recycleWorkerBytes: number;
  private readonly script: string;
  /** Where large inputs are handed to workers as files (see `runWithInput`). */
  private readonly exchange: string;
  private readonly launch: Launch;
  private readonly workers = new Set<Worker>();
  private readonly queue: Job[] = [];
  private readonly memoryTimer: NodeJS.Timeout;
  private nextId = 1;
  private handedOver = 0;
  /** Jobs not yet settled, and the handle that keeps the process up while there are some. */
  private pending = 0;
  private keepAlive: NodeJS.Timeout | null = null;
  private readonly removeExchange = (): void => {
    rmSync(this.exchange, { recursive: true, force: true });
    exchanges.delete(this.exchange);
  };
  private closed = false;

  constructor(options: PoolOptions = {}) {
    this.size = Math.max(1, options.size ?? availableParallelism());
    this.jobTimeoutMs = options.jobTimeoutMs ?? 30_000;
    this.maxWorkerBytes = options.maxWorkerBytes ?? 2 * 1024 * 1024 * 1024;
    this.jobsPerWorker = options.jobsPerWorker ?? 500;
    this.recycleWorkerBytes = options.recycleWorkerBytes ?? 512 * 1024 * 1024;
    const script = options.workerScript ?? defaultWorker();
    this.script = script instanceof URL ? fileURLToPath(script) : script;
    const mode = options.sandbox ?? 'auto';
    this.exchange = exchangeFolder();
    const launch = launchFor(this.script, mode, this.exchange);
    if (launch === null)
      throw pixwardenError(
        'ERR_SANDBOX_UNAVAILABLE',
        'workers must run under bubblewrap, and a probe run of bwrap failed here',
      );
    this.launch = launch;
    if (mode === 'auto' && !launch.sandboxed) {
      const warning = {
        code: 'PIXWARDEN_NO_SANDBOX',
        message:
          'pixel workers run without bubblewrap (bwrap is missing or cannot make namespaces here): a decoder exploit would see this machine',
      };
      if (options.onWarning === undefined)
        process.emitWarning(warning.message, { code: warning.code });
      else options.onWarning(warning);
    }
    for (let i = 0; i < this.size; i++) this.spawn();
    this.memoryTimer = setInterval(() => {
      this.checkMemory();
    }, options.memoryCheckMs ?? 25);
    this.memoryTimer.unref();
  }

  /** Whether the workers run under bubblewrap. */
  get sandboxed(): boolean {
    return this.launch.sandboxed;
  }

  /** Worker process ids, for inspection. */
  get pids(): number[] {
    return [...this.workers].flatMap((worker) =>
      worker.child.pid === undefined ? [] : [worker.child.pid],
    );
  }

  /**
   * Runs `task` on `payload` in a worker.
   * @throws ERR_WORKER_TIMEOUT, ERR_WORKER_MEMORY or ERR_WORKER_CRASHED when the worker had to be
   *   killed or died; the task's own coded error when it refused the payload.
   */
  run<T>(task: string, payload: unknown): Promise<T> {
    if (this.closed)
      return Promise.reject(pixwardenError('ERR_INVALID_ARGUMENT', 'the pool is closed'));
    // Idle workers do not keep the caller's process alive, but a job waiting for one does.
    this.pending++;
    this.keepAlive ??= setInterval(() => undefined, 1 << 30);
    const settled = (): void => {
      if (--this.pending === 0 && this.keepAlive !== null) {
        clearInterval(this.keepAlive);
        this.keepAlive = null;
      }
    };
    return new Promise<T>((resolve, reject) => {
      this.queue.push({
        id: this.nextId++,
        task,
        payload,
        resolve: (value) => {
          settled();
          resolve(value as T);
        },
        reject: (error) => {
          settled();
          reject(error);
        },
      });
      this.dispatch();
    });
  }

  /**
   * Runs `task` with `bytes` handed over as a file in a folder only this process can write,
   * which workers see read-only: for megabytes, a third of the cost of sending them over the
   * channel. The task finds `{ file }` under `input` in its payload (see `inputBytes`).
   */
  async runWithInput<T>(task: string, bytes: Uint8Array, payload: object): Promise<T> {
    const file = path.join(this.exchange, `input-${this.nextId}-${++this.handedOver}`);
    try {
      writeFileSync(file, bytes, { mode: 0o600, flag: 'wx' });
    } catch {
      // The folder is gone or full: the bytes go over the channel instead.
      return this.run<T>(task, { ...payload, input: { bytes } });
    }
    try {
      return await this.run<T>(task, { ...payload, input: { file } });
    } finally {
      rmSync(file, { force: true });
    }
  }

  /** Stops every worker; queued jobs are refused. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.memoryTimer);
    for (const job of this.queue.splice(0))
      job.reject(pixwardenError('ERR_INVALID_ARGUMENT', 'the pool was closed'));
    const exits = [...this.workers].map(
      (worker) =>
        new Promise<void>((resolve) => {
          if (worker.child.exitCode !== null || worker.child.signalCode !== null) resolve();
          else {
            // Waited for: the caller's process stays up until the worker is gone.
            worker.child.ref();
            worker.child.once('exit', () => {
              resolve();
            });
          }
          stopWorker(worker.child, 'SIGKILL', this.launch.sandboxed);
        }),
    );
    await Promise.all(exits);
    // Only now: a worker still starting would otherwise miss the folder it is to be shown.
    this.removeExchange();
  }

  private spawn(): void {
    const child = fork(this.script, [], {
      execPath: this.launch.execPath,
      execArgv: this.launch.execArgv,
      env: this.launch.env,
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      // A process group of its own: Ctrl-C at a terminal (or a stop signal to the caller's
      // group) reaches the caller, which finishes the jobs in flight, not the workers. A worker
      // still ends with its parent: its channel closes, and bubblewrap kills it.
      detached: true,
    });
    // An idle pool does not keep its caller's process alive; a pending job does (see `run`).
    child.unref();
    child.channel?.unref();
    const worker: Worker = {
      child,
      job: null,
      jobsDone: 0,
      timer: null,
      killedFor: null,
      retiring: false,
      stderr: '',
    };
    // What a worker prints is kept, not shown: its last line explains a crash.
    const stream = child.stderr;
    if (stream !== null) {
      stream.setEncoding('utf8');
      stream.on('data', (text: string) => {
        worker.stderr = (worker.stderr + text).slice(-stderrTailChars);
      });
      (stream as unknown as { unref?: () => void }).unref?.();
    }
    this.workers.add(worker);
    child.on('message', (reply: WorkerReply) => {
      this.finish(worker, reply);
    });
    child.on('error', () => undefined);
    // Once standard error has closed too, so that the worker's last words are in (but not
    // waiting long for it: a descendant could hold it open).
    child.once('exit', () => {
      if (stream === null || stream.closed) {
        this.lost(worker);
        return;
      }
      const done = (): void => {
        clearTimeout(late);
        stream.off('close', done);
        this.lost(worker);
      };
      const late = setTimeout(done, 200);
      stream.once('close', done);
    });
    this.dispatch();
  }

  private dispatch(): void {
    for (const worker of this.workers) {
      if (this.queue.length === 0) return;
      if (
        worker.job !== null ||
        worker.killedFor !== null ||
        worker.retiring ||
        !worker.child.connected
      )
        continue;
      const job = this.queue.shift() as Job;
      worker.job = job;
      worker.timer = setTimeout(() => {
        this.kill(worker, 'ERR_WORKER_TIMEOUT');
      }, this.jobTimeoutMs);
      worker.child.send({ id: job.id, task: job.task, payload: job.payload });
    }
  }

  private finish(worker: Worker, reply: WorkerReply): void {
    const job = worker.job;
    if (job === null || reply.id !== job.id) return;
    if (worker.timer !== null) clearTimeout(worker.timer);
    worker.timer = null;
    worker.job = null;
    worker.jobsDone++;
    if (reply.ok) job.resolve(reply.value);
    else job.reject(replyError(reply.error));
    const pid = worker.child.pid;
    const rss = pid === undefined ? null : treeResidentBytes(pid);
    if (worker.jobsDone >= this.jobsPerWorker || (rss !== null && rss > this.recycleWorkerBytes))
      this.retire(worker);
    this.dispatch();
  }

  private kill(worker: Worker, reason: ErrorCode): void {
    if (worker.killedFor !== null) return;
    worker.killedFor = reason;
    stopWorker(worker.child, 'SIGKILL', this.launch.sandboxed);
  }

  /**
   * Replaces a worker that has done its share of jobs: its channel is closed, and it exits on
   * its own (a signal would not do: as the first process of its namespace, a sandboxed worker
   * ignores the signals it has no handler for).
   */
  private retire(worker: Worker): void {
    worker.retiring = true;
    if (worker.child.connected) worker.child.disconnect();
    else stopWorker(worker.child, 'SIGKILL', this.launch.sandboxed);
  }

  private lost(worker: Worker): void {
    this.workers.delete(worker);
    if (worker.timer !== null) clearTimeout(worker.timer);
    const job = worker.job;
    if (job !== null && this.closed) {
      job.reject(pixwardenError('ERR_INVALID_ARGUMENT', 'the pool was closed'));
    } else if (job !== null) {
      const code = worker.killedFor ?? 'ERR_WORKER_CRASHED';
      const words = lastWords(worker.stderr);
      const message =
        code === 'ERR_WORKER_TIMEOUT'
          ? `the job ran longer than ${this.jobTimeoutMs} ms; its worker was stopped`
          : code === 'ERR_WORKER_MEMORY'
            ? `the job used more than ${this.maxWorkerBytes} bytes of memory; its worker was stopped`
            : `the worker died while running the job (${worker.child.signalCode ?? `exit ${String(worker.child.exitCode)}`})${words === null ? '' : `: ${words}`}`;
      job.reject(
        pixwardenError(code, message, {
          ...(code === 'ERR_WORKER_TIMEOUT' ? { limit: this.jobTimeoutMs, unit: 'ms' } : {}),
          ...(code === 'ERR_WORKER_MEMORY' ? { limit: this.maxWorkerBytes, unit: 'bytes' } : {}),
        }),
      );
    }
    if (!this.closed) this.spawn();
  }

  private checkMemory(): void {
    for (const worker of this.workers) {
      if (worker.job === null || worker.child.pid === undefined) continue;
      const rss = treeResidentBytes(worker.child.pid);
      if (rss !== null && rss > this.maxWorkerBytes) this.kill(worker, 'ERR_WORKER_MEMORY');
    }
  }
}

/**
 * Kills a worker. A sandboxed one is bubblewrap with its child beneath it (Node, or bubblewrap
 * itself just before it starts Node): the child gets the signal, and bubblewrap, seeing it end,
 * reaps it and exits. Killing bubblewrap first would orphan the child, which some containers'
 * init never reaps. A worker caught while bubblewrap is still making its child is looked at
 * again a little later; should bubblewrap still be there after a second, it is killed too.
 */
function stopWorker(child: ChildProcess, signal: NodeJS.Signals, sandboxed: boolean): void {
  if (child.pid === undefined) return;
  const pid = child.pid;
  const gone = (): boolean => child.exitCode !== null || child.signalCode !== null;
  let tries = 0;
  const attempt = (): void => {
    if (gone()) return;
    const beneath = processTree(pid).slice(1).reverse();
    if (beneath.length === 0) {
      if (sandboxed && tries++ < 25) {
        setTimeout(attempt, 20);
        return;
      }
      child.kill(signal);
      return;
    }
    for (const member of beneath) {
      try {
        process.kill(member, signal);
      } catch {
        // Gone already.
      }
    }
    const fallback = setTimeout(() => {
      if (!gone()) child.kill('SIGKILL');
    }, 1000);
    fallback.unref();
    child.once('exit', () => {
      clearTimeout(fallback);
    });
  };
  attempt();
}

function replyError(error: {
  code?: string;
  message: string;
  value?: unknown;
  limit?: unknown;
}): Error {
  if (error.code !== undefined && Object.hasOwn(ERROR_CATALOGUE, error.code)) {
    return pixwardenError(error.code as ErrorCode, error.message, {
      ...(typeof error.value === 'number' || typeof error.value === 'string'
        ? { value: error.value }
        : {}),
      ...(typeof error.limit === 'number' || typeof error.limit === 'string'
        ? { limit: error.limit }
        : {}),
    });
  }
  return pixwardenError('ERR_WORKER_CRASHED', `the job failed in its worker: ${error.message}`);
}
