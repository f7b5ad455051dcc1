/**
 * What the batch commands (`strip`, `convert`) share: records printed in the order of the
 * inputs as they finish, and at the end the JSON, the summary and the exit code.
 */
import { LineOutput } from './output.js';
import type { Progress } from './progress.js';
import type { StopSignal } from './stop.js';

/**
 * Records arrive in any order (from threads, or from the worker pool); each is printed as soon
 * as every input before it has been: clean ones on `out`, refusals on standard error, nothing
 * with `--json` (the JSON comes at the end).
 */
export class InOrder<T extends { status: string }> {
  readonly records: (T | undefined)[];
  private printed = 0;
  private readonly lines: LineOutput;
  private readonly errors = new LineOutput(process.stderr);

  constructor(
    count: number,
    private readonly json: boolean,
    private readonly progress: Progress,
    private readonly describe: { clean: (record: T) => string; refused: (record: T) => string },
    out: NodeJS.WriteStream = process.stdout,
  ) {
    this.records = new Array<T | undefined>(count);
    this.lines = new LineOutput(out);
  }

  settle(index: number, record: T): void {
    this.records[index] = record;
    this.progress.tick();
    for (
      let next = this.records[this.printed];
      next !== undefined;
      next = this.records[++this.printed]
    ) {
      if (this.json) continue;
      if (next.status === 'clean') this.lines.write(this.describe.clean(next));
      else this.errors.write(this.describe.refused(next));
    }
  }

  /** Writes out what is buffered, and stops the progress bar. */
  flush(): void {
    this.lines.flush();
    this.errors.flush();
    this.progress.stop();
  }
}

/**
 * Prints what a batch did and gives its exit code: 0 when every input was handled, 1 when any
 * was refused, 130 or 143 when a signal stopped it (the inputs not started are counted).
 */
export function finishBatch<T extends { status: string }>(
  records: readonly (T | undefined)[],
  json: boolean,
  stop: StopSignal,
  summarise: (done: readonly T[]) => void,
): number {
  const all = records.filter((record): record is T => record !== undefined);
  if (json) process.stdout.write(`${JSON.stringify(all, null, 2)}\n`);
  summarise(all);
  if (stop.requested) {
    process.stderr.write(
      `stopped by a signal: ${records.length - all.length} of ${records.length} inputs were not started\n`,
    );
    return process.exitCode === 143 ? 143 : 130;
  }
  return all.some((record) => record.status === 'refused') ? 1 : 0;
}
