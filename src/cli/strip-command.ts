import { existsSync, statSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import path from 'node:path';
import type { PixwardenError } from '../errors.js';
import { pixwardenError } from '../errors.js';
import type { Limits } from '../limits.js';
import { parseKeepList } from '../policy.js';
import { closeDefaultPool, configureDefaultPool } from '../pool/default.js';
import { cleanFile, refused } from './clean-file.js';
import { InOrder, finishBatch } from './batch.js';
import { runConcurrently } from './concurrent.js';
import type { Plan, StripRecord } from './clean-file.js';
import { ReadBuffer } from './files.js';
import { startProgress } from './progress.js';
import { countsByGroup, formatBytes, printable } from './summary.js';
import { StopSignal } from './stop.js';
import { HelperThreads } from './threads.js';
import type { WorkItem } from './threads.js';
import { realpathOrSelf, walk } from './walk.js';
import type { InputFile, WalkEntry } from './walk.js';

/** The options of `pixwarden strip`, as parsed. */
export interface StripFlags {
  output?: string;
  inPlace?: boolean;
  keep: string;
  rename?: 'hash' | 'seq';
  overwrite?: boolean;
  json?: boolean;
  /** Threads to clean with, the main one included; the default is one per core, up to 4. */
  jobs?: number;
  /** Re-encode from decoded pixels (`--rewrite`), at this quality if given. */
  rewrite?: { quality?: number };
  limits: Limits;
}

/**
 * When to share a batch. A helper thread takes 50–100 ms to start (on a slow machine) and
 * then runs its first files cold, so it pays only when the rest of the batch would keep the main
 * thread busy for several times that; stopping a helper that is still starting delays the exit.
 */
const minFilesBeforeJudging = 2;
/** How often the cleaning loop lets signals through. */
const yieldEveryMs = 50;
const minRemainingMs = 300;
const minFilesPerHelper = 16;
const defaultMaxJobs = 4;

function usage(message: string): PixwardenError {
  return pixwardenError('ERR_INVALID_ARGUMENT', message);
}

export async function runStrip(paths: readonly string[], flags: StripFlags): Promise<number> {
  const json = flags.json === true;
  if ((flags.output === undefined) === (flags.inPlace !== true)) {
    throw usage('strip needs exactly one of -o DIR or --in-place');
  }
  if (flags.inPlace === true && flags.rename !== undefined)
    throw usage('--rename cannot be combined with --in-place');
  const toStdout = flags.output === '-';
  if (toStdout && json)
    throw usage('-o - writes the image to standard output; it cannot be combined with --json');
  const policy = parseKeepList(flags.keep);
  const outDir = flags.output === undefined || toStdout ? null : path.resolve(flags.output);
  const skipDir = outDir === null ? null : realpathOrSelf(outDir);
  if (outDir !== null && existsSync(outDir) && !statSync(outDir).isDirectory()) {
    throw usage(`-o ${flags.output ?? ''}: exists and is not a folder`);
  }
  if (paths.filter((p) => p === '-').length > 1)
    throw usage('standard input (-) can be given only once');
  const entries = walk(paths, skipDir);
  if (toStdout && entries.length !== 1)
    throw usage(`-o - writes one output, but ${entries.length} inputs were given`);
  if (paths.includes('-') && flags.inPlace === true)
    throw usage('standard input cannot be cleaned in place');

  const plan: Plan = {
    policy,
    limits: flags.limits,
    outDir,
    toStdout,
    inPlace: flags.inPlace === true,
    overwrite: flags.overwrite === true,
    rename: flags.rename,
    seqWidth: Math.max(4, String(entries.length).length),
    inputs: new Set(
      entries.flatMap((entry) =>
        'error' in entry || entry.absolute === null ? [] : [entry.absolute],
      ),
    ),
    rewrite: flags.rewrite ?? null,
  };
  if (plan.inPlace) countLinks(entries);
  const clashes = plainNameClashes(entries, plan);
  // With -o - the image goes to standard output, so the per-file lines go to standard error.
  const report = new InOrder<StripRecord>(
    entries.length,
    json,
    await startProgress(entries.length, json),
    { clean: describeRecord, refused: describeRefusal },
    toStdout ? process.stderr : process.stdout,
  );
  const settle = (index: number, record: StripRecord): void => {
    report.settle(index, record);
  };

  const items: WorkItem[] = [];
  for (const [index, entry] of entries.entries()) {
    const clash = 'error' in entry ? undefined : clashes.get(entry);
    if ('error' in entry) settle(index, refused(entry.display, entry.error));
    else if (clash !== undefined) settle(index, refused(entry.display, clash));
    else items.push({ index, entry });
  }
  const reader = new ReadBuffer();
  const claimed = new Map<string, string>();
  const clean = (item: WorkItem): Promise<StripRecord> =>
    cleanFile(item.entry, item.index, plan, reader, claimed);
  const threads = flags.jobs ?? defaultThreads();
  const shareable = threads > 1 && !toStdout && flags.rename !== 'hash' && !paths.includes('-');
  const stop = new StopSignal();
  const release = stop.listen();
  try {
    if (plan.rewrite === null)
      await cleanAll(items, plan, shareable ? threads : 1, clean, settle, stop);
    else {
      // The pixels are decoded in the worker pool, which runs one worker per core: keep one
      // input more than that in flight. Helper threads would only add pools.
      if (flags.jobs !== undefined) await configureDefaultPool({ size: flags.jobs });
      const inFlight = (flags.jobs ?? availableParallelism()) + 1;
      await runConcurrently(
        items,
        toStdout ? 1 : inFlight,
        async (item) => {
          settle(item.index, await clean(item));
        },
        stop,
      );
    }
  } finally {
    release();
    if (plan.rewrite !== null) await closeDefaultPool();
    report.flush();
  }
  return finishBatch(report.records, json, stop, printSummary);
}

/**
 * One thread per core, up to `defaultMaxJobs`; one alone when the machine is already busy (the
 * last minute's load average at least the core count). A helper thread pays for itself only
 * with a core to spare: on a busy machine it spends more on its own copy of the compiled code
 * than it gains.
 */
function defaultThreads(): number {
  const cores = availableParallelism();
  const [load = 0] = loadavg();
  return load >= cores ? 1 : Math.min(cores, defaultMaxJobs);
}

/**
 * Cleans every item, on the main thread and, once the batch shows that it is worth it, on up to
 * `threads - 1` helpers. `settle` hears each record, in the order they finish.
 */
async function cleanAll(
  items: readonly WorkItem[],
  plan: Plan,
  threads: number,
  clean: (item: WorkItem) => Promise<StripRecord>,
  settle: (index: number, record: StripRecord) => void,
  stop: StopSignal,
): Promise<void> {
  const settled = new Uint8Array(items.length);
  const report = (position: number, record: StripRecord): void => {
    settled[position] = 1;
    settle((items[position] as WorkItem).index, record);
  };
  // The first file runs the coldest code by far: the rate is judged from the files after it.
  let firstDone = 0;
  let helpers: HelperThreads | null = null;
  let taken = 0;
  let own = 0;
  let lastYield = performance.now();
  for (;;) {
    // Signals are handled between files: let the event loop run now and then.
    if (performance.now() - lastYield > yieldEveryMs) {
      await new Promise((resolve) => setImmediate(resolve));
      lastYield = performance.now();
    }
    if (stop.requested) break;
    const position = helpers === null ? (taken < items.length ? taken++ : -1) : helpers.claim();
    if (position < 0) break;
    report(position, await clean(items[position] as WorkItem));
    own++;
    if (own === 1) firstDone = performance.now();
    if (helpers !== null) {
      for (const [done, record] of helpers.poll()) report(done, record);
    } else if (threads > 1) {
      const count = helpersWorth(own - 1, performance.now() - firstDone, items.length - taken);
      if (count > 0)
        helpers = new HelperThreads(items, plan, taken, Math.min(count, threads - 1), stop.flag);
    }
  }
  if (helpers === null) return;
  for (const [done, record] of await helpers.finish(own)) report(done, record);
  if (stop.requested) return;
  // Inputs taken by a helper that stopped early are cleaned here.
  for (const [position, item] of items.entries())
    if (settled[position] === 0) report(position, await clean(item));
}

/**
 * How many helper threads the rest of a batch is worth, judged from the time the files so far
 * took: none unless it promises to take several times as long as a thread takes to start, and
 * then one per `minFilesPerHelper` files left.
 */
function helpersWorth(done: number, elapsedMs: number, left: number): number {
  if (done < minFilesBeforeJudging) return 0;
  if ((elapsedMs / done) * left < minRemainingMs) return 0;
  return Math.floor(left / minFilesPerHelper);
}

function plainTarget(entry: InputFile, plan: Plan): string | null {
  if (plan.inPlace) return entry.absolute === null ? null : realpathOrSelf(entry.absolute);
  if (plan.outDir === null || plan.rename !== undefined || entry.absolute === null) return null;
  return path.join(plan.outDir, entry.relative);
}

/**
 * Notes each file's hard links before anything is written: cleaning one name of a file in place
 * changes the count that the file's other names show.
 */
function countLinks(entries: readonly WalkEntry[]): void {
  for (const entry of entries) {
    if ('error' in entry || entry.absolute === null) continue;
    try {
      entry.links = statSync(entry.absolute).nlink;
    } catch {
      // Gone already: its refusal comes when it is read.
    }
  }
}

/** Inputs that would be written to the same output, or onto themselves: each is refused. */
function plainNameClashes(
  entries: readonly (InputFile | { error: unknown })[],
  plan: Plan,
): Map<InputFile, PixwardenError> {
  const byTarget = new Map<string, InputFile[]>();
  for (const entry of entries) {
    if ('error' in entry) continue;
    const target = plainTarget(entry, plan);
    if (target === null) continue;
    byTarget.set(target, [...(byTarget.get(target) ?? []), entry]);
  }
  const clashes = new Map<InputFile, PixwardenError>();
  for (const [target, group] of byTarget) {
    for (const entry of group) {
      if (group.length > 1) {
        clashes.set(
          entry,
          pixwardenError(
            'ERR_OUTPUT_CONFLICT',
            `${group.length} inputs would be written to ${target}: ${group.map((e) => e.display).join(', ')}`,
          ),
        );
      } else if (!plan.inPlace && target === entry.absolute) {
        clashes.set(
          entry,
          pixwardenError('ERR_OUTPUT_CONFLICT', `the output ${target} is the input itself`),
        );
      }
    }
  }
  return clashes;
}

function describeRefusal(record: StripRecord): string {
  return `refused ${printable(record.input)}: ${record.error?.code ?? ''}: ${printable(record.error?.message ?? '')}\n`;
}

function describeRecord(record: StripRecord): string {
  const removed = record.removed
    .map((part) => `${printable(part.name)} (${formatBytes(part.bytes)})`)
    .join(', ');
  const kept = record.kept.map((part) => part.name).join(', ');
  return (
    `clean   ${printable(record.input)} -> ${printable(record.output ?? '')}\n` +
    `        removed: ${removed === '' ? 'nothing' : removed}\n` +
    (kept === '' ? '' : `        kept: ${kept}\n`) +
    (record.warnings ?? []).map((warning) => `        warning: ${warning}\n`).join('')
  );
}

function printSummary(records: readonly StripRecord[]): void {
  const cleaned = records.filter((record) => record.status === 'clean');
  const removedBytes = cleaned.reduce(
    (sum, record) => sum + record.removed.reduce((s, part) => s + part.bytes, 0),
    0,
  );
  const groups = countsByGroup(
    cleaned.flatMap((record) => record.removed.map((part) => part.category)),
  );
  process.stderr.write(
    `${cleaned.length} cleaned, ${records.length - cleaned.length} refused, ${formatBytes(removedBytes)} of metadata removed` +
      `${groups === '' ? '' : `; removed by group: ${groups}`}\n`,
  );
}
